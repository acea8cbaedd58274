// Package inuse holds the collab.dev/in-use finalizer on credentials
// Secrets while Collaborators depend on them, so a revocation can always
// still log in whatever is deleted first.
package inuse

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

// SecretReconciler holds the collab.dev/in-use finalizer on a credentials
// Secret exactly while a ProviderConfig, or a ClusterProviderConfig (its
// Secret in the cluster resource namespace), that names it is used by a
// Collaborator. A Secret deleted first (kubectl delete -f, a GitOps prune,
// a namespace deletion) then stays readable until every pending revocation
// has run. It sees Secrets by metadata only and never reads their data.
//
// The Collaborator reconciler also adds the finalizer before its first
// provider write (connector.Hold), so no access is granted in the moment
// before this reconciler catches up; only this one removes it.
type SecretReconciler struct {
	// Client reads ProviderConfigs and Collaborators from the manager's
	// cache and patches Secrets' finalizers.
	Client client.Client
	// SecretMetadata reads Secrets' metadata from the manager's cache
	// (the Client reads Secrets uncached); nil reads through Client.
	SecretMetadata client.Reader
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch
	// ClusterResourceNamespace is where ClusterProviderConfigs' Secrets
	// live; empty when this installation serves no ClusterProviderConfig.
	ClusterResourceNamespace string
}

// Reconcile keeps one Secret's in-use finalizer true to its users.
func (r *SecretReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	secret := connector.SecretMetadata()
	reader := r.SecretMetadata
	if reader == nil {
		reader = r.Client
	}
	if err := reader.Get(ctx, req.NamespacedName, secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	used, err := r.inUse(ctx, secret.Namespace, secret.Name)
	if err != nil {
		// Never read a failed List as "unused".
		return ctrl.Result{}, err
	}
	// Uninstalling never revokes: no delete will need these credentials,
	// and a finalizer left behind would leave the Secret Terminating.
	if r.Uninstall.Uninstalling() {
		used = false
	}
	has := controllerutil.ContainsFinalizer(secret, collabv1alpha1.InUseFinalizer)
	if has == used || (used && !secret.DeletionTimestamp.IsZero()) {
		return ctrl.Result{}, nil
	}
	err = connector.PatchFinalizer(ctx, r.Client, secret, used)
	switch {
	case apierrors.IsConflict(err):
		// Someone changed the Secret meanwhile: look again shortly.
		return ctrl.Result{RequeueAfter: ConflictRetry}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("updating the in-use finalizer of Secret %s: %w", req, err)
	}
	return ctrl.Result{}, nil
}

// ConflictRetry is how soon a finalizer change that lost a race is tried
// again; a conflict is ordinary concurrency, not a failure to log.
const ConflictRetry = 100 * time.Millisecond

// inUse reports whether a credentials object naming the Secret has
// Collaborators.
func (r *SecretReconciler) inUse(ctx context.Context, namespace, name string) (bool, error) {
	holders, err := usage.SecretHolders(ctx, r.Client, r.ClusterResourceNamespace, namespace, name)
	if err != nil {
		return false, err
	}
	for _, h := range holders {
		used, err := usage.InUseByCollaborators(ctx, r.Client, h.GetNamespace(), h.GetName())
		if err != nil || used {
			return true, err
		}
	}
	return false, nil
}

// SetupWithManager registers the controller (SetupIndexes must have run on
// mgr). Only Secrets that carry the finalizer or are named by a
// ProviderConfig are ever reconciled.
func (r *SecretReconciler) SetupWithManager(mgr ctrl.Manager) error {
	secrets := r.SecretMetadata
	if secrets == nil {
		secrets = r.Client
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(connector.SecretMetadata(), builder.OnlyMetadata, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return controllerutil.ContainsFinalizer(o, collabv1alpha1.InUseFinalizer)
		}))).
		// A ProviderConfig that appears, goes, or names another Secret
		// changes which Secrets are in use.
		Watches(&collabv1alpha1.ProviderConfig{}, usage.EachVersion(r.enqueueSecretOf))
	if r.ClusterResourceNamespace != "" {
		// So does a ClusterProviderConfig.
		b = b.Watches(&collabv1alpha1.ClusterProviderConfig{}, usage.EachVersion(r.enqueueSecretOf))
	}
	return b.
		// A Collaborator that appears or goes changes whether its
		// ProviderConfig's Secret is in use.
		Watches(&collabv1alpha1.Collaborator{}, handler.EnqueueRequestsFromMapFunc(r.secretOfCollaborator),
			builder.WithPredicates(usage.UsageChanged(r.secretMetadataOf))).
		// An uninstall drops every in-use finalizer at once.
		WatchesRawSource(r.Uninstall.Source(uninstall.Objects(secrets, secretMetadataList(), collabv1alpha1.InUseFinalizer))).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Named("secret").
		Complete(r)
}

func (r *SecretReconciler) enqueueSecretOf(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if key, ok := r.secretKey(o); ok {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// secretKey names the Secret of a ProviderConfig (in its namespace) or a
// ClusterProviderConfig (in the cluster resource namespace).
func (r *SecretReconciler) secretKey(o client.Object) (client.ObjectKey, bool) {
	spec := usage.SpecOf(o)
	if spec == nil {
		return client.ObjectKey{}, false
	}
	ep, ok := spec.Endpoint()
	if !ok || ep.SecretName == "" {
		return client.ObjectKey{}, false
	}
	ns := o.GetNamespace()
	if ns == "" {
		if r.ClusterResourceNamespace == "" {
			return client.ObjectKey{}, false
		}
		ns = r.ClusterResourceNamespace
	}
	return client.ObjectKey{Namespace: ns, Name: ep.SecretName}, true
}

// secretKeyOf names a Collaborator's credentials Secret, through its
// credentials object in the cache.
func (r *SecretReconciler) secretKeyOf(ctx context.Context, c *collabv1alpha1.Collaborator) (client.ObjectKey, error) {
	if c.Spec.ProviderConfigRef.IsCluster() && r.ClusterResourceNamespace == "" {
		return client.ObjectKey{}, fmt.Errorf("ClusterProviderConfig %s is not served", c.Spec.ProviderConfigRef.Name)
	}
	pc, err := usage.ProviderConfigOf(ctx, r.Client, c)
	if err != nil {
		return client.ObjectKey{}, err
	}
	key, ok := r.secretKey(pc)
	if !ok {
		return client.ObjectKey{}, fmt.Errorf("%s %s names no Secret", c.Spec.ProviderConfigRef.Kind, pc.GetName())
	}
	return key, nil
}

// secretMetadataOf reads the metadata of a Collaborator's credentials
// Secret from the cache.
func (r *SecretReconciler) secretMetadataOf(ctx context.Context, c *collabv1alpha1.Collaborator) (client.Object, error) {
	key, err := r.secretKeyOf(ctx, c)
	if err != nil {
		return nil, err
	}
	secret := connector.SecretMetadata()
	reader := r.SecretMetadata
	if reader == nil {
		reader = r.Client
	}
	return secret, reader.Get(ctx, key, secret)
}

func (r *SecretReconciler) secretOfCollaborator(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*collabv1alpha1.Collaborator)
	if !ok {
		return nil
	}
	key, err := r.secretKeyOf(ctx, c)
	if err != nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}

// secretMetadataList is an empty list of Secrets' metadata, the form the
// manager's cache lists them in.
func secretMetadataList() *metav1.PartialObjectMetadataList {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	return l
}
