package install

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// chartDir is the Helm chart, relative to the repository root.
const chartDir = "charts/collaborator-operator"

// releaseNamespace is where the tests install the chart.
const releaseNamespace = "collab-system"

// chartCase is one set of values the chart is checked with.
type chartCase struct {
	name string
	// set are helm --set arguments.
	set []string
	// scoped is the watchNamespaces the values set, if any.
	scoped []string
}

var chartCases = []chartCase{
	{name: "default"},
	{
		name:   "namespaced",
		set:    []string{"watchNamespaces={team-a,team-b}"},
		scoped: []string{"team-a", "team-b"},
	},
	{
		name: "monitoring",
		set:  []string{"serviceMonitor.enabled=true", "prometheusRule.enabled=true", "replicaCount=2"},
	},
}

// helmTemplate renders the chart as `helm install` would, CRDs included.
func helmTemplate(t *testing.T, release, namespace string, set []string) []*unstructured.Unstructured {
	t.Helper()
	args := make([]string, 0, 8+2*len(set))
	args = append(args, "template", release, chartDir, "--namespace", namespace,
		"--include-crds", "--kube-version", "1.36.3",
		// What a 1.36 cluster's discovery tells `helm install`.
		"--api-versions", "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy")
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := testenv.Helm.Run(testenv.RepoRoot(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, []byte(out))
}

func TestChart(t *testing.T) {
	if err := testenv.TrackInputs(chartDir, "config/crd/bases", "config/rbac", "config/prometheus",
		"config/admission"); err != nil {
		t.Fatal(err)
	}
	root := testenv.RepoRoot()
	t.Run("copies-of-config", func(t *testing.T) { checkCopies(t, root) })

	var all []*unstructured.Unstructured
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			lint := []string{"lint", chartDir, "--strict", "--kube-version", "1.36.3"}
			for _, s := range tc.set {
				lint = append(lint, "--set", s)
			}
			if out, err := testenv.Helm.Run(root, lint...); err != nil {
				t.Fatal(err)
			} else {
				t.Log(out)
			}
			objs := helmTemplate(t, "collab", releaseNamespace, tc.set)
			checkCRDs(t, objs)
			sa := "collab-collaborator-operator"
			dep := checkDeployment(t, objs, sa)
			checkMetricsService(t, objs, dep)
			pod := dep.Spec.Template.Spec
			if g := pod.TerminationGracePeriodSeconds; g == nil || *g != 75 {
				t.Errorf("terminationGracePeriodSeconds %v; want 75 (60s graceful shutdown plus margin)", g)
			}
			args := strings.Join(pod.Containers[0].Args, " ")
			lines := grants(t, objs, releaseNamespace, sa)
			if tc.scoped != nil {
				if want := "--watch-namespaces=" + strings.Join(tc.scoped, ","); !strings.Contains(args, want) {
					t.Errorf("manager args %q lack %s", args, want)
				}
				for _, l := range lines {
					if strings.HasPrefix(l, "cluster: secrets") || strings.HasPrefix(l, "cluster: collaborators") {
						t.Errorf("a namespaced install grants %q cluster-wide", l)
					}
					// It serves no ClusterProviderConfig (docs/multi-tenancy.md):
					// nothing on them or on namespaces, cluster-wide or in a
					// Role (where a cluster-scoped resource means nothing).
					if strings.Contains(l, ": clusterproviderconfigs") || strings.Contains(l, ": namespaces:") {
						t.Errorf("a namespaced install grants %q", l)
					}
				}
				if roles := clusterProviderConfigRoles(objs); len(roles) > 0 {
					t.Errorf("a namespaced install renders roles for ClusterProviderConfigs, which it does not serve: %v", roles)
				}
			} else {
				checkClusterProviderConfigRoles(t, objs)
			}
			// Cluster-wide and namespaced alike: an uninstall must be told
			// from a delete (docs/uninstall.md).
			if !slices.Contains(lines, crdRead) {
				t.Errorf("the chart does not grant %q", crdRead)
			}
			checkFinalizerPolicy(t, objs, tc.scoped)
			checkGolden(t, "chart-"+tc.name, lines)
			all = append(all, objs...)
		})
	}
	t.Run("server-side-dry-run", func(t *testing.T) {
		// One release per case, so their cluster-scoped names differ.
		objs := make([]*unstructured.Unstructured, 0, 64)
		for _, tc := range chartCases {
			objs = append(objs, helmTemplate(t, "dry-"+tc.name, releaseNamespace, tc.set)...)
		}
		dryRun(t, root, dedupeCRDs(objs))
	})
}

// dedupeCRDs keeps one copy of each CRD, which every render includes.
func dedupeCRDs(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	seen := map[string]bool{}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			if seen[o.GetName()] {
				continue
			}
			seen[o.GetName()] = true
		}
		out = append(out, o)
	}
	return out
}

// checkCopies checks that the chart's copies of config/ are current:
// `make manifests` writes them, so a stale copy means it was not run.
func checkCopies(t *testing.T, root string) {
	pairs := map[string]string{
		"config/rbac/role.yaml":         chartDir + "/files/manager-role.yaml",
		"config/prometheus/alerts.yaml": chartDir + "/files/alerts.yaml",
	}
	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range crds {
		pairs["config/crd/bases/"+filepath.Base(c)] = chartDir + "/crds/" + filepath.Base(c)
	}
	copies, err := filepath.Glob(filepath.Join(root, chartDir, "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != len(crds) {
		t.Errorf("the chart has %d CRDs, config/crd/bases %d; run make manifests", len(copies), len(crds))
	}
	for src, dst := range pairs {
		a, errA := os.ReadFile(filepath.Join(root, src)) //nolint:gosec // G304: this repository's files
		b, errB := os.ReadFile(filepath.Join(root, dst)) //nolint:gosec // G304: this repository's files
		if errA != nil || errB != nil {
			t.Errorf("comparing %s with %s: %v %v", src, dst, errA, errB)
			continue
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s; run make manifests:\n%s", dst, src, cmp.Diff(string(a), string(b)))
		}
	}
}

// TestChartRefusesUnsafeValues: values that would run two active managers
// fail at render time with a message that says why.
func TestChartRefusesUnsafeValues(t *testing.T) {
	out, err := testenv.Helm.Run(testenv.RepoRoot(), "template", "x", chartDir, "--kube-version", "1.36.3",
		"--set", "replicaCount=2", "--set", "leaderElection.enabled=false")
	if err == nil {
		t.Fatal("helm template accepted replicaCount=2 without leader election")
	}
	if want := "replicaCount > 1 needs leaderElection.enabled"; !strings.Contains(out, want) {
		t.Errorf("helm's output lacks %q:\n%s", want, out)
	}
}

// checkFinalizerPolicy checks the chart's admission policy: bound to the
// policy it renders, and in a namespaced install only to the watched
// namespaces (a finalizer nothing removes would block deletes elsewhere).
func checkFinalizerPolicy(t *testing.T, objs []*unstructured.Unstructured, scoped []string) {
	t.Helper()
	policies, bindings := find(objs, "MutatingAdmissionPolicy"), find(objs, "MutatingAdmissionPolicyBinding")
	if len(policies) != 1 || len(bindings) != 1 {
		t.Fatalf("%d MutatingAdmissionPolicies and %d bindings, want 1 each", len(policies), len(bindings))
	}
	// The chart's copy says what config/admission says.
	shipped, err := devstack.ReadFinalizerPolicy(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	if want := find(shipped, "MutatingAdmissionPolicy"); len(want) == 1 {
		if diff := cmp.Diff(want[0].Object["spec"], policies[0].Object["spec"]); diff != "" {
			t.Errorf("the chart's policy differs from config/admission's (-config +chart):\n%s", diff)
		}
	} else {
		t.Errorf("config/admission has %d policies, want 1", len(want))
	}
	name, _, _ := unstructured.NestedString(bindings[0].Object, "spec", "policyName")
	if name != policies[0].GetName() {
		t.Errorf("the binding names policy %q, the chart renders %q", name, policies[0].GetName())
	}
	exprs, found, _ := unstructured.NestedSlice(bindings[0].Object,
		"spec", "matchResources", "namespaceSelector", "matchExpressions")
	switch {
	case scoped == nil && found:
		t.Errorf("a cluster-wide install binds the policy to %v, want every namespace", exprs)
	case scoped != nil:
		want := []any{map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": toAny(scoped)}}
		if diff := cmp.Diff(want, exprs); diff != "" {
			t.Errorf("namespaced binding's selector (-want +got):\n%s", diff)
		}
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// clusterProviderConfigRoles returns the names of the ClusterRoles whose
// rules name clusterproviderconfigs: the user-facing roles (not the
// manager's).
func clusterProviderConfigRoles(objs []*unstructured.Unstructured) map[string]rbacv1.ClusterRole {
	roles := map[string]rbacv1.ClusterRole{}
	for _, o := range find(objs, "ClusterRole") {
		var r rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
			continue
		}
		if strings.HasSuffix(r.Name, "-manager") || strings.HasSuffix(r.Name, "-manager-role") {
			continue
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.Resources, "clusterproviderconfigs") {
				roles[r.Name] = r
			}
		}
	}
	return roles
}

// checkClusterProviderConfigRoles: a ClusterProviderConfig is
// cluster-scoped and decides which namespaces may use an organization's
// credentials, so the chart's roles for writing it are aggregated into no
// built-in role (docs/security.md); reading it is part of view.
func checkClusterProviderConfigRoles(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	roles := clusterProviderConfigRoles(objs)
	const prefix = "collab-collaborator-operator-clusterproviderconfig-"
	want := map[string]struct {
		verbs     []string
		aggregate string
	}{
		prefix + "admin":  {verbs: []string{"*"}},
		prefix + "editor": {verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
		prefix + "viewer": {verbs: []string{"get", "list", "watch"}, aggregate: "view"},
	}
	if len(roles) != len(want) {
		names := make([]string, 0, len(roles))
		for n := range roles {
			names = append(names, n)
		}
		t.Errorf("ClusterRoles naming clusterproviderconfigs: %v; want the admin, editor and viewer roles only", names)
	}
	for name, w := range want {
		r, ok := roles[name]
		if !ok {
			t.Errorf("no ClusterRole %s", name)
			continue
		}
		var aggregates []string
		for k, v := range r.Labels {
			if to, ok := strings.CutPrefix(k, "rbac.authorization.k8s.io/aggregate-to-"); ok && v == "true" {
				aggregates = append(aggregates, to)
			}
		}
		var wantAgg []string
		if w.aggregate != "" {
			wantAgg = []string{w.aggregate}
		}
		if !slices.Equal(aggregates, wantAgg) {
			t.Errorf("%s aggregates to %v; want %v", name, aggregates, wantAgg)
		}
		if got := r.Rules[0].Verbs; !slices.Equal(got, w.verbs) {
			t.Errorf("%s may %v clusterproviderconfigs; want %v", name, got, w.verbs)
		}
	}
}
