// Package connector turns a ProviderConfig or a ClusterProviderConfig into
// a provider client. The manager builds one Connector and hands it to
// every reconciler, so there is one credential cache: a Secret is read
// once per change, whoever notices the change first, and a credentials
// object's entry goes with it. It is also where a ClusterProviderConfig's
// grants are enforced: no client is handed out for a use they do not
// permit.
package connector

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Options are what a Connector reads and builds with.
type Options struct {
	// Client reads ProviderConfigs from the manager's cache.
	Client client.Reader
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
	// Uninstall says when the operator is being uninstalled: then Hold
	// holds nothing, since no delete will need the credentials. Nil never
	// says so.
	Uninstall *uninstall.Watch
	// ClusterResourceNamespace is where ClusterProviderConfigs' Secrets
	// live (--cluster-resource-namespace). Empty: this installation serves
	// no ClusterProviderConfig (a namespace-scoped install), and every
	// reference to one is NotPermitted.
	ClusterResourceNamespace string
}

// Connector turns a ProviderConfig into a provider.Client. Every reconciler
// uses the same one, so a Collaborator, its ProviderConfig and its
// AccessPolicies always agree on what "usable credentials" means.
type Connector struct {
	client    client.Reader
	secrets   client.Reader
	metadata  client.Reader
	providers *provider.Registry
	allowed   *provider.URLAllowList
	uninstall *uninstall.Watch
	clusterNS string

	// built holds the last client built per credentials object (a
	// ClusterProviderConfig's key has no namespace, so every namespace
	// using it shares one entry, one client, and through its fingerprint
	// one request budget and one read snapshot), reused while neither the
	// object's generation nor the Secret's resourceVersion moved:
	// credentials are read and parsed once per change, not once per pass.
	mu    sync.Mutex
	built map[types.NamespacedName]*Connection
}

// New builds the manager's Connector.
func New(o Options) *Connector {
	return &Connector{client: o.Client, secrets: o.SecretReader, metadata: o.SecretMetadata,
		providers: o.Providers, allowed: o.AllowedURLs, uninstall: o.Uninstall, clusterNS: o.ClusterResourceNamespace,
		built: map[types.NamespacedName]*Connection{}}
}

// ClusterResourceNamespace is where ClusterProviderConfigs' Secrets live;
// "" when this installation serves no ClusterProviderConfig.
func (k *Connector) ClusterResourceNamespace() string { return k.clusterNS }

// Forget drops what was built for a credentials object that is gone (a
// ClusterProviderConfig's key has no namespace), so its credentials do not
// outlive it in memory.
func (k *Connector) Forget(pc types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.built, pc)
}

// Connection is a ready provider client and the objects it was built from,
// which a pending delete needs to keep.
type Connection struct {
	// Client talks to the provider with the credentials object's
	// credentials.
	Client provider.Client
	// Config is the object the client was built from: a
	// *collabv1alpha1.ProviderConfig or a *collabv1alpha1.ClusterProviderConfig.
	Config client.Object
	// Spec is Config's provider settings (sync interval, rate limit,
	// provider block).
	Spec *collabv1alpha1.ProviderConfigSpec
	// Secret is the Secret's metadata (or the whole Secret when no
	// metadata cache is configured), for its finalizers.
	Secret client.Object
	// Endpoint is Config's provider block.
	Endpoint collabv1alpha1.Endpoint
	// Version names the object generation and Secret version the client
	// was built from.
	Version string
	// Fingerprint identifies the credentials (provider.Credentials).
	Fingerprint string
	// Grants are, for a ClusterProviderConfig reached through For, the
	// grants that permit the use it was asked for; nil otherwise.
	Grants []collabv1alpha1.ClusterGrant

	// uninstall is the Connector's (see Hold).
	uninstall *uninstall.Watch
}

// ProviderConfig fetches the named ProviderConfig from the namespace.
func (k *Connector) ProviderConfig(ctx context.Context, namespace, name string) (*collabv1alpha1.ProviderConfig, error) {
	pc := &collabv1alpha1.ProviderConfig{}
	err := k.client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, pc)
	if apierrors.IsNotFound(err) {
		return nil, &engine.SetupError{
			Reason:  collabv1alpha1.ReasonProviderConfigNotFound,
			Message: fmt.Sprintf("ProviderConfig %q not found in namespace %q; create it, the operator retries", name, namespace),
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading ProviderConfig %s/%s: %w", namespace, name, err)
	}
	return pc, nil
}

// source is a credentials object as Connect reads it.
type source struct {
	obj  client.Object
	spec *collabv1alpha1.ProviderConfigSpec
	// kind names the object's kind in messages.
	kind string
	// secretNamespace is where its Secret lives.
	secretNamespace string
}

// sourceOf reads a ProviderConfig or a ClusterProviderConfig.
func (k *Connector) sourceOf(obj client.Object) (source, error) {
	switch o := obj.(type) {
	case *collabv1alpha1.ProviderConfig:
		return source{obj: o, spec: &o.Spec, kind: collabv1alpha1.KindProviderConfig, secretNamespace: o.Namespace}, nil
	case *collabv1alpha1.ClusterProviderConfig:
		if k.clusterNS == "" {
			return source{}, notServed()
		}
		return source{obj: o, spec: &o.Spec.ProviderConfigSpec, kind: collabv1alpha1.KindClusterProviderConfig, secretNamespace: k.clusterNS}, nil
	}
	return source{}, fmt.Errorf("connecting through a %T: not a credentials object", obj)
}

// Connect checks the base URL of a ProviderConfig or ClusterProviderConfig
// against the allow-list, reads its Secret (a ClusterProviderConfig's from
// the cluster resource namespace) and builds a client for it. No
// credential is read before the base URL is known to be allowed. It does
// not look at grants: For does, for the objects that use the credentials.
func (k *Connector) Connect(ctx context.Context, obj client.Object) (*Connection, error) {
	src, err := k.sourceOf(obj)
	if err != nil {
		return nil, err
	}
	ep, ok := src.spec.Endpoint()
	if !ok {
		return nil, &engine.SetupError{
			Reason:   collabv1alpha1.ReasonCredentialsInvalid,
			Message:  fmt.Sprintf("%s %q configures no provider", src.kind, obj.GetName()),
			Terminal: true,
		}
	}
	if err := k.checkBaseURL(src, ep); err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: src.secretNamespace, Name: ep.SecretName}
	meta, err := k.secretMetadata(ctx, key)
	if apierrors.IsNotFound(err) {
		return nil, secretNotFound(src, ep)
	}
	if err != nil {
		return nil, err
	}
	version := fmt.Sprintf("%s/%d/%s/%s", obj.GetUID(), obj.GetGeneration(), meta.GetUID(), meta.GetResourceVersion())
	objKey := client.ObjectKeyFromObject(obj)
	// Building holds the lock: a changed Secret is then read once, not by
	// every pass that notices the change at the same moment. Builds are
	// rare (a change), reuses cheap.
	k.mu.Lock()
	defer k.mu.Unlock()
	if prev := k.built[objKey]; prev != nil && prev.Version == version && meta.GetResourceVersion() != "" {
		conn := *prev
		conn.Config, conn.Spec, conn.Secret = obj, src.spec, meta
		return &conn, nil
	}

	secret := &corev1.Secret{}
	err = k.secrets.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		return nil, secretNotFound(src, ep)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	creds := provider.Credentials(secret.Data)
	rps, burst := src.spec.Budget()
	pcl, err := k.providers.New(ep.Provider, provider.Config{
		BaseURL: ep.BaseURL, Credentials: creds, SyncInterval: src.spec.SyncIntervalOrDefault(),
		RequestsPerSecond: rps, Burst: burst,
	})
	if err != nil {
		// Factories check only the Secret's shape, never the provider, so a
		// failure here is for a person to fix in the Secret.
		return nil, &engine.SetupError{
			Reason:   collabv1alpha1.ReasonCredentialsInvalid,
			Message:  fmt.Sprintf("Secret %q of %s %q is unusable: %v", ep.SecretName, src.kind, obj.GetName(), err),
			Terminal: true,
		}
	}
	if k.metadata == nil {
		meta = secret
	}
	conn := &Connection{Client: pcl, Config: obj, Spec: src.spec, Secret: meta, Endpoint: ep, Version: version,
		Fingerprint: creds.Fingerprint(), uninstall: k.uninstall}
	k.built[objKey] = conn
	return conn, nil
}

// secretMetadata returns the Secret's metadata from the cache, or, without
// a metadata cache, the whole Secret from the API server. A Secret missing
// from the cache is looked up once more at the API server before it is
// reported missing: the cache may lag a Secret created a moment ago.
func (k *Connector) secretMetadata(ctx context.Context, key types.NamespacedName) (client.Object, error) {
	if k.metadata != nil {
		m := SecretMetadata()
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

func secretNotFound(src source, ep collabv1alpha1.Endpoint) error {
	return &engine.SetupError{
		Reason: collabv1alpha1.ReasonSecretNotFound,
		Message: fmt.Sprintf("Secret %q named by %s %q not found in namespace %q; create it, the operator retries",
			ep.SecretName, src.kind, src.obj.GetName(), src.secretNamespace),
	}
}

// checkBaseURL refuses a base URL the manager may not send credentials to.
func (k *Connector) checkBaseURL(src source, ep collabv1alpha1.Endpoint) error {
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
	return &engine.SetupError{
		Reason: collabv1alpha1.ReasonBaseURLNotAllowed,
		Message: fmt.Sprintf("%s %q: baseURL %q is not allowed by the manager's --allowed-provider-urls (%s), "+
			"so no credential is sent to it; use the provider's documented https URL, or ask the operator's administrators "+
			"to add this one to --allowed-provider-urls", src.kind, src.obj.GetName(), base, allowed),
		Terminal: true,
	}
}

// Hold puts the in-use finalizer on the ProviderConfig and its
// Secret before the first provider write, so that whatever is deleted
// first, the delete that revokes this access can still log in. A
// terminating object cannot gain a finalizer; then nothing new is granted.
// While the operator is being uninstalled it holds nothing: no delete will
// run, and the ProviderConfig and Secret reconcilers are removing the
// finalizers.
func Hold(ctx context.Context, cl client.Client, conn *Connection) error {
	if conn.uninstall.Uninstalling() {
		return nil
	}
	for _, o := range []client.Object{conn.Config, conn.Secret} {
		if controllerutil.ContainsFinalizer(o, collabv1alpha1.InUseFinalizer) {
			continue
		}
		if !o.GetDeletionTimestamp().IsZero() {
			reason := collabv1alpha1.ReasonProviderConfigNotFound
			if kindOf(o) == KindSecret {
				reason = collabv1alpha1.ReasonSecretNotFound
			}
			return &engine.SetupError{Reason: reason, Message: fmt.Sprintf(
				"%s %q is being deleted; no access is granted through credentials that are going away",
				kindOf(o), o.GetName())}
		}
		if err := PatchFinalizer(ctx, cl, o, true); err != nil {
			return fmt.Errorf("holding %s %s/%s for pending deletes: %w", kindOf(o), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// PatchFinalizer adds or removes the in-use finalizer with an optimistic
// lock, so a concurrent change of the list is retried, never overwritten.
func PatchFinalizer(ctx context.Context, cl client.Client, o client.Object, hold bool) error {
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
		return collabv1alpha1.KindProviderConfig
	case *collabv1alpha1.ClusterProviderConfig:
		return collabv1alpha1.KindClusterProviderConfig
	default:
		return KindSecret
	}
}

// KindSecret names the Secret kind in messages.
const KindSecret = "Secret"

// SecretMetadata is an empty Secret metadata object, the only form of a
// Secret the manager's cache holds.
func SecretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(KindSecret))
	return m
}
