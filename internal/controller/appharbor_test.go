package controller

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

func ahHolds(f *fixture, email string) (ahsim.Collaborator, bool) {
	return f.ah.CollaboratorByEmail(ahApp, email)
}

func ahRequests(f *fixture, method string) int {
	return f.ah.CountWhere(func(r simkit.RequestRecord) bool { return r.Method == method })
}

// The whole life of an AppHarbor collaborator: create, role change, drift
// corrected, removal at the provider corrected, delete.
func TestAppHarborLifecycle(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Second)
	f.create(ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator))

	c := f.waitReady("bob")
	held, ok := ahHolds(f, "bob@example.com")
	if !ok {
		t.Fatal("simulator does not hold bob")
	}
	want := &collabv1alpha1.AppHarborObservation{
		ID: held.ID, UserID: held.UserID, UserName: "bob", Role: "collaborator",
		URL: f.ahURL + "/applications/" + ahApp + "/collaborators/" + held.ID,
	}
	// The create's answer carries only the id, role and URL; the user's
	// id and name come with the application's next list read (the shared
	// snapshot, refreshed once per sync interval), not from a read per
	// object.
	eventually(t, 10*time.Second, func() error {
		c = f.collaborator("bob")
		if diff := cmp.Diff(want, c.Status.AppHarbor); diff != "" {
			return fmt.Errorf("status.appHarbor differs from the simulator's record (-want +got):\n%s", diff)
		}
		return nil
	})
	if got := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != held.ID {
		t.Errorf("external-id annotation = %q, want %q", got, held.ID)
	}

	f.update(c, func() { c.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator })
	eventually(t, 20*time.Second, func() error {
		if h, _ := ahHolds(f, "bob@example.com"); h.Role != "administrator" {
			return fmt.Errorf("role at the provider is %q", h.Role)
		}
		return nil
	})
	if c = f.waitReady("bob"); c.Status.AppHarbor.Role != "administrator" || c.Status.Access != "administrator" {
		t.Errorf("status after the role change: %+v, access %q", c.Status.AppHarbor, c.Status.Access)
	}

	must(t, f.ah.SetRole(ahApp, held.ID, "collaborator"))
	eventually(t, 20*time.Second, func() error {
		if h, _ := ahHolds(f, "bob@example.com"); h.Role != "administrator" {
			return fmt.Errorf("drifted role not corrected: %q", h.Role)
		}
		return nil
	})

	if !f.ah.RemoveCollaborator(ahApp, held.ID) {
		t.Fatal("simulator had nothing to remove")
	}
	var again ahsim.Collaborator
	eventually(t, 20*time.Second, func() error {
		var ok bool
		if again, ok = ahHolds(f, "bob@example.com"); !ok {
			return fmt.Errorf("removal not corrected")
		}
		return nil
	})
	// The new collaborator's id replaces the old one.
	eventually(t, 10*time.Second, func() error {
		if got := f.collaborator("bob").Annotations[collabv1alpha1.ExternalIDAnnotation]; got != again.ID {
			return fmt.Errorf("annotation %q, want the new id %q", got, again.ID)
		}
		return nil
	})

	f.delete(c)
	f.waitGone(c)
	if _, ok := ahHolds(f, "bob@example.com"); ok {
		t.Error("simulator still holds bob after the object was deleted")
	}
	if ahRequests(f, http.MethodDelete) == 0 {
		t.Error("no DELETE reached the provider")
	}
}

// An object carrying the external-id annotation (a restore from backup, or
// adoption by hand) is adopted, never created again.
func TestAppHarborAdoptsByAnnotation(t *testing.T) {
	f := newFixture(t)
	id, err := f.ah.AddCollaborator(ahApp, "carol@example.com", "collaborator")
	must(t, err)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Minute)
	c := ahCollaborator("carol", "carol@example.com", collabv1alpha1.AppHarborRoleAdministrator)
	c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: id}
	f.create(c)

	c = f.waitReady("carol")
	if n := ahRequests(f, http.MethodPost); n != 0 {
		t.Errorf("%d creates for an adopted collaborator, want 0", n)
	}
	if h, _ := ahHolds(f, "carol@example.com"); h.Role != "administrator" || h.ID != id {
		t.Errorf("provider holds %+v, want id %s with role administrator", h, id)
	}
	if c.Status.AppHarbor == nil || c.Status.AppHarbor.ID != id {
		t.Errorf("status.appHarbor = %+v, want id %s", c.Status.AppHarbor, id)
	}
	f.waitEvents("carol", "Adopted", "Updated")
}

// AppHarbor cannot find a collaborator by email, so a manager stopped in
// the middle of creates must not create anyone twice.
func TestAppHarborRestartDuringCreates(t *testing.T) {
	const users = 16
	f := newFixture(t)
	for i := range users {
		must(t, f.ah.AddUser(ahsim.User{Name: fmt.Sprintf("user%02d", i), Email: fmt.Sprintf("user%02d@example.com", i)}))
	}
	f.ah.DelayNext(1000, 30*time.Millisecond)
	stop := startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Hour)
	for i := range users {
		f.create(ahCollaborator(fmt.Sprintf("user%02d", i), fmt.Sprintf("user%02d@example.com", i), collabv1alpha1.AppHarborRoleCollaborator))
	}
	eventually(t, 20*time.Second, func() error {
		if n := ahRequests(f, http.MethodPost); n < users/4 {
			return fmt.Errorf("only %d creates so far", n)
		}
		return nil
	})
	stop()
	f.ah.ClearFaults()
	startManager(t, f.ns, f.reg, managerOptions{})
	for i := range users {
		f.waitReady(fmt.Sprintf("user%02d", i))
	}
	seen := map[string]int{}
	for _, c := range f.ah.Collaborators(ahApp) {
		seen[c.Email]++
	}
	for i := range users {
		if n := seen[fmt.Sprintf("user%02d@example.com", i)]; n != 1 {
			t.Errorf("user%02d is at the provider %d times, want 1", i, n)
		}
	}
}

// A write the provider accepts but does not show yet is reported as
// Updating (Ready=False, Reconciling=True), retried, and Ready once the
// provider shows it.
func TestWriteNotShownYetIsUpdating(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Minute)
	f.create(ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator))
	c := f.waitReady("bob")

	// AppHarbor answers the role change 200 but keeps the old role.
	f.ah.Inject(simkit.Fault{Times: 1000, Status: http.StatusOK, Match: func(r *http.Request) bool { return r.Method == http.MethodPut }})
	f.update(c, func() { c.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator })
	c = f.waitCondition("bob", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonUpdating)
	if cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReconciling); cond == nil || cond.Reason != collabv1alpha1.ReasonUpdating {
		t.Errorf("Reconciling = %+v, want True/Updating", cond)
	}

	f.ah.ClearFaults()
	f.waitReady("bob")
	if h, _ := ahHolds(f, "bob@example.com"); h.Role != "administrator" {
		t.Errorf("role at the provider is %q after the retry", h.Role)
	}
}
