package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// usageChanged passes the Collaborator events that can change whether a
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
// called with noWait: a predicate runs inside the Collaborator informer's
// event handler, and a read that waited for another informer to sync (at
// start, or after it stopped at shutdown) held that handler, and with it
// the manager's shutdown, forever.
func usageChanged(holder func(context.Context, *collabv1alpha1.Collaborator) (client.Object, error)) predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			c, ok := e.Object.(*collabv1alpha1.Collaborator)
			if !ok {
				return true
			}
			h, err := holder(noWait(), c)
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

// providerConfigOf reads a Collaborator's ProviderConfig.
func providerConfigOf(ctx context.Context, cl client.Reader, c *collabv1alpha1.Collaborator) (*collabv1alpha1.ProviderConfig, error) {
	pc := &collabv1alpha1.ProviderConfig{}
	err := cl.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.ProviderConfigRef.Name}, pc)
	return pc, err
}

// noWait returns a context that is already done. A cache read with it
// answers at once from a synced informer and fails at once, instead of
// waiting, when the informer has not synced.
func noWait() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
