package manager

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// mustScheme returns the manager's scheme.
func mustScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The scheme knows Kubernetes' kinds and the operator's.
func TestNewScheme(t *testing.T) {
	s := mustScheme(t)
	for _, gvk := range []schema.GroupVersionKind{
		corev1.SchemeGroupVersion.WithKind("Secret"),
		collabv1alpha1.GroupVersion.WithKind("Collaborator"),
		collabv1alpha1.GroupVersion.WithKind("ProviderConfig"),
		collabv1alpha1.GroupVersion.WithKind("AccessPolicy"),
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("the scheme does not know %s", gvk)
		}
	}
}

// managerWiring is what a test can compare of the manager's options.
type managerWiring struct {
	ProbeAddr, PprofAddr          string
	MetricsAddr                   string
	Namespaces                    []string
	LeaderElection                bool
	LeaderElectionID              string
	LeaderElectionNamespace       string
	LeaderElectionReleaseOnCancel bool
	GracefulShutdownTimeout       time.Duration
	// UncachedSecrets: Secrets are read from the API server, never
	// cached.
	UncachedSecrets bool
}

func TestManagerOptions(t *testing.T) {
	tests := map[string]struct {
		opts Options
		want managerWiring
	}{
		"single replica, every namespace": {
			opts: Options{ProbeAddr: ":8081", PprofAddr: "0", MetricsAddr: "0", ProviderTimeout: 30 * time.Second},
			want: managerWiring{
				ProbeAddr: ":8081", PprofAddr: "0", MetricsAddr: "0",
				LeaderElectionID: leaderElectionID, LeaderElectionReleaseOnCancel: true,
				GracefulShutdownTimeout: time.Minute, UncachedSecrets: true,
			},
		},
		"leader election, some namespaces": {
			opts: Options{
				ProbeAddr: ":9090", PprofAddr: "127.0.0.1:6060", MetricsAddr: ":8443",
				LeaderElection: true, LeaderElectionNamespace: "ops",
				WatchNamespaces: []string{"team-a", "team-b"}, ProviderTimeout: 5 * time.Second,
			},
			want: managerWiring{
				ProbeAddr: ":9090", PprofAddr: "127.0.0.1:6060", MetricsAddr: ":8443",
				Namespaces:     []string{"team-a", "team-b"},
				LeaderElection: true, LeaderElectionID: leaderElectionID, LeaderElectionNamespace: "ops",
				LeaderElectionReleaseOnCancel: true,
				GracefulShutdownTimeout:       35 * time.Second, UncachedSecrets: true,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			scheme := mustScheme(t)
			got := managerOptions(tc.opts, scheme, metricsserver.Options{BindAddress: tc.opts.MetricsAddr})
			if got.Scheme != scheme {
				t.Error("the manager does not use the scheme it was given")
			}
			var namespaces []string //nolint:prealloc // nil for none, as the expected values spell it
			for ns := range got.Cache.DefaultNamespaces {
				namespaces = append(namespaces, ns)
			}
			uncachedSecrets := false
			if got.Client.Cache != nil {
				for _, obj := range got.Client.Cache.DisableFor {
					_, uncachedSecrets = obj.(*corev1.Secret)
					if uncachedSecrets {
						break
					}
				}
			}
			wiring := managerWiring{
				ProbeAddr:                     got.HealthProbeBindAddress,
				PprofAddr:                     got.PprofBindAddress,
				MetricsAddr:                   got.Metrics.BindAddress,
				Namespaces:                    namespaces,
				LeaderElection:                got.LeaderElection,
				LeaderElectionID:              got.LeaderElectionID,
				LeaderElectionNamespace:       got.LeaderElectionNamespace,
				LeaderElectionReleaseOnCancel: got.LeaderElectionReleaseOnCancel,
				UncachedSecrets:               uncachedSecrets,
			}
			if got.GracefulShutdownTimeout != nil {
				wiring.GracefulShutdownTimeout = *got.GracefulShutdownTimeout
			}
			if diff := cmp.Diff(tc.want, wiring, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("manager options (-want +got):\n%s", diff)
			}
		})
	}
}
