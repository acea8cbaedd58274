package chaos

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// adoptLostCreates does what the operator asks a person to do when an
// AppHarbor create's answer was lost (a SIGKILL between the answer and the
// id's annotation): the operator marks such an object, refuses to delete
// it without the id (ExternalIDUnknown) and cannot create it again
// (Rejected). Here the person looks the id up at AppHarbor, by email, and
// records it, or, for a delete whose lost request never reached AppHarbor
// (nobody holds the email), releases the object with Orphan. The same
// holds for a delete of an AppHarbor object that never recorded an id
// (deleted before its create went through): AppHarbor names people only
// by id, so that delete waits for a person too. Only those objects are
// touched, so any other object that is stuck still fails the run; each
// action is counted in the figures.
func (r *rig) adoptLostCreates(ctx context.Context) []string {
	list := &collabv1alpha1.CollaboratorList{}
	if err := r.cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return []string{"listing Collaborators: " + err.Error()}
	}
	var out []string
	for i := range list.Items {
		c := &list.Items[i]
		_, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
		unnamed := c.Spec.AppHarbor != nil && c.Annotations[collabv1alpha1.ExternalIDAnnotation] == ""
		if !unnamed || (!pending && c.DeletionTimestamp == nil) {
			continue
		}
		stalled := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionStalled)
		if stalled == nil || stalled.Status != metav1.ConditionTrue ||
			(stalled.Reason != collabv1alpha1.ReasonRejected && stalled.Reason != collabv1alpha1.ReasonExternalIDUnknown) {
			continue
		}
		base := c.DeepCopy()
		held, ok := r.ah.CollaboratorByEmail(c.Spec.AppHarbor.Application, c.Spec.AppHarbor.Email)
		action := stalled.Reason + ": id recorded"
		switch {
		case ok:
			metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, held.ID)
		case c.DeletionTimestamp != nil:
			// The lost request never reached AppHarbor: nobody to
			// remove, which the person checks and then releases the
			// object, as the status says.
			c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
			action = stalled.Reason + ": nobody at AppHarbor, Orphan"
		default:
			continue
		}
		if err := r.cl.Patch(ctx, c, client.MergeFrom(base)); err != nil {
			out = append(out, fmt.Sprintf("%s: acting on the lost create by hand: %v", c.Name, err))
			continue
		}
		r.handAdopted[c.Name] = action
	}
	return out
}
