package credcheck

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
)

// Kind is what Reconcile needs to know of one credentials kind
// (ProviderConfig, ClusterProviderConfig): how to make an empty object and
// reach its status.
type Kind[T client.Object] struct {
	// New returns an empty object to read into.
	New func() T
	// Conditions points at the object's status conditions.
	Conditions func(T) *[]metav1.Condition
	// CopyStatus, Prepare and SameStatus are engine.NewStatusWriter's:
	// Prepare fills what every status write carries (the generation and
	// the columns `kubectl get` shows).
	CopyStatus func(dst, src T)
	Prepare    func(T)
	SameStatus func(next, prev T) bool
}

// Reconcile is a credentials object's whole pass: read it (forgetting its
// cached credentials once it is gone), Run the check, and write its status
// once, only when it changed.
func Reconcile[T client.Object](ctx context.Context, c *Checker, k Kind[T], key client.ObjectKey) (_ ctrl.Result, retErr error) {
	obj := k.New()
	if err := c.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone: its credentials must not outlive it in memory.
			c.Forget(key)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := engine.NewStatusWriter(c.Client, obj, k.CopyStatus, k.Prepare, k.SameStatus)
	defer func() {
		if err := st.Write(ctx, obj); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	return Run(ctx, c, obj, k.Conditions(obj), st)
}
