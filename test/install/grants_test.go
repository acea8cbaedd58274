package install

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// crdRead is the grant that lets the manager tell an uninstall (the
// Collaborator CRD deleted), which never revokes, from a delete.
const crdRead = "cluster: customresourcedefinitions.apiextensions.k8s.io named collaborators.collab.dev: get,list,watch"

// update rewrites the golden grant lists: go test ./test/install -run 'TestInstaller|TestChart$' -update
var update = flag.Bool("update", false, "rewrite testdata/grants/*.golden from the rendered RBAC")

// grant is one permission of a ServiceAccount: a verb set on one resource
// of one API group (or a non-resource URL), cluster-wide or in one
// namespace, on every object or only on the named ones.
type grant struct {
	// scope is "cluster" or "namespace NAME".
	scope    string
	group    string
	resource string
	// names are the rule's resourceNames, comma-separated; empty: all.
	names string
	verbs []string
}

func (g grant) String() string {
	res := g.resource
	if g.group != "" {
		res += "." + g.group
	}
	if g.names != "" {
		res += " named " + g.names
	}
	return fmt.Sprintf("%s: %s: %s", g.scope, res, strings.Join(g.verbs, ","))
}

// grants lists what the RBAC objects among objs grant to ServiceAccount
// ns/sa, one line per scope and resource, sorted: the list a reviewer reads
// to see what the operator may do.
func grants(t *testing.T, objs []*unstructured.Unstructured, ns, sa string) []string {
	t.Helper()
	isSA := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == ns
		})
	}
	clusterRoles := map[string][]rbacv1.PolicyRule{}
	for _, o := range find(objs, "ClusterRole") {
		clusterRoles[o.GetName()] = convert[rbacv1.ClusterRole](t, o).Rules
	}
	roles := map[string][]rbacv1.PolicyRule{}
	for _, o := range find(objs, "Role") {
		roles[o.GetNamespace()+"/"+o.GetName()] = convert[rbacv1.Role](t, o).Rules
	}
	verbs := map[string][]string{} // key: scope|group|resource|names
	add := func(scope string, rules []rbacv1.PolicyRule) {
		for _, r := range rules {
			names := strings.Join(r.ResourceNames, ",")
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					k := scope + "|" + g + "|" + res + "|" + names
					verbs[k] = append(verbs[k], r.Verbs...)
				}
			}
			for _, u := range r.NonResourceURLs {
				k := scope + "||" + u + "|"
				verbs[k] = append(verbs[k], r.Verbs...)
			}
		}
	}
	for _, o := range find(objs, "ClusterRoleBinding") {
		b := convert[rbacv1.ClusterRoleBinding](t, o)
		if isSA(b.Subjects) {
			add("cluster", clusterRoles[b.RoleRef.Name])
		}
	}
	for _, o := range find(objs, "RoleBinding") {
		b := convert[rbacv1.RoleBinding](t, o)
		if !isSA(b.Subjects) {
			continue
		}
		rules := clusterRoles[b.RoleRef.Name]
		if b.RoleRef.Kind == "Role" {
			rules = roles[b.Namespace+"/"+b.RoleRef.Name]
		}
		add("namespace "+b.Namespace, rules)
	}
	lines := make([]string, 0, len(verbs))
	for k, v := range verbs {
		parts := strings.SplitN(k, "|", 4)
		slices.Sort(v)
		lines = append(lines, grant{scope: parts[0], group: parts[1], resource: parts[2], names: parts[3],
			verbs: slices.Compact(v)}.String())
	}
	slices.Sort(lines)
	return lines
}

// checkGolden compares the grants with testdata/grants/<name>.golden, so
// that a change to what the operator may do shows up in review as a diff
// of that file.
func checkGolden(t *testing.T, name string, lines []string) {
	t.Helper()
	path := filepath.Join("testdata", "grants", name+".golden")
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path) //nolint:gosec // G304: this package's own golden file
	if err != nil {
		t.Fatalf("%v (run go test ./test/install -run 'TestInstaller|TestChart$' -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("the ServiceAccount's grants changed (-%s +rendered); if intended, "+
			"run go test ./test/install -run 'TestInstaller|TestChart$' -update and commit the file:\n%s", path, diff)
	}
}
