package controller

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

func qcRequests(f *fixture, suffix string) int {
	return f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, suffix) })
}

func qcMember(f *fixture, user string) (qcsim.Member, bool) {
	return f.qc.Member(qcProject, user)
}

// The whole life of a QuantConnect collaborator: create, spec change, drift
// at the provider corrected, delete.
func TestQuantConnectLifecycle(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.create(qcCollaborator("mia", "qc", "mia-ai", true, true))

	c := f.waitReady("mia")
	want := &collabv1alpha1.QuantConnectObservation{
		UID: qcMiaUID, PublicID: "mia-ai", Name: "Mia", Email: "mia@example.com", Permission: "write", LiveControl: true,
	}
	if diff := cmp.Diff(want, c.Status.QuantConnect); diff != "" {
		t.Errorf("status.quantConnect differs from the simulator's record (-want +got):\n%s", diff)
	}
	if got := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != strconv.Itoa(qcMiaUID) {
		t.Errorf("external-id annotation = %q, want %d", got, qcMiaUID)
	}
	if diff := cmp.Diff([]string{collabv1alpha1.Finalizer}, c.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	gotCols := []string{c.Status.Provider, c.Status.Target, c.Status.Member, c.Status.Access}
	if diff := cmp.Diff([]string{"QuantConnect", "23456789", "mia-ai", "write+live"}, gotCols); diff != "" {
		t.Errorf("printer-column fields (-want +got):\n%s", diff)
	}
	if m, _ := qcMember(f, "mia-ai"); !m.Write || !m.LiveControl {
		t.Errorf("simulator holds %+v, want write and live control", m)
	}

	// A spec change reaches the provider and the new generation is observed.
	f.update(c, func() { c.Spec.QuantConnect.Write = false })
	eventually(t, 20*time.Second, func() error {
		if m, _ := qcMember(f, "mia-ai"); m.Write {
			return fmt.Errorf("simulator still grants write")
		}
		return nil
	})
	c = f.waitReady("mia")
	if c.Status.QuantConnect.Permission != "read" || c.Status.Access != "read+live" {
		t.Errorf("after the update status says %q / %q, want read / read+live", c.Status.QuantConnect.Permission, c.Status.Access)
	}

	// A change made at the provider is corrected within the sync interval.
	must(t, f.qc.SetCollaborator(qcProject, "mia-ai", false, true))
	eventually(t, 20*time.Second, func() error {
		if m, ok := qcMember(f, "mia-ai"); !ok || m.Write || !m.LiveControl {
			return fmt.Errorf("drift not corrected: %+v", m)
		}
		return nil
	})
	// And so is a removal made at the provider.
	if !f.qc.RemoveCollaborator(qcProject, "mia-ai") {
		t.Fatal("simulator had no collaborator to remove")
	}
	eventually(t, 20*time.Second, func() error {
		if _, ok := qcMember(f, "mia-ai"); !ok {
			return fmt.Errorf("removal not corrected")
		}
		return nil
	})

	// Deleting the object runs the provider's delete, then lets it go.
	f.delete(c)
	f.waitGone(c)
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("simulator still holds the collaborator after the object was deleted")
	}
	if n := qcRequests(f, "/projects/collaboration/delete"); n == 0 {
		t.Error("no delete request reached the provider")
	}
	f.waitEvents("mia", "Created", "Updated", "Deleted")
}

// A collaborator that already exists at the provider is adopted and
// corrected, not created twice and not an error.
func TestQuantConnectAdoptsExisting(t *testing.T) {
	f := newFixture(t)
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	f.create(qcCollaborator("noah", "qc", "noah", true, false))

	c := f.waitReady("noah")
	if m, _ := qcMember(f, "noah"); !m.Write {
		t.Errorf("adopted collaborator not corrected: %+v", m)
	}
	if n := qcRequests(f, "/projects/collaboration/create"); n != 0 {
		t.Errorf("%d create requests for an existing collaborator, want 0", n)
	}
	if c.Annotations[collabv1alpha1.ExternalIDAnnotation] != "200003" {
		t.Errorf("external-id annotation = %q, want 200003", c.Annotations[collabv1alpha1.ExternalIDAnnotation])
	}
	f.waitEvents("noah", "Adopted", "Updated")
}

// An unknown user is Rejected, Stalled, and not retried hot.
func TestRejectedIsNotRetriedHot(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.quantConnectConfig(time.Minute)
	f.waitProviderConfigReady()
	f.create(qcCollaborator("ghost", "qc", "no-such-user", false, false))

	c := f.waitCondition("ghost", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonRejected)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "Fix the spec"); err != nil {
		t.Error(err)
	}
	before := qcRequests(f, "/projects/collaboration/create")
	consistently(t, 2*time.Second, func() error {
		if n := qcRequests(f, "/projects/collaboration/create"); n != before {
			return fmt.Errorf("create retried %d times while nothing changed", n-before)
		}
		return nil
	})

	// A spec change retries at once.
	f.waitEvents("ghost", "SyncFailed")
	f.update(c, func() { c.Spec.QuantConnect.Write = true })
	eventually(t, 10*time.Second, func() error {
		if n := qcRequests(f, "/projects/collaboration/create"); n == before {
			return fmt.Errorf("no retry after the spec changed")
		}
		return nil
	})
}
