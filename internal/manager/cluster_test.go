package manager

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ClusterProviderConfigs are served only by a manager that watches every
// namespace: a namespace-scoped install's RBAC reaches no cluster-scoped
// kind, so it neither watches them nor waits for their cache.
func TestClusterResourceNamespace(t *testing.T) {
	tests := map[string]struct {
		o         Options
		want      string
		wantAsked []string
	}{
		"all namespaces": {
			o:         Options{ClusterResourceNamespace: "ops"},
			want:      "ops",
			wantAsked: []string{"Collaborator", "ProviderConfig", "AccessPolicy", "Secret", "ClusterProviderConfig", "Namespace"},
		},
		"namespace-scoped": {
			o:         Options{ClusterResourceNamespace: "ops", WatchNamespaces: []string{"team-a"}},
			wantAsked: []string{"Collaborator", "ProviderConfig", "AccessPolicy", "Secret"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tc.o.clusterResourceNamespace()
			if got != tc.want {
				t.Errorf("clusterResourceNamespace() = %q, want %q", got, tc.want)
			}
			informers := &fakeInformers{t: t}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil)
			if err := cacheSynced(informers, mustScheme(t), tc.o.clusterKinds()...)(req); err != nil {
				t.Errorf("check: %v", err)
			}
			if diff := cmp.Diff(tc.wantAsked, informers.asked); diff != "" {
				t.Errorf("informers asked for (-want +got):\n%s", diff)
			}
		})
	}
}
