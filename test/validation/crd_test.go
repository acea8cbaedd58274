package validation

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

type column struct{ Name, Type, JSONPath string }

// TestCRDsAsServed reads the CRDs back from the API server and checks the
// names, scope and printer columns that users type and read.
func TestCRDsAsServed(t *testing.T) {
	readyStatus := `.status.conditions[?(@.type=="Ready")].status`
	readyReason := `.status.conditions[?(@.type=="Ready")].reason`
	tests := map[string]struct {
		kind       string
		scope      apiextensionsv1.ResourceScope
		shortNames []string
		categories []string
		columns    []column
	}{
		"collaborators.collab.dev": {
			kind:       "Collaborator",
			scope:      apiextensionsv1.NamespaceScoped,
			shortNames: []string{"collab"},
			categories: []string{"collaboration"},
			columns: []column{
				{"Provider", "string", ".status.provider"},
				{"Target", "string", ".status.target"},
				{"Member", "string", ".status.member"},
				{"Access", "string", ".status.access"},
				{"Ready", "string", readyStatus},
				{"Reason", "string", readyReason},
				{"Age", "date", ".metadata.creationTimestamp"},
				// Priority 1: shown by kubectl get -o wide only.
				{"Expires", "date", ".status.expiresAt"},
			},
		},
		"providerconfigs.collab.dev": {
			kind:       "ProviderConfig",
			scope:      apiextensionsv1.NamespaceScoped,
			shortNames: []string{"collabpc"},
			categories: []string{"collaboration"},
			columns: []column{
				{"Provider", "string", ".status.provider"},
				{"Ready", "string", readyStatus},
				{"Reason", "string", readyReason},
				{"Age", "date", ".metadata.creationTimestamp"},
			},
		},
		"accesspolicies.collab.dev": {
			kind:       "AccessPolicy",
			scope:      apiextensionsv1.NamespaceScoped,
			shortNames: []string{"accesspol"},
			categories: []string{"collaboration"},
			columns: []column{
				{"Provider", "string", ".status.provider"},
				{"Target", "string", ".status.target"},
				{"Mode", "string", ".spec.mode"},
				{"Managed", "integer", ".status.managed"},
				{"Unmanaged", "integer", ".status.unmanagedCount"},
				{"Ready", "string", readyStatus},
				{"Reason", "string", readyReason},
				{"Age", "date", ".metadata.creationTimestamp"},
			},
		},
		"clusterproviderconfigs.collab.dev": {
			kind:       "ClusterProviderConfig",
			scope:      apiextensionsv1.ClusterScoped,
			shortNames: []string{"collabcpc"},
			categories: []string{"collaboration"},
			columns: []column{
				{"Provider", "string", ".status.provider"},
				{"Grants", "integer", ".status.grants"},
				{"Ready", "string", readyStatus},
				{"Reason", "string", readyReason},
				{"Age", "date", ".metadata.creationTimestamp"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := k8sClient.Get(context.Background(), types.NamespacedName{Name: name}, &crd); err != nil {
				t.Fatal(err)
			}
			if crd.Spec.Group != "collab.dev" || crd.Spec.Names.Kind != tc.kind || crd.Spec.Scope != tc.scope {
				t.Errorf("group %q kind %q scope %q; want collab.dev, %s, %s",
					crd.Spec.Group, crd.Spec.Names.Kind, crd.Spec.Scope, tc.kind, tc.scope)
			}
			if diff := cmp.Diff(tc.shortNames, crd.Spec.Names.ShortNames); diff != "" {
				t.Errorf("short names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.categories, crd.Spec.Names.Categories); diff != "" {
				t.Errorf("categories (-want +got):\n%s", diff)
			}
			if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" {
				t.Fatalf("versions %v; want only v1alpha1", crd.Spec.Versions)
			}
			v := crd.Spec.Versions[0]
			if !v.Served || !v.Storage || v.Subresources == nil || v.Subresources.Status == nil {
				t.Errorf("v1alpha1 served=%v storage=%v subresources=%v; want served, stored, with status",
					v.Served, v.Storage, v.Subresources)
			}
			got := make([]column, 0, len(v.AdditionalPrinterColumns))
			for _, c := range v.AdditionalPrinterColumns {
				got = append(got, column{c.Name, c.Type, c.JSONPath})
				if wide := c.Name == "Expires"; wide != (c.Priority == 1) {
					t.Errorf("column %s has priority %d; only Expires is for -o wide", c.Name, c.Priority)
				}
			}
			if diff := cmp.Diff(tc.columns, got); diff != "" {
				t.Errorf("printer columns (-want +got):\n%s", diff)
			}
			if missing := undocumented(v.Schema.OpenAPIV3Schema, ""); len(missing) > 0 {
				t.Errorf("fields without a description (kubectl explain shows nothing):\n  %s",
					strings.Join(missing, "\n  "))
			}
		})
	}
}

// undocumented lists the schema paths below spec and status that carry no
// description.
func undocumented(s *apiextensionsv1.JSONSchemaProps, path string) []string {
	if s == nil {
		return nil
	}
	var out []string
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := s.Properties[n]
		child := strings.TrimPrefix(path+"."+n, ".")
		if path == "" && n != "spec" && n != "status" {
			continue // apiVersion, kind, metadata are Kubernetes' own
		}
		if strings.TrimSpace(p.Description) == "" {
			out = append(out, child)
		}
		out = append(out, undocumented(&p, child)...)
	}
	if s.Items != nil && s.Items.Schema != nil {
		out = append(out, undocumented(s.Items.Schema, path+"[]")...)
	}
	return out
}

// TestKubectl runs the real kubectl against the API server: explain shows
// the field docs, and get shows the documented columns under the short
// name and the category.
func TestKubectl(t *testing.T) {
	user, err := testEnv.AddUser(envtest.User{Name: "validation-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubectl, err := user.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		stdout, stderr, err := kubectl.Run(args...)
		out, _ := io.ReadAll(stdout)
		errOut, _ := io.ReadAll(stderr)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return string(out)
	}

	ns := newNamespace(t)
	for _, kind := range []string{kindProviderConfig, kindCollaborator} {
		spec := specQuantConnect
		if kind == kindProviderConfig {
			spec = `quantConnect: {credentialsSecretRef: {name: s}}`
		}
		if err := k8sClient.Create(context.Background(), newObject(t, kind, ns, spec), strict); err != nil {
			t.Fatal(err)
		}
	}
	if err := k8sClient.Create(context.Background(), newClusterObject(t, cpcQuantConnect), strict); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		args []string
		want []string
	}{
		"explain a Collaborator field": {
			args: []string{"explain", "collaborators.spec.quantConnect.projectID"},
			want: []string{"projectID is the QuantConnect project to share. Immutable."},
		},
		"explain a ProviderConfig field": {
			args: []string{"explain", "providerconfigs.spec.syncInterval"},
			want: []string{"syncInterval is how often a Ready Collaborator"},
		},
		"explain a ClusterProviderConfig's grants": {
			args: []string{"explain", "clusterproviderconfig.spec.grants"},
			want: []string{
				"grants say who may use these credentials for what",
				"namespaceSelector", "namespaces", "targets", "members", "maxAccess",
			},
		},
		"explain a grant's maxAccess": {
			args: []string{"explain", "clusterproviderconfigs.spec.grants.maxAccess"},
			want: []string{"maxAccess is the most this grant allows"},
		},
		"explain providerConfigRef.kind": {
			args: []string{"explain", "collaborators.spec.providerConfigRef.kind"},
			want: []string{"ProviderConfig", "ClusterProviderConfig"},
		},
		"get by short name collabcpc": {
			args: []string{"get", "collabcpc"},
			want: []string{headerLine("NAME", "PROVIDER", "GRANTS", "READY", "REASON", "AGE"), "clusterproviderconfig-"},
		},
		"get by short name collab": {
			args: []string{"get", "collab", "-n", ns},
			want: []string{headerLine("NAME", "PROVIDER", "TARGET", "MEMBER", "ACCESS", "READY", "REASON", "AGE")},
		},
		"get by short name collabpc": {
			args: []string{"get", "collabpc", "-n", ns},
			want: []string{headerLine("NAME", "PROVIDER", "READY", "REASON", "AGE")},
		},
		"get by category": {
			args: []string{"get", "collaboration", "-n", ns, "-o", "name"},
			want: []string{"collaborator.collab.dev/collaborator-", "providerconfig.collab.dev/providerconfig-"},
		},
		"get by category, cluster-scoped kinds included": {
			args: []string{"get", "collaboration", "-A", "-o", "name"},
			want: []string{"clusterproviderconfig.collab.dev/clusterproviderconfig-", "collaborator.collab.dev/collaborator-"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := run(t, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(normalizeSpace(out), w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}

func headerLine(cols ...string) string { return strings.Join(cols, " ") }

func normalizeSpace(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
