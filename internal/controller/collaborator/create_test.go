package collaborator_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// A create that meets someone already there with other access (a read
// that had not seen them yet, then QuantConnect's refusal of a second add,
// whose fresh read shows the access they had) is not Ready: Ready waits
// until the provider is seen holding the spec, which the next pass makes
// true.
func TestCreateMeetingOtherAccessIsNotReady(t *testing.T) {
	e, r := newEnv(t)
	c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
	target := provider.Target{ProjectID: c.Spec.QuantConnect.ProjectID}
	e.QuantConnect.Add(target, fake.Member{ID: c.Spec.QuantConnect.UserID, Write: !c.Spec.QuantConnect.Write})
	e.Create(c)
	e.QuantConnect.Next(fake.OpObserve, fake.Answer{Kind: fake.Gone})
	pass := e.Reconcile(r, c)
	if pass.Err != nil {
		t.Fatalf("pass failed: %v", pass.Err)
	}
	e.Get(c)
	if meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReady) {
		t.Fatalf("Ready after a create whose answer showed other access: %+v", c.Status.Conditions)
	}
	e.Settle(r, c)
	e.Get(c)
	if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReady) {
		t.Errorf("not Ready after settling: %+v", c.Status.Conditions)
	}
	if m, _ := e.QuantConnect.Member(target, c.Spec.QuantConnect.UserID); m.Write != c.Spec.QuantConnect.Write {
		t.Errorf("write = %v at the provider, the spec says %v", m.Write, c.Spec.QuantConnect.Write)
	}
}
