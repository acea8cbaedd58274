package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Config is what the reconcilers need from the manager's wiring. Setup
// builds the one connector from it, so every reconciler shares one
// credential cache.
type Config struct {
	// Providers builds provider clients; controllers never import a provider.
	Providers *provider.Registry
	// AllowedURLs are the base URLs credentials may be sent to
	// (--allowed-provider-urls). Nil allows none.
	AllowedURLs *provider.URLAllowList
	// Recorder publishes Events.
	Recorder events.EventRecorder
	// MaxConcurrentReconciles bounds parallel Collaborator reconciles.
	MaxConcurrentReconciles int
	// SecretReader reads Secrets' data; nil means the manager's API reader
	// (uncached). Tests wrap it to count reads.
	SecretReader client.Reader
	// SlowRetry, RetryBase and RetryMax tune retries; zero means the
	// defaults (DefaultSlowRetry, DefaultRetryBase, DefaultRetryMax).
	SlowRetry, RetryBase, RetryMax time.Duration
}

// Setup registers the field indexes and every reconciler with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	secrets := cfg.SecretReader
	if secrets == nil {
		secrets = mgr.GetAPIReader()
	}
	opts := Options{
		Client: mgr.GetClient(), SecretReader: secrets, SecretMetadata: mgr.GetCache(),
		Providers: cfg.Providers, AllowedURLs: cfg.AllowedURLs,
		SlowRetry: cfg.SlowRetry, RetryBase: cfg.RetryBase, RetryMax: cfg.RetryMax,
	}
	if err := (&CollaboratorReconciler{
		Options: opts, Recorder: cfg.Recorder, MaxConcurrentReconciles: cfg.MaxConcurrentReconciles,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Collaborator controller: %w", err)
	}
	if err := (&ProviderConfigReconciler{Options: opts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ProviderConfig controller: %w", err)
	}
	if err := (&SecretReconciler{Client: mgr.GetClient(), SecretMetadata: mgr.GetCache()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Secret controller: %w", err)
	}
	if err := (&AccessPolicyReconciler{Options: opts, Recorder: cfg.Recorder}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AccessPolicy controller: %w", err)
	}
	return nil
}
