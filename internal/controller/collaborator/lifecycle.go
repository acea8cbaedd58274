package collaborator

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Event reasons of the access lifecycle.
const (
	eventExpired = "Expired"
	eventDrifted = "Drifted"
)

// paused reports the collab.dev/paused annotation set to "true".
func paused(c *collabv1alpha1.Collaborator) bool {
	return c.Annotations[collabv1alpha1.PausedAnnotation] == "true"
}

// reconcilePaused makes no provider call at all, for an incident or a
// migration: Synced=False Paused says so, Ready stays as last observed,
// and a deletion waits (the finalizer stays) unless it is Orphan, which
// calls nothing anyway, or the operator is being uninstalled, which
// releases it the same way. Removing the annotation resumes at once, through
// the annotation-change watch.
func (r *Reconciler) reconcilePaused(ctx context.Context, c *collabv1alpha1.Collaborator, st *engine.StatusWriter[*collabv1alpha1.Collaborator]) (ctrl.Result, error) {
	if !c.DeletionTimestamp.IsZero() && (c.Spec.DeletionPolicy == collabv1alpha1.DeletionOrphan || r.Uninstall.Uninstalling()) {
		return r.reconcileDelete(ctx, c, st)
	}
	msg := `collab.dev/paused is "true": the operator makes no provider call for this object`
	if !c.DeletionTimestamp.IsZero() {
		msg += ", so its deletion waits (set deletionPolicy Orphan to release it without calling the provider)"
	}
	msg += "; remove the annotation to resume"
	engine.SetCondition(&c.Status.Conditions, c.Generation, collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonPaused, msg)
	return ctrl.Result{}, nil
}

// freshReadRequested reports a collab.dev/reconcile-requested-at value not
// handled yet, and returns it.
func freshReadRequested(c *collabv1alpha1.Collaborator) (string, bool) {
	v := c.Annotations[collabv1alpha1.ReconcileRequestedAtAnnotation]
	return v, v != "" && v != c.Status.LastHandledReconcileAt
}

// expired reports whether spec.expiresAt has passed.
func expired(c *collabv1alpha1.Collaborator) bool {
	return c.Spec.ExpiredAt(time.Now())
}

// untilExpiry caps a requeue at the expiry instant, so access ends on time
// without polling.
func untilExpiry(c *collabv1alpha1.Collaborator, res ctrl.Result) ctrl.Result {
	if c.Spec.ExpiresAt == nil || expired(c) {
		return res
	}
	if d := time.Until(c.Spec.ExpiresAt.Time); res.RequeueAfter == 0 || d <= res.RequeueAfter {
		res.RequeueAfter = d
		// An expiry goes before the other work in the queue.
		res.Priority = ptr.To(expiryPriority)
	}
	return res
}

// expiryPriority is the work-queue priority of the pass due at an object's
// expiry: above the default (0) of every other pass.
const expiryPriority = 100

// grantContext bounds a call that grants or changes access by the object's
// expiry: no create or update is sent at or after expiresAt, however long
// the pass waited for its request budget or a slow provider. A call cut
// off on its way is settled by the expiry pass, which reads and removes.
func grantContext(ctx context.Context, c *collabv1alpha1.Collaborator) (context.Context, context.CancelFunc) {
	if c.Spec.ExpiresAt == nil {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, c.Spec.ExpiresAt.Time)
}

// reconcileExpired removes the person at the provider exactly as a delete
// would, keeps the object, and, where the provider can be read, removes
// them again at every periodic read if someone added them back. The
// owner of a QuantConnect project is never removed (its delete leaves the
// owner alone).
func (r *Reconciler) reconcileExpired(ctx context.Context, c *collabv1alpha1.Collaborator, conn *connector.Connection) (ctrl.Result, error) {
	at := c.Spec.ExpiresAt.UTC().Format(time.RFC3339)
	sum := c.Spec.Summary()
	target, member := sum.Target, sum.Member
	// One grant, one owner: while another live declaration holds the same
	// access, this one's expiry removes nobody.
	unlock := r.grants.lock(c)
	defer unlock()
	other, err := r.stillDeclared(ctx, c)
	if err != nil {
		return r.fail(ctx, c, "Finding the other declarations of this grant failed", err, false)
	}
	if other != nil {
		engine.MarkHealthy(&c.Status.Conditions, c.Generation, collabv1alpha1.ReasonExpired,
			fmt.Sprintf("This object's access expired at %s; %s still declares the same access for %s on %s, "+
				"so nothing was removed. Move spec.expiresAt into the future, or remove it, to make this object declare it again",
				at, grant.Name(other, c), member, target),
			c.Spec.ProviderName()+" was not called: another declaration holds the grant")
		// Not a removal: when the other declaration goes, this expiry
		// still has one to do.
		engine.SetCondition(&c.Status.Conditions, c.Generation, collabv1alpha1.ConditionSynced, metav1.ConditionTrue,
			eventHandedOver, c.Spec.ProviderName()+" was not called: another declaration holds the grant")
		if err := r.passID(ctx, c, other); err != nil {
			return ctrl.Result{}, err
		}
		r.report.Retry.Succeeded(c)
		return ctrl.Result{RequeueAfter: conn.Spec.SyncIntervalOrDefault()}, nil
	}
	// A create whose answer was lost may have added someone this object
	// cannot name: expiring them needs the id, as a delete does.
	if err := r.settleStaleMark(ctx, c, conn); err != nil {
		return ctrl.Result{}, err
	}
	if err := deleteBlockedByUnknownID(c); err != nil {
		return r.fail(ctx, c, "Removing the expired collaborator is blocked", err, false)
	}
	readable := conn.Client.Capabilities().Read
	var obs provider.Observation
	if readable {
		var err error
		if obs, err = conn.Client.Observe(ctx, c); err != nil {
			return r.fail(ctx, c, "Reading the expired collaborator failed", err, false)
		}
	}
	ready := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	alreadyDone := ready != nil && ready.Reason == collabv1alpha1.ReasonExpired && ready.ObservedGeneration == c.Generation && !handedOver(c)
	removed := false
	if (readable && obs.Exists) || (!readable && !alreadyDone) {
		// Someone back under a new id (AppHarbor) is removed by that id.
		if err := r.recordExternalID(ctx, c, obs.ExternalID); err != nil {
			return ctrl.Result{}, err
		}
		if err := conn.Client.Delete(ctx, c); err != nil {
			return r.fail(ctx, c, "Removing the expired collaborator failed", err, false)
		}
		removed = true
		r.report.Event(c, corev1.EventTypeNormal, eventExpired, "Expire",
			"Access expired at %s: removed %s from %s at %s", at, member, target, c.Spec.ProviderName())
	}
	msg := fmt.Sprintf("Access expired at %s: %s is not a collaborator of %s at %s", at, member, target, c.Spec.ProviderName())
	if conn.Client.Capabilities().CreateAnswerIsTheOnlyID && c.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" {
		// Nothing was read: such a provider is read only by id.
		msg = fmt.Sprintf("Access expired at %s: this object holds no %s collaborator id, so it added nobody to %s "+
			"(%s is found only by that id)", at, c.Spec.ProviderName(), target, member)
	}
	if removed {
		msg = fmt.Sprintf("Access expired at %s: removed %s from %s at %s", at, member, target, c.Spec.ProviderName())
	}
	switch {
	case alreadyDone && !removed:
		// The message of the pass that removed them still holds, advice
		// included.
		msg = ready.Message
	case readable:
		msg += "; a later re-add is removed again at the next read. Move spec.expiresAt into the future, or remove it, to grant access again"
	default:
		msg += ". Move spec.expiresAt into the future, or remove it, to make the object manage access again"
	}
	// Nothing is held any more; only who the person was stays, so that a
	// provider that names people by a per-grant id (AppHarbor) recognises
	// them if someone adds them back.
	c.Status.QuantConnect = nil
	if ah := c.Status.AppHarbor; ah != nil {
		c.Status.AppHarbor = &collabv1alpha1.AppHarborObservation{UserID: ah.UserID, UserName: ah.UserName}
	}
	engine.MarkHealthy(&c.Status.Conditions, c.Generation, collabv1alpha1.ReasonExpired, msg,
		c.Spec.ProviderName()+" answered the removal and the last read")
	c.Status.LastSyncTime = engine.Now()
	r.report.Retry.Succeeded(c)
	if !readable {
		return ctrl.Result{}, nil
	}
	if removed {
		obs.ObservedAt = time.Now()
	}
	return ctrl.Result{RequeueAfter: engine.NextRead(obs.ObservedAt, conn.Spec.SyncIntervalOrDefault())}, nil
}

// reconcileObserve reads and reports, never writes at the provider: Ready
// when the provider holds what the spec says, else Stalled Drifted with
// what differs. WebTranslateIt has nothing to read.
func (r *Reconciler) reconcileObserve(ctx context.Context, c *collabv1alpha1.Collaborator, conn *connector.Connection) (ctrl.Result, error) {
	name := c.Spec.ProviderName()
	if !conn.Client.Capabilities().Read {
		engine.MarkHealthy(&c.Status.Conditions, c.Generation, collabv1alpha1.ReasonDeleteOnly,
			name+" documents no read API, so there is nothing to observe; with managementPolicy Observe, deleting this object does not call it",
			name+" was not called: it has no read API")
		return ctrl.Result{}, nil
	}
	obs, err := conn.Client.Observe(ctx, c)
	if err != nil {
		return r.fail(ctx, c, "Reading the collaborator failed", err, true)
	}
	if err := r.recordExternalID(ctx, c, obs.ExternalID); err != nil {
		return ctrl.Result{}, err
	}
	c.Status.LastSyncTime = engine.Now()
	r.report.Retry.Succeeded(c)
	res := ctrl.Result{RequeueAfter: engine.NextRead(obs.ObservedAt, conn.Spec.SyncIntervalOrDefault())}
	if obs.Exists && obs.UpToDate {
		engine.MarkHealthy(&c.Status.Conditions, c.Generation, collabv1alpha1.ReasonAvailable,
			name+" holds the collaborator as specified (managementPolicy Observe: the operator only reads)",
			"The last read of "+name+" succeeded")
		return res, nil
	}
	sum := c.Spec.Summary()
	target, member := sum.Target, sum.Member
	what := fmt.Sprintf("missing: %s is not a collaborator of %s at %s", member, target, name)
	if obs.Exists {
		what = fmt.Sprintf("%s on %s at %s differs: %s", member, target, name, obs.Difference)
	}
	msg := what + ". managementPolicy is Observe, so the operator changes nothing; set it to Full to apply the spec"
	if prev := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady); prev == nil || prev.Message != msg {
		r.report.Event(c, corev1.EventTypeWarning, eventDrifted, "Observe", "%s", msg)
	}
	engine.SetCondition(&c.Status.Conditions, c.Generation, collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonDrifted, msg)
	engine.SetCondition(&c.Status.Conditions, c.Generation, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonDrifted, msg)
	engine.SetCondition(&c.Status.Conditions, c.Generation, collabv1alpha1.ConditionSynced, metav1.ConditionTrue, collabv1alpha1.ReasonReconcileSuccess,
		"The last read of "+name+" succeeded")
	meta.RemoveStatusCondition(&c.Status.Conditions, collabv1alpha1.ConditionReconciling)
	return res, nil
}

// handedOver reports an expiry not known to be done: recorded while
// another declaration held the grant (nothing was removed then), or
// followed by a pass that failed or was paused, which overwrote that
// record in Synced. A provider without a read then gets its delete again.
func handedOver(c *collabv1alpha1.Collaborator) bool {
	synced := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionSynced)
	return synced == nil || synced.Status != metav1.ConditionTrue || synced.Reason == eventHandedOver
}
