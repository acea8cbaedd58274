package controller

import (
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// AppHarbor tells a new collaborator's id only in the create's answer. If
// that answer is lost, the person was added but the operator cannot name
// them: a delete must then wait for a person, never release the object
// having removed nobody. Setting the id lets it finish.
func TestLostCreateAnswerBlocksTheDelete(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Minute)
	// AppHarbor adds the person, and the answer never arrives.
	f.ah.Inject(simkit.Fault{Times: 1, Drop: true, LoseAnswer: true,
		Match: func(r *http.Request) bool { return r.Method == http.MethodPost }})
	f.create(ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator))

	// The retry is refused: bob is already a collaborator.
	c := f.waitCondition("bob", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonRejected)
	if _, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]; !pending {
		t.Fatalf("annotations %v: want %s, the mark of a create in doubt", c.Annotations, collabv1alpha1.PendingCreateAnnotation)
	}
	held, ok := ahHolds(f, "bob@example.com")
	if !ok {
		t.Fatal("the simulator does not hold bob: the lost answer was not a create that happened")
	}

	f.delete(c)
	c = f.waitCondition("bob", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonExternalIDUnknown)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), collabv1alpha1.ExternalIDAnnotation, "Orphan"); err != nil {
		t.Error(err)
	}
	if _, still := ahHolds(f, "bob@example.com"); !still {
		t.Fatal("bob was removed although the operator did not know his id")
	}

	// A person finds bob's id at AppHarbor and records it.
	f.update(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, held.ID) })
	f.waitGone(c)
	if _, still := ahHolds(f, "bob@example.com"); still {
		t.Error("bob is still a collaborator after his Collaborator was deleted with his id")
	}
}

// AppHarbor answers a create for someone already a collaborator with the
// same 400 as invalid data, so after a refused create the person may be
// there under an id nobody recorded: the mark stays, and the delete waits
// (ExternalIDUnknown) until a person writes the id or chooses Orphan.
func TestRefusedCreateKeepsTheMark(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Minute)
	f.ah.Inject(simkit.Fault{Times: 1000, Status: http.StatusBadRequest, Body: `{"error":{"message":"Invalid data."}}`,
		Match: func(r *http.Request) bool { return r.Method == http.MethodPost }})
	f.create(ahCollaborator("eve", "eve@example.com", collabv1alpha1.AppHarborRoleCollaborator))

	c := f.waitCondition("eve", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonRejected)
	if _, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]; !pending {
		t.Fatalf("annotations %v: the refused create left no mark", c.Annotations)
	}
	f.delete(c)
	c = f.waitCondition("eve", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonExternalIDUnknown)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), collabv1alpha1.ExternalIDAnnotation, "Orphan"); err != nil {
		t.Error(err)
	}
	f.update(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
	f.waitGone(c)
}
