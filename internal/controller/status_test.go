package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// The first pass of a new object says "in progress" before it talks to the
// provider: an object without status must never read as healthy.
func TestFirstPassWritesReadyUnknown(t *testing.T) {
	f := newFixture(t)
	f.quantConnectConfig(time.Minute)
	// Every provider answer takes long enough to see the first write.
	f.qc.DelayNext(1000, 2*time.Second)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	c := f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionUnknown, collabv1alpha1.ReasonCreating)
	if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReconciling) {
		t.Errorf("Reconciling is not True on the first write: %+v", c.Status.Conditions)
	}
	if c.Status.ObservedGeneration != c.Generation {
		t.Errorf("observedGeneration %d, want %d", c.Status.ObservedGeneration, c.Generation)
	}
	f.qc.ClearFaults()
	f.waitReady("mia")
}

// A steady-state resync reads the provider but writes nothing to the API
// server: the object's resourceVersion does not move.
func TestSteadyStateResyncWritesNothing(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(500 * time.Millisecond)
	f.create(qcCollaborator("mia", "qc", "mia-ai", true, false))
	f.waitReady("mia")
	// Let the annotation write's own reconcile finish before sampling.
	reads := func() int {
		return f.qc.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/collaboration/read") })
	}
	start := reads()
	eventually(t, 10*time.Second, func() error {
		if reads() < start+1 {
			return fmt.Errorf("no resync yet")
		}
		return nil
	})
	rv := f.collaborator("mia").ResourceVersion
	start = reads()
	eventually(t, 10*time.Second, func() error {
		if n := reads(); n < start+3 {
			return fmt.Errorf("%d resyncs so far", n-start)
		}
		return nil
	})
	if got := f.collaborator("mia").ResourceVersion; got != rv {
		t.Errorf("resourceVersion moved from %s to %s during steady-state resyncs", rv, got)
	}
}
