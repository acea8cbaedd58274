package controller

import (
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// isRemoval is a provider request that removes someone: QuantConnect's
// delete endpoint, or an HTTP DELETE (AppHarbor, WebTranslateIt).
func isRemoval(r simkit.RequestRecord) bool {
	return r.Method == http.MethodDelete || strings.HasSuffix(r.Path, "/collaboration/delete")
}

// Renaming a Collaborator as Argo CD or Flux do (the new object applied,
// then the old one pruned) never removes the person at any provider: no
// removal request is sent at any point, the old object goes and the new
// one is Ready.
func TestRenameInGitRemovesNobody(t *testing.T) {
	tests := map[string]struct {
		setup  func(f *fixture)
		object func(name string) *collabv1alpha1.Collaborator
		ready  string
	}{
		"QuantConnect": {
			setup: func(f *fixture) { f.quantConnectConfig(time.Minute) },
			object: func(name string) *collabv1alpha1.Collaborator {
				return qcCollaborator(name, "qc", "mia-ai", true, false)
			},
			ready: collabv1alpha1.ReasonAvailable,
		},
		"AppHarbor": {
			setup: func(f *fixture) { f.appHarborConfig(time.Minute) },
			object: func(name string) *collabv1alpha1.Collaborator {
				return ahCollaborator(name, "carol@example.com", collabv1alpha1.AppHarborRoleCollaborator)
			},
			ready: collabv1alpha1.ReasonAvailable,
		},
		"WebTranslateIt": {
			setup:  func(f *fixture) { f.webTranslateItConfig() },
			object: func(name string) *collabv1alpha1.Collaborator { return wtiCollaborator(name, "carol@example.com") },
			ready:  collabv1alpha1.ReasonDeleteOnly,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			startManager(t, f.ns, f.reg, managerOptions{})
			tc.setup(f)
			old := tc.object("carol-old")
			f.create(old)
			f.waitCondition(old.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, tc.ready)
			renamed := tc.object("carol")
			f.create(renamed)
			f.waitCondition(renamed.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, tc.ready)
			f.delete(old)
			f.waitGone(old)
			f.waitCondition(renamed.Name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, tc.ready)
			removals := f.qc.CountWhere(isRemoval) + f.ah.CountWhere(isRemoval) + f.wti.CountWhere(isRemoval)
			if removals != 0 {
				t.Errorf("%d removal requests during the rename, want none", removals)
			}
			f.waitEvents(old.Name, "HandedOver")
		})
	}
}
