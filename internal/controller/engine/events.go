package engine

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// EventSyncFailed is the Warning Event reason of a failed step.
const EventSyncFailed = "SyncFailed"

// Reporter is how a reconciler tells people what happened: Events, and
// failed steps recorded in status with the retry they get.
type Reporter struct {
	// Recorder publishes Events; nil publishes none (tests).
	Recorder events.EventRecorder
	// Retry decides when a failed object is tried again.
	Retry *RetryPolicy
}

// Event publishes an Event about obj.
func (r *Reporter) Event(obj client.Object, typ, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, typ, reason, action, format, args...)
	}
}

// Fail records a failed step in conds (obj's conditions), logs it, sends a
// Warning Event and picks the retry. readOnly says that the step was a
// read: a failed periodic re-read of a Ready object says nothing new about
// the provider's state, so Ready stays as last observed. Any other failure
// drops Ready: once a read has shown the provider differs from the spec,
// or a new generation is being applied, a failed write must never leave
// Ready=True.
func (r *Reporter) Fail(ctx context.Context, obj client.Object, conds *[]metav1.Condition, what string, err error, readOnly bool) ctrl.Result {
	f := Classify(err)
	msg := CapMessage(fmt.Sprintf("%s: %s. %s", what, Sentence(err), Advice(f.Reason)))
	gen := obj.GetGeneration()
	ready := meta.FindStatusCondition(*conds, collabv1alpha1.ConditionReady)
	// NotPermitted is no failed read but a refusal to read at all: Ready
	// never survives it.
	periodic := readOnly && f.Reason != collabv1alpha1.ReasonNotPermitted &&
		ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == gen
	MarkFailure(conds, gen, f, f.Reason, msg, periodic)
	logf.FromContext(ctx).Info("Reconcile failed", "reason", f.Reason, "terminal", f.Terminal, "error", err.Error())
	r.Event(obj, corev1.EventTypeWarning, EventSyncFailed, "Reconcile", "%s", msg)
	return r.Retry.Failed(obj, f)
}
