package controller

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// tenant is a second namespace on the same simulators and registry as a
// fixture, as a second team on one cluster is.
func (f *fixture) tenant() *fixture {
	other := *f
	other.ns = newNamespace(f.t)
	return &other
}

// Two namespaces name the same QuantConnect user id (or the same AppHarbor
// application and collaborator id), one with the right token and one with
// a wrong token of the same shape. Both are reconciled many times within
// the shared cache's lifetime: the wrong tenant never becomes Ready, never
// shows the other's record or id, and the right one never shows the wrong
// one's 401.
func TestTwoTenantsNeverShareAnswers(t *testing.T) {
	tests := map[string]struct {
		// setup creates the ProviderConfig "p" with token in f's namespace.
		setup func(f *fixture, token string)
		// collaborator is the object both tenants create.
		collaborator func(f *fixture) *collabv1alpha1.Collaborator
		rightToken   string
		wrongToken   string
		// shown reports whether status shows a provider record.
		shown func(c *collabv1alpha1.Collaborator) bool
	}{
		"QuantConnect": { //nolint:gosec // G101: fake credentials of the test
			setup: func(f *fixture, token string) {
				f.create(f.secret("creds", map[string]string{
					collabv1alpha1.QuantConnectUserIDKey: fmt.Sprint(qcOwnerUID), collabv1alpha1.QuantConnectAPITokenKey: token,
				}))
				f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: collabv1alpha1.ProviderConfigSpec{
					SyncInterval: &metav1.Duration{Duration: time.Second},
					QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}},
				}})
			},
			collaborator: func(*fixture) *collabv1alpha1.Collaborator { return qcCollaborator("mia", "p", "mia-ai", false, false) },
			rightToken:   qcToken,
			wrongToken:   "qc-TOKEN-wr0ng-0000",

			shown: func(c *collabv1alpha1.Collaborator) bool { return c.Status.QuantConnect != nil },
		},
		"AppHarbor": { //nolint:gosec // G101: fake credentials of the test
			setup: func(f *fixture, token string) {
				f.create(f.secret("creds", map[string]string{collabv1alpha1.AppHarborAccessTokenKey: token}))
				f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: collabv1alpha1.ProviderConfigSpec{
					SyncInterval: &metav1.Duration{Duration: time.Second},
					AppHarbor:    &collabv1alpha1.AppHarborConfig{BaseURL: f.ahURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}},
				}})
			},
			collaborator: func(f *fixture) *collabv1alpha1.Collaborator {
				// Both carry the id of bob's collaborator: the wrong tenant
				// copied it, as anyone who can read the other's objects could.
				id, err := f.ah.AddCollaborator(ahApp, "bob@example.com", "collaborator")
				must(f.t, err)
				c := ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator)
				c.Spec.ProviderConfigRef.Name = "p"
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: id}
				return c
			},
			rightToken: ahToken,
			wrongToken: "ah-BEARER-wr0ng-0000",
			shown: func(c *collabv1alpha1.Collaborator) bool {
				return c.Status.AppHarbor != nil && c.Status.AppHarbor.UserName != ""
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			right := newFixture(t)
			// A cache that outlives the whole test: any answer it shared
			// across tenants would be served to the other one.
			right.reg.Register(collabv1alpha1.ProviderQuantConnect, quantconnect.NewFactory(
				httpapi.WithTimeout(2*time.Second), httpapi.WithCacheTTL(time.Hour)))
			right.reg.Register(collabv1alpha1.ProviderAppHarbor, appharbor.NewFactory(
				httpapi.WithTimeout(2*time.Second), httpapi.WithCacheTTL(time.Hour)))
			wrong := right.tenant()
			startManager(t, right.ns, right.reg, managerOptions{slowRetry: 100 * time.Millisecond, alsoWatch: []string{wrong.ns}})

			tc.setup(right, tc.rightToken)
			c := tc.collaborator(right)
			right.create(c.DeepCopy())
			right.waitReady(c.Name)

			tc.setup(wrong, tc.wrongToken)
			c.ResourceVersion = ""
			wrong.create(c.DeepCopy())
			wrong.waitCondition(c.Name, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonCredentialsInvalid)

			before := right.qc.RequestCount() + right.ah.RequestCount()
			consistently(t, 3*time.Second, func() error {
				w := wrong.collaborator(c.Name)
				if meta.IsStatusConditionTrue(w.Status.Conditions, collabv1alpha1.ConditionReady) {
					return fmt.Errorf("the wrong tenant became Ready: %+v", w.Status.Conditions)
				}
				if tc.shown(w) {
					return fmt.Errorf("the wrong tenant shows a provider record: %+v", w.Status)
				}
				if id := w.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" && id != c.Annotations[collabv1alpha1.ExternalIDAnnotation] {
					return fmt.Errorf("the wrong tenant got an external id %q", id)
				}
				r := right.collaborator(c.Name)
				for _, cond := range r.Status.Conditions {
					if cond.Reason == collabv1alpha1.ReasonCredentialsInvalid {
						return fmt.Errorf("the right tenant shows the wrong one's refusal: %+v", cond)
					}
				}
				if !meta.IsStatusConditionTrue(r.Status.Conditions, collabv1alpha1.ConditionReady) {
					return fmt.Errorf("the right tenant lost Ready: %+v", r.Status.Conditions)
				}
				return nil
			})
			// Both were reconciled many times meanwhile: the wrong tenant's
			// retries reached the provider and were refused there.
			refused := right.qc.CountWhere(isUnauthorized) + right.ah.CountWhere(isUnauthorized)
			if refused < 3 || right.qc.RequestCount()+right.ah.RequestCount() <= before {
				t.Errorf("the wrong tenant was refused %d times; want it reconciled and refused repeatedly", refused)
			}
		})
	}
}

func isUnauthorized(r simkit.RequestRecord) bool { return r.Status == http.StatusUnauthorized }
