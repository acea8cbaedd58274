package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	// Providers builds provider clients; controllers never import a provider.
	Providers *provider.Registry

	// SlowRetry is the retry interval of terminal failures.
	SlowRetry time.Duration
	// RetryBase and RetryMax bound the exponential backoff of transient
	// failures.
	RetryBase, RetryMax time.Duration
}

// connector builds the connector both reconcilers resolve credentials with.
func (o *Options) connector() *connector {
	return &connector{client: o.Client, secrets: o.SecretReader, providers: o.Providers}
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
	providers *provider.Registry
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

// connect reads the ProviderConfig's Secret and builds a client for it.
func (k *connector) connect(ctx context.Context, pc *collabv1alpha1.ProviderConfig) (provider.Client, collabv1alpha1.Endpoint, error) {
	ep, ok := pc.Spec.Endpoint()
	if !ok {
		return nil, ep, &setupError{
			reason:   collabv1alpha1.ReasonCredentialsInvalid,
			message:  fmt.Sprintf("ProviderConfig %q configures no provider", pc.Name),
			terminal: true,
		}
	}
	secret := &corev1.Secret{}
	err := k.secrets.Get(ctx, types.NamespacedName{Namespace: pc.Namespace, Name: ep.SecretName}, secret)
	if apierrors.IsNotFound(err) {
		return nil, ep, &setupError{
			reason: collabv1alpha1.ReasonSecretNotFound,
			message: fmt.Sprintf("Secret %q named by ProviderConfig %q not found in namespace %q; create it, the operator retries",
				ep.SecretName, pc.Name, pc.Namespace),
		}
	}
	if err != nil {
		return nil, ep, fmt.Errorf("reading Secret %s/%s: %w", pc.Namespace, ep.SecretName, err)
	}
	pcl, err := k.providers.New(ep.Provider, provider.Config{BaseURL: ep.BaseURL, Credentials: provider.Credentials(secret.Data)})
	if err != nil {
		// Factories check only the Secret's shape, never the provider, so a
		// failure here is for a person to fix in the Secret.
		return nil, ep, &setupError{
			reason:   collabv1alpha1.ReasonCredentialsInvalid,
			message:  fmt.Sprintf("Secret %q of ProviderConfig %q is unusable: %v", ep.SecretName, pc.Name, err),
			terminal: true,
		}
	}
	return pcl, ep, nil
}
