package collaborator

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

// SetupWithManager registers the controller and its watches (SetupIndexes
// must have run on mgr): ProviderConfig and Secret changes requeue the Collaborators
// that use them, so fixed credentials apply at once.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Connector.ClusterResourceNamespace() != "" {
		b = usage.WatchClusterProviderConfigs(b, r.collaboratorsOfProviderConfig, func(ctx context.Context, o client.Object) []reconcile.Request {
			reqs, err := usage.ClusterUsersIn(ctx, r.Client, o.GetName())
			if err != nil {
				logf.FromContext(ctx).Error(err, "Listing the Collaborators of a namespace failed", "namespace", o.GetName())
			}
			return reqs
		})
	}
	return b.
		For(&collabv1alpha1.Collaborator{}, builder.WithPredicates(
			// Status writes are ours; only spec, annotation (adoption,
			// pause, reconcile requests) and deletion changes need a pass.
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, r.annotationsChanged()))).
		Watches(&collabv1alpha1.ProviderConfig{},
			handler.EnqueueRequestsFromMapFunc(r.collaboratorsOfProviderConfig),
			builder.WithPredicates(usage.ProviderConfigChanged())).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client,
			r.Connector.ClusterResourceNamespace(), r.collaboratorsOfProviderConfig))).
		// A declaration that ends or changes hands its grant to the next
		// owner, or lifts a Conflict, at once.
		Watches(&collabv1alpha1.Collaborator{}, handler.EnqueueRequestsFromMapFunc(r.othersOfGrant),
			builder.WithPredicates(declarationEnded())).
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

// othersOfGrant maps a Collaborator to the other declarations of its
// grant, through the cache's grant index.
func (r *Reconciler) othersOfGrant(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*collabv1alpha1.Collaborator)
	if !ok {
		return nil
	}
	decl, err := grant.Of(ctx, r.Client, c)
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing the declarations of a grant failed", "collaborator", c.Name)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(decl))
	for i := range decl {
		if decl[i].UID != c.UID {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&decl[i])})
		}
	}
	return reqs
}

// declarationEnded passes the events that can change who owns a grant or
// whether its declarations agree: a deletion (its start and its end), a
// spec change (access, expiresAt, managementPolicy) and an expiry showing
// in Ready; and an owner's Ready turning Available, which the declarations
// waiting for it report at once. A new declaration is the newest and
// changes nobody's part.
func declarationEnded() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, okOld := e.ObjectOld.(*collabv1alpha1.Collaborator)
			n, okNew := e.ObjectNew.(*collabv1alpha1.Collaborator)
			if !okOld || !okNew {
				return false
			}
			return o.Generation != n.Generation || o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero() ||
				expiredReason(o) != expiredReason(n) || holds(o) != holds(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// expiredReason reports Ready's reason Expired.
func expiredReason(c *collabv1alpha1.Collaborator) bool {
	cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	return cond != nil && cond.Reason == collabv1alpha1.ReasonExpired
}
