package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// A Collaborator deleted (here Orphan, so the person stays) or expired
// (here under Observe, so nothing removes the person) stops declaring its
// member, and the policy of its project notices at once: through the
// Collaborator watch and at the expiry instant, not at the next sync
// interval, an hour away.
func TestAccessPolicyNoticesDeletionAndExpiry(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q")
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", false, true))
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))

	noah := qcCollaborator("noah", "qc", "noah", false, false)
	noah.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	f.create(noah)
	lee := qcCollaborator("lee", "qc", "lee-q", true, false)
	lee.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
	lee.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(4 * time.Second)}
	f.create(lee)
	f.waitReady("noah")
	f.waitReady("lee")
	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyReport, 5))
	p := f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if p.Status.Managed != 2 {
		t.Fatalf("managed = %d, want 2", p.Status.Managed)
	}

	f.delete(noah)
	f.waitGone(noah)
	p = f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(unmanagedNames(p), []string{"noah read"}); err != nil {
		t.Errorf("after the delete: %v", err)
	}

	eventually(t, 20*time.Second, func() error {
		p = f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
		return equalStrings(unmanagedNames(p), []string{"lee-q write", "noah read"})
	})
}
