package accesspolicy

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

// indexPolicyProviderConfigRef indexes AccessPolicies by the ProviderConfig
// they reference, so a ProviderConfig's change finds its policies without
// a list of the namespace.
const indexPolicyProviderConfigRef = ".spec.providerConfigRef.name"

// IndexCollaboratorTarget indexes Collaborators by their provider target
// ("quantconnect/<projectID>", "appharbor/<application>") in every
// namespace, so that a pass reads the Collaborators declaring members of
// its target, here or elsewhere, and never the whole cluster's.
const IndexCollaboratorTarget = ".spec.target"

// indexPolicyTarget indexes AccessPolicies by their target in the same
// form, so that a Collaborator's change finds every policy of its target,
// in its namespace or another.
const indexPolicyTarget = ".spec.target"

// Index is one field index the reconciler queries.
type Index struct {
	// Object is the indexed type.
	Object client.Object
	// Field names the index in client.MatchingFields.
	Field string
	// Extract gives an object's values.
	Extract client.IndexerFunc
}

// Indexes are the field indexes the reconciler queries besides those of
// usage.SetupIndexes. SetupWithManager registers them; a test that builds
// its client by hand registers them too (fake.ClientBuilder.WithIndex),
// or its Lists fail.
func Indexes() []Index {
	return []Index{
		{Object: &collabv1alpha1.AccessPolicy{}, Field: indexPolicyProviderConfigRef, Extract: func(o client.Object) []string {
			return usage.RefValues(o.(*collabv1alpha1.AccessPolicy).Spec.ProviderConfigRef)
		}},
		{Object: &collabv1alpha1.AccessPolicy{}, Field: indexPolicyTarget, Extract: func(o client.Object) []string {
			return nonEmpty(policyTargetKey(&o.(*collabv1alpha1.AccessPolicy).Spec))
		}},
		{Object: &collabv1alpha1.Collaborator{}, Field: IndexCollaboratorTarget, Extract: func(o client.Object) []string {
			return nonEmpty(collaboratorTargetKey(&o.(*collabv1alpha1.Collaborator).Spec))
		}},
	}
}

func nonEmpty(k string) []string {
	if k == "" {
		return nil
	}
	return []string{k}
}

// SetupWithManager registers the reconciler's indexes, the controller and
// its watches (SetupIndexes must have run on mgr). A Collaborator created,
// deleted, expired or given its id requeues the policies of its target in
// every namespace, and ProviderConfig and Secret changes requeue the
// policies that use them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	for _, ix := range Indexes() {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Connector.ClusterResourceNamespace() != "" {
		b = usage.WatchClusterProviderConfigs(b, r.policiesOfProviderConfig, r.policiesOfNamespace)
	}
	return b.
		For(&collabv1alpha1.AccessPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&collabv1alpha1.Collaborator{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfCollaborator),
			builder.WithPredicates(declarationChanged())).
		Watches(&collabv1alpha1.ProviderConfig{}, handler.EnqueueRequestsFromMapFunc(r.policiesOfProviderConfig),
			builder.WithPredicates(usage.ProviderConfigChanged())).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client,
			r.Connector.ClusterResourceNamespace(), r.policiesOfProviderConfig))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: r.report.Retry.QueueLimiter()}).
		Named("accesspolicy").
		Complete(r)
}

// declarationChanged passes the Collaborator events that can change what a
// policy counts as declared: creation, deletion (its start and its end),
// a spec change (expiresAt), the external id or the pending-create mark
// coming or going, and Ready's reason moving (an expiry happened). Other
// status writes pass nothing.
func declarationChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, okOld := e.ObjectOld.(*collabv1alpha1.Collaborator)
			n, okNew := e.ObjectNew.(*collabv1alpha1.Collaborator)
			if !okOld || !okNew {
				return false
			}
			return o.Generation != n.Generation ||
				!equality.Semantic.DeepEqual(o.DeletionTimestamp, n.DeletionTimestamp) ||
				o.Annotations[collabv1alpha1.ExternalIDAnnotation] != n.Annotations[collabv1alpha1.ExternalIDAnnotation] ||
				o.Annotations[collabv1alpha1.PendingCreateAnnotation] != n.Annotations[collabv1alpha1.PendingCreateAnnotation] ||
				readyReason(o) != readyReason(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func readyReason(c *collabv1alpha1.Collaborator) string {
	if cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady); cond != nil {
		return string(cond.Status) + "/" + cond.Reason
	}
	return ""
}

// policiesOfCollaborator maps a Collaborator to every policy of its target:
// its own namespace's, and others', for which it declares a member
// elsewhere.
func (r *Reconciler) policiesOfCollaborator(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*collabv1alpha1.Collaborator)
	if !ok {
		return nil
	}
	key := collaboratorTargetKey(&c.Spec)
	if key == "" {
		return nil
	}
	list := &collabv1alpha1.AccessPolicyList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{indexPolicyTarget: key}, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing AccessPolicies of a Collaborator failed", "collaborator", c.Name)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// policiesOfProviderConfig maps a ProviderConfig, or a
// ClusterProviderConfig (no namespace), to the policies that use it.
func (r *Reconciler) policiesOfProviderConfig(ctx context.Context, o client.Object) []reconcile.Request {
	value := o.GetName()
	if o.GetNamespace() == "" {
		value = usage.RefValue(collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: o.GetName()})
	}
	return r.policiesWith(ctx, o.GetNamespace(), value)
}

// policiesOfNamespace maps a Namespace to its policies that use a
// ClusterProviderConfig, whose grants may select it by its labels.
func (r *Reconciler) policiesOfNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.policiesWith(ctx, o.GetName(), usage.AnyCluster)
}

// policiesWith lists the policies of namespace ("" for all) whose
// reference index holds value.
func (r *Reconciler) policiesWith(ctx context.Context, namespace, value string) []reconcile.Request {
	list := &collabv1alpha1.AccessPolicyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{indexPolicyProviderConfigRef: value},
		client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing AccessPolicies by their credentials failed", "namespace", namespace, "reference", value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// newStatusWriter writes what a pass learned, ignoring a
// lastSyncTime that alone moved, so that steady-state passes write nothing.
func newStatusWriter(cl client.Client, p *collabv1alpha1.AccessPolicy) *engine.StatusWriter[*collabv1alpha1.AccessPolicy] {
	return engine.NewStatusWriter(cl, p,
		func(dst, src *collabv1alpha1.AccessPolicy) { dst.Status = src.Status },
		func(o *collabv1alpha1.AccessPolicy) {
			o.Status.ObservedGeneration = o.Generation
			o.Status.Provider, o.Status.Target = o.Spec.ProviderName(), targetOf(&o.Spec)
			o.Status.UnmanagedCount = int32(len(o.Status.Unmanaged)) //nolint:gosec // a member list is far below 2^31
		},
		func(next, prev *collabv1alpha1.AccessPolicy) bool {
			return engine.SameButLastSync(&next.Status, &prev.Status, func(s *collabv1alpha1.AccessPolicyStatus) **metav1.Time { return &s.LastSyncTime })
		})
}

// declarations is the reader of the Collaborators and their credentials
// objects: the Client, which in an installation that serves no
// ClusterProviderConfig never reads one (its RBAC reaches none; an
// informer would wait for a sync that never comes), so a Collaborator
// elsewhere that names one counts as on an unknown host: never removed.
func (r *Reconciler) declarations() client.Reader {
	if r.Connector.ClusterResourceNamespace() != "" {
		return r.Client
	}
	return noClusterConfigs{r.Client}
}

// noClusterConfigs reads through Reader, but never a ClusterProviderConfig.
type noClusterConfigs struct{ client.Reader }

// Get implements client.Reader.
func (n noClusterConfigs) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*collabv1alpha1.ClusterProviderConfig); ok {
		return apierrors.NewNotFound(collabv1alpha1.GroupVersion.WithResource("clusterproviderconfigs").GroupResource(), key.Name)
	}
	return n.Reader.Get(ctx, key, obj, opts...)
}
