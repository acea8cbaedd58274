package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Options are what both reconcilers need: clients, providers and the
// retry settings.
type Options struct {
	// Client reads and writes the collab.dev kinds through the manager's
	// cache.
	Client client.Client
	// SecretReader reads Secrets uncached: the manager must not cache every
	// Secret in the cluster, and a direct read also means rotated
	// credentials apply at the next reconcile.
	SecretReader client.Reader
	// SecretMetadata reads Secrets' metadata from the manager's cache (the
	// metadata-only watch): its resourceVersion tells when the data must
	// be read again, so an unchanged Secret costs no API call. Nil reads
	// the Secret on every pass.
	SecretMetadata client.Reader
	// Providers builds provider clients; controllers never import a provider.
	Providers *provider.Registry
	// AllowedURLs are the base URLs credentials may be sent to
	// (--allowed-provider-urls). Nil allows none: a manager must say where
	// its credentials may go.
	AllowedURLs *provider.URLAllowList

	// conns is the reconciler's connector, made by SetupWithManager (or
	// on first use).
	conns *connector

	// SlowRetry is the retry interval of terminal failures.
	SlowRetry time.Duration
	// RetryBase and RetryMax bound the exponential backoff of transient
	// failures.
	RetryBase, RetryMax time.Duration
}

// connector returns the reconciler's connector.
func (o *Options) connector() *connector {
	if o.conns == nil {
		o.conns = o.newConnector()
	}
	return o.conns
}

// newConnector builds the connector a reconciler resolves credentials with.
// It lives as long as the reconciler: it remembers the clients it built.
func (o *Options) newConnector() *connector {
	return &connector{client: o.Client, secrets: o.SecretReader, metadata: o.SecretMetadata,
		providers: o.Providers, allowed: o.AllowedURLs, built: map[types.NamespacedName]*connection{}}
}

// setupError is a failure before any talk with the provider: the
// ProviderConfig or its Secret is missing or unusable. It carries the
// condition reason, because only the caller's step knows which one fits.
type setupError struct {
	reason   string
	message  string
	terminal bool
}

func (e *setupError) Error() string { return e.message }

// connector turns a ProviderConfig into a provider.Client. Both reconcilers
// use it, so a Collaborator and its ProviderConfig always agree on what
// "usable credentials" means.
type connector struct {
	// client reads ProviderConfigs from the manager's cache.
	client client.Reader
	// secrets reads Secrets straight from the API server (see
	// Options.SecretReader).
	secrets   client.Reader
	metadata  client.Reader
	providers *provider.Registry
	allowed   *provider.URLAllowList

	// built holds the last client built per ProviderConfig, reused while
	// neither the ProviderConfig's generation nor the Secret's
	// resourceVersion moved: credentials are read and parsed once per
	// change, not once per pass.
	mu    sync.Mutex
	built map[types.NamespacedName]*connection
}

// connection is a ready provider client and the objects it was built from,
// which a pending delete needs to keep.
type connection struct {
	client provider.Client
	pc     *collabv1alpha1.ProviderConfig
	// secret is the Secret's metadata (or the whole Secret when no
	// metadata cache is configured), for its finalizers.
	secret   client.Object
	endpoint collabv1alpha1.Endpoint
	// version names the ProviderConfig generation and Secret version the
	// client was built from.
	version string
	// fingerprint identifies the credentials (provider.Credentials).
	fingerprint string
}

// providerConfig fetches the named ProviderConfig from the namespace.
func (k *connector) providerConfig(ctx context.Context, namespace, name string) (*collabv1alpha1.ProviderConfig, error) {
	pc := &collabv1alpha1.ProviderConfig{}
	err := k.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, pc)
	if apierrors.IsNotFound(err) {
		return nil, &setupError{
			reason:  collabv1alpha1.ReasonProviderConfigNotFound,
			message: fmt.Sprintf("ProviderConfig %q not found in namespace %q; create it, the operator retries", name, namespace),
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading ProviderConfig %s/%s: %w", namespace, name, err)
	}
	return pc, nil
}

// connect checks the ProviderConfig's base URL against the allow-list,
// reads its Secret and builds a client for it. No credential is read
// before the base URL is known to be allowed.
func (k *connector) connect(ctx context.Context, pc *collabv1alpha1.ProviderConfig) (*connection, error) {
	ep, ok := pc.Spec.Endpoint()
	if !ok {
		return nil, &setupError{
			reason:   collabv1alpha1.ReasonCredentialsInvalid,
			message:  fmt.Sprintf("ProviderConfig %q configures no provider", pc.Name),
			terminal: true,
		}
	}
	if err := k.checkBaseURL(pc, ep); err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: pc.Namespace, Name: ep.SecretName}
	meta, err := k.secretMetadata(ctx, key)
	if apierrors.IsNotFound(err) {
		return nil, secretNotFound(pc, ep)
	}
	if err != nil {
		return nil, err
	}
	version := fmt.Sprintf("%s/%d/%s/%s", pc.UID, pc.Generation, meta.GetUID(), meta.GetResourceVersion())
	pcKey := types.NamespacedName{Namespace: pc.Namespace, Name: pc.Name}
	// Building holds the lock: a changed Secret is then read once, not by
	// every pass that notices the change at the same moment. Builds are
	// rare (a change), reuses cheap.
	k.mu.Lock()
	defer k.mu.Unlock()
	if prev := k.built[pcKey]; prev != nil && prev.version == version && meta.GetResourceVersion() != "" {
		conn := *prev
		conn.pc, conn.secret = pc, meta
		return &conn, nil
	}

	secret := &corev1.Secret{}
	err = k.secrets.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		return nil, secretNotFound(pc, ep)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", pc.Namespace, ep.SecretName, err)
	}
	creds := provider.Credentials(secret.Data)
	rps, burst := pc.Spec.Budget()
	pcl, err := k.providers.New(ep.Provider, provider.Config{
		BaseURL: ep.BaseURL, Credentials: creds, SyncInterval: pc.Spec.SyncIntervalOrDefault(),
		RequestsPerSecond: rps, Burst: burst,
	})
	if err != nil {
		// Factories check only the Secret's shape, never the provider, so a
		// failure here is for a person to fix in the Secret.
		return nil, &setupError{
			reason:   collabv1alpha1.ReasonCredentialsInvalid,
			message:  fmt.Sprintf("Secret %q of ProviderConfig %q is unusable: %v", ep.SecretName, pc.Name, err),
			terminal: true,
		}
	}
	if k.metadata == nil {
		meta = secret
	}
	conn := &connection{client: pcl, pc: pc, secret: meta, endpoint: ep, version: version, fingerprint: creds.Fingerprint()}
	k.built[pcKey] = conn
	return conn, nil
}

// secretMetadata returns the Secret's metadata from the cache, or, without
// a metadata cache, the whole Secret from the API server. A Secret missing
// from the cache is looked up once more at the API server before it is
// reported missing: the cache may lag a Secret created a moment ago.
func (k *connector) secretMetadata(ctx context.Context, key types.NamespacedName) (client.Object, error) {
	if k.metadata != nil {
		m := secretMeta()
		err := k.metadata.Get(ctx, key, m)
		if err == nil {
			return m, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Secret %s metadata: %w", key, err)
		}
	}
	secret := &corev1.Secret{}
	if err := k.secrets.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	return secret, nil
}

func secretNotFound(pc *collabv1alpha1.ProviderConfig, ep collabv1alpha1.Endpoint) error {
	return &setupError{
		reason: collabv1alpha1.ReasonSecretNotFound,
		message: fmt.Sprintf("Secret %q named by ProviderConfig %q not found in namespace %q; create it, the operator retries",
			ep.SecretName, pc.Name, pc.Namespace),
	}
}

// checkBaseURL refuses a base URL the manager may not send credentials to.
func (k *connector) checkBaseURL(pc *collabv1alpha1.ProviderConfig, ep collabv1alpha1.Endpoint) error {
	base := ep.BaseURL
	if base == "" {
		// The API server defaults baseURL; an empty one bypassed defaulting
		// and the provider client would use its documented host.
		return nil
	}
	if k.allowed != nil && k.allowed.Allows(base) {
		return nil
	}
	allowed := "none"
	if k.allowed != nil {
		allowed = k.allowed.String()
	}
	return &setupError{
		reason: collabv1alpha1.ReasonBaseURLNotAllowed,
		message: fmt.Sprintf("ProviderConfig %q: baseURL %q is not allowed by the manager's --allowed-provider-urls (%s), "+
			"so no credential is sent to it; use the provider's documented https URL, or ask the operator's administrators "+
			"to add this one to --allowed-provider-urls", pc.Name, base, allowed),
		terminal: true,
	}
}

// holdCredentials puts the in-use finalizer on the ProviderConfig and its
// Secret before the first provider write, so that whatever is deleted
// first, the delete that revokes this access can still log in. A
// terminating object cannot gain a finalizer; then nothing new is granted.
func holdCredentials(ctx context.Context, cl client.Client, conn *connection) error {
	for _, o := range []client.Object{conn.pc, conn.secret} {
		if controllerutil.ContainsFinalizer(o, collabv1alpha1.InUseFinalizer) {
			continue
		}
		if !o.GetDeletionTimestamp().IsZero() {
			reason := collabv1alpha1.ReasonProviderConfigNotFound
			if kindOf(o) == kindSecret {
				reason = collabv1alpha1.ReasonSecretNotFound
			}
			return &setupError{reason: reason, message: fmt.Sprintf(
				"%s %q is being deleted; no access is granted through credentials that are going away",
				kindOf(o), o.GetName())}
		}
		if err := patchFinalizer(ctx, cl, o, true); err != nil {
			return fmt.Errorf("holding %s %s/%s for pending deletes: %w", kindOf(o), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// patchFinalizer adds or removes the in-use finalizer with an optimistic
// lock, so a concurrent change of the list is retried, never overwritten.
func patchFinalizer(ctx context.Context, cl client.Client, o client.Object, hold bool) error {
	base, ok := o.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copying %T", o)
	}
	if hold {
		controllerutil.AddFinalizer(o, collabv1alpha1.InUseFinalizer)
	} else {
		controllerutil.RemoveFinalizer(o, collabv1alpha1.InUseFinalizer)
	}
	return cl.Patch(ctx, o, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// kindOf names an object's kind for messages.
func kindOf(o client.Object) string {
	switch o.(type) {
	case *collabv1alpha1.ProviderConfig:
		return "ProviderConfig"
	default:
		return kindSecret
	}
}

// kindSecret names the Secret kind in messages.
const kindSecret = "Secret"
