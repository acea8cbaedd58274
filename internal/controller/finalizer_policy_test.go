package controller

import (
	"context"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// installFinalizerPolicy installs config/admission's policy, bound (unlike
// the shipped binding) to the test's namespace only so that the package's
// other tests see the manager add the finalizer itself, and waits until
// the API server applies it.
func installFinalizerPolicy(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	objs, err := devstack.ReadFinalizerPolicy(testenv.RepoRoot())
	must(t, err)
	if len(objs) != 2 {
		t.Fatalf("config/admission/finalizer_policy.yaml has %d documents, want the policy and its binding", len(objs))
	}
	policy := &admissionregistrationv1.MutatingAdmissionPolicy{}
	binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
	must(t, runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, policy))
	must(t, runtime.DefaultUnstructuredConverter.FromUnstructured(objs[1].Object, binding))
	if binding.Spec.PolicyName != policy.Name {
		t.Fatalf("the binding names policy %q, the policy is %q", binding.Spec.PolicyName, policy.Name)
	}
	policy.Name += "-" + ns
	binding.Name += "-" + ns
	binding.Spec.PolicyName = policy.Name
	binding.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}}
	must(t, k8s.Create(ctx, policy))
	must(t, k8s.Create(ctx, binding))
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), binding)
		_ = k8s.Delete(context.Background(), policy)
	})
	must(t, devstack.WaitForFinalizerPolicy(ctx, k8s, ns))
}

// With the shipped admission policy, a Collaborator has its finalizer from
// the moment it exists: one deleted while no manager runs (before any
// pass) is still revoked once a manager comes. Without the policy a
// WebTranslateIt member, whom the operator cannot read back, would stay.
func TestFinalizerPolicyKeepsEarlyDeletes(t *testing.T) {
	f := newFixture(t)
	installFinalizerPolicy(t, f.ns)
	f.webTranslateItConfig()

	// A finalizer of the user's own survives the mutation.
	kept := wtiCollaborator("kept", "kept@example.com")
	kept.Namespace = f.ns
	kept.Finalizers = []string{"example.com/keep"}
	must(t, k8s.Create(context.Background(), kept, client.DryRunAll))
	if want := []string{"example.com/keep", collabv1alpha1.Finalizer}; !sameSet(kept.Finalizers, want) {
		t.Errorf("finalizers %v, want %v", kept.Finalizers, want)
	}

	c := wtiCollaborator("carol", "carol@example.com")
	f.create(c)
	if !slices.Contains(c.Finalizers, collabv1alpha1.Finalizer) {
		t.Fatalf("created without the finalizer: %v", c.Finalizers)
	}
	f.delete(c)
	if got := f.collaborator("carol"); got.DeletionTimestamp.IsZero() {
		t.Fatalf("the deleted Collaborator is not held for its revocation: %+v", got.ObjectMeta)
	}

	startManager(t, f.ns, f.reg, managerOptions{})
	f.waitGone(c)
	if f.wti.IsMember(wtiToken, "carol@example.com") {
		t.Error("carol is still a member of the organization after her Collaborator was deleted")
	}
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}
