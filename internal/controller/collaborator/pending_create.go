package collaborator

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// create asks the provider to add the collaborator. For a provider that
// tells the new id only in the create's answer (AppHarbor), the object is
// first marked with PendingCreateAnnotation, so that an answer lost to a
// dropped connection or a killed manager cannot let a later delete remove
// nobody and report success: the mark stays until an id is recorded, and
// deleteBlockedByUnknownID stops the delete while it does.
func (r *Reconciler) create(ctx context.Context, c *collabv1alpha1.Collaborator, pcl provider.Client) (provider.Creation, error) {
	if !pcl.Capabilities().CreateAnswerIsTheOnlyID {
		return pcl.Create(ctx, c)
	}
	// A re-create (after an expiry and an extension, or after someone
	// removed the person) is marked too: the id recorded then names the
	// collaborator that is gone, and a lost answer must not let a delete
	// confirm that old one absent and release the object.
	_, earlier := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
	if !earlier {
		if err := r.setPendingCreate(ctx, c, true); err != nil {
			return provider.Creation{}, err
		}
	}
	created, err := pcl.Create(ctx, c)
	if err != nil && !earlier && (refusedOutright(err) || refusedReCreate(c, err)) {
		// The provider answered that it did nothing, and no earlier
		// attempt is in doubt: the mark would only block a delete.
		if clearErr := r.setPendingCreate(ctx, c, false); clearErr != nil {
			logf.FromContext(ctx).Info("Could not clear the pending-create mark; a delete will wait for a person",
				"error", clearErr.Error())
		}
	}
	return created, err
}

// refusedOutright reports answers that mean the provider processed nothing:
// it refused the credentials or the rate (a spent request budget sends
// nothing at all). A timeout, a dropped connection or a 5xx leave the
// create in doubt, and so does a refusal of the request itself: AppHarbor
// answers a create for someone who is already a collaborator with the same
// 400 as invalid data, so after it the person may well be there, under an
// id nobody recorded.
func refusedOutright(err error) bool {
	switch provider.ClassOf(err) {
	case provider.ClassUnauthorized, provider.ClassRateLimited:
		return true
	default:
		return false
	}
}

// refusedReCreate reports a re-create the provider refused: the id recorded
// before still names whoever the refusal says is there (AppHarbor refuses
// someone who is already a collaborator), so the mark would only block a
// delete that can name them.
func refusedReCreate(c *collabv1alpha1.Collaborator, err error) bool {
	return provider.ClassOf(err) == provider.ClassRejected && c.Annotations[collabv1alpha1.ExternalIDAnnotation] != ""
}

// setPendingCreate adds or removes the pending-create mark (see
// patchMetadata): the create it guards must not start unless the mark is
// stored.
func (r *Reconciler) setPendingCreate(ctx context.Context, c *collabv1alpha1.Collaborator, on bool) error {
	err := r.patchMetadata(ctx, c, client.MergeFromWithOptions(c, client.MergeFromWithOptimisticLock{}), func(m *metav1.ObjectMeta) {
		if on {
			metav1.SetMetaDataAnnotation(m, collabv1alpha1.PendingCreateAnnotation, pendingMark(time.Now(), c.Annotations[collabv1alpha1.ExternalIDAnnotation]))
		} else {
			delete(m.Annotations, collabv1alpha1.PendingCreateAnnotation)
		}
	})
	if err != nil {
		return fmt.Errorf("recording that a create is pending: %w", err)
	}
	return nil
}

// deleteBlockedByUnknownID returns the error that stops a delete of an
// object whose create may have added someone the operator cannot name,
// or nil when the delete can go ahead.
func deleteBlockedByUnknownID(c *collabv1alpha1.Collaborator) error {
	mark, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
	if !pending {
		return nil
	}
	// The id recorded when the create was sent names nobody the create
	// added; an id set since then (by the create's answer, or by a person)
	// does.
	if id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" && id != replacedID(mark) {
		return nil
	}
	return &engine.SetupError{
		Reason: collabv1alpha1.ReasonExternalIDUnknown,
		Message: fmt.Sprintf("a create was sent to %s but no answer named a new collaborator (the answer was lost, or the "+
			"create was refused, as it is for someone who is already a collaborator), and the create's answer is the only "+
			"place the id is told, so the operator cannot name them to remove them. Find them at %s and set the %s "+
			"annotation to their id to have the operator remove them; if nobody is there, set deletionPolicy Orphan",
			c.Spec.ProviderName(), c.Spec.ProviderName(), collabv1alpha1.ExternalIDAnnotation),
		Terminal: true,
	}
}

// deleteBlockedByNoID returns the error that stops a delete that would name
// nobody: a provider that names a collaborator only by the id its create
// answered with (AppHarbor), and no id recorded. The person may be there
// all the same (invited by hand while this object could not reach the
// provider); a delete that called nothing must not pass for done.
func deleteBlockedByNoID(c *collabv1alpha1.Collaborator, caps provider.Capabilities) error {
	if !caps.CreateAnswerIsTheOnlyID || c.Annotations[collabv1alpha1.ExternalIDAnnotation] != "" {
		return nil
	}
	return &engine.SetupError{
		Reason: collabv1alpha1.ReasonExternalIDUnknown,
		Message: fmt.Sprintf("no collaborator id is recorded, and %s names collaborators only by the id its create "+
			"answers with, so a delete would remove nobody. If the person is at %s, set the %s annotation to their id "+
			"to have the operator remove them; if nobody is there, set deletionPolicy Orphan",
			c.Spec.ProviderName(), c.Spec.ProviderName(), collabv1alpha1.ExternalIDAnnotation),
		Terminal: true,
	}
}

// replacingSep separates the time of a pending create's mark from the id
// recorded when the create was sent, for a re-create.
const replacingSep = " replacing "

// pendingMark is the value of the pending-create mark: when the create was
// sent and, for a re-create, the id recorded then (which names the
// collaborator that is gone, not the one being added).
func pendingMark(at time.Time, oldID string) string {
	v := at.UTC().Format(time.RFC3339)
	if oldID != "" {
		v += replacingSep + oldID
	}
	return v
}

// replacedID is the id a pending create's mark says was recorded when the
// create was sent, or "" for a first create.
func replacedID(mark string) string {
	_, old, found := strings.Cut(mark, replacingSep)
	if !found {
		return ""
	}
	return old
}

// settleStaleMark clears the mark of a re-create whose outcome was in doubt
// when the provider still holds the collaborator the recorded id names: a
// provider that names people only by the create's answer (AppHarbor)
// refuses a second collaborator for one person, so that re-create added
// nobody, and a person could not resolve the block by writing the id
// (it is already written). A failed read leaves the mark.
func (r *Reconciler) settleStaleMark(ctx context.Context, c *collabv1alpha1.Collaborator, conn *connector.Connection) error {
	mark, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
	id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]
	if !pending || id == "" || id != replacedID(mark) || !conn.Client.Capabilities().Read {
		return nil
	}
	obs, err := conn.Client.Observe(ctx, c)
	if err != nil || !obs.Exists {
		return nil //nolint:nilerr // the mark stays and the caller reports the block
	}
	if obs.ExternalID != "" && obs.ExternalID != id {
		return r.recordExternalID(ctx, c, obs.ExternalID)
	}
	return r.setPendingCreate(ctx, c, false)
}
