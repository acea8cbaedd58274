package collaborator

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

// SetupWithManager registers the controller and its watches (SetupIndexes
// must have run on mgr): ProviderConfig and Secret changes requeue the Collaborators
// that use them, so fixed credentials apply at once.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	return ctrl.NewControllerManagedBy(mgr).
		For(&collabv1alpha1.Collaborator{}, builder.WithPredicates(
			// Status writes are ours; only spec, annotation (adoption,
			// pause, reconcile requests) and deletion changes need a pass.
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, r.annotationsChanged()))).
		Watches(&collabv1alpha1.ProviderConfig{},
			handler.EnqueueRequestsFromMapFunc(r.collaboratorsOfProviderConfig),
			builder.WithPredicates(usage.ProviderConfigChanged())).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client, r.collaboratorsOfProviderConfig))).
		// An uninstall releases every Collaborator at once, blocked ones too.
		WatchesRawSource(r.Uninstall.Source(uninstall.Objects(r.Client, &collabv1alpha1.CollaboratorList{}, collabv1alpha1.Finalizer))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1),
			RateLimiter:             r.report.Retry.QueueLimiter(),
		}).
		Named("collaborator").
		Complete(r)
}

// annotationsChanged passes annotation changes, except this manager's own
// external-id write: the pass that wrote it already acted on it, and a
// pass per new Collaborator for nothing took a worker from the next
// create in a bulk onboarding. An id someone else writes (adoption) still
// passes.
func (r *Reconciler) annotationsChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			oldA, newA := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
			// The pending-create marker is the operator's own, written
			// by the pass that acts on it.
			if equalExcept(oldA, newA, collabv1alpha1.PendingCreateAnnotation) {
				return false
			}
			id := newA[collabv1alpha1.ExternalIDAnnotation]
			written, ours := r.idsWritten.Load(e.ObjectNew.GetUID())
			if !ours || written != id ||
				!equalExcept(oldA, newA, collabv1alpha1.ExternalIDAnnotation, collabv1alpha1.PendingCreateAnnotation) {
				return true
			}
			r.idsWritten.CompareAndDelete(e.ObjectNew.GetUID(), id)
			return false
		},
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// equalExcept reports whether a and b hold the same entries but for keys.
func equalExcept(a, b map[string]string, keys ...string) bool {
	a, b = maps.Clone(a), maps.Clone(b)
	for _, k := range keys {
		delete(a, k)
		delete(b, k)
	}
	return maps.Equal(a, b)
}

func (r *Reconciler) collaboratorsOfProviderConfig(ctx context.Context, o client.Object) []reconcile.Request {
	reqs, err := usage.CollaboratorsUsing(ctx, r.Client, o.GetNamespace(), o.GetName())
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing Collaborators of a ProviderConfig failed", "providerConfig", o.GetName())
	}
	return reqs
}
