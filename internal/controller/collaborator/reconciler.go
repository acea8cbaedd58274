// Package collaborator makes each Collaborator true at its provider: it
// observes, creates or corrects, writes status from the provider's answer,
// expires access on time, and on deletion runs the provider's delete
// before letting the object go.
package collaborator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

const (
	// CriticalWriteTimeout bounds writes that must finish even while the
	// manager stops (see recordExternalID). The manager's graceful shutdown
	// timeout must exceed the provider timeout plus this, so that a create
	// that has started always gets its id recorded.
	CriticalWriteTimeout = 15 * time.Second
)

// Event reasons, for `kubectl describe` and `kubectl get events`.
const (
	eventCreated  = "Created"
	eventUpdated  = "Updated"
	eventAdopted  = "Adopted"
	eventDeleted  = "Deleted"
	eventOrphaned = "Orphaned"
)

// Reconciler makes each Collaborator true at its provider.
type Reconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Connector is the manager's one connector.
	Connector *connector.Connector
	// Recorder publishes Events.
	Recorder events.EventRecorder
	// MaxConcurrentReconciles bounds parallel reconciles (default 1).
	MaxConcurrentReconciles int
	// Retry tunes retries.
	Retry engine.RetrySettings
	// Uninstall says when the operator is being uninstalled; nil never does.
	Uninstall *uninstall.Watch
	// APIReader reads from the API server, uncached, where a decision must
	// not rest on a cache that may lag (ending one declaration of a grant
	// another still holds); nil reads through Client.
	APIReader client.Reader

	report engine.Reporter
	// created holds the UIDs of objects this manager just created at the
	// provider, so that the pass after the create, which may read the
	// object from a cache that lacks the status just written, does not
	// report an adoption.
	created sync.Map
	// idsWritten holds, by UID, the external id this manager is writing
	// to an object's annotation, so that the watch event of its own write
	// does not cost the object another pass (see annotationsChanged).
	idsWritten sync.Map
	// grants serializes the decisions that end a declaration of a grant.
	grants grantLocks
}

// +kubebuilder:rbac:groups=collab.dev,resources=collaborators,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=collaborators/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=collab.dev,resources=collaborators/finalizers,verbs=update
// +kubebuilder:rbac:groups=collab.dev,resources=providerconfigs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs one pass for one Collaborator. Status is written once, at
// the end, and only when it changed; the only other writes are the
// finalizer and the external-id annotation, which must not wait.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, retErr error) {
	r.init()
	c := &collabv1alpha1.Collaborator{}
	if err := r.Client.Get(ctx, req.NamespacedName, c); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	st := newStatusWriter(r.Client, c)
	defer func() {
		if err := st.Write(ctx, c); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()

	if paused(c) {
		return r.reconcilePaused(ctx, c, st)
	}
	requested, fresh := freshReadRequested(c)
	if fresh {
		ctx = provider.WithFreshRead(ctx)
	}
	var res ctrl.Result
	var err error
	switch {
	case !c.DeletionTimestamp.IsZero():
		res, err = r.reconcileDelete(ctx, c, st)
	case r.Uninstall.Uninstalling():
		// The API server deletes this object with its CRD in a moment: a
		// pass now could only grant, or at an expiry revoke, what the
		// uninstall leaves as it is. It makes no call and writes nothing.
		return ctrl.Result{}, nil
	default:
		// Whatever this pass ends with (success, backoff, a provider's
		// Retry-After), the object is back at its expiry.
		res, err = r.reconcileNormal(ctx, c)
		res = untilExpiry(c, res)
	}
	if res.Priority == nil {
		// A request keeps its priority across requeues unless told:
		// only the pass due at an expiry goes first.
		res.Priority = ptr.To(0)
	}
	if fresh && err == nil {
		c.Status.LastHandledReconcileAt = requested
	}
	return res, err
}

func (r *Reconciler) reconcileNormal(ctx context.Context, c *collabv1alpha1.Collaborator) (res ctrl.Result, err error) {
	gen := c.Generation
	// The finalizer goes on before the first provider write, so nothing is
	// ever created that a delete could skip.
	if !controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer) {
		base := c.DeepCopy()
		controllerutil.AddFinalizer(c, collabv1alpha1.Finalizer)
		if err := r.Client.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}

	conn, err := r.connect(ctx, c)
	if err != nil {
		// Nothing was learnt about the provider: like a failed read.
		return r.fail(ctx, c, "Cannot use the ProviderConfig", err, true)
	}
	defer func() { res = r.noticeExpiry(c, conn.Spec.ExpiryNoticeOrDefault(), res) }()
	if c.Spec.ManagementPolicy == collabv1alpha1.ManagementObserve {
		return r.reconcileObserve(ctx, c, conn)
	}
	if !expired(c) {
		if res, handled, err := r.takeOwnership(ctx, c, conn); handled {
			return res, err
		}
	}
	// Before anything that grants access, the credentials a later revoke
	// needs are held against deletion.
	if err := connector.Hold(ctx, r.Client, conn); err != nil {
		if apierrors.IsConflict(err) {
			// Another reconciler changed the object's finalizers at the
			// same moment: nothing failed, look again shortly.
			return r.report.Retry.Pending(c), nil
		}
		return r.fail(ctx, c, "Cannot hold the credentials for a later delete", err, true)
	}
	if expired(c) {
		// The expiry pass is a removal due: its calls go before grants and
		// reads waiting on the same request budget.
		return r.reconcileExpired(provider.WithRemoval(ctx), c, conn)
	}
	pcl := conn.Client
	// A new object reads as in progress from its creation (the API server
	// defaults status.observedGeneration to 0); if its first provider
	// calls are slow, "Creating" also shows what it waits for.
	defer r.reportSlowFirstPass(ctx, c)()

	if !pcl.Capabilities().Read {
		engine.MarkHealthy(&c.Status.Conditions, gen, collabv1alpha1.ReasonDeleteOnly,
			c.Spec.ProviderName()+" documents no create or read API: the operator cannot add this person or check them, "+
				"and deleting this object removes them from the organization",
			c.Spec.ProviderName()+" was not called: it has no read API; the credentials for the delete are in place")
		c.Status.LastSyncTime = engine.Now()
		r.report.Retry.Succeeded(c)
		return ctrl.Result{}, nil
	}
	obs, err := pcl.Observe(ctx, c)
	if err != nil {
		// A failed read says nothing new about the provider: a Ready
		// object stays Ready as last observed.
		return r.fail(ctx, c, "Reading the collaborator failed", err, true)
	}

	// Found at the provider before this object ever synced: someone made
	// it outside Kubernetes, or the object was restored from a backup.
	// (A pass right after this manager's own create may not see the
	// status it wrote yet: that is no adoption.)
	if _, ours := r.created.LoadAndDelete(c.UID); obs.Exists && c.Status.LastSyncTime == nil && !ours {
		r.report.Event(c, corev1.EventTypeNormal, eventAdopted, "Adopt", "Adopted the existing collaborator at %s", c.Spec.ProviderName())
	}
	switch {
	case !obs.Exists:
		// A create abandoned half-way may still happen at the provider
		// without us learning its id, so it is not cut short by manager
		// shutdown (which waits for running reconciles); the client's own
		// timeout still bounds it.
		wctx, cancel := grantContext(context.WithoutCancel(ctx), c)
		created, err := r.create(wctx, c, pcl)
		cancel()
		if err != nil {
			return r.fail(ctx, c, "Creating the collaborator failed", err, false)
		}
		// The id is stored before the status says Ready, so that whoever
		// waits for Ready finds it.
		if err := r.recordExternalID(ctx, c, created.ExternalID); err != nil {
			return ctrl.Result{}, err
		}
		r.created.Store(c.UID, struct{}{})
		r.report.Event(c, corev1.EventTypeNormal, eventCreated, "Create", "Created the collaborator at %s", c.Spec.ProviderName())
		if !created.UpToDate {
			// Someone was there already with other access: Ready waits
			// for a read that shows the spec, which corrects it first.
			engine.MarkProgress(&c.Status.Conditions, gen, metav1.ConditionFalse, collabv1alpha1.ReasonUpdating,
				c.Spec.ProviderName()+" answered the create with other access than the spec's; correcting it")
			return r.report.Retry.Pending(c), nil
		}
		// The snapshot was renewed by the write's answer.
		obs.ObservedAt = time.Now()
	case !obs.UpToDate:
		if err := r.recordExternalID(ctx, c, obs.ExternalID); err != nil {
			return ctrl.Result{}, err
		}
		wctx, cancel := grantContext(ctx, c)
		err := pcl.Update(wctx, c)
		cancel()
		if err != nil {
			return r.fail(ctx, c, "Updating the collaborator failed", err, false)
		}
		r.report.Event(c, corev1.EventTypeNormal, eventUpdated, "Update", "Changed the collaborator at %s to match the spec", c.Spec.ProviderName())
		// Ready means the provider was seen holding the spec. A create's
		// answer shows the new collaborator (QuantConnect's list, AppHarbor's
		// Location); an update is read back, which for QuantConnect is the
		// list its answer carried and for AppHarbor one fresh list read.
		if obs, err = pcl.Observe(ctx, c); err != nil {
			return r.fail(ctx, c, "Reading the collaborator back failed", err, false)
		}
		if !obs.Exists || !obs.UpToDate {
			logf.FromContext(ctx).V(1).Info("Provider does not show the update yet", "exists", obs.Exists, "upToDate", obs.UpToDate)
			engine.MarkProgress(&c.Status.Conditions, gen, metav1.ConditionFalse, collabv1alpha1.ReasonUpdating,
				"Waiting for "+c.Spec.ProviderName()+" to show the change")
			return r.report.Retry.Pending(c), nil
		}
	default:
		if err := r.recordExternalID(ctx, c, obs.ExternalID); err != nil {
			return ctrl.Result{}, err
		}
	}

	engine.MarkHealthy(&c.Status.Conditions, gen, collabv1alpha1.ReasonAvailable,
		c.Spec.ProviderName()+" holds the collaborator as specified", "The last answer of "+c.Spec.ProviderName()+" showed the collaborator")
	c.Status.LastSyncTime = engine.Now()
	r.report.Retry.Succeeded(c)
	return ctrl.Result{RequeueAfter: engine.NextRead(obs.ObservedAt, conn.Spec.SyncIntervalOrDefault())}, nil
}

// connect resolves the Collaborator's ProviderConfig, checks that it is for
// the same provider, and builds a client with its credentials.
func (r *Reconciler) connect(ctx context.Context, c *collabv1alpha1.Collaborator) (*connector.Connection, error) {
	return r.Connector.For(ctx, connector.CollaboratorUse(c))
}

// fail records a failed step (see engine.Reporter.Fail).
func (r *Reconciler) fail(ctx context.Context, c *collabv1alpha1.Collaborator, what string, err error, readOnly bool) (ctrl.Result, error) {
	return r.report.Fail(ctx, c, &c.Status.Conditions, what, err, readOnly), nil
}

// recordExternalID writes the provider's id to the annotation as soon as it
// is known. The provider has already acted, so losing the id could lead to
// a second create after a restart: the write finishes even while the
// manager is stopping.
func (r *Reconciler) recordExternalID(ctx context.Context, c *collabv1alpha1.Collaborator, id string) error {
	_, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
	if id == "" || (c.Annotations[collabv1alpha1.ExternalIDAnnotation] == id && !pending) {
		return nil
	}
	// Noted before the write: its watch event may arrive before its answer.
	r.idsWritten.Store(c.UID, id)
	err := r.patchMetadata(ctx, c, client.MergeFrom(c), func(m *metav1.ObjectMeta) {
		metav1.SetMetaDataAnnotation(m, collabv1alpha1.ExternalIDAnnotation, id)
		// The id is known: no create is in doubt any more.
		delete(m.Annotations, collabv1alpha1.PendingCreateAnnotation)
	})
	if err != nil {
		r.idsWritten.Delete(c.UID)
		return fmt.Errorf("recording external id %q: %w", id, err)
	}
	return nil
}

// patchMetadata applies change to c's metadata at the API server with
// patch (computed against c as it is now), and is not cut short by the
// pass's cancellation: it records what the provider already did. The
// patch is sent from a copy, and only its metadata is taken back: the API
// server's answer carries the status as stored, which would throw away
// what this pass learnt from the provider (and cost one more status write
// later to put it back).
func (r *Reconciler) patchMetadata(ctx context.Context, c *collabv1alpha1.Collaborator,
	patch client.Patch, change func(*metav1.ObjectMeta)) error {
	patched := c.DeepCopy()
	change(&patched.ObjectMeta)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CriticalWriteTimeout)
	defer cancel()
	if err := r.Client.Patch(wctx, patched, patch); err != nil {
		return err
	}
	c.ObjectMeta = patched.ObjectMeta
	return nil
}

// init builds what Reconcile needs besides the fields; SetupWithManager
// calls it, and tests that call Reconcile directly.
func (r *Reconciler) init() {
	if r.report.Retry == nil {
		r.report = engine.Reporter{Recorder: r.Recorder, Retry: engine.NewRetryPolicy(r.Retry)}
	}
}
