package usage_test

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

func collaborator(ns, name string, ref collabv1alpha1.ProviderConfigReference) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: collabv1alpha1.CollaboratorSpec{ProviderConfigRef: ref}}
}

func names(reqs []reconcile.Request) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.String())
	}
	sort.Strings(out)
	return out
}

// A ProviderConfig named X in namespace N and a ClusterProviderConfig named
// X are different credentials: the indexes tell their users apart, and the
// ClusterProviderConfig's come from every namespace.
func TestUsersByKind(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pc := collabv1alpha1.ProviderConfigReference{Name: "x"}
	cpc := collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "x"}
	cl := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(collaborator("n", "by-pc", pc), collaborator("n", "by-cpc", cpc), collaborator("m", "by-cpc", cpc),
			collaborator("m", "by-pc", pc)).
		WithIndex(&collabv1alpha1.Collaborator{}, usage.IndexProviderConfigRef, usage.RefIndex).Build()
	ctx := context.Background()
	tests := map[string]struct {
		list func() ([]reconcile.Request, error)
		want []string
	}{
		"the ProviderConfig's, in its namespace": {
			list: func() ([]reconcile.Request, error) { return usage.CollaboratorsUsing(ctx, cl, "n", "x") },
			want: []string{"n/by-pc"},
		},
		"the ClusterProviderConfig's, from every namespace": {
			list: func() ([]reconcile.Request, error) { return usage.CollaboratorsUsing(ctx, cl, "", "x") },
			want: []string{"m/by-cpc", "n/by-cpc"},
		},
		"a namespace's users of any ClusterProviderConfig": {
			list: func() ([]reconcile.Request, error) { return usage.ClusterUsersIn(ctx, cl, "m") },
			want: []string{"m/by-cpc"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.list()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if usage.KeyOf("n", cpc) != (client.ObjectKey{Name: "x"}) || usage.KeyOf("n", pc) != (client.ObjectKey{Namespace: "n", Name: "x"}) {
		t.Error("KeyOf: a ClusterProviderConfig's key has no namespace, a ProviderConfig's has the referrer's")
	}
}
