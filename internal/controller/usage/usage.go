// Package usage answers which objects use a ProviderConfig or a Secret,
// from the manager cache's field indexes, and holds the watch plumbing
// that follows those references: every reconciler that must react when
// credentials change or a Collaborator comes or goes uses it.
package usage

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
)

// Field indexes used to find the objects a change affects without polling.
const (
	// IndexProviderConfigRef indexes Collaborators by the ProviderConfig
	// they reference.
	IndexProviderConfigRef = ".spec.providerConfigRef.name"
	// IndexSecretRef indexes ProviderConfigs by their credentials Secret.
	IndexSecretRef = ".spec.credentialsSecretRef.name" //nolint:gosec // a field index name, not a credential
)

// ThroughProviderConfigs maps a Secret to what ofProviderConfig maps each
// ProviderConfig that names the Secret to: a changed Secret concerns the
// objects of every ProviderConfig that reads it.
func ThroughProviderConfigs(cl client.Reader, ofProviderConfig func(context.Context, client.Object) []reconcile.Request) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		pcs := &collabv1alpha1.ProviderConfigList{}
		if err := cl.List(ctx, pcs, client.InNamespace(o.GetNamespace()), client.MatchingFields{IndexSecretRef: o.GetName()}); err != nil {
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

// CollaboratorsUsing lists the Collaborators that reference a ProviderConfig.
// Callers that decide on finalizers must treat an error as "in use".
func CollaboratorsUsing(ctx context.Context, cl client.Reader, namespace, name string, opts ...client.ListOption) ([]reconcile.Request, error) {
	list := &collabv1alpha1.CollaboratorList{}
	// Only names are read, so the cache's objects need not be copied.
	opts = append(opts, client.InNamespace(namespace), client.MatchingFields{IndexProviderConfigRef: name}, client.UnsafeDisableDeepCopy)
	if err := cl.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing Collaborators of ProviderConfig %s/%s: %w", namespace, name, err)
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs, nil
}

// InUseByCollaborators reports whether any Collaborator references a
// ProviderConfig. It stops at the first one: this runs on every
// Collaborator create and delete, and listing thousands of objects each
// time would cost the manager a copy of all of them. Callers must treat an
// error as "in use".
func InUseByCollaborators(ctx context.Context, cl client.Reader, namespace, name string) (bool, error) {
	users, err := CollaboratorsUsing(ctx, cl, namespace, name, client.Limit(1))
	return len(users) > 0, err
}

// ProviderConfigChanged passes ProviderConfig events that can change a
// Collaborator's outcome: spec changes and Ready flips. Its other status
// writes would otherwise requeue every Collaborator that uses it.
func ProviderConfigChanged() predicate.Predicate {
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

// UsageChanged passes the Collaborator events that can change whether a
// holder of the in-use finalizer (the Collaborator's ProviderConfig, or
// its Secret) is in use: a delete, and a create while the holder lacks the
// finalizer or is being deleted (its status then names its users).
// providerConfigRef is immutable, so an update never moves a Collaborator
// to another holder.
//
// The reconcilers behind it walk the cache's index of the ProviderConfig's
// Collaborators, whose cost grows with their number; without this filter a
// bulk onboarding of 10,000 ran them once per create and spent a third of
// the manager's CPU there.
//
// holder reads the object from the manager's cache; an error (not found,
// not synced) lets the event through, which costs one reconcile. It is
// called with NoWait: a predicate runs inside the Collaborator informer's
// event handler, and a read that waited for another informer to sync (at
// start, or after it stopped at shutdown) held that handler, and with it
// the manager's shutdown, forever.
func UsageChanged(holder func(context.Context, *collabv1alpha1.Collaborator) (client.Object, error)) predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			c, ok := e.Object.(*collabv1alpha1.Collaborator)
			if !ok {
				return true
			}
			h, err := holder(NoWait(), c)
			if err != nil {
				return true
			}
			return !controllerutil.ContainsFinalizer(h, collabv1alpha1.InUseFinalizer) || !h.GetDeletionTimestamp().IsZero()
		},
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// ProviderConfigOf reads a Collaborator's ProviderConfig.
func ProviderConfigOf(ctx context.Context, cl client.Reader, c *collabv1alpha1.Collaborator) (*collabv1alpha1.ProviderConfig, error) {
	pc := &collabv1alpha1.ProviderConfig{}
	err := cl.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.ProviderConfigRef.Name}, pc)
	return pc, err
}

// NoWait returns a context that is already done. A cache read with it
// answers at once from a synced informer and fails at once, instead of
// waiting, when the informer has not synced.
func NoWait() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// SetupIndexes registers the field indexes the reconcilers query. Call it
// once per manager, before setting up the reconcilers.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.Collaborator{}, IndexProviderConfigRef, func(o client.Object) []string {
		return []string{o.(*collabv1alpha1.Collaborator).Spec.ProviderConfigRef.Name}
	})
	if err != nil {
		return fmt.Errorf("indexing Collaborators by ProviderConfig: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.Collaborator{}, grant.IndexField, grant.Extract); err != nil {
		return fmt.Errorf("indexing Collaborators by grant: %w", err)
	}
	err = mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.ProviderConfig{}, IndexSecretRef, func(o client.Object) []string {
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

// EachVersion makes event handlers that enqueue what enqueue maps an
// object to: on an update for the old and the new version, because a
// reference that moved changes both its old and its new target.
func EachVersion(enqueue func(client.Object, workqueue.TypedRateLimitingInterface[reconcile.Request])) handler.Funcs {
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.ObjectOld, q)
			enqueue(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
	}
}
