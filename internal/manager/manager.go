// Package manager builds the collaborator-operator's controller manager:
// its servers (metrics, probes, pprof), its cache, leader election and
// shutdown budget, the provider registry, the event recorder, the status
// metrics and the reconcilers. cmd/main.go turns the command line into
// Options and calls New.
package manager

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller"
	"github.com/collab-dev/collaborator-operator/internal/events"
	"github.com/collab-dev/collaborator-operator/internal/metrics"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/builtin"
	// +kubebuilder:scaffold:imports
)

// leaderElectionID names the Lease that the manager's replicas compete for.
const leaderElectionID = "collaborator-operator.collab.dev"

// Options are the manager's settings, parsed and validated (cmd/main.go
// fills them from its flags).
type Options struct {
	// MetricsAddr is the address the metrics endpoint binds to
	// (--metrics-bind-address); "0" disables it.
	MetricsAddr string
	// SecureMetrics serves the metrics over HTTPS, to callers the API
	// server authorizes, instead of plain HTTP (--metrics-secure).
	SecureMetrics bool
	// MetricsCertPath is the directory of the metrics server's certificate
	// (--metrics-cert-path). Empty: controller-runtime generates a
	// self-signed one.
	MetricsCertPath string
	// MetricsCertName and MetricsCertKey name the certificate and key files
	// in MetricsCertPath (--metrics-cert-name, --metrics-cert-key).
	MetricsCertName, MetricsCertKey string
	// EnableHTTP2 lets the metrics server speak HTTP/2 (--enable-http2).
	EnableHTTP2 bool
	// ProbeAddr is the address of the /healthz and /readyz endpoints
	// (--health-probe-bind-address).
	ProbeAddr string
	// PprofAddr is the address of Go's pprof endpoints
	// (--pprof-bind-address); "0" disables them.
	PprofAddr string
	// LeaderElection makes the replicas elect the one that reconciles
	// (--leader-elect).
	LeaderElection bool
	// LeaderElectionNamespace is the namespace of the leader Lease
	// (--leader-election-namespace). Empty: the Pod's own namespace, which
	// controller-runtime reads from the ServiceAccount mount.
	LeaderElectionNamespace string
	// WatchNamespaces restricts every cache and watch to these namespaces
	// (--watch-namespaces, without blanks and duplicates); nil watches all.
	WatchNamespaces []string
	// MaxConcurrentReconciles is how many Collaborators are reconciled at
	// once (--max-concurrent-reconciles).
	MaxConcurrentReconciles int
	// ProviderTimeout bounds each call to a provider's API
	// (--provider-timeout).
	ProviderTimeout time.Duration
	// AllowedURLs are the base URLs a ProviderConfig may point at
	// (--allowed-provider-urls). Nil allows none.
	AllowedURLs *provider.URLAllowList
	// ClusterResourceNamespace is where ClusterProviderConfigs' Secrets
	// live (--cluster-resource-namespace). ClusterProviderConfigs are
	// served only by a manager that watches all namespaces: with
	// WatchNamespaces set they are neither watched nor usable.
	ClusterResourceNamespace string
}

// clusterResourceNamespace is where ClusterProviderConfigs' Secrets live,
// or "" when this manager serves no ClusterProviderConfig (a
// namespace-scoped install, whose RBAC reaches no cluster-scoped kind).
func (o Options) clusterResourceNamespace() string {
	if len(o.WatchNamespaces) > 0 {
		return ""
	}
	return o.ClusterResourceNamespace
}

// New builds the manager for the cluster of cfg: its servers, cache and
// leader election, the reconcilers, the event recorder, the health and
// readiness checks and the status metrics. ctx bounds the controllers'
// setup. The status metrics are registered in controller-runtime's global
// registry, so a process builds one manager. Start the manager to run it.
func New(ctx context.Context, cfg *rest.Config, o Options) (ctrl.Manager, error) {
	log := ctrl.Log.WithName("setup")
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	metricsOpts, metricsCertWatcher, err := metricsServerOptions(o, log)
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, managerOptions(o, scheme, metricsOpts))
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}

	if err := setupControllers(ctx, mgr, o); err != nil {
		return nil, fmt.Errorf("setting up the controllers: %w", err)
	}
	// +kubebuilder:scaffold:builder

	if metricsCertWatcher != nil {
		log.Info("Adding metrics certificate watcher to manager")
		if err := mgr.Add(metricsCertWatcher); err != nil {
			return nil, fmt.Errorf("adding the metrics certificate watcher: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("setting up the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", cacheSynced(mgr.GetCache(), mgr.GetScheme(), o.clusterKinds()...)); err != nil {
		return nil, fmt.Errorf("setting up the ready check: %w", err)
	}
	// Conditions as metrics, read from the cache at scrape time.
	if err := crmetrics.Registry.Register(&metrics.StatusCollector{
		Reader:                 mgr.GetCache(),
		Log:                    ctrl.Log.WithName("metrics"),
		ClusterProviderConfigs: o.clusterResourceNamespace() != "",
	}); err != nil {
		return nil, fmt.Errorf("registering the status metrics: %w", err)
	}
	return mgr, nil
}

// newScheme returns the scheme of every kind the manager reads or writes:
// Kubernetes' own and the operator's.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		collabv1alpha1.AddToScheme,
		// +kubebuilder:scaffold:scheme
	} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	return scheme, nil
}

// managerOptions are the controller-runtime options of the manager.
func managerOptions(o Options, scheme *runtime.Scheme, metricsOpts metricsserver.Options) ctrl.Options {
	return ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.ProbeAddr,
		PprofBindAddress:       o.PprofAddr,
		Cache:                  cacheOptions(o.WatchNamespaces),
		// Secrets are read straight from the API server: caching them
		// would hold every Secret of the cluster in the manager's memory.
		// The controllers watch only their metadata.
		Client:           client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:   o.LeaderElection,
		LeaderElectionID: leaderElectionID,
		// Empty: the Pod's own namespace, which controller-runtime reads
		// from the ServiceAccount mount.
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// The manager stops right after the leader lease is released, so
		// releasing it on cancel lets a new leader start at once instead of
		// waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
		// A create that has started must get its id recorded before the
		// process ends: see shutdownBudget.
		GracefulShutdownTimeout: ptr.To(shutdownBudget(o.ProviderTimeout)),
	}
}

// setupControllers registers the provider registry, the event recorder and
// the reconcilers with mgr.
func setupControllers(ctx context.Context, mgr ctrl.Manager, o Options) error {
	providers := builtin.NewRegistry(builtin.Options{Timeout: o.ProviderTimeout, Observer: metrics.Provider{},
		MaxInFlight: maxInFlight(o.MaxConcurrentReconciles)})
	// Events are written by a recorder that remembers little of them
	// (see internal/events), not by the manager's broadcaster.
	recorder := events.NewRecorder(mgr.GetClient(), mgr.GetScheme(), "collaborator-operator")
	if err := mgr.Add(recorder); err != nil {
		return fmt.Errorf("adding the event recorder: %w", err)
	}
	return controller.Setup(ctx, mgr, controller.Config{
		Providers:                providers,
		AllowedURLs:              o.AllowedURLs,
		Recorder:                 recorder,
		MaxConcurrentReconciles:  o.MaxConcurrentReconciles,
		ClusterResourceNamespace: o.clusterResourceNamespace(),
	})
}

// maxInFlight is how many requests one set of credentials may have
// awaiting answers at once: half the workers, so that one tenant's slow or
// hanging provider leaves the other half to every other tenant.
func maxInFlight(workers int) int {
	return max(workers/2, 1)
}
