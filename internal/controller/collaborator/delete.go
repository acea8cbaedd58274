package collaborator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// reconcileDelete runs the provider's delete (or, with Orphan, does not)
// and only then releases the finalizer.
func (r *Reconciler) reconcileDelete(ctx context.Context, c *collabv1alpha1.Collaborator, st *engine.StatusWriter[*collabv1alpha1.Collaborator]) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	// Released without a call below: another declaration keeping the
	// person gets the id first (ownership.go).
	if err := r.leaveID(ctx, c); err != nil {
		return ctrl.Result{}, err
	}
	if c.Spec.DeletionPolicy == collabv1alpha1.DeletionOrphan {
		r.report.Event(c, corev1.EventTypeNormal, eventOrphaned, "Delete", "Left the collaborator at %s (deletionPolicy Orphan)", c.Spec.ProviderName())
		return ctrl.Result{}, r.release(ctx, c, st)
	}
	if c.Spec.ManagementPolicy == collabv1alpha1.ManagementObserve {
		r.report.Event(c, corev1.EventTypeNormal, eventOrphaned, "Delete", "Left the collaborator at %s (managementPolicy Observe never writes)", c.Spec.ProviderName())
		return ctrl.Result{}, r.release(ctx, c, st)
	}
	// Uninstalling never revokes (uninstall.go).
	if done, err := r.releaseOnUninstall(ctx, c, st); done {
		return ctrl.Result{}, err
	}

	// A use the ClusterProviderConfig's grants do not permit makes no
	// provider call and learns nothing of other declarations either.
	if err := r.Connector.Permit(ctx, connector.CollaboratorUse(c)); err != nil {
		return r.failDelete(ctx, c, err)
	}
	// One grant, one owner: while another live declaration holds the same
	// access (a rename in Git, a duplicate), ending this one removes nobody.
	unlock := r.grants.lock(c)
	defer unlock()
	other, err := r.stillDeclared(ctx, c)
	if err != nil {
		return r.failDelete(ctx, c, err)
	}
	if other != nil {
		return ctrl.Result{}, r.handOver(ctx, c, other, st)
	}
	// Unusable credentials keep the object even if it never reached the
	// provider: the person may be there all the same (a WebTranslateIt
	// member exists before any Collaborator; a QuantConnect member is
	// adopted without an id). Only Orphan releases it without a call.
	conn, err := r.connect(ctx, c)
	if err != nil {
		return r.failDelete(ctx, c, err)
	}
	if err := r.settleStaleMark(ctx, c, conn); err != nil {
		return ctrl.Result{}, err
	}
	if err := deleteBlockedByUnknownID(c); err != nil {
		return r.failDelete(ctx, c, err)
	}
	// Done only on the provider's documented success or "already gone"
	// (which the client confirms by a fresh read where it can): any error,
	// whatever its class, keeps the object.
	if err := deleteBlockedByNoID(c, conn.Client.Capabilities()); err != nil {
		return r.failDelete(ctx, c, err)
	}
	if err := conn.Client.Delete(provider.WithRemoval(ctx), c); err != nil {
		return r.failDelete(ctx, c, err)
	}
	r.report.Event(c, corev1.EventTypeNormal, eventDeleted, "Delete", "Removed the collaborator at %s", c.Spec.ProviderName())
	return ctrl.Result{}, r.release(ctx, c, st)
}

// failDelete records a blocked delete. Its message names the escape hatch,
// because a provider or credentials gone for good would block forever.
func (r *Reconciler) failDelete(ctx context.Context, c *collabv1alpha1.Collaborator, err error) (ctrl.Result, error) {
	f := engine.Classify(err)
	msg := engine.CapMessage(fmt.Sprintf("Removing the collaborator at the provider failed: %s. %s "+
		"If the provider or its credentials are gone for good, set spec.deletionPolicy to Orphan to release this object without calling the provider.",
		engine.Sentence(err), engine.Advice(f.Reason)))
	readyReason := collabv1alpha1.ReasonDeleting
	if f.Reason == collabv1alpha1.ReasonNotPermitted {
		readyReason = f.Reason
	}
	engine.MarkFailure(&c.Status.Conditions, c.Generation, f, readyReason, msg, false)
	logf.FromContext(ctx).Info("Delete blocked", "reason", f.Reason, "error", err.Error())
	r.report.Event(c, corev1.EventTypeWarning, engine.EventSyncFailed, "Delete", "%s", msg)
	return r.report.Retry.Failed(c, f), nil
}

// release removes the finalizer; the object may vanish at once, so status
// is not written afterwards.
func (r *Reconciler) release(ctx context.Context, c *collabv1alpha1.Collaborator, st *engine.StatusWriter[*collabv1alpha1.Collaborator]) error {
	base := c.DeepCopy()
	controllerutil.RemoveFinalizer(c, collabv1alpha1.Finalizer)
	st.Skip()
	// The object may vanish now: nothing may wait for its events.
	r.idsWritten.Delete(c.UID)
	r.created.Delete(c.UID)
	if err := r.Client.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("removing finalizer: %w", err))
	}
	return nil
}
