/*
Copyright 2026 The collaborator-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs the collaborator-operator: the Collaborator and
// ProviderConfig reconcilers, against the cluster of the current kubeconfig
// or the one it runs in.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	// The image has an empty base, with no CA bundle: Go falls back to
	// these embedded roots when the system has none, so HTTPS to the real
	// providers works from a scratch image.
	_ "golang.org/x/crypto/x509roots/fallback"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	uberzap "go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
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

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

// Settings of the reconcilers, from the command line. setupControllers
// passes them on.
var (
	// maxConcurrentReconciles is how many objects of one kind are reconciled
	// at once (--max-concurrent-reconciles). The providers are protected by
	// each ProviderConfig's request budget (spec.rateLimit), not by the
	// number of workers, so there must be enough workers for the budget to
	// be what bounds a bulk onboarding: a new Collaborator's pass is a
	// provider call and two API-server round trips, about 0.1 s on a busy
	// cluster, so ten workers did only about as many creates a second as a
	// budget of 100/s allows, and any slowdown of the API server made them
	// the limit (docs/scaling.md: 10,000 Collaborators Ready in 174 s with
	// four, 90-103 s with ten, 88 and 90 s with sixteen against the
	// budget's 83 s).
	maxConcurrentReconciles = 16
	// providerTimeout bounds each call to a provider's API
	// (--provider-timeout).
	providerTimeout = 30 * time.Second
	// allowedProviderURLs is --allowed-provider-urls.
	allowedProviderURLs = provider.DefaultAllowedURLs
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(collabv1alpha1.AddToScheme(scheme))
	// +kubebuilder:scaffold:scheme
}

// options are the manager's command-line settings.
type options struct {
	metricsAddr          string
	metricsCertPath      string
	metricsCertName      string
	metricsCertKey       string
	enableLeaderElection bool
	leaderElectionNS     string
	probeAddr            string
	pprofAddr            string
	secureMetrics        bool
	enableHTTP2          bool
	// watchNamespaces is --watch-namespaces as given: a comma-separated
	// list, empty for all namespaces.
	watchNamespaces string
}

// namespaces returns the --watch-namespaces list without blanks and
// duplicates, or nil for all namespaces.
func (o *options) namespaces() []string {
	var out []string
	for _, ns := range strings.Split(o.watchNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

func bindFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "The address Go's pprof endpoints (/debug/pprof/) bind to, "+
		"e.g. 127.0.0.1:6060 to profile memory or CPU; 0 disables them. "+
		"They expose the process's memory: never bind them beyond localhost.")
	fs.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "",
		"The namespace of the leader election Lease. Empty means the namespace the manager's Pod runs in; "+
			"set it when running outside a cluster with --leader-elect.")
	fs.StringVar(&o.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch, e.g. team-a,team-b; every cache and watch, Secrets included, "+
			"is restricted to them, so namespaced RBAC (Roles) suffices. Empty (the default) watches all namespaces.")
	fs.StringVar(&o.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	fs.StringVar(&o.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&o.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server")
	fs.IntVar(&maxConcurrentReconciles, "max-concurrent-reconciles", maxConcurrentReconciles,
		"How many Collaborators are reconciled at once (ProviderConfigs and Secrets, which are few, one at a time).")
	fs.StringVar(&allowedProviderURLs, "allowed-provider-urls", provider.DefaultAllowedURLs,
		"Comma-separated base URLs a ProviderConfig may point at; credentials are sent nowhere else. "+
			"Same scheme and host; an entry's port and path, when given, must match too.")
	fs.DurationVar(&providerTimeout, "provider-timeout", providerTimeout,
		"The time limit of each call to a provider's API.")
}

func validate(o *options) error {
	var errs []error
	if maxConcurrentReconciles < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrent-reconciles must be at least 1, not %d", maxConcurrentReconciles))
	}
	if _, err := provider.ParseURLAllowList(allowedProviderURLs); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-provider-urls: %w", err))
	}
	if providerTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--provider-timeout must be a positive duration such as 30s, not %s", providerTimeout))
	}
	for _, ns := range o.namespaces() {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(msgs, "; ")))
		}
	}
	if o.probeAddr == "" {
		errs = append(errs, errors.New("--health-probe-bind-address must not be empty"))
	}
	return errors.Join(errs...)
}

func main() {
	var o options
	bindFlags(flag.CommandLine, &o)
	// Production logging by default: JSON lines at info level, which log
	// collectors parse. --zap-devel switches to the human-readable
	// development encoder; --zap-encoder and --zap-log-level set either
	// part alone.
	zapOpts := zap.Options{
		Development: false,
		ZapOpts:     []uberzap.Option{lazyFields()},
	}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if setGCPercent() {
		setupLog.Info("GOGC not set: collecting when the heap has grown by half", "gcPercent", defaultGCPercent)
	}

	if err := validate(&o); err != nil {
		setupLog.Error(err, "invalid flags")
		os.Exit(2)
	}
	if err := run(&o); err != nil {
		setupLog.Error(err, "manager failed")
		os.Exit(1)
	}
}

// run builds the manager, registers the controllers and runs it until a
// termination signal.
func run(o *options) error {
	var tlsOpts []func(*tls.Config)

	// if the enable-http2 flag is false (the default), http/2 should be disabled
	// due to its vulnerabilities. More specifically, disabling http/2 will
	// prevent from being vulnerable to the HTTP/2 Stream Cancellation and
	// Rapid Reset CVEs. For more information see:
	// - https://github.com/advisories/GHSA-qppj-fm5r-hxr3
	// - https://github.com/advisories/GHSA-4374-p667-p6c8
	disableHTTP2 := func(c *tls.Config) {
		setupLog.Info("disabling http/2")
		c.NextProtos = []string{"http/1.1"}
	}
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, disableHTTP2)
	}

	var metricsCertWatcher *certwatcher.CertWatcher

	// Metrics endpoint is enabled in 'config/default/kustomization.yaml'. The Metrics options configure the server.
	// More info:
	// - https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/metrics/server
	// - https://book.kubebuilder.io/reference/metrics.html
	metricsServerOptions := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOpts,
	}

	if o.secureMetrics {
		// Only callers whose token the API server authenticates and
		// authorizes for GET /metrics are served (the RBAC is in
		// config/rbac: metrics_auth_role and metrics_reader_role).
		metricsServerOptions.FilterProvider = metrics.AuthFilter
	}

	// If the certificate is not specified, controller-runtime will automatically
	// generate self-signed certificates for the metrics server. While convenient for development and testing,
	// this setup is not recommended for production.
	if o.metricsCertPath != "" {
		setupLog.Info("Initializing metrics certificate watcher using provided certificates",
			"metrics-cert-path", o.metricsCertPath, "metrics-cert-name", o.metricsCertName,
			"metrics-cert-key", o.metricsCertKey)

		var err error
		metricsCertWatcher, err = certwatcher.New(
			filepath.Join(o.metricsCertPath, o.metricsCertName),
			filepath.Join(o.metricsCertPath, o.metricsCertKey),
		)
		if err != nil {
			return fmt.Errorf("initializing the metrics certificate watcher: %w", err)
		}
		metricsServerOptions.TLSOpts = append(metricsServerOptions.TLSOpts, func(config *tls.Config) {
			config.GetCertificate = metricsCertWatcher.GetCertificate
		})
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsServerOptions,
		HealthProbeBindAddress: o.probeAddr,
		PprofBindAddress:       o.pprofAddr,
		Cache:                  cacheOptions(o),
		// Secrets are read straight from the API server: caching them
		// would hold every Secret of the cluster in the manager's memory.
		// The controllers watch only their metadata.
		Client:           client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:   o.enableLeaderElection,
		LeaderElectionID: leaderElectionID,
		// Empty: the Pod's own namespace, which controller-runtime reads
		// from the ServiceAccount mount.
		LeaderElectionNamespace: o.leaderElectionNS,
		// The manager stops right after the leader lease is released, so
		// releasing it on cancel lets a new leader start at once instead of
		// waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
		// A create that has started must get its id recorded before the
		// process ends: see shutdownBudget.
		GracefulShutdownTimeout: ptr.To(shutdownBudget(providerTimeout)),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	if err := setupControllers(mgr); err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	// +kubebuilder:scaffold:builder

	if metricsCertWatcher != nil {
		setupLog.Info("Adding metrics certificate watcher to manager")
		if err := mgr.Add(metricsCertWatcher); err != nil {
			return fmt.Errorf("adding the metrics certificate watcher: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", cacheSynced(mgr)); err != nil {
		return fmt.Errorf("setting up the ready check: %w", err)
	}
	// Conditions as metrics, read from the cache at scrape time.
	if err := crmetrics.Registry.Register(&metrics.StatusCollector{
		Reader: mgr.GetCache(),
		Log:    ctrl.Log.WithName("metrics"),
	}); err != nil {
		return fmt.Errorf("registering the status metrics: %w", err)
	}

	setupLog.Info("starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// cacheOptions restricts the manager's cache, and so every watch, to the
// --watch-namespaces when given. The Secrets' metadata watch goes through
// the same cache, so a namespaced install needs no cluster-wide Secret
// access.
func cacheOptions(o *options) cache.Options {
	// Nothing the reconcilers never read is held: no managedFields, and no
	// annotations of Secrets (see controller.StripCachedObject).
	opts := cache.Options{DefaultTransform: controller.StripCachedObject()}
	nss := o.namespaces()
	if len(nss) == 0 {
		return opts
	}
	opts.DefaultNamespaces = make(map[string]cache.Config, len(nss))
	for _, ns := range nss {
		opts.DefaultNamespaces[ns] = cache.Config{}
	}
	return opts
}

// cacheSynced is the readiness check: ready only once the caches of what
// the reconcilers watch (Collaborators, ProviderConfigs and the metadata
// of Secrets) hold a full copy, so a rollout waits for the new Pod to be
// able to work before it stops the old one, and a Pod whose RBAC cannot
// list one of them never turns Ready. It starts those informers itself
// rather than waiting for the controllers to, because on a replica that is
// not the leader the controllers do not start: a standby keeps its caches
// warm and takes over at once. The check never blocks a probe.
func cacheSynced(mgr ctrl.Manager) healthz.Checker {
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	watched := []client.Object{
		&collabv1alpha1.Collaborator{}, &collabv1alpha1.ProviderConfig{}, &collabv1alpha1.AccessPolicy{}, secretMeta,
	}
	return func(req *http.Request) error {
		for _, obj := range watched {
			inf, err := mgr.GetCache().GetInformer(req.Context(), obj, cache.BlockUntilSynced(false))
			if err != nil {
				return fmt.Errorf("starting the informer of %T: %w", obj, err)
			}
			if !inf.HasSynced() {
				gvk, _ := apiutil.GVKForObject(obj, mgr.GetScheme())
				return fmt.Errorf("the %s cache has not synced yet", gvk.Kind)
			}
		}
		return nil
	}
}

// setupControllers registers the reconcilers and the provider registry with
// mgr. They read maxConcurrentReconciles and providerTimeout.
func setupControllers(mgr ctrl.Manager) error {
	providers := builtin.NewRegistry(builtin.Options{Timeout: providerTimeout, Observer: metrics.Provider{}})
	if err := controller.SetupIndexes(context.Background(), mgr); err != nil {
		return err
	}
	allowed, err := provider.ParseURLAllowList(allowedProviderURLs)
	if err != nil {
		return fmt.Errorf("--allowed-provider-urls: %w", err)
	}
	opts := controller.Options{
		Client:         mgr.GetClient(),
		SecretReader:   mgr.GetAPIReader(),
		SecretMetadata: mgr.GetCache(),
		Providers:      providers,
		AllowedURLs:    allowed,
	}
	// Events are written by a recorder that remembers little of them
	// (see internal/events), not by the manager's broadcaster.
	recorder := events.NewRecorder(mgr.GetClient(), mgr.GetScheme(), "collaborator-operator")
	if err := mgr.Add(recorder); err != nil {
		return fmt.Errorf("adding the event recorder: %w", err)
	}
	if err := (&controller.CollaboratorReconciler{
		Options:                 opts,
		Recorder:                recorder,
		MaxConcurrentReconciles: maxConcurrentReconciles,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Collaborator controller: %w", err)
	}
	if err := (&controller.ProviderConfigReconciler{Options: opts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ProviderConfig controller: %w", err)
	}
	secrets := &controller.SecretReconciler{Client: mgr.GetClient(), SecretMetadata: mgr.GetCache()}
	if err := secrets.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Secret controller: %w", err)
	}
	if err := (&controller.AccessPolicyReconciler{
		Options:  opts,
		Recorder: recorder,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AccessPolicy controller: %w", err)
	}
	return nil
}

// shutdownMargin is what the manager needs beyond its critical writes to
// stop its servers and release the leader lease.
const shutdownMargin = 15 * time.Second

// shutdownBudget is the manager's graceful shutdown timeout: long enough
// for a provider call that has started (providerTimeout) and the
// external-id write that follows it, so a pod stop never loses an
// AppHarbor id. With the defaults it is 60s; the Deployment's
// terminationGracePeriodSeconds (75) must be larger still.
func shutdownBudget(providerTimeout time.Duration) time.Duration {
	return providerTimeout + controller.CriticalWriteTimeout + shutdownMargin
}
