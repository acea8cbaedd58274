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
	"errors"
	"flag"
	"fmt"
	"os"
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

	"github.com/go-logr/logr"
	uberzap "go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/collab-dev/collaborator-operator/internal/manager"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

const (
	// defaultMaxConcurrentReconciles: the providers are protected by each
	// ProviderConfig's request budget (spec.rateLimit), not by the number
	// of workers, so there are enough workers for that budget to be what
	// bounds a bulk onboarding; see docs/scaling.md.
	defaultMaxConcurrentReconciles = 16
	// defaultProviderTimeout bounds each call to a provider's API.
	defaultProviderTimeout = 30 * time.Second
)

// flags are the manager's command-line settings, as given. options
// validates them and turns them into the manager's Options.
type flags struct {
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
	// maxConcurrentReconciles is how many Collaborators are reconciled at
	// once (--max-concurrent-reconciles).
	maxConcurrentReconciles int
	// providerTimeout bounds each call to a provider's API
	// (--provider-timeout).
	providerTimeout time.Duration
	// allowedProviderURLs is --allowed-provider-urls as given.
	allowedProviderURLs string
	// clusterResourceNamespace is --cluster-resource-namespace as given.
	clusterResourceNamespace string
}

// bind registers the flags on fs, with their defaults.
func (f *flags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "0", "The address Go's pprof endpoints (/debug/pprof/) bind to, "+
		"e.g. 127.0.0.1:6060 to profile memory or CPU; 0 disables them. "+
		"They expose the process's memory: never bind them beyond localhost.")
	fs.BoolVar(&f.enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.BoolVar(&f.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&f.leaderElectionNS, "leader-election-namespace", "",
		"The namespace of the leader election Lease. Empty means the namespace the manager's Pod runs in; "+
			"set it when running outside a cluster with --leader-elect.")
	fs.StringVar(&f.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch, e.g. team-a,team-b; every cache and watch, Secrets included, "+
			"is restricted to them, so namespaced RBAC (Roles) suffices. Empty (the default) watches all namespaces.")
	fs.StringVar(&f.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	fs.StringVar(&f.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&f.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&f.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics server")
	fs.IntVar(&f.maxConcurrentReconciles, "max-concurrent-reconciles", defaultMaxConcurrentReconciles,
		"How many Collaborators are reconciled at once (ProviderConfigs and Secrets, which are few, one at a time).")
	fs.StringVar(&f.allowedProviderURLs, "allowed-provider-urls", provider.DefaultAllowedURLs,
		"Comma-separated base URLs a ProviderConfig may point at; credentials are sent nowhere else. "+
			"Same scheme and host; an entry's port and path, when given, must match too.")
	fs.DurationVar(&f.providerTimeout, "provider-timeout", defaultProviderTimeout,
		"The time limit of each call to a provider's API.")
	fs.StringVar(&f.clusterResourceNamespace, "cluster-resource-namespace",
		defaultClusterResourceNamespace(serviceAccountNamespaceFile),
		"The namespace of ClusterProviderConfigs' Secrets. Default: the namespace of the manager's service account "+
			"when it runs in a cluster, else "+fallbackClusterResourceNamespace+". "+
			"Ignored with --watch-namespaces, which serves no ClusterProviderConfig.")
}

// Where the cluster resource namespace comes from by default.
const (
	// serviceAccountNamespaceFile holds the namespace of the Pod's service
	// account when the manager runs in a cluster.
	serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
	// fallbackClusterResourceNamespace is the default outside a cluster:
	// the namespace the install manifests create.
	fallbackClusterResourceNamespace = "collaborator-operator-system"
)

// defaultClusterResourceNamespace is the namespace named in file (the
// service account's), or fallbackClusterResourceNamespace when there is
// none.
func defaultClusterResourceNamespace(file string) string {
	b, err := os.ReadFile(file) //nolint:gosec // a fixed path, or a test's
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return fallbackClusterResourceNamespace
}

// options validates the flags and returns them as the manager's Options,
// each value parsed once. The error names every flag that is wrong.
func (f *flags) options() (manager.Options, error) {
	var errs []error
	if f.maxConcurrentReconciles < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrent-reconciles must be at least 1, not %d",
			f.maxConcurrentReconciles))
	}
	allowed, err := provider.ParseURLAllowList(f.allowedProviderURLs)
	if err != nil {
		errs = append(errs, fmt.Errorf("--allowed-provider-urls: %w", err))
	}
	if f.providerTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--provider-timeout must be a positive duration such as 30s, not %s",
			f.providerTimeout))
	}
	namespaces := splitNamespaces(f.watchNamespaces)
	for _, ns := range namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s",
				ns, strings.Join(msgs, "; ")))
		}
	}
	if msgs := validation.IsDNS1123Label(f.clusterResourceNamespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-resource-namespace: %q is not a namespace name: %s",
			f.clusterResourceNamespace, strings.Join(msgs, "; ")))
	}
	if f.probeAddr == "" {
		errs = append(errs, errors.New("--health-probe-bind-address must not be empty"))
	}
	if len(errs) > 0 {
		return manager.Options{}, errors.Join(errs...)
	}
	return manager.Options{
		MetricsAddr:              f.metricsAddr,
		SecureMetrics:            f.secureMetrics,
		MetricsCertPath:          f.metricsCertPath,
		MetricsCertName:          f.metricsCertName,
		MetricsCertKey:           f.metricsCertKey,
		EnableHTTP2:              f.enableHTTP2,
		ProbeAddr:                f.probeAddr,
		PprofAddr:                f.pprofAddr,
		LeaderElection:           f.enableLeaderElection,
		LeaderElectionNamespace:  f.leaderElectionNS,
		WatchNamespaces:          namespaces,
		MaxConcurrentReconciles:  f.maxConcurrentReconciles,
		ProviderTimeout:          f.providerTimeout,
		AllowedURLs:              allowed,
		ClusterResourceNamespace: f.clusterResourceNamespace,
	}, nil
}

// splitNamespaces returns the --watch-namespaces list without blanks and
// duplicates, or nil for all namespaces.
func splitNamespaces(list string) []string {
	var out []string
	for ns := range strings.SplitSeq(list, ",") {
		if ns = strings.TrimSpace(ns); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

func main() {
	var f flags
	f.bind(flag.CommandLine)
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
	log := ctrl.Log.WithName("setup")
	if setGCPercent() {
		log.Info("GOGC not set: collecting when the heap has grown by half", "gcPercent", defaultGCPercent)
	}

	opts, err := f.options()
	if err != nil {
		log.Error(err, "invalid flags")
		os.Exit(2)
	}
	if err := run(opts, log); err != nil {
		log.Error(err, "manager failed")
		os.Exit(1)
	}
}

// run builds the manager for the cluster of the kubeconfig and runs it
// until a termination signal.
func run(o manager.Options, log logr.Logger) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	mgr, err := manager.New(ctx, cfg, o)
	if err != nil {
		return err
	}
	log.Info("starting manager")
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}
