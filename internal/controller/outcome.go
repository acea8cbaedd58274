package controller

import (
	"errors"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// failure is an error with the decisions the reconcilers take on it: the
// condition reason, whether only a person can help, and how long the
// provider asked us to wait.
type failure struct {
	reason     string
	terminal   bool
	retryAfter time.Duration
	err        error
}

// classify maps an error from a setup step or a provider call to a
// condition reason and a retry policy. It is the one place that knows how
// provider error classes become API reasons.
func classify(err error) failure {
	var se *setupError
	if errors.As(err, &se) {
		return failure{reason: se.reason, terminal: se.terminal, err: err}
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		// The Kubernetes API server, not the provider, failed us. Only a
		// person can grant what RBAC forbids; the rest is worth a retry.
		return failure{reason: collabv1alpha1.ReasonKubernetesAPIError,
			terminal: apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err), err: err}
	}
	f := failure{err: err}
	switch provider.ClassOf(err) {
	case provider.ClassUnauthorized:
		f.reason, f.terminal = collabv1alpha1.ReasonCredentialsInvalid, true
	case provider.ClassRejected:
		f.reason, f.terminal = collabv1alpha1.ReasonRejected, true
	case provider.ClassRateLimited:
		f.reason, f.retryAfter = collabv1alpha1.ReasonRateLimited, provider.RetryAfterOf(err)
	default:
		// Unavailable, NotFound in the middle of a write (the provider
		// changed under us) and anything unclassified are worth a retry.
		f.reason = collabv1alpha1.ReasonProviderUnavailable
	}
	return f
}

// advice tells a person what to do about a reason, appended to messages.
func advice(reason string) string {
	switch reason {
	case collabv1alpha1.ReasonCredentialsInvalid:
		return "Fix the credentials Secret; the operator retries as soon as it changes."
	case collabv1alpha1.ReasonRejected:
		return "Fix the spec; the operator retries as soon as it changes."
	case collabv1alpha1.ReasonProviderMismatch:
		return "Point providerConfigRef at a ProviderConfig of the same provider."
	case collabv1alpha1.ReasonRateLimited:
		return "Retrying after the wait the provider asked for, or with backoff when it named none."
	case collabv1alpha1.ReasonBaseURLNotAllowed:
		return "Fix the ProviderConfig's baseURL or the manager's --allowed-provider-urls; the operator retries as soon as the ProviderConfig changes."
	case collabv1alpha1.ReasonExternalIDUnknown:
		return "The operator retries as soon as the annotation is set."
	case collabv1alpha1.ReasonKubernetesAPIError:
		return "Check the manager's RBAC and the API server; the operator retries."
	default:
		return "Retrying with backoff."
	}
}

// retryPolicy decides when an object whose pass failed is tried again:
// transient failures back off exponentially per object, rate limits wait
// for the provider's Retry-After, and terminal ones retry slowly (a change
// to the spec, ProviderConfig or Secret retries them at once through
// watches). The backoff is kept here rather than left to the workqueue
// because a returned error is logged by controller-runtime as a
// "Reconciler error" with a stack trace: noise for an expected outage that
// status and a log line already explain.
type retryPolicy struct {
	base, maxDelay, slow time.Duration
	backoff              workqueue.TypedRateLimiter[reconcile.Request]
}

func newRetryPolicy(base, maxDelay, slow time.Duration) *retryPolicy {
	if base <= 0 {
		base = DefaultRetryBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultRetryMax
	}
	if slow <= 0 {
		slow = DefaultSlowRetry
	}
	return &retryPolicy{base: base, maxDelay: maxDelay, slow: slow, backoff: newBackoff(base, maxDelay)}
}

// queueLimiter is the workqueue's limiter, with the same bounds: errors
// that still reach the workqueue are the API server's.
func (p *retryPolicy) queueLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return newBackoff(p.base, p.maxDelay)
}

func newBackoff(base, maxDelay time.Duration) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](base, maxDelay)
}

// failed returns when to try obj again after failure f.
func (p *retryPolicy) failed(obj client.Object, f failure) ctrl.Result {
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	switch {
	case f.terminal:
		p.backoff.Forget(req)
		return ctrl.Result{RequeueAfter: p.slow}
	case f.reason == collabv1alpha1.ReasonRateLimited && f.retryAfter > 0:
		// The provider's own wait, counted as a failure for the backoff
		// so that a limit that keeps coming grows the next wait.
		d := p.backoff.When(req)
		return ctrl.Result{RequeueAfter: max(f.retryAfter, d)}
	default:
		return ctrl.Result{RequeueAfter: p.backoff.When(req)}
	}
}

// pending returns when to look again at work the provider has not finished,
// backing off like a transient failure.
func (p *retryPolicy) pending(obj client.Object) ctrl.Result {
	return ctrl.Result{RequeueAfter: p.backoff.When(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})}
}

// succeeded resets obj's backoff.
func (p *retryPolicy) succeeded(obj client.Object) {
	p.backoff.Forget(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
}

// setCondition sets one condition for the object's current generation.
func setCondition(conds *[]metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	})
}

// markHealthy records that the provider holds what the spec says. The
// abnormal-true conditions are removed rather than set False, as Flux's own
// controllers do, so `kubectl describe` shows only what matters.
// syncedMsg says what the last talk with the provider was, since for
// providers without a read or a credentials check there was none.
func markHealthy(conds *[]metav1.Condition, gen int64, reason, msg, syncedMsg string) {
	setCondition(conds, gen, collabv1alpha1.ConditionReady, metav1.ConditionTrue, reason, msg)
	setCondition(conds, gen, collabv1alpha1.ConditionSynced, metav1.ConditionTrue, collabv1alpha1.ReasonReconcileSuccess, syncedMsg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionReconciling)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// markProgress records that work is under way: never healthy, not stuck.
func markProgress(conds *[]metav1.Condition, gen int64, readyStatus metav1.ConditionStatus, reason, msg string) {
	setCondition(conds, gen, collabv1alpha1.ConditionReady, readyStatus, reason, msg)
	setCondition(conds, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// markFailure records a failure: Synced=False, and Reconciling or Stalled by
// the failure's kind. Ready is set to readyReason unless keepReady is set
// (a failed periodic re-read leaves Ready as last observed).
func markFailure(conds *[]metav1.Condition, gen int64, f failure, readyReason, msg string, keepReady bool) {
	msg = capMessage(msg)
	setCondition(conds, gen, collabv1alpha1.ConditionSynced, metav1.ConditionFalse, f.reason, msg)
	if keepReady {
		return
	}
	setCondition(conds, gen, collabv1alpha1.ConditionReady, metav1.ConditionFalse, readyReason, msg)
	if f.terminal {
		setCondition(conds, gen, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, f.reason, msg)
		meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionReconciling)
		return
	}
	setCondition(conds, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, f.reason, msg)
	meta.RemoveStatusCondition(conds, collabv1alpha1.ConditionStalled)
}

// maxMessage caps a condition message: it carries provider text, which a
// misbehaving or hostile server controls, and every status write and
// `kubectl describe` repeats it.
const maxMessage = 1024

func capMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}
