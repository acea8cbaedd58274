package controller

import (
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// WebTranslateIt documents only a delete: the Collaborator is Ready with
// reason DeleteOnly without any call, and deleting it removes the person.
func TestWebTranslateItDeleteOnly(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.webTranslateItConfig()
	c := wtiCollaborator("carol", "carol@example.com")
	f.create(c)

	c = f.waitCondition("carol", collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonDeleteOnly)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "no create or read", "removes them from the organization"); err != nil {
		t.Error(err)
	}
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionSynced), "was not called"); err != nil {
		t.Errorf("Synced must not claim a call that never happened: %v", err)
	}
	if n := f.wti.RequestCount(); n != 0 {
		t.Errorf("%d requests before any delete, want 0", n)
	}
	f.delete(c)
	f.waitGone(c)
	if f.wti.IsMember(wtiToken, "carol@example.com") {
		t.Error("carol is still a member after the delete")
	}
}

// The three documented 404 messages of WebTranslateIt's delete: already gone
// is success, "Failed to delete enrollment." is retried, "email parameter
// not found." is a rejection that needs a person.
func TestWebTranslateItDeleteAnswers(t *testing.T) {
	tests := map[string]struct {
		setup func(f *fixture)
		// wantReason is the reason the blocked delete shows first; ""
		// when the delete succeeds straight away.
		wantReason string
		// resolve ends the blockage: fix the fault or switch to Orphan.
		resolve func(f *fixture, c *collabv1alpha1.Collaborator)
	}{
		"already gone is success": {
			setup: func(f *fixture) { f.wti.RemoveMember(wtiToken, "dave@example.com") },
		},
		"failed to delete enrollment is retried": {
			setup:      func(f *fixture) { f.wti.FailDeletes(1000) },
			wantReason: collabv1alpha1.ReasonProviderUnavailable,
			resolve:    func(f *fixture, _ *collabv1alpha1.Collaborator) { f.wti.ClearFaults() },
		},
		"email parameter not found needs a person": {
			setup: func(f *fixture) {
				f.wti.FailNext(1000, http.StatusNotFound, `{"error":"email parameter not found."}`)
			},
			wantReason: collabv1alpha1.ReasonRejected,
			resolve: func(f *fixture, c *collabv1alpha1.Collaborator) {
				f.update(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.wti.AddMember(wtiToken, "dave@example.com")
			startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
			f.webTranslateItConfig()
			c := wtiCollaborator("dave", "dave@example.com")
			f.create(c)
			f.waitReady("dave")

			tc.setup(f)
			f.delete(c)
			if tc.wantReason != "" {
				c = f.waitCondition("dave", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, tc.wantReason)
				if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "Orphan"); err != nil {
					t.Error(err)
				}
				tc.resolve(f, c)
			}
			f.waitGone(c)
		})
	}
}

// A WebTranslateIt member exists before any Collaborator names them, so a
// Secret with a misspelt key must not let a delete release the object
// while the person stays in the organization: the object waits, and
// fixing the Secret removes the person.
func TestWebTranslateItMisspeltKeyKeepsTheDelete(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.wti.AddMember(wtiToken, "dave@example.com")
	secret := f.secret("wti-creds", map[string]string{"organisationToken": wtiToken})
	f.create(secret)
	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "wti"},
		Spec: collabv1alpha1.ProviderConfigSpec{WebTranslateIt: &collabv1alpha1.WebTranslateItConfig{
			BaseURL: f.wtiURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "wti-creds"},
		}},
	})
	c := wtiCollaborator("dave", "dave@example.com")
	f.create(c)
	f.waitCondition("dave", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonCredentialsInvalid)
	f.delete(c)
	got := f.waitCondition("dave", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonDeleting)
	if err := containsAll(condMessage(got, collabv1alpha1.ConditionReady), "deletionPolicy to Orphan"); err != nil {
		t.Error(err)
	}
	if !f.wti.IsMember(wtiToken, "dave@example.com") {
		t.Fatal("dave left the organization before the delete could run")
	}
	f.update(secret, func() {
		secret.Data = map[string][]byte{collabv1alpha1.WebTranslateItOrganizationTokenKey: []byte(wtiToken)}
	})
	f.waitGone(c)
	if f.wti.IsMember(wtiToken, "dave@example.com") {
		t.Error("dave is still a member after the delete")
	}
}
