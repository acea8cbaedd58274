package collaborator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
)

// releaseOnUninstall releases a deleted Collaborator as Orphan would, with
// no provider call, when the operator is being uninstalled (the Collaborator
// CRD is being deleted, which deletes every Collaborator): uninstalling
// never revokes. It reports whether the pass is done: released, or unsure
// whether the CRD is being deleted (then it neither revokes nor releases,
// and the pass is retried). Deleting a namespace or a Collaborator while
// the CRD stays revokes as always.
func (r *Reconciler) releaseOnUninstall(ctx context.Context, c *collabv1alpha1.Collaborator,
	st *engine.StatusWriter[*collabv1alpha1.Collaborator]) (bool, error) {
	uninstalling, err := r.Uninstall.Confirm(ctx)
	if err != nil {
		return true, fmt.Errorf("checking for an uninstall before removing the collaborator: %w", err)
	}
	if !uninstalling {
		return false, nil
	}
	r.report.Event(c, corev1.EventTypeNormal, eventOrphaned, "Delete", "Left the collaborator at %s: %s",
		c.Spec.ProviderName(), r.Uninstall.Reason())
	return true, r.release(ctx, c, st)
}
