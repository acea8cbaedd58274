package controller

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// lifecycleCase is one provider's Collaborator and how to see the person
// at the provider.
type lifecycleCase struct {
	setup  func(f *fixture)
	object func() *collabv1alpha1.Collaborator
	holds  func(f *fixture) bool
	// readd puts the person back at the provider by hand; nil where the
	// provider has no read (WebTranslateIt).
	readd func(f *fixture)
}

func lifecycleCases() map[string]lifecycleCase {
	return map[string]lifecycleCase{
		"QuantConnect": {
			setup:  func(f *fixture) { f.quantConnectConfig(time.Second) },
			object: func() *collabv1alpha1.Collaborator { return qcCollaborator("mia", "qc", "mia-ai", true, false) },
			holds:  func(f *fixture) bool { _, ok := qcMember(f, "mia-ai"); return ok },
			readd:  func(f *fixture) { must(f.t, f.qc.SetCollaborator(qcProject, "mia-ai", false, true)) },
		},
		"AppHarbor": {
			setup: func(f *fixture) { f.appHarborConfig(time.Second) },
			object: func() *collabv1alpha1.Collaborator {
				return ahCollaborator("mia", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator)
			},
			holds: func(f *fixture) bool { _, ok := ahHolds(f, "bob@example.com"); return ok },
			readd: func(f *fixture) {
				id, err := f.ah.AddCollaborator(ahApp, "bob@example.com", "collaborator")
				must(f.t, err)
				// The person came back under the id the object records,
				// as a restore of the application would bring them.
				c := f.collaborator("mia")
				f.update(c, func() { c.Annotations[collabv1alpha1.ExternalIDAnnotation] = id })
			},
		},
		"WebTranslateIt": {
			setup:  func(f *fixture) { f.webTranslateItConfig() },
			object: func() *collabv1alpha1.Collaborator { return wtiCollaborator("mia", "bob@example.com") },
			holds:  func(f *fixture) bool { return f.wti.IsMember(wtiToken, "bob@example.com") },
		},
	}
}

// At spec.expiresAt the person is removed at the provider, within a
// moment of the instant (a requeue at the expiry, not polling), the
// object stays Ready with reason Expired, a re-add is undone, and
// extending the expiry grants access again.
func TestExpiry(t *testing.T) {
	for name, tc := range lifecycleCases() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			startManager(t, f.ns, f.reg, managerOptions{})
			tc.setup(f)
			c := tc.object()
			c.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(3 * time.Second)}
			f.create(c)
			f.waitReady("mia")
			if !tc.holds(f) {
				t.Fatal("the person was not granted before the expiry")
			}
			c = f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonExpired)
			if late := time.Since(c.Spec.ExpiresAt.Time); late > 2500*time.Millisecond {
				t.Errorf("access ended %s after expiresAt", late)
			}
			if tc.holds(f) {
				t.Error("the person is still at the provider after the expiry")
			}
			if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), c.Spec.ExpiresAt.UTC().Format(time.RFC3339), "removed"); err != nil {
				t.Error(err)
			}
			f.waitEvents("mia", "Expired")
			if c.Status.ExpiresAt == nil || !c.Status.ExpiresAt.Equal(c.Spec.ExpiresAt) {
				t.Errorf("status.expiresAt %v does not mirror the spec", c.Status.ExpiresAt)
			}

			if tc.readd != nil {
				tc.readd(f)
				eventually(t, 10*time.Second, func() error {
					if tc.holds(f) {
						return fmt.Errorf("the re-added person is still there")
					}
					return nil
				})
			}

			c = f.collaborator("mia")
			f.update(c, func() { c.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(time.Hour)} })
			f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, "")
			if name == "WebTranslateIt" {
				// Nothing can be granted there: the object is DeleteOnly again.
				f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonDeleteOnly)
				return
			}
			f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
			if !tc.holds(f) {
				t.Error("extending the expiry did not grant access again")
			}
		})
	}
}

// An expiresAt already past when the object is created never grants.
func TestExpiredAtCreationNeverGrants(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	c := qcCollaborator("mia", "qc", "mia-ai", true, false)
	c.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(-time.Hour)}
	f.create(c)
	f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonExpired)
	if n := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/create") }); n != 0 {
		t.Errorf("%d creates for an object that expired before it was made", n)
	}
}

// A paused object gets no provider call at all, through a spec change and
// a deletion; removing the annotation resumes at once; Orphan releases a
// paused deletion.
func TestPaused(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	c := f.waitReady("mia")
	f.update(c, func() { c.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"} })
	f.waitCondition("mia", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonPaused)
	// The ProviderConfig's own credential checks are not the object's.
	collaboratorCalls := func() int {
		return f.qc.CountWhere(func(r simkit.RequestRecord) bool { return !strings.HasSuffix(r.Path, "/authenticate") })
	}
	calls := collaboratorCalls()

	f.update(c, func() { c.Spec.QuantConnect.Write = true })
	f.delete(c)
	consistently(t, 2*time.Second, func() error {
		if n := collaboratorCalls() - calls; n != 0 {
			return fmt.Errorf("%d provider requests while paused", n)
		}
		got := f.collaborator("mia")
		if cond := meta.FindStatusCondition(got.Status.Conditions, collabv1alpha1.ConditionSynced); cond == nil || cond.Reason != collabv1alpha1.ReasonPaused {
			return fmt.Errorf("Synced = %+v, want Paused", cond)
		}
		if !meta.IsStatusConditionTrue(got.Status.Conditions, collabv1alpha1.ConditionReady) {
			return fmt.Errorf("the pause changed Ready: %+v", got.Status.Conditions)
		}
		return nil
	})
	if _, ok := qcMember(f, "mia-ai"); !ok {
		t.Fatal("the paused deletion removed the person")
	}
	// Resuming runs the pending delete at once.
	c = f.collaborator("mia")
	f.update(c, func() { delete(c.Annotations, collabv1alpha1.PausedAnnotation) })
	f.waitGone(c)
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("the resumed delete did not remove the person")
	}

	// Orphan releases a paused deletion without a call.
	f.create(qcCollaborator("noah", "qc", "noah", false, false))
	n := f.waitReady("noah")
	f.update(n, func() {
		n.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"}
		n.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	})
	f.waitCondition("noah", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonPaused)
	calls = collaboratorCalls()
	f.delete(n)
	f.waitGone(n)
	if d := collaboratorCalls() - calls; d != 0 {
		t.Errorf("%d provider requests for an Orphan delete while paused", d)
	}
}

// A new collab.dev/reconcile-requested-at value runs a pass that reads the
// provider afresh, past the shared snapshot, and is recorded.
func TestReconcileRequestedAt(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	c := f.waitReady("mia")
	reads := qcCalls(f, "/collaboration/read")
	// Someone changed the permission by hand; the snapshot does not know.
	must(t, f.qc.SetCollaborator(qcProject, "mia-ai", false, true))
	f.update(c, func() {
		c.Annotations = map[string]string{collabv1alpha1.ReconcileRequestedAtAnnotation: "2026-11-24T10:00:00Z"}
	})
	eventually(t, 10*time.Second, func() error {
		if got := f.collaborator("mia").Status.LastHandledReconcileAt; got != "2026-11-24T10:00:00Z" {
			return fmt.Errorf("lastHandledReconcileAt = %q", got)
		}
		return nil
	})
	if qcCalls(f, "/collaboration/read") <= reads {
		t.Error("the requested reconcile did not read QuantConnect afresh")
	}
	// The fresh read saw the drift, and it was corrected.
	eventually(t, 10*time.Second, func() error {
		if m, ok := qcMember(f, "mia-ai"); !ok || m.Write {
			return fmt.Errorf("the hand-made change was not corrected: %+v", m)
		}
		return nil
	})
}

// managementPolicy Observe never writes: it reports the difference, leaves
// the person on deletion, and switching to Full applies the spec.
func TestObserve(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	writes := func() int {
		return f.qc.CountWhere(func(r simkit.RequestRecord) bool {
			return r.Method == http.MethodPost && !strings.HasSuffix(r.Path, "/read") && !strings.HasSuffix(r.Path, "/authenticate")
		})
	}
	observe := func(name, user string, write bool) *collabv1alpha1.Collaborator {
		c := qcCollaborator(name, "qc", user, write, false)
		c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
		return c
	}
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	f.create(observe("mia", "mia-ai", false))
	f.create(observe("noah", "noah", true))

	c := f.waitCondition("mia", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonDrifted)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "missing", "mia-ai", "Full"); err != nil {
		t.Error(err)
	}
	n := f.waitCondition("noah", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonDrifted)
	if err := containsAll(condMessage(n, collabv1alpha1.ConditionReady), "permission is read", "wants write"); err != nil {
		t.Error(err)
	}
	// In step with the spec: Available.
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, true))
	f.waitCondition("noah", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
	f.delete(n)
	f.waitGone(n)
	if _, ok := qcMember(f, "noah"); !ok {
		t.Error("deleting an Observe object removed the person")
	}
	if w := writes(); w != 0 {
		t.Errorf("%d writes at the provider under Observe", w)
	}

	// Full applies.
	f.update(c, func() { c.Spec.ManagementPolicy = collabv1alpha1.ManagementFull })
	f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
	if _, ok := qcMember(f, "mia-ai"); !ok {
		t.Error("switching to Full did not create the collaborator")
	}
}

// WebTranslateIt has nothing to read: under Observe it is DeleteOnly and
// its deletion does not call it.
func TestObserveWebTranslateIt(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.webTranslateItConfig()
	c := wtiCollaborator("carol", "carol@example.com")
	c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
	f.create(c)
	f.waitCondition("carol", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonDeleteOnly)
	f.delete(c)
	f.waitGone(c)
	if n := f.wti.RequestCount(); n != 0 {
		t.Errorf("%d WebTranslateIt requests under Observe", n)
	}
	if !f.wti.IsMember(wtiToken, "carol@example.com") {
		t.Error("deleting an Observe object removed the person")
	}
}
