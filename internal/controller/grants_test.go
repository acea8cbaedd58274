package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// isGrantWrite is a QuantConnect request that creates or changes access.
func isGrantWrite(r simkit.RequestRecord) bool {
	return strings.HasSuffix(r.Path, "/collaboration/create") || strings.HasSuffix(r.Path, "/collaboration/update")
}

// One grant, one owner (API.md): a second Collaborator naming the same
// person on the same project with other access is Stalled Conflict naming
// the owner and writes nothing; when the owner is deleted nobody is
// removed, and the duplicate, now the owner, applies its own spec at once.
func TestDuplicateThatDisagrees(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	owner := qcCollaborator("mia-a", "qc", "mia-ai", true, false)
	f.create(owner)
	f.waitReady(owner.Name)
	writes := f.qc.CountWhere(isGrantWrite)

	dup := qcCollaborator("mia-b", "qc", "mia-ai", false, false)
	f.create(dup)
	c := f.waitCondition(dup.Name, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonConflict)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "mia-a"); err != nil {
		t.Errorf("the Conflict does not name the owner: %v", err)
	}
	if m, ok := qcMember(f, "mia-ai"); !ok || !m.Write {
		t.Errorf("the owner's write access changed under a disagreeing duplicate: %+v %v", m, ok)
	}
	if n := f.qc.CountWhere(isGrantWrite) - writes; n != 0 {
		t.Errorf("%d QuantConnect writes for a Collaborator that does not own its grant", n)
	}

	f.delete(owner)
	f.waitGone(owner)
	f.waitCondition(dup.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
	if m, ok := qcMember(f, "mia-ai"); !ok || m.Write {
		t.Errorf("the new owner's spec (read only) was not applied: %+v %v", m, ok)
	}
	if n := f.qc.CountWhere(isRemoval); n != 0 {
		t.Errorf("%d removals while another Collaborator declared the person", n)
	}
}

// An owner that expires while a live duplicate declares the same access
// removes nobody: it reports Expired, and the duplicate stays Ready.
func TestExpiringOwnerWithLiveDuplicate(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	owner := qcCollaborator("mia-a", "qc", "mia-ai", true, false)
	owner.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(4 * time.Second)}
	f.create(owner)
	f.waitReady(owner.Name)
	dup := qcCollaborator("mia-b", "qc", "mia-ai", true, false)
	f.create(dup)
	f.waitCondition(dup.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)

	f.waitCondition(owner.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonExpired)
	if n := f.qc.CountWhere(isRemoval); n != 0 {
		t.Errorf("%d removals at an expiry while another Collaborator declares the person", n)
	}
	if _, ok := qcMember(f, "mia-ai"); !ok {
		t.Error("the person was removed although mia-b still declares them")
	}
	f.waitCondition(dup.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
}

// Two passes racing on one grant: two declarations created at the same
// moment make one create at the provider; deleted at the same moment, the
// person is removed (neither pass may leave it to the other) and both go.
// Repeated, with 4 workers, so that the passes overlap.
func TestTwoDeclarationsRacing(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	for round := range 3 {
		names := []string{fmt.Sprintf("mia-%d-a", round), fmt.Sprintf("mia-%d-b", round)}
		creates := qcCalls(f, "/collaboration/create")
		all(t, names, func(name string) error {
			c := qcCollaborator(name, "qc", "mia-ai", true, false)
			c.Namespace = f.ns
			return k8s.Create(context.Background(), c)
		})
		for _, name := range names {
			f.waitCondition(name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)
		}
		if n := qcCalls(f, "/collaboration/create") - creates; n != 1 {
			t.Errorf("round %d: %d creates for two declarations of one grant; want 1", round, n)
		}

		all(t, names, func(name string) error {
			return k8s.Delete(context.Background(), &collabv1alpha1.Collaborator{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
			})
		})
		for _, name := range names {
			f.waitGone(&collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns}})
		}
		if m, ok := qcMember(f, "mia-ai"); ok {
			t.Fatalf("round %d: both declarations are gone but the person stays: %+v", round, m)
		}
	}
}

// all runs do for every name at once and fails on any error.
func all(t *testing.T, names []string, do func(name string) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	start := make(chan struct{})
	for i, name := range names {
		wg.Go(func() {
			<-start
			errs[i] = do(name)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
