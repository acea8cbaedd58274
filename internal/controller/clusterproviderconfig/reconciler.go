// Package clusterproviderconfig reports whether a ClusterProviderConfig's
// credentials are usable, shows its provider and grant count, and holds
// its collab.dev/in-use finalizer while Collaborators of any namespace use
// it (the pass is credcheck's, as for ProviderConfigs). Its Secret lives
// in the cluster resource namespace. Whether its grants permit a use is
// decided where the credentials are handed out (connector.For).
package clusterproviderconfig

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/credcheck"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
)

// Reconciler checks ClusterProviderConfigs. It runs only in an
// installation that serves them (the Connector has a cluster resource
// namespace).
type Reconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Connector is the manager's one connector.
	Connector *connector.Connector
	// Retry tunes retries.
	Retry engine.RetrySettings
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch

	checker *credcheck.Checker
}

// +kubebuilder:rbac:groups=collab.dev,resources=clusterproviderconfigs,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=clusterproviderconfigs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=clusterproviderconfigs/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile checks one ClusterProviderConfig and keeps its in-use
// finalizer true to the Collaborators that reference it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.init()
	return credcheck.Reconcile(ctx, r.checker, kind, req.NamespacedName)
}

// kind is how credcheck reads and writes a ClusterProviderConfig.
var kind = credcheck.Kind[*collabv1alpha1.ClusterProviderConfig]{
	New:        func() *collabv1alpha1.ClusterProviderConfig { return &collabv1alpha1.ClusterProviderConfig{} },
	Conditions: func(o *collabv1alpha1.ClusterProviderConfig) *[]metav1.Condition { return &o.Status.Conditions },
	CopyStatus: func(dst, src *collabv1alpha1.ClusterProviderConfig) { dst.Status = src.Status },
	Prepare:    prepare,
	SameStatus: func(next, prev *collabv1alpha1.ClusterProviderConfig) bool {
		return equality.Semantic.DeepEqual(next.Status, prev.Status)
	},
}

// prepare fills what every status write carries: the generation, the
// provider and the grant count, for `kubectl get collabcpc`.
func prepare(o *collabv1alpha1.ClusterProviderConfig) {
	o.Status.ObservedGeneration = o.Generation
	if ep, ok := o.Spec.Endpoint(); ok {
		o.Status.Provider = ep.Provider
	}
	o.Status.Grants = int32(len(o.Spec.Grants)) //nolint:gosec // at most 256 by the schema
}

// SetupWithManager registers the controller and its watches
// (SetupIndexes and SetupClusterIndexes must have run on mgr).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	return ctrl.NewControllerManagedBy(mgr).
		For(&collabv1alpha1.ClusterProviderConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A Collaborator that appears or goes can change whether its
		// ClusterProviderConfig is in use.
		Watches(&collabv1alpha1.Collaborator{}, usage.EachVersion(enqueueClusterProviderConfigOf),
			builder.WithPredicates(usage.UsageChanged(func(ctx context.Context, c *collabv1alpha1.Collaborator) (client.Object, error) {
				return usage.ProviderConfigOf(ctx, r.Client, c)
			}))).
		// Its Secret, in the cluster resource namespace, changing re-checks it.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client,
			r.Connector.ClusterResourceNamespace(), onlyCluster))).
		// An uninstall drops every in-use finalizer at once.
		WatchesRawSource(r.Uninstall.Source(uninstall.Objects(r.Client, &collabv1alpha1.ClusterProviderConfigList{}, collabv1alpha1.InUseFinalizer))).
		WithOptions(controller.Options{RateLimiter: r.checker.Retry.QueueLimiter()}).
		Named("clusterproviderconfig").
		Complete(r)
}

// onlyCluster maps a credentials object to itself when it is a
// ClusterProviderConfig (no namespace).
func onlyCluster(_ context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.GetName()}}}
}

func enqueueClusterProviderConfigOf(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if c, ok := o.(*collabv1alpha1.Collaborator); ok && c.Spec.ProviderConfigRef.IsCluster() && c.Spec.ProviderConfigRef.Name != "" {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: c.Spec.ProviderConfigRef.Name}})
	}
}

// init builds what Reconcile needs besides the fields; SetupWithManager
// calls it, and tests that call Reconcile directly.
func (r *Reconciler) init() {
	if r.checker == nil {
		r.checker = &credcheck.Checker{Client: r.Client, Connector: r.Connector, Retry: engine.NewRetryPolicy(r.Retry), Uninstall: r.Uninstall}
	}
}
