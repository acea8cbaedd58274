package controller

import (
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// A failed periodic re-read of a Ready collaborator sets Synced=False and
// leaves Ready as last observed; a failed apply of a new generation never
// leaves Ready=True.
func TestFailedResyncKeepsReadyButFailedApplyDoesNot(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")

	f.qc.FailNext(100000, http.StatusServiceUnavailable, "")
	c := f.waitCondition("mia", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonProviderUnavailable)
	ready := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionTrue || ready.Reason != collabv1alpha1.ReasonAvailable {
		t.Errorf("a failed re-read changed Ready to %s/%s", ready.Status, ready.Reason)
	}

	f.update(c, func() { c.Spec.QuantConnect.Write = true })
	c = f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonProviderUnavailable)
	if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReconciling) {
		t.Errorf("a failed apply is not Reconciling: %+v", c.Status.Conditions)
	}

	f.qc.ClearFaults()
	c = f.waitReady("mia")
	if c.Status.QuantConnect.Permission != "write" {
		t.Errorf("after the outage status says %q, want write", c.Status.QuantConnect.Permission)
	}
}
