package controller

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// One namespace's provider answering every create with 429 and
// Retry-After: 600 never holds up another namespace: no worker sleeps on
// the paused budget, so the other namespace's create and delete run within
// seconds while the first namespace's Collaborators say RateLimited.
func TestOneTenantsRateLimitNeverHoldsAnother(t *testing.T) {
	busy := newFixture(t)
	calm := busy.tenant()
	startManager(t, busy.ns, busy.reg, managerOptions{alsoWatch: []string{calm.ns}})
	busy.ah.Inject(simkit.Fault{Times: 100000, Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"600"}},
		Match:  func(r *http.Request) bool { return r.Method == http.MethodPost }})
	busy.appHarborConfig(time.Minute)
	const waiting = 30
	for i := range waiting {
		busy.create(ahCollaborator(fmt.Sprintf("p%02d", i), fmt.Sprintf("p%02d@example.com", i), collabv1alpha1.AppHarborRoleCollaborator))
	}
	busy.waitCondition("p00", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonRateLimited)

	calm.quantConnectConfig(time.Minute)
	c := qcCollaborator("mia", "qc", "mia-ai", false, false)
	calm.create(c)
	eventually(t, 10*time.Second, func() error {
		got := calm.collaborator("mia")
		for _, cond := range got.Status.Conditions {
			if cond.Type == collabv1alpha1.ConditionReady && cond.Status == metav1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("mia not Ready yet: %+v", got.Status.Conditions)
	})
	calm.delete(c)
	eventually(t, 10*time.Second, func() error {
		if _, ok := qcMember(calm, "mia-ai"); ok {
			return fmt.Errorf("mia-ai is still at the provider")
		}
		return nil
	})
	calm.waitGone(c)
	busy.waitCondition(fmt.Sprintf("p%02d", waiting-1), collabv1alpha1.ConditionReconciling, metav1.ConditionTrue,
		collabv1alpha1.ReasonRateLimited)
}
