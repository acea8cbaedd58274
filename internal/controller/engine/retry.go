package engine

import (
	"math/rand/v2"
	"time"

	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Defaults of RetrySettings.
const (
	// DefaultSlowRetry is how often terminal failures are retried when
	// nothing changes.
	DefaultSlowRetry = 10 * time.Minute
	// DefaultRetryBase is the first wait of the exponential backoff of
	// transient failures.
	DefaultRetryBase = time.Second
	// DefaultRetryMax caps the exponential backoff of transient failures.
	DefaultRetryMax = 5 * time.Minute
	// MaxRetryAfter caps a provider's Retry-After: a provider (or whatever
	// answers in front of it) asking for hours must not park a revocation
	// or an expiry for hours.
	MaxRetryAfter = 15 * time.Minute
)

// RetryPolicy decides when an object whose pass failed is tried again:
// transient failures back off exponentially per object, rate limits wait
// for the provider's Retry-After, and terminal ones retry slowly (a change
// to the spec, ProviderConfig or Secret retries them at once through
// watches). The backoff is kept here rather than left to the workqueue
// because a returned error is logged by controller-runtime as a
// "Reconciler error" with a stack trace: noise for an expected outage that
// status and a log line already explain.
type RetryPolicy struct {
	base, maxDelay, slow time.Duration
	backoff              workqueue.TypedRateLimiter[reconcile.Request]
}

// RetrySettings tune a RetryPolicy; zero values mean the defaults.
type RetrySettings struct {
	// Slow is the retry interval of terminal failures (DefaultSlowRetry).
	Slow time.Duration
	// Base and Max bound the exponential backoff of transient failures
	// (DefaultRetryBase, DefaultRetryMax).
	Base, Max time.Duration
}

// NewRetryPolicy builds a policy; each reconciler has its own, since the
// backoff is kept per object name.
func NewRetryPolicy(s RetrySettings) *RetryPolicy {
	base, maxDelay, slow := s.Base, s.Max, s.Slow
	if base <= 0 {
		base = DefaultRetryBase
	}
	if maxDelay <= 0 {
		maxDelay = DefaultRetryMax
	}
	if slow <= 0 {
		slow = DefaultSlowRetry
	}
	return &RetryPolicy{base: base, maxDelay: maxDelay, slow: slow, backoff: newBackoff(base, maxDelay)}
}

// QueueLimiter is the workqueue's limiter, with the same bounds: errors
// that still reach the workqueue are the API server's.
func (p *RetryPolicy) QueueLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return newBackoff(p.base, p.maxDelay)
}

func newBackoff(base, maxDelay time.Duration) workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](base, maxDelay)
}

// Failed returns when to try obj again after failure f.
func (p *RetryPolicy) Failed(obj client.Object, f Failure) ctrl.Result {
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)}
	switch {
	case f.Terminal:
		p.backoff.Forget(req)
		return ctrl.Result{RequeueAfter: p.slow}
	case f.Reason == collabv1alpha1.ReasonRateLimited && f.RetryAfter > 0:
		// The provider's own wait, counted as a failure for the backoff
		// so that a limit that keeps coming grows the next wait.
		d := p.backoff.When(req)
		return ctrl.Result{RequeueAfter: min(max(f.RetryAfter, d), MaxRetryAfter)}
	default:
		return ctrl.Result{RequeueAfter: p.backoff.When(req)}
	}
}

// Pending returns when to look again at work the provider has not
// finished, backing off like a transient failure.
func (p *RetryPolicy) Pending(obj client.Object) ctrl.Result {
	return ctrl.Result{RequeueAfter: p.backoff.When(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})}
}

// Succeeded resets obj's backoff.
func (p *RetryPolicy) Succeeded(obj client.Object) {
	p.backoff.Forget(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
}

// NextRead is when a healthy object is looked at again: just after the
// shared snapshot it was read from expires, so that every object of the
// project comes back together and shares one read per interval, whenever
// each was created. The jitter (at most 2% of the interval, and 1s) keeps
// them from arriving in the same instant; the first one's read serves the
// rest.
func NextRead(observedAt time.Time, interval time.Duration) time.Duration {
	spread := min(interval/50, time.Second)
	wait := interval
	if !observedAt.IsZero() {
		wait = time.Until(observedAt.Add(interval))
	}
	return max(wait, 0) + time.Duration(rand.Int64N(int64(spread)+1)) //nolint:gosec // spreading load needs no cryptographic randomness
}
