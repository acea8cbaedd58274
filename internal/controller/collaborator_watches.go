package controller

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
)

// Field indexes used to find the objects a change affects without polling.
const (
	// indexProviderConfigRef indexes Collaborators by the ProviderConfig
	// they reference.
	indexProviderConfigRef = ".spec.providerConfigRef.name"
	// indexSecretRef indexes ProviderConfigs by their credentials Secret.
	indexSecretRef = ".spec.credentialsSecretRef.name" //nolint:gosec // a field index name, not a credential
)

// SetupWithManager registers the controller and its watches (SetupIndexes
// must have run on mgr): ProviderConfig and Secret changes requeue the Collaborators
// that use them, so fixed credentials apply at once.
func (r *CollaboratorReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.retry = newRetryPolicy(r.RetryBase, r.RetryMax, r.SlowRetry)
	r.conns = r.newConnector()
	return ctrl.NewControllerManagedBy(mgr).
		For(&collabv1alpha1.Collaborator{}, builder.WithPredicates(
			// Status writes are ours; only spec, annotation (adoption,
			// pause, reconcile requests) and deletion changes need a pass.
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, r.annotationsChanged()))).
		Watches(&collabv1alpha1.ProviderConfig{},
			handler.EnqueueRequestsFromMapFunc(r.collaboratorsOfProviderConfig),
			builder.WithPredicates(providerConfigChanged())).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(throughProviderConfigs(r.Client, r.collaboratorsOfProviderConfig))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1),
			RateLimiter:             r.retry.queueLimiter(),
		}).
		Named("collaborator").
		Complete(r)
}

// annotationsChanged passes annotation changes, except this manager's own
// external-id write: the pass that wrote it already acted on it, and a
// pass per new Collaborator for nothing took a worker from the next
// create in a bulk onboarding. An id someone else writes (adoption) still
// passes.
func (r *CollaboratorReconciler) annotationsChanged() predicate.Predicate {
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

func (r *CollaboratorReconciler) collaboratorsOfProviderConfig(ctx context.Context, o client.Object) []reconcile.Request {
	reqs, err := collaboratorsUsing(ctx, r.Client, o.GetNamespace(), o.GetName())
	if err != nil {
		logf.FromContext(ctx).Error(err, "Listing Collaborators of a ProviderConfig failed", "providerConfig", o.GetName())
	}
	return reqs
}

// throughProviderConfigs maps a Secret to what ofProviderConfig maps each
// ProviderConfig that names the Secret to: a changed Secret concerns the
// objects of every ProviderConfig that reads it.
func throughProviderConfigs(cl client.Reader, ofProviderConfig func(context.Context, client.Object) []reconcile.Request) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		pcs := &collabv1alpha1.ProviderConfigList{}
		if err := cl.List(ctx, pcs, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexSecretRef: o.GetName()}); err != nil {
			logf.FromContext(ctx).Error(err, "Listing ProviderConfigs of a Secret failed", "secret", o.GetName())
			return nil
		}
		var reqs []reconcile.Request
		for i := range pcs.Items {
			reqs = append(reqs, ofProviderConfig(ctx, &pcs.Items[i])...)
		}
		return reqs
	}
}

// collaboratorsUsing lists the Collaborators that reference a ProviderConfig.
// Callers that decide on finalizers must treat an error as "in use".
func collaboratorsUsing(ctx context.Context, cl client.Reader, namespace, name string, opts ...client.ListOption) ([]reconcile.Request, error) {
	list := &collabv1alpha1.CollaboratorList{}
	// Only names are read, so the cache's objects need not be copied.
	opts = append(opts, client.InNamespace(namespace), client.MatchingFields{indexProviderConfigRef: name}, client.UnsafeDisableDeepCopy)
	if err := cl.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing Collaborators of ProviderConfig %s/%s: %w", namespace, name, err)
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs, nil
}

// inUseByCollaborators reports whether any Collaborator references a
// ProviderConfig. It stops at the first one: this runs on every
// Collaborator create and delete, and listing thousands of objects each
// time would cost the manager a copy of all of them. Callers must treat an
// error as "in use".
func inUseByCollaborators(ctx context.Context, cl client.Reader, namespace, name string) (bool, error) {
	users, err := collaboratorsUsing(ctx, cl, namespace, name, client.Limit(1))
	return len(users) > 0, err
}

// providerConfigChanged passes ProviderConfig events that can change a
// Collaborator's outcome: spec changes and Ready flips. Its other status
// writes would otherwise requeue every Collaborator that uses it.
func providerConfigChanged() predicate.Predicate {
	return predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return readyStatus(e.ObjectOld) != readyStatus(e.ObjectNew)
		},
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
	})
}

func readyStatus(o client.Object) metav1.ConditionStatus {
	pc, ok := o.(*collabv1alpha1.ProviderConfig)
	if !ok {
		return ""
	}
	if c := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady); c != nil {
		return c.Status
	}
	return ""
}

// SetupIndexes registers the field indexes both reconcilers query. Call it
// once per manager, before setting up the reconcilers.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.Collaborator{}, indexProviderConfigRef, func(o client.Object) []string {
		return []string{o.(*collabv1alpha1.Collaborator).Spec.ProviderConfigRef.Name}
	})
	if err != nil {
		return fmt.Errorf("indexing Collaborators by ProviderConfig: %w", err)
	}
	err = mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.ProviderConfig{}, indexSecretRef, func(o client.Object) []string {
		if ep, ok := o.(*collabv1alpha1.ProviderConfig).Spec.Endpoint(); ok {
			return []string{ep.SecretName}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing ProviderConfigs by Secret: %w", err)
	}
	return nil
}
