package collaborator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
)

// eventHandedOver is the Event of a declaration released, or expired,
// while another still declares the same access: nothing was removed.
const eventHandedOver = "HandedOver"

// grantLocks serializes, per grant, the decisions that end a declaration
// (a delete or an expiry that might be the last one), so that two passes
// ending two declarations of one grant at once never both conclude that
// the other one remains.
type grantLocks struct{ m sync.Map }

// lock takes c's grant's lock; the returned func releases it.
func (l *grantLocks) lock(c *collabv1alpha1.Collaborator) func() {
	mu, _ := l.m.LoadOrStore(grant.Key(c), &sync.Mutex{})
	m, _ := mu.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// owner is the owner of c's grant as the manager's cache shows it: enough
// for deciding who writes, since a wrong answer there only delays a write
// to the next pass (every declaration's change requeues the others). It
// also returns an external id another declaration of the grant recorded
// (the same person at the same target), for an owner that has none.
func (r *Reconciler) owner(ctx context.Context, c *collabv1alpha1.Collaborator) (*collabv1alpha1.Collaborator, string, error) {
	decl, err := grant.Of(ctx, r.Client, c)
	if err == nil {
		decl, err = r.permitted(ctx, decl)
	}
	if err != nil {
		return nil, "", err
	}
	id := ""
	for i := range decl {
		if decl[i].UID != c.UID && shareID(&decl[i], c) {
			if v := decl[i].Annotations[collabv1alpha1.ExternalIDAnnotation]; v != "" {
				id = v
				break
			}
		}
	}
	return decl.Owner(time.Now()), id, nil
}

// stillDeclared returns another live declaration of c's grant. The
// cache's grant index finds the candidates (so a mass deletion costs no
// List per object), and each is confirmed by a read from the API server:
// releasing c without a provider call rests on it, and a cache that lags
// could show as live a declaration already being deleted. A candidate the
// cache has not seen yet only costs a removal its owner adds back. The
// caller holds the grant's lock.
func (r *Reconciler) stillDeclared(ctx context.Context, c *collabv1alpha1.Collaborator) (*collabv1alpha1.Collaborator, error) {
	decl, err := grant.Of(ctx, r.Client, c)
	if err == nil {
		decl, err = r.permitted(ctx, decl)
	}
	if err != nil {
		return nil, err
	}
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	now := time.Now()
	for i := range decl {
		if decl[i].UID == c.UID || !grant.Live(&decl[i], now) {
			continue
		}
		o := &collabv1alpha1.Collaborator{}
		err := reader.Get(ctx, client.ObjectKeyFromObject(&decl[i]), o)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s, another declaration of %s's grant: %w", decl[i].Name, c.Name, err)
		}
		if o.UID == decl[i].UID && grant.Key(o) == grant.Key(c) && grant.Live(o, now) {
			return o, nil
		}
	}
	return nil, nil
}

// takeOwnership settles c's part in its grant before anything is written:
// another owner means c only reports (handled), and an owner without an
// id takes the one another declaration recorded (a rename applied in the
// same second as the original owns by name; for AppHarbor the recorded id
// is the only way to find the person, and a create would be refused).
func (r *Reconciler) takeOwnership(ctx context.Context, c *collabv1alpha1.Collaborator, conn *connector.Connection) (ctrl.Result, bool, error) {
	owner, known, err := r.owner(ctx, c)
	if err != nil {
		res, ferr := r.fail(ctx, c, "Finding the owner of this grant failed", err, true)
		return res, true, ferr
	}
	if owner != nil && owner.UID != c.UID {
		res, err := r.reconcileNonOwner(ctx, c, conn, owner)
		return res, true, err
	}
	if known != "" && c.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" && conn.Client.Capabilities().CreateAnswerIsTheOnlyID {
		if err := r.recordExternalID(ctx, c, known); err != nil {
			return ctrl.Result{}, true, err
		}
	}
	return ctrl.Result{}, false, nil
}

// reconcileNonOwner reports a declaration whose grant another one owns: it
// writes nothing at the provider. When it asks for what the owner's does it
// is healthy as soon as the provider holds that; otherwise it is Stalled
// Conflict until the specs agree or the owner goes. An AppHarbor duplicate
// takes the owner's id, the only way to find the person there, whether or
// not it agrees: one in Conflict needs it once the owner goes.
func (r *Reconciler) reconcileNonOwner(ctx context.Context, c *collabv1alpha1.Collaborator, conn *connector.Connection,
	owner *collabv1alpha1.Collaborator) (ctrl.Result, error) {
	gen, name, who := c.Generation, c.Spec.ProviderName(), grant.Name(owner, c)
	if id := owner.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" && shareID(owner, c) {
		if err := r.recordExternalID(ctx, c, id); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !grant.Agree(&c.Spec, &owner.Spec) {
		msg := fmt.Sprintf("%s declares the same person on the same %s target with other access and owns the grant "+
			"(the oldest declaration does); this one writes nothing. Make the two agree, or delete one of them", who, name)
		engine.SetCondition(&c.Status.Conditions, gen, collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonConflict, msg)
		engine.SetCondition(&c.Status.Conditions, gen, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonConflict, msg)
		engine.SetCondition(&c.Status.Conditions, gen, collabv1alpha1.ConditionSynced, metav1.ConditionTrue,
			collabv1alpha1.ReasonReconcileSuccess, "Another declaration owns the grant: no call was needed")
		meta.RemoveStatusCondition(&c.Status.Conditions, collabv1alpha1.ConditionReconciling)
		r.report.Retry.Succeeded(c)
		return ctrl.Result{}, nil
	}
	pcl := conn.Client
	if !pcl.Capabilities().Read {
		engine.MarkHealthy(&c.Status.Conditions, gen, collabv1alpha1.ReasonDeleteOnly,
			fmt.Sprintf("%s documents no create or read API, and %s owns this grant; deleting this object "+
				"removes the person only if no other Collaborator declares them", name, who),
			name+" was not called: another declaration owns the grant")
		r.report.Retry.Succeeded(c)
		return ctrl.Result{}, nil
	}
	obs, err := pcl.Observe(ctx, c)
	if err != nil {
		return r.fail(ctx, c, "Reading the collaborator failed", err, true)
	}
	r.report.Retry.Succeeded(c)
	next := ctrl.Result{RequeueAfter: engine.NextRead(obs.ObservedAt, conn.Spec.SyncIntervalOrDefault())}
	if !obs.Exists || !obs.UpToDate {
		engine.MarkProgress(&c.Status.Conditions, gen, metav1.ConditionFalse, collabv1alpha1.ReasonCreating,
			fmt.Sprintf("%s owns this grant and applies it at %s; waiting for %s to hold it", who, name, name))
		engine.SetCondition(&c.Status.Conditions, gen, collabv1alpha1.ConditionSynced, metav1.ConditionTrue,
			collabv1alpha1.ReasonReconcileSuccess, "The last read of "+name+" succeeded")
		return next, nil
	}
	engine.MarkHealthy(&c.Status.Conditions, gen, collabv1alpha1.ReasonAvailable,
		fmt.Sprintf("%s holds the collaborator as specified; %s owns the grant", name, who),
		"The last read of "+name+" showed the collaborator")
	c.Status.LastSyncTime = engine.Now()
	return next, nil
}

// holds reports an owner whose status says the provider holds its spec:
// Ready=True, Available, for its current generation.
func holds(owner *collabv1alpha1.Collaborator) bool {
	cond := meta.FindStatusCondition(owner.Status.Conditions, collabv1alpha1.ConditionReady)
	return cond != nil && cond.Status == metav1.ConditionTrue && cond.Reason == collabv1alpha1.ReasonAvailable &&
		cond.ObservedGeneration == owner.Generation
}

// handOver releases a deleting declaration whose access another live one
// still declares: no provider call, an Event saying why.
func (r *Reconciler) handOver(ctx context.Context, c, other *collabv1alpha1.Collaborator,
	st *engine.StatusWriter[*collabv1alpha1.Collaborator]) error {
	if err := r.passID(ctx, c, other); err != nil {
		return err
	}
	r.report.Event(c, corev1.EventTypeNormal, eventHandedOver, "Delete",
		"Left the collaborator at %s: %s still declares the same access", c.Spec.ProviderName(), grant.Name(other, c))
	return r.release(ctx, c, st)
}

// passID readies the declaration that takes a grant over before c lets
// go: it gets the finalizer (one never reconciled, or created paused,
// would otherwise vanish on deletion without removing anyone) and, when it
// has none, the external id c recorded (for AppHarbor the only way to find
// the person to remove them later).
func (r *Reconciler) passID(ctx context.Context, c, other *collabv1alpha1.Collaborator) error {
	id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]
	giveID := id != "" && other.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" && shareID(other, c)
	if !giveID && controllerutil.ContainsFinalizer(other, collabv1alpha1.Finalizer) {
		return nil
	}
	patched := other.DeepCopy()
	controllerutil.AddFinalizer(patched, collabv1alpha1.Finalizer)
	if giveID {
		metav1.SetMetaDataAnnotation(&patched.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, id)
	}
	if err := r.Client.Patch(ctx, patched, client.MergeFromWithOptions(other, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("handing the grant over to %s: %w", other.Name, err)
	}
	return nil
}

// leaveID readies the live declaration that takes c's grant over before c
// is released without a provider call (deletionPolicy Orphan, or
// managementPolicy Observe): when it records no external id, it gets the
// one c recorded. A rename in Git of such an object prunes the old name,
// often before the new one's first pass; for AppHarbor the recorded id is
// the only way to find the person, and a create would be refused.
// Uninstalling passes nothing on.
func (r *Reconciler) leaveID(ctx context.Context, c *collabv1alpha1.Collaborator) error {
	id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]
	orphaned := c.Spec.DeletionPolicy == collabv1alpha1.DeletionOrphan || c.Spec.ManagementPolicy == collabv1alpha1.ManagementObserve
	if id == "" || !orphaned || r.Uninstall.Uninstalling() {
		return nil
	}
	// A NotPermitted declaration's id is no candidate's, as it is no
	// owner's (permit.go): a namespace outside the grants does not choose
	// the id a permitted declaration elsewhere writes with.
	if err := r.Connector.Permit(ctx, connector.CollaboratorUse(c)); err != nil {
		if se := (*engine.SetupError)(nil); errors.As(err, &se) && se.Reason == collabv1alpha1.ReasonNotPermitted {
			return nil
		}
		return err
	}
	unlock := r.grants.lock(c)
	defer unlock()
	other, err := r.stillDeclared(ctx, c)
	if err != nil || other == nil || !shareID(other, c) || other.Annotations[collabv1alpha1.ExternalIDAnnotation] != "" {
		return err
	}
	patched := other.DeepCopy()
	metav1.SetMetaDataAnnotation(&patched.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, id)
	if err := r.Client.Patch(ctx, patched, client.MergeFromWithOptions(other, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("leaving the external id to %s: %w", other.Name, err)
	}
	return nil
}
