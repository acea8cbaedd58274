package install

import (
	"slices"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

// TestInstallerClusterProviderConfigRoles: install.yaml ships kubebuilder's
// admin, editor and viewer ClusterRoles for ClusterProviderConfigs, as for
// the other kinds, aggregated into nothing (docs/security.md): binding
// them, cluster-wide, is the administrator's choice.
func TestInstallerClusterProviderConfigRoles(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	roles := clusterProviderConfigRoles(render(t, root))
	const prefix = "collaborator-operator-clusterproviderconfig-"
	want := map[string][]string{
		prefix + "admin-role":  {"*"},
		prefix + "editor-role": {"create", "delete", "get", "list", "patch", "update", "watch"},
		prefix + "viewer-role": {"get", "list", "watch"},
	}
	if len(roles) != len(want) {
		t.Errorf("%d ClusterRoles name clusterproviderconfigs besides the manager's; want %d", len(roles), len(want))
	}
	for name, verbs := range want {
		r, ok := roles[name]
		if !ok {
			t.Errorf("install.yaml has no ClusterRole %s", name)
			continue
		}
		for k := range r.Labels {
			if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
				t.Errorf("%s carries %s; install.yaml aggregates nothing", name, k)
			}
		}
		if got := r.Rules[0].Verbs; !slices.Equal(got, verbs) {
			t.Errorf("%s may %v clusterproviderconfigs; want %v", name, got, verbs)
		}
	}
}
