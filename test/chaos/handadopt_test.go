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
// records it. Only marked objects are touched, so an unmarked object that
// is stuck still fails the run; each adoption is counted in the figures.
func (r *rig) adoptLostCreates(ctx context.Context) []string {
	list := &collabv1alpha1.CollaboratorList{}
	if err := r.cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return []string{"listing Collaborators: " + err.Error()}
	}
	var out []string
	for i := range list.Items {
		c := &list.Items[i]
		_, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
		if !pending || c.Spec.AppHarbor == nil || c.Annotations[collabv1alpha1.ExternalIDAnnotation] != "" {
			continue
		}
		stalled := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionStalled)
		if stalled == nil || stalled.Status != metav1.ConditionTrue ||
			(stalled.Reason != collabv1alpha1.ReasonRejected && stalled.Reason != collabv1alpha1.ReasonExternalIDUnknown) {
			continue
		}
		held, ok := r.ah.CollaboratorByEmail(c.Spec.AppHarbor.Application, c.Spec.AppHarbor.Email)
		if !ok {
			continue
		}
		base := c.DeepCopy()
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, held.ID)
		if err := r.cl.Patch(ctx, c, client.MergeFrom(base)); err != nil {
			out = append(out, fmt.Sprintf("%s: recording the id %s by hand: %v", c.Name, held.ID, err))
			continue
		}
		r.handAdopted[c.Name] = stalled.Reason
	}
	return out
}
