package collaborator

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	ctrl "sigs.k8s.io/controller-runtime"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// eventExpiringSoon is the Event announcing an expiry within the notice.
const eventExpiringSoon = "ExpiringSoon"

// noticeExpiry sends the ExpiringSoon Event once per spec.expiresAt value,
// as soon as the expiry is nearer than notice (0: never), and records it in
// status.expiryNotice: a restarted manager reads the record back and does
// not send it again. Until the notice is due, the returned result brings
// the object back at that moment, without polling.
//
// Only managementPolicy Full gets a notice: that is where expiresAt
// removes someone.
func (r *Reconciler) noticeExpiry(c *collabv1alpha1.Collaborator, notice time.Duration, res ctrl.Result) ctrl.Result {
	exp := c.Spec.ExpiresAt
	if exp == nil {
		c.Status.ExpiryNotice = nil
		return res
	}
	if notice <= 0 || c.Spec.ManagementPolicy == collabv1alpha1.ManagementObserve {
		return res
	}
	if sent := c.Status.ExpiryNotice; sent != nil && sent.ExpiresAt.Equal(exp) {
		return res
	}
	now := time.Now()
	left := exp.Sub(now)
	if left <= 0 {
		// Expired: the Expired Event says the rest.
		return res
	}
	if wait := left - notice; wait > 0 {
		if res.RequeueAfter == 0 || wait < res.RequeueAfter {
			res.RequeueAfter = wait
		}
		return res
	}
	at := exp.UTC().Format(time.RFC3339)
	r.report.Event(c, corev1.EventTypeNormal, eventExpiringSoon, "Expire",
		"Access at %s expires at %s (in %s). To keep it, move spec.expiresAt (kubectl collab renew %s --for 30d, "+
			"or commit the new time to Git)", c.Spec.ProviderName(), at, duration.HumanDuration(left), c.Name)
	c.Status.ExpiryNotice = &collabv1alpha1.ExpiryNotice{ExpiresAt: *exp.DeepCopy(), SentAt: metav1.NewTime(now.Truncate(time.Second))}
	return res
}
