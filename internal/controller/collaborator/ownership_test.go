package collaborator_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

var everyProvider = []string{collabv1alpha1.ProviderQuantConnect, collabv1alpha1.ProviderAppHarbor, collabv1alpha1.ProviderWebTranslateIt}

// readyReason is Ready's status and reason, for comparisons.
func readyReason(c *collabv1alpha1.Collaborator) string {
	cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	if cond == nil {
		return ""
	}
	return string(cond.Status) + "/" + cond.Reason
}

// Renaming a Collaborator in Git (the new object applied, the old one
// pruned) never removes the person, not even for a moment: the new one is
// healthy without a write, the old one's deletion makes no provider call,
// and the new one then owns the grant.
func TestRenameNeverRemovesAnyone(t *testing.T) {
	for _, pname := range everyProvider {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			old := ct.Collaborator(pname, "old", "person")
			settled(t, e, r, old)
			e.Get(old)
			renamed := ct.Collaborator(pname, "new", "person")
			e.Create(renamed)
			passes := e.Settle(r, renamed)
			e.Delete(old)
			passes = append(passes, e.Settle(r, old)...)
			passes = append(passes, e.Settle(r, renamed)...)
			if n := providerWrites(passes...); n != 0 {
				t.Errorf("%d provider writes during the rename, want none:\n%s", n, ct.DescribePasses(passes))
			}
			if e.Get(old) {
				t.Error("the old object was not released")
			}
			if !e.Holds(renamed) {
				t.Fatal("the person was removed by the rename")
			}
			e.Get(renamed)
			want := "True/" + collabv1alpha1.ReasonAvailable
			if pname == collabv1alpha1.ProviderWebTranslateIt {
				want = "True/" + collabv1alpha1.ReasonDeleteOnly
			}
			if got := readyReason(renamed); got != want {
				t.Errorf("renamed object Ready %q, want %q", got, want)
			}
			if !slices.Contains(e.Recorder.Reasons(old), "HandedOver") {
				t.Errorf("the old object's Events %v lack HandedOver", e.Recorder.Reasons(old))
			}
		})
	}
}

// A duplicate that asks for other access is Stalled Conflict and writes
// nothing; when the owner goes it is handed the grant without a removal,
// and applies its own spec at once.
func TestConflictingDuplicateWaitsThenTakesOver(t *testing.T) {
	e, r := newEnv(t)
	owner := ct.QuantConnect("owner", "mia", true, false)
	settled(t, e, r, owner)
	dup := ct.QuantConnect("dup", "mia", false, false)
	e.Create(dup)
	passes := e.Run(r, dup, 2)
	if n := providerWrites(passes...); n != 0 {
		t.Errorf("%d provider writes by the duplicate", n)
	}
	e.Get(dup)
	if diff := cmp.Diff("False/"+collabv1alpha1.ReasonConflict, readyReason(dup)); diff != "" {
		t.Errorf("duplicate Ready (-want +got):\n%s", diff)
	}
	if msg := readyMessage(dup); !strings.Contains(msg, `"owner"`) {
		t.Errorf("the Conflict message does not name the owner: %q", msg)
	}
	if got := accessOf(e, dup); !got.Write {
		t.Errorf("the duplicate changed the access: %+v", got)
	}
	e.Delete(owner)
	passes = e.Settle(r, owner)
	if slices.Contains(writeOps(passes...), fake.OpDelete) {
		t.Errorf("the owner's deletion removed the person while the duplicate declares them:\n%s", ct.DescribePasses(passes))
	}
	e.Settle(r, dup)
	e.Get(dup)
	if got := readyReason(dup); got != "True/"+collabv1alpha1.ReasonAvailable {
		t.Errorf("the new owner is %q, want Available", got)
	}
	if got := accessOf(e, dup); got.Write {
		t.Errorf("the new owner did not apply its spec: %+v", got)
	}
}

// The owner's expiry with a live duplicate removes nobody; the duplicate
// owns the grant from then on.
func TestExpiringOwnerWithLiveDuplicate(t *testing.T) {
	e, r := newEnv(t)
	owner := ct.QuantConnect("owner", "mia", true, false)
	settled(t, e, r, owner)
	dup := ct.QuantConnect("dup", "mia", true, false)
	e.Create(dup)
	e.Settle(r, dup)
	e.Edit(owner, func() { expiring(owner, -time.Minute) })
	passes := e.Settle(r, owner)
	if n := providerWrites(passes...); n != 0 {
		t.Errorf("%d provider writes at the owner's expiry:\n%s", n, ct.DescribePasses(passes))
	}
	if !e.Holds(dup) {
		t.Fatal("the owner's expiry removed the person the duplicate declares")
	}
	e.Get(owner)
	if got := readyReason(owner); got != "True/"+collabv1alpha1.ReasonExpired {
		t.Errorf("expired owner Ready %q", got)
	}
	e.Settle(r, dup)
	e.Get(dup)
	if got := readyReason(dup); got != "True/"+collabv1alpha1.ReasonAvailable {
		t.Errorf("duplicate Ready %q after the owner expired", got)
	}
}

// Two declarations of one grant deleted at once, their passes racing:
// whichever runs first sees the other ending too, so one of them removes
// the person, and both go.
func TestTwoDeletionsRacingOnOneGrant(t *testing.T) {
	for range 20 {
		e, r := newEnv(t)
		a := ct.QuantConnect("a", "mia", true, false)
		settled(t, e, r, a)
		b := ct.QuantConnect("b", "mia", true, false)
		e.Create(b)
		e.Settle(r, b)
		e.Delete(a)
		e.Delete(b)
		var wg sync.WaitGroup
		for _, c := range []*collabv1alpha1.Collaborator{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					_, _ = r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(c)})
				}
			}()
		}
		wg.Wait()
		if e.Get(a) || e.Get(b) {
			t.Fatal("a deletion was not done")
		}
		if e.Holds(a) {
			t.Fatal("both declarations are gone and the person stays")
		}
	}
}

// An AppHarbor duplicate takes the owner's collaborator id: it is the only
// way to find the person in AppHarbor's list.
func TestAppHarborDuplicateTakesTheOwnersID(t *testing.T) {
	e, r := newEnv(t)
	owner := ct.AppHarbor("owner", "bob@example.com", "")
	settled(t, e, r, owner)
	e.Get(owner)
	dup := ct.AppHarbor("dup", "bob@example.com", "")
	e.Create(dup)
	e.Settle(r, dup)
	e.Get(dup)
	if got, want := dup.Annotations[collabv1alpha1.ExternalIDAnnotation], owner.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != want || got == "" {
		t.Errorf("duplicate id %q, owner's %q", got, want)
	}
	if got := readyReason(dup); got != "True/"+collabv1alpha1.ReasonAvailable {
		t.Errorf("duplicate Ready %q", got)
	}
	if n := len(e.AppHarbor.Members(ct.Target(collabv1alpha1.ProviderAppHarbor))); n != 1 {
		t.Errorf("%d members at AppHarbor, want bob once", n)
	}
}

// A hand-over to a declaration that never had a pass (no finalizer yet,
// or created paused) gives it the finalizer first: deleting it later still
// removes the person instead of letting it vanish.
func TestHandOverGivesTheFinalizer(t *testing.T) {
	for _, pname := range everyProvider {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			owner := ct.Collaborator(pname, "owner", "person")
			settled(t, e, r, owner)
			dup := ct.Collaborator(pname, "dup", "person")
			e.Create(dup)
			e.Delete(owner)
			e.Settle(r, owner)
			if !e.Holds(dup) {
				t.Fatal("the hand-over removed the person")
			}
			e.Get(dup)
			if !slices.Contains(dup.Finalizers, collabv1alpha1.Finalizer) {
				t.Fatalf("the declaration that took the grant over has no finalizer: %v", dup.Finalizers)
			}
			e.Delete(dup)
			e.Settle(r, dup)
			if e.Holds(dup) {
				t.Error("both declarations are gone and the person stays")
			}
		})
	}
}

// An expiry recorded while another declaration held the grant removed
// nobody: when that other one goes (here with Orphan), the expired object
// still removes the person, WebTranslateIt included (it has no read, so
// the status must not pass for a removal done).
func TestHandedOverExpiryRemovesLater(t *testing.T) {
	for _, pname := range everyProvider {
		t.Run(pname, func(t *testing.T) {
			e, r, keeper, expiringOne := expiredBesideKeeper(t, pname)
			e.Edit(keeper, func() { keeper.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
			e.Delete(keeper)
			e.Settle(r, keeper)
			e.Settle(r, expiringOne)
			if e.Holds(expiringOne) {
				t.Error("the keeper left with Orphan and the expired declaration did not remove the person")
			}
		})
	}
}

// expiredBesideKeeper makes a keeper and a second declaration of the same
// grant, then expires the second: the keeper still holds the person.
func expiredBesideKeeper(t *testing.T, pname string) (e *ct.Env, r *collaborator.Reconciler, keeper, expiringOne *collabv1alpha1.Collaborator) {
	t.Helper()
	e, r = newEnv(t)
	keeper = ct.Collaborator(pname, "keeper", "person")
	settled(t, e, r, keeper)
	expiringOne = ct.Collaborator(pname, "expiring", "person")
	e.Create(expiringOne)
	e.Settle(r, expiringOne)
	e.Edit(expiringOne, func() { expiring(expiringOne, -time.Minute) })
	e.Settle(r, expiringOne)
	if !e.Holds(keeper) {
		t.Fatal("the expiry removed the person the keeper declares")
	}
	return e, r, keeper, expiringOne
}

// An AppHarbor duplicate in Conflict takes the owner's id too: when the
// owner leaves with Orphan (which passes nothing on), the duplicate owns
// the grant and changes the role by that id; without it, its create would
// be refused (AppHarbor holds the email) and it would wait for a person.
// Found by TestModelTrust (invariant (k)).
func TestConflictingAppHarborDuplicateTakesTheOwnersID(t *testing.T) {
	e, r := newEnv(t)
	owner := ct.AppHarbor("owner", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator)
	owner.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	settled(t, e, r, owner)
	e.Get(owner)
	dup := ct.AppHarbor("dup", "bob@example.com", collabv1alpha1.AppHarborRoleAdministrator)
	e.Create(dup)
	passes := e.Run(r, dup, 2)
	e.Get(dup)
	if got := readyReason(dup); got != "False/"+collabv1alpha1.ReasonConflict {
		t.Fatalf("duplicate Ready %q, want Conflict", got)
	}
	if got, want := dup.Annotations[collabv1alpha1.ExternalIDAnnotation], owner.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != want {
		t.Errorf("the duplicate in Conflict records id %q, the owner %q", got, want)
	}
	e.Delete(owner)
	passes = append(passes, e.Settle(r, owner)...)
	passes = append(passes, e.Settle(r, dup)...)
	e.Get(dup)
	if got := readyReason(dup); got != "True/"+collabv1alpha1.ReasonAvailable {
		t.Errorf("the duplicate that took the grant over is %q, want Available:\n%s", got, ct.DescribePasses(passes))
	}
	if got := accessOf(e, dup); got.Role != string(collabv1alpha1.AppHarborRoleAdministrator) {
		t.Errorf("AppHarbor holds bob as %q, want the new owner's administrator", got.Role)
	}
}

// Renaming an AppHarbor Collaborator whose deletionPolicy is Orphan (or
// whose managementPolicy is Observe), the old name pruned before the new
// one's first pass: the old one leaves its id with the new one, which then
// adopts the person by it instead of a create AppHarbor refuses. Found by
// TestModelTrust (invariant (k)).
func TestOrphanRenameOfAppHarborLeavesTheID(t *testing.T) {
	for _, how := range []string{"Orphan", "Observe"} {
		t.Run(how, func(t *testing.T) {
			e, r := newEnv(t)
			old := ct.AppHarbor("old", "bob@example.com", "")
			if how == "Orphan" {
				old.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
			}
			settled(t, e, r, old)
			if how == "Observe" {
				e.Edit(old, func() { old.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve })
				e.Settle(r, old)
			}
			e.Get(old)
			renamed := ct.AppHarbor("new", "bob@example.com", "")
			renamed.Spec.DeletionPolicy = old.Spec.DeletionPolicy
			e.Create(renamed)
			e.Delete(old)
			passes := e.Settle(r, old)
			if e.Get(old) {
				t.Fatal("the old object was not released")
			}
			passes = append(passes, e.Settle(r, renamed)...)
			if n := providerWrites(passes...); n != 0 {
				t.Errorf("%d provider writes during the rename, want none:\n%s", n, ct.DescribePasses(passes))
			}
			e.Get(renamed)
			if got, want := renamed.Annotations[collabv1alpha1.ExternalIDAnnotation], old.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != want {
				t.Errorf("the new object records id %q, the old one recorded %q", got, want)
			}
			if got := readyReason(renamed); got != "True/"+collabv1alpha1.ReasonAvailable {
				t.Errorf("the new object is %q, want Available:\n%s", got, ct.DescribePasses(passes))
			}
		})
	}
}

// An expiry recorded while another declaration held the grant still has
// its removal to do after a pass that failed or was paused in between
// (each overwrites Synced, where the hand-over was recorded): when the
// other declaration leaves with Orphan, the expired one removes the person,
// WebTranslateIt included, which has no read to find them by. Found by
// TestModelTrust (invariant (b), WebTranslateIt).
func TestHandedOverExpirySurvivesAPausedPass(t *testing.T) {
	for _, pname := range everyProvider {
		t.Run(pname, func(t *testing.T) {
			e, r, keeper, expiringOne := expiredBesideKeeper(t, pname)
			e.Edit(expiringOne, func() { expiringOne.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"} })
			e.Reconcile(r, expiringOne)
			e.Edit(expiringOne, func() { delete(expiringOne.Annotations, collabv1alpha1.PausedAnnotation) })
			e.Edit(keeper, func() { keeper.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
			e.Delete(keeper)
			e.Settle(r, keeper)
			passes := e.Settle(r, expiringOne)
			if e.Holds(expiringOne) {
				t.Errorf("the keeper left with Orphan and the expired declaration did not remove the person:\n%s", ct.DescribePasses(passes))
			}
			e.Get(expiringOne)
			if got := readyReason(expiringOne); got != "True/"+collabv1alpha1.ReasonExpired {
				t.Errorf("expired declaration Ready %q", got)
			}
		})
	}
}

// A duplicate waiting for the owner to apply the grant (here the owner is
// paused) read the provider successfully: Synced=True, as API.md defines
// it, while Ready waits. Found by TestModelTrust (invariant (j)).
func TestWaitingDuplicateIsSynced(t *testing.T) {
	e, r := newEnv(t)
	owner := ct.QuantConnect("owner", "mia", true, false)
	owner.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"}
	e.Create(owner)
	dup := ct.QuantConnect("dup", "mia", true, false)
	e.Create(dup)
	p := e.Reconcile(r, dup)
	if n := p.ProviderWrites(); n != 0 {
		t.Errorf("the duplicate wrote %d times at the provider: %v", n, p.Calls)
	}
	want := []ct.Cond{
		{Type: collabv1alpha1.ConditionReady, Status: "False", Reason: collabv1alpha1.ReasonCreating},
		{Type: collabv1alpha1.ConditionReconciling, Status: "True", Reason: collabv1alpha1.ReasonCreating},
		{Type: collabv1alpha1.ConditionSynced, Status: "True", Reason: collabv1alpha1.ReasonReconcileSuccess},
	}
	if diff := cmp.Diff(want, ct.Conds(dup.Status.Conditions, dup.Generation)); diff != "" {
		t.Errorf("duplicate conditions (-want +got):\n%s", diff)
	}
}
