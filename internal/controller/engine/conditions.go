package engine

import (
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// SetCondition sets one condition for the object's current generation.
func SetCondition(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// MarkHealthy records that the provider holds what the spec says. The
// abnormal-true conditions are removed rather than set False, as Flux's own
// controllers do, so `kubectl describe` shows only what matters.
// syncedMsg says what the last talk with the provider was, since for
// providers without a read or a credentials check there was none.
func MarkHealthy(conds *[]metav1.Condition, gen int64, reason, msg, syncedMsg string) {
	SetCondition(conds, gen, collabv1alpha1.ConditionReady, metav1.ConditionTrue, reason, msg)
	SetCondition(conds, gen, collabv1alpha1.ConditionSynced, metav1.ConditionTrue, collabv1alpha1.ReasonReconcileSuccess, syncedMsg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// MarkProgress records that work is under way: never healthy, not stuck.
func MarkProgress(conds *[]metav1.Condition, gen int64, readyStatus metav1.ConditionStatus, reason, msg string) {
	SetCondition(conds, gen, collabv1alpha1.ConditionReady, readyStatus, reason, msg)
	SetCondition(conds, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// MarkFailure records a failure: Synced=False, and Reconciling or Stalled by
// the failure's kind. Ready is set to readyReason unless keepReady is set
// (a failed periodic re-read leaves Ready as last observed).
func MarkFailure(conds *[]metav1.Condition, gen int64, f Failure, readyReason, msg string, keepReady bool) {
	msg = CapMessage(msg)
	SetCondition(conds, gen, collabv1alpha1.ConditionSynced, metav1.ConditionFalse, f.Reason, msg)
	if keepReady {
		return
	}
	SetCondition(conds, gen, collabv1alpha1.ConditionReady, metav1.ConditionFalse, readyReason, msg)
	if f.Terminal {
		SetCondition(conds, gen, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, f.Reason, msg)
		meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionReconciling)
		return
	}
	SetCondition(conds, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, f.Reason, msg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// maxMessage caps a condition message: it carries provider text, which a
// misbehaving or hostile server controls, and every status write and
// `kubectl describe` repeats it.
const maxMessage = 1024

// CapMessage cuts msg to maxMessage bytes at a rune boundary.
func CapMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// IsReady reports Ready=True for generation gen.
func IsReady(conds []metav1.Condition, gen int64) bool {
	c := meta.FindStatusCondition(conds, collabv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == gen
}

// Now is the current time as status fields hold it.
func Now() *metav1.Time {
	t := metav1.Now()
	return &t
}
