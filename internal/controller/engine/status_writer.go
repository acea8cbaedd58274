package engine

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// StatusWriter writes an object's status at most once per change: house
// rule for every reconciler, so that a steady-state pass makes no
// API-server write and every write carries the current observedGeneration.
type StatusWriter[T client.Object] struct {
	client client.Client
	// copyStatus sets dst's status to src's.
	copyStatus func(dst, src T)
	// prepare fills the fields every write carries (observedGeneration).
	prepare func(obj T)
	// same reports whether next's status says nothing new over prev's.
	same func(next, prev T) bool
	// saved is the object as last read or written.
	saved T
	// skip suppresses writes once the object may be gone (finalizer removed).
	skip bool
}

// NewStatusWriter remembers obj's status as read. copyStatus sets dst's
// status to src's; prepare fills what every write carries
// (observedGeneration); same reports whether next says nothing new over
// prev.
func NewStatusWriter[T client.Object](cl client.Client, obj T, copyStatus func(dst, src T), prepare func(T), same func(next, prev T) bool) *StatusWriter[T] {
	return &StatusWriter[T]{client: cl, copyStatus: copyStatus, prepare: prepare, same: same, saved: obj.DeepCopyObject().(T)}
}

// SameButLastSync reports whether next says nothing new over prev but a
// later lastSyncTime (the field lastSync points at), which is not news: a
// pass that finds nothing new writes nothing. next then keeps prev's time.
// It compares in place, without copies: it runs on every pass.
func SameButLastSync[S any](next, prev *S, lastSync func(*S) **metav1.Time) bool {
	n := lastSync(next)
	own := *n
	*n = *lastSync(prev)
	if equality.Semantic.DeepEqual(next, prev) {
		return true
	}
	*n = own
	return false
}

// Skip stops every later write: the object may be gone (its finalizer
// was removed).
func (w *StatusWriter[T]) Skip() { w.skip = true }

// Write patches obj's status if it says something new; a vanished object
// is no error.
func (w *StatusWriter[T]) Write(ctx context.Context, obj T) error {
	if w.skip {
		return nil
	}
	w.prepare(obj)
	if w.same(obj, w.saved) {
		return nil
	}
	// The patch base is the current object with the saved status, so the
	// patch holds only status fields and no resourceVersion precondition.
	base := obj.DeepCopyObject().(T)
	w.copyStatus(base, w.saved)
	if err := w.client.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing status: %w", err)
	}
	w.saved = obj.DeepCopyObject().(T)
	return nil
}
