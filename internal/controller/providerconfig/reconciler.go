// Package providerconfig reports whether a ProviderConfig's credentials
// are usable and holds its collab.dev/in-use finalizer while Collaborators
// use it (the pass is credcheck's).
package providerconfig

import (
	"context"
	"errors"

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

// Reconciler checks that a ProviderConfig's credentials are
// present and, where the provider offers a check, accepted; and it holds
// the collab.dev/in-use finalizer while Collaborators use the
// ProviderConfig, so their deletes never lose their credentials. The pass
// itself is credcheck's, which ClusterProviderConfigs share.
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

// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs/finalizers,verbs=update

// Reconcile checks one ProviderConfig and keeps its in-use finalizer true
// to the Collaborators that reference it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.init()
	return credcheck.Reconcile(ctx, r.checker, kind, req.NamespacedName)
}

// kind is how credcheck reads and writes a ProviderConfig.
var kind = credcheck.Kind[*collabv1alpha1.ProviderConfig]{
	New:        func() *collabv1alpha1.ProviderConfig { return &collabv1alpha1.ProviderConfig{} },
	Conditions: func(o *collabv1alpha1.ProviderConfig) *[]metav1.Condition { return &o.Status.Conditions },
	CopyStatus: func(dst, src *collabv1alpha1.ProviderConfig) { dst.Status = src.Status },
	Prepare: func(o *collabv1alpha1.ProviderConfig) {
		o.Status.ObservedGeneration = o.Generation
		if ep, ok := o.Spec.Endpoint(); ok {
			o.Status.Provider = ep.Provider
		}
	},
	SameStatus: func(next, prev *collabv1alpha1.ProviderConfig) bool {
		return equality.Semantic.DeepEqual(next.Status, prev.Status)
	},
}

// SetupWithManager registers the controller and its watches (SetupIndexes
// must have run on mgr).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	return ctrl.NewControllerManagedBy(mgr).
		For(&collabv1alpha1.ProviderConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A Collaborator that appears or goes can change whether its
		// ProviderConfig is in use.
		Watches(&collabv1alpha1.Collaborator{}, usage.EachVersion(enqueueProviderConfigOf),
			builder.WithPredicates(usage.UsageChanged(func(ctx context.Context, c *collabv1alpha1.Collaborator) (client.Object, error) {
				if c.Spec.ProviderConfigRef.IsCluster() {
					// Not a ProviderConfig's (and a namespace-scoped
					// install must not read ClusterProviderConfigs).
					return nil, errNotProviderConfig
				}
				return usage.ProviderConfigOf(ctx, r.Client, c)
			}))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client, "",
			func(_ context.Context, pc client.Object) []reconcile.Request {
				return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(pc)}}
			}))).
		// An uninstall drops every in-use finalizer at once.
		WatchesRawSource(r.Uninstall.Source(uninstall.Objects(r.Client, &collabv1alpha1.ProviderConfigList{}, collabv1alpha1.InUseFinalizer))).
		WithOptions(controller.Options{
			RateLimiter: r.checker.Retry.QueueLimiter(),
		}).
		Named("providerconfig").
		Complete(r)
}

// errNotProviderConfig: the Collaborator uses a ClusterProviderConfig.
var errNotProviderConfig = errors.New("the Collaborator uses a ClusterProviderConfig")

func enqueueProviderConfigOf(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if c, ok := o.(*collabv1alpha1.Collaborator); ok && c.Spec.ProviderConfigRef.Name != "" && !c.Spec.ProviderConfigRef.IsCluster() {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.ProviderConfigRef.Name}})
	}
}

// init builds what Reconcile needs besides the fields; SetupWithManager
// calls it, and tests that call Reconcile directly.
func (r *Reconciler) init() {
	if r.checker == nil {
		r.checker = &credcheck.Checker{Client: r.Client, Connector: r.Connector, Retry: engine.NewRetryPolicy(r.Retry), Uninstall: r.Uninstall}
	}
}
