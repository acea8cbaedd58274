// Package usage answers which objects use a ProviderConfig, a
// ClusterProviderConfig or a Secret,
// from the manager cache's field indexes, and holds the watch plumbing
// that follows those references: every reconciler that must react when
// credentials change or a Collaborator comes or goes uses it.
package usage

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
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
	// IndexProviderConfigRef indexes Collaborators by the credentials
	// object they reference (RefValue).
	IndexProviderConfigRef = ".spec.providerConfigRef.name"
	// IndexSecretRef indexes ProviderConfigs and ClusterProviderConfigs by
	// their credentials Secret.
	IndexSecretRef = ".spec.credentialsSecretRef.name" //nolint:gosec // a field index name, not a credential
)

// clusterPrefix marks a ClusterProviderConfig in RefValue; no object name
// holds a "/", so a ProviderConfig named like a ClusterProviderConfig never
// shares its value.
const clusterPrefix = collabv1alpha1.KindClusterProviderConfig + "/"

// RefValue is a reference as IndexProviderConfigRef holds it: the
// ProviderConfig's name (looked up in the referrer's namespace), or
// "ClusterProviderConfig/" and the name.
func RefValue(ref collabv1alpha1.ProviderConfigReference) string {
	if ref.IsCluster() {
		return clusterPrefix + ref.Name
	}
	return ref.Name
}

// AnyCluster is the value the reference indexes hold, besides RefValue,
// for every reference to a ClusterProviderConfig, so that a namespace's
// users of any of them are found (a label change re-checks their grants).
// No ProviderConfig is named so: names are lower case.
const AnyCluster = collabv1alpha1.KindClusterProviderConfig

// RefValues are the values a reference index holds for ref: RefValue,
// and AnyCluster for a ClusterProviderConfig.
func RefValues(ref collabv1alpha1.ProviderConfigReference) []string {
	if ref.IsCluster() {
		return []string{RefValue(ref), AnyCluster}
	}
	return []string{RefValue(ref)}
}

// RefIndex is the index function of IndexProviderConfigRef.
func RefIndex(o client.Object) []string {
	c, ok := o.(*collabv1alpha1.Collaborator)
	if !ok {
		return nil
	}
	return RefValues(c.Spec.ProviderConfigRef)
}

// ClusterUsersIn lists the Collaborators of a namespace that reference a
// ClusterProviderConfig, whichever.
func ClusterUsersIn(ctx context.Context, cl client.Reader, namespace string) ([]reconcile.Request, error) {
	list := &collabv1alpha1.CollaboratorList{}
	if err := cl.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{IndexProviderConfigRef: AnyCluster},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Collaborators of namespace %s using ClusterProviderConfigs: %w", namespace, err)
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs, nil
}

// WatchClusterProviderConfigs adds to b the watches that re-check the
// users of ClusterProviderConfigs at once: a ClusterProviderConfig's spec
// change (its grants) or Ready flip, which ofConfig maps to its users, and
// a Namespace's label change, which inNamespace maps to the users there.
// Namespaces are watched by metadata only.
func WatchClusterProviderConfigs(b *builder.Builder, ofConfig, inNamespace handler.MapFunc) *builder.Builder {
	return b.
		Watches(&collabv1alpha1.ClusterProviderConfig{}, handler.EnqueueRequestsFromMapFunc(ofConfig),
			builder.WithPredicates(ProviderConfigChanged())).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(inNamespace),
			builder.WithPredicates(LabelsChanged()))
}

// LabelsChanged passes the updates of an object (a Namespace) whose labels
// changed: a namespaceSelector may select it now, or no longer.
func LabelsChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// KeyOf is how the usage functions name a reference's credentials object:
// a ProviderConfig by namespace and name, a ClusterProviderConfig by name
// alone (Namespace empty), as client.ObjectKeyFromObject names them.
func KeyOf(namespace string, ref collabv1alpha1.ProviderConfigReference) client.ObjectKey {
	if ref.IsCluster() {
		return client.ObjectKey{Name: ref.Name}
	}
	return client.ObjectKey{Namespace: namespace, Name: ref.Name}
}

// SecretIndex is the index function of IndexSecretRef.
func SecretIndex(o client.Object) []string {
	if spec := SpecOf(o); spec != nil {
		if ep, ok := spec.Endpoint(); ok {
			return []string{ep.SecretName}
		}
	}
	return nil
}

// SpecOf is a ProviderConfig's or ClusterProviderConfig's provider
// settings, or nil for another object.
func SpecOf(o client.Object) *collabv1alpha1.ProviderConfigSpec {
	switch x := o.(type) {
	case *collabv1alpha1.ProviderConfig:
		return &x.Spec
	case *collabv1alpha1.ClusterProviderConfig:
		return &x.Spec.ProviderConfigSpec
	}
	return nil
}

// ThroughProviderConfigs maps a Secret to what ofProviderConfig maps each
// ProviderConfig that names the Secret to, and, when the Secret is in
// clusterNamespace (the cluster resource namespace; "" when
// ClusterProviderConfigs are not served), each ClusterProviderConfig that
// names it: a changed Secret concerns the objects of every credentials
// object that reads it.
func ThroughProviderConfigs(cl client.Reader, clusterNamespace string,
	ofProviderConfig func(context.Context, client.Object) []reconcile.Request) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		holders, err := SecretHolders(ctx, cl, clusterNamespace, o.GetNamespace(), o.GetName())
		if err != nil {
			logf.FromContext(ctx).Error(err, "Listing the credentials objects of a Secret failed", "secret", o.GetName())
			return nil
		}
		var reqs []reconcile.Request
		for _, h := range holders {
			reqs = append(reqs, ofProviderConfig(ctx, h)...)
		}
		return reqs
	}
}

// SecretHolders lists the ProviderConfigs, and when the Secret is in
// clusterNamespace the ClusterProviderConfigs, that name a Secret.
func SecretHolders(ctx context.Context, cl client.Reader, clusterNamespace, namespace, name string) ([]client.Object, error) {
	pcs := &collabv1alpha1.ProviderConfigList{}
	if err := cl.List(ctx, pcs, client.InNamespace(namespace), client.MatchingFields{IndexSecretRef: name}); err != nil {
		return nil, fmt.Errorf("listing ProviderConfigs of Secret %s/%s: %w", namespace, name, err)
	}
	holders := make([]client.Object, 0, len(pcs.Items))
	for i := range pcs.Items {
		holders = append(holders, &pcs.Items[i])
	}
	if clusterNamespace == "" || namespace != clusterNamespace {
		return holders, nil
	}
	cpcs := &collabv1alpha1.ClusterProviderConfigList{}
	if err := cl.List(ctx, cpcs, client.MatchingFields{IndexSecretRef: name}); err != nil {
		return nil, fmt.Errorf("listing ClusterProviderConfigs of Secret %s/%s: %w", namespace, name, err)
	}
	for i := range cpcs.Items {
		holders = append(holders, &cpcs.Items[i])
	}
	return holders, nil
}

// CollaboratorsUsing lists the Collaborators that reference a ProviderConfig
// (namespace set) or a ClusterProviderConfig (namespace empty), in every
// namespace for the latter. Callers that decide on finalizers must treat
// an error as "in use".
func CollaboratorsUsing(ctx context.Context, cl client.Reader, namespace, name string, opts ...client.ListOption) ([]reconcile.Request, error) {
	list := &collabv1alpha1.CollaboratorList{}
	// Only names are read, so the cache's objects need not be copied.
	value := name
	if namespace == "" {
		value = clusterPrefix + name
	}
	opts = append(opts, client.InNamespace(namespace), client.MatchingFields{IndexProviderConfigRef: value}, client.UnsafeDisableDeepCopy)
	if err := cl.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing Collaborators of %s: %w", value, err)
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
	var conds []metav1.Condition
	switch x := o.(type) {
	case *collabv1alpha1.ProviderConfig:
		conds = x.Status.Conditions
	case *collabv1alpha1.ClusterProviderConfig:
		conds = x.Status.Conditions
	}
	if c := meta.FindStatusCondition(conds, collabv1alpha1.ConditionReady); c != nil {
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

// ProviderConfigOf reads a Collaborator's credentials object: its
// ProviderConfig, or its ClusterProviderConfig.
func ProviderConfigOf(ctx context.Context, cl client.Reader, c *collabv1alpha1.Collaborator) (client.Object, error) {
	var o client.Object = &collabv1alpha1.ProviderConfig{}
	if c.Spec.ProviderConfigRef.IsCluster() {
		o = &collabv1alpha1.ClusterProviderConfig{}
	}
	err := cl.Get(ctx, KeyOf(c.Namespace, c.Spec.ProviderConfigRef), o)
	return o, err
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
	if err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.Collaborator{}, IndexProviderConfigRef, RefIndex); err != nil {
		return fmt.Errorf("indexing Collaborators by ProviderConfig: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.Collaborator{}, grant.IndexField, grant.Extract); err != nil {
		return fmt.Errorf("indexing Collaborators by grant: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.ProviderConfig{}, IndexSecretRef, SecretIndex); err != nil {
		return fmt.Errorf("indexing ProviderConfigs by Secret: %w", err)
	}
	return nil
}

// SetupClusterIndexes registers the field indexes of ClusterProviderConfigs;
// call it once per manager that serves them, after SetupIndexes.
func SetupClusterIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &collabv1alpha1.ClusterProviderConfig{}, IndexSecretRef, SecretIndex); err != nil {
		return fmt.Errorf("indexing ClusterProviderConfigs by Secret: %w", err)
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
