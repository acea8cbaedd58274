// Package providerconfig reports whether a ProviderConfig's credentials
// are usable and holds its collab.dev/in-use finalizer while Collaborators
// use it.
package providerconfig

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/inuse"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Reconciler checks that a ProviderConfig's credentials are
// present and, where the provider offers a check, accepted; and it holds
// the collab.dev/in-use finalizer while Collaborators use the
// ProviderConfig, so their deletes never lose their credentials.
type Reconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Connector is the manager's one connector.
	Connector *connector.Connector
	// Retry tunes retries.
	Retry engine.RetrySettings
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch

	retry *engine.RetryPolicy

	mu      sync.Mutex
	checked map[client.ObjectKey]credentialCheck
}

// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs/finalizers,verbs=update

// Reconcile checks one ProviderConfig and keeps its in-use finalizer true
// to the Collaborators that reference it.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	r.init()
	pc := &collabv1alpha1.ProviderConfig{}
	if err := r.Client.Get(ctx, req.NamespacedName, pc); err != nil {
		if apierrors.IsNotFound(err) {
			// Gone: its credentials must not outlive it in memory.
			r.Connector.Forget(req.NamespacedName)
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := engine.NewStatusWriter(r.Client, pc,
		func(dst, src *collabv1alpha1.ProviderConfig) { dst.Status = src.Status },
		func(o *collabv1alpha1.ProviderConfig) {
			o.Status.ObservedGeneration = o.Generation
			if ep, ok := o.Spec.Endpoint(); ok {
				o.Status.Provider = ep.Provider
			}
		},
		func(next, prev *collabv1alpha1.ProviderConfig) bool {
			return equality.Semantic.DeepEqual(next.Status, prev.Status)
		})
	defer func() {
		if err := st.Write(ctx, pc); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	gen := pc.Generation

	// A new ProviderConfig must never read as healthy (kstatus calls an
	// object without conditions Current), so its first pass says "in
	// progress" before the credentials check, which can take a while.
	if meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady) == nil && pc.DeletionTimestamp.IsZero() {
		engine.MarkProgress(&pc.Status.Conditions, gen, metav1.ConditionUnknown, collabv1alpha1.ReasonCreating,
			"Checking the credentials")
		if err := st.Write(ctx, pc); err != nil {
			return ctrl.Result{}, err
		}
	}

	// Only a ProviderConfig being deleted names its users; otherwise
	// whether it has any is enough.
	var users []reconcile.Request
	used, err := usage.InUseByCollaborators(ctx, r.Client, pc.Namespace, pc.Name)
	if err == nil && used && !pc.DeletionTimestamp.IsZero() {
		users, err = usage.CollaboratorsUsing(ctx, r.Client, pc.Namespace, pc.Name)
	}
	if err != nil {
		// Never read a failed List as "unused": that would drop the
		// finalizer that keeps pending deletes able to log in.
		return ctrl.Result{}, err
	}
	// Uninstalling never revokes: no delete will need these credentials,
	// and a finalizer left behind would leave the object Terminating.
	uninstalling := r.Uninstall.Uninstalling()
	if uninstalling {
		used = false
	}
	if err := r.syncFinalizer(ctx, pc, used); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: inuse.ConflictRetry}, nil
		}
		return ctrl.Result{}, err
	}
	if !pc.DeletionTimestamp.IsZero() {
		if used {
			msg := fmt.Sprintf("Deletion waits until no Collaborator uses this ProviderConfig; still used by %s", names(users))
			engine.SetCondition(&pc.Status.Conditions, gen, collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonInUse, msg)
		} else {
			st.Skip()
		}
		return ctrl.Result{}, nil
	}
	if uninstalling {
		// Nothing will use the credentials: no provider call.
		return ctrl.Result{}, nil
	}

	conn, err := r.Connector.Connect(ctx, pc)
	var checkedAt time.Time
	if err == nil {
		checkedAt, err = r.check(ctx, conn)
	}
	if err != nil {
		f := engine.Classify(err)
		msg := fmt.Sprintf("%s. %s", engine.Sentence(err), engine.Advice(f.Reason))
		// A rate limit says nothing about the credentials: flipping Ready
		// would requeue every Collaborator of this ProviderConfig into the
		// same limit.
		engine.MarkFailure(&pc.Status.Conditions, gen, f, f.Reason, msg, f.Reason == collabv1alpha1.ReasonRateLimited && engine.IsReady(pc.Status.Conditions, gen))
		logf.FromContext(ctx).Info("ProviderConfig not usable", "reason", f.Reason, "error", err.Error())
		return r.retry.Failed(pc, f), nil
	}
	ep := conn.Endpoint
	msg := fmt.Sprintf("Secret %q holds the %s credentials", ep.SecretName, ep.Provider)
	synced := ep.Provider + " accepted the credentials"
	if conn.Client.Capabilities().CheckCredentials {
		msg += " and " + ep.Provider + " accepted them"
	} else {
		msg += "; " + ep.Provider + " offers no way to check them before use"
		synced = ep.Provider + " was not called: it offers no credentials check"
	}
	engine.MarkHealthy(&pc.Status.Conditions, gen, collabv1alpha1.ReasonAvailable, msg, synced)
	r.retry.Succeeded(pc)
	return ctrl.Result{RequeueAfter: engine.NextRead(checkedAt, pc.Spec.SyncIntervalOrDefault())}, nil
}

// check asks the provider to accept the credentials, where it can, at most
// once per sync interval for the same ProviderConfig generation and Secret
// version: this reconciler also runs whenever a Collaborator comes or goes,
// and those events say nothing new about the credentials. It returns when
// the credentials were last accepted.
func (r *Reconciler) check(ctx context.Context, conn *connector.Connection) (time.Time, error) {
	a, ok := conn.Client.(provider.Authenticator)
	if !conn.Client.Capabilities().CheckCredentials || !ok {
		return time.Time{}, nil
	}
	key := client.ObjectKeyFromObject(conn.ProviderConfig)
	r.mu.Lock()
	last, seen := r.checked[key]
	r.mu.Unlock()
	if seen && last.version == conn.Version && time.Since(last.at) < conn.ProviderConfig.Spec.SyncIntervalOrDefault() {
		return last.at, nil
	}
	err := a.Authenticate(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		delete(r.checked, key)
		return time.Time{}, fmt.Errorf("checking credentials: %w", err)
	}
	if r.checked == nil {
		r.checked = map[client.ObjectKey]credentialCheck{}
	}
	now := time.Now()
	r.checked[key] = credentialCheck{version: conn.Version, at: now}
	return now, nil
}

// forget drops the remembered check of a ProviderConfig that is gone.
func (r *Reconciler) forget(key client.ObjectKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.checked, key)
}

// credentialCheck is a successful credentials check: of which
// ProviderConfig generation and Secret version, and when.
type credentialCheck struct {
	version string
	at      time.Time
}

// syncFinalizer holds the in-use finalizer exactly while the ProviderConfig
// is used. A terminating object cannot gain finalizers, so only removal is
// tried there.
func (r *Reconciler) syncFinalizer(ctx context.Context, pc *collabv1alpha1.ProviderConfig, used bool) error {
	has := controllerutil.ContainsFinalizer(pc, collabv1alpha1.InUseFinalizer)
	if has == used || (used && !pc.DeletionTimestamp.IsZero()) {
		return nil
	}
	base := pc.DeepCopy()
	if used {
		controllerutil.AddFinalizer(pc, collabv1alpha1.InUseFinalizer)
	} else {
		controllerutil.RemoveFinalizer(pc, collabv1alpha1.InUseFinalizer)
	}
	if err := r.Client.Patch(ctx, pc, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("updating in-use finalizer: %w", err))
	}
	return nil
}

// names lists a few Collaborator names for a message.
func names(reqs []reconcile.Request) string {
	const shown = 5
	n := make([]string, 0, len(reqs))
	for _, r := range reqs {
		n = append(n, r.Name)
	}
	sort.Strings(n)
	if len(n) > shown {
		return fmt.Sprintf("%s and %d more", strings.Join(n[:shown], ", "), len(n)-shown)
	}
	return strings.Join(n, ", ")
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
				return usage.ProviderConfigOf(ctx, r.Client, c)
			}))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usage.ThroughProviderConfigs(r.Client,
			func(_ context.Context, pc client.Object) []reconcile.Request {
				return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(pc)}}
			}))).
		// An uninstall drops every in-use finalizer at once.
		WatchesRawSource(r.Uninstall.Source(uninstall.Objects(r.Client, &collabv1alpha1.ProviderConfigList{}, collabv1alpha1.InUseFinalizer))).
		WithOptions(controller.Options{
			RateLimiter: r.retry.QueueLimiter(),
		}).
		Named("providerconfig").
		Complete(r)
}

func enqueueProviderConfigOf(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if c, ok := o.(*collabv1alpha1.Collaborator); ok && c.Spec.ProviderConfigRef.Name != "" {
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.ProviderConfigRef.Name}})
	}
}

// init builds what Reconcile needs besides the fields; SetupWithManager
// calls it, and tests that call Reconcile directly.
func (r *Reconciler) init() {
	if r.retry == nil {
		r.retry = engine.NewRetryPolicy(r.Retry)
	}
}
