// Package controller wires the operator's reconcilers into a manager. Each
// reconciler lives in its own package, one per concern (collaborator,
// providerconfig, clusterproviderconfig, accesspolicy, inuse); what they
// share is in engine (conditions, retries, status writes, failure
// reports), connector (the one credential cache, and where a
// ClusterProviderConfig's grants are enforced, by permit's rules),
// credcheck (the credentials objects' pass), usage (which objects use
// which credentials) and uninstall (whether the operator is being
// uninstalled, which never revokes).
// The envtest suite in this package runs them all together against a real
// API server.
package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/collab-dev/collaborator-operator/internal/controller/accesspolicy"
	"github.com/collab-dev/collaborator-operator/internal/controller/clusterproviderconfig"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/inuse"
	"github.com/collab-dev/collaborator-operator/internal/controller/providerconfig"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// CriticalWriteTimeout bounds writes that must finish even while the
// manager stops (the external id after a create); the manager's graceful
// shutdown timeout must exceed the provider timeout plus this.
const CriticalWriteTimeout = collaborator.CriticalWriteTimeout

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
	// engine's defaults.
	SlowRetry, RetryBase, RetryMax time.Duration
	// ClusterResourceNamespace is where ClusterProviderConfigs' Secrets
	// live (--cluster-resource-namespace). Empty: ClusterProviderConfigs
	// are not served (a namespace-scoped install): not watched, and every
	// reference to one is NotPermitted.
	ClusterResourceNamespace string
}

// Setup registers the field indexes and every reconciler with mgr, all
// sharing one connector.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := usage.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	served := cfg.ClusterResourceNamespace != ""
	if served {
		if err := usage.SetupClusterIndexes(ctx, mgr); err != nil {
			return err
		}
	}
	secrets := cfg.SecretReader
	if secrets == nil {
		secrets = mgr.GetAPIReader()
	}
	// Uninstalling (deleting the Collaborator CRD) never revokes: every
	// reconciler that could call a provider or hold a finalizer asks it.
	uninstalling, err := uninstall.New(mgr.GetConfig(), mgr.GetHTTPClient(), uninstall.CRDName, ctrl.Log.WithName("uninstall"))
	if err != nil {
		return err
	}
	if err := mgr.Add(uninstalling); err != nil {
		return fmt.Errorf("adding the uninstall watch: %w", err)
	}
	conns := connector.New(connector.Options{
		Client: mgr.GetClient(), SecretReader: secrets, SecretMetadata: mgr.GetCache(),
		Providers: cfg.Providers, AllowedURLs: cfg.AllowedURLs, Uninstall: uninstalling,
		ClusterResourceNamespace: cfg.ClusterResourceNamespace,
	})
	retry := engine.RetrySettings{Slow: cfg.SlowRetry, Base: cfg.RetryBase, Max: cfg.RetryMax}
	cl := mgr.GetClient()
	if err := (&collaborator.Reconciler{
		Client: cl, Connector: conns, Recorder: cfg.Recorder, Retry: retry,
		MaxConcurrentReconciles: cfg.MaxConcurrentReconciles, Uninstall: uninstalling, APIReader: mgr.GetAPIReader(),
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Collaborator controller: %w", err)
	}
	if err := (&providerconfig.Reconciler{Client: cl, Connector: conns, Retry: retry, Uninstall: uninstalling}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ProviderConfig controller: %w", err)
	}
	if served {
		if err := (&clusterproviderconfig.Reconciler{Client: cl, Connector: conns, Retry: retry, Uninstall: uninstalling}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the ClusterProviderConfig controller: %w", err)
		}
	}
	if err := (&inuse.SecretReconciler{
		Client: cl, SecretMetadata: mgr.GetCache(), Uninstall: uninstalling, ClusterResourceNamespace: cfg.ClusterResourceNamespace,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Secret controller: %w", err)
	}
	if err := (&accesspolicy.Reconciler{
		Client: cl, Connector: conns, Recorder: cfg.Recorder, Retry: retry, Uninstall: uninstalling,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AccessPolicy controller: %w", err)
	}
	return nil
}
