package controller

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// A missing ProviderConfig, then a missing Secret, are transient: the
// Collaborator says so and becomes Ready as soon as each appears, through
// watches rather than slow polling.
func TestMissingProviderConfigAndSecret(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	c := f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonProviderConfigNotFound)
	if cond := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady); cond.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %s while the ProviderConfig is missing", cond.Status)
	}

	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "qc"},
		Spec: collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{
			BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"},
		}},
	})
	f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonSecretNotFound)

	f.create(f.secret("qc-creds", map[string]string{"userID": fmt.Sprint(qcOwnerUID), "apiToken": qcToken}))
	f.waitReady("mia")
}

// Wrong credentials stall the Collaborator and the ProviderConfig; fixing
// the Secret retries at once, without a restart.
func TestWrongCredentialsThenFixed(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.quantConnectConfig(time.Minute)
	secret := f.secret("qc-creds", nil)
	f.update(secret, func() { secret.Data["apiToken"] = []byte("qc-WRONG-token") })
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	c := f.waitCondition("mia", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonCredentialsInvalid)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "Secret"); err != nil {
		t.Error(err)
	}
	pc := &collabv1alpha1.ProviderConfig{}
	eventually(t, 10*time.Second, func() error {
		must(t, f.get("qc", pc))
		if cond := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady); cond == nil || cond.Reason != collabv1alpha1.ReasonCredentialsInvalid {
			return fmt.Errorf("ProviderConfig Ready = %+v, want CredentialsInvalid", cond)
		}
		return nil
	})

	f.update(secret, func() { secret.Data["apiToken"] = []byte(qcToken) })
	f.waitReady("mia")
	eventually(t, 10*time.Second, func() error {
		must(t, f.get("qc", pc))
		if !meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionReady) {
			return fmt.Errorf("ProviderConfig not Ready after the fix: %+v", pc.Status.Conditions)
		}
		return nil
	})
}

// A block for another provider than the ProviderConfig's is reported.
func TestProviderMismatch(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	f.create(&collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "bob"},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			AppHarbor:         &collabv1alpha1.AppHarborCollaborator{Application: "my-app", Email: "bob@example.com"},
		},
	})
	c := f.waitCondition("bob", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonProviderMismatch)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "QuantConnect", "AppHarbor"); err != nil {
		t.Error(err)
	}
}

// A provider outage during create is retried with backoff until it ends.
func TestProviderDownDuringCreate(t *testing.T) {
	f := newFixture(t)
	f.qc.FailNext(1000, http.StatusServiceUnavailable, `{"message":"down for maintenance"}`)
	logStart := len(logs.String())
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonProviderUnavailable)
	c := f.waitCondition("mia", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, collabv1alpha1.ReasonProviderUnavailable)
	if meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReady) {
		t.Error("Ready=True during an outage before the first create")
	}
	f.qc.ClearFaults()
	f.waitReady("mia")
	// An expected outage is explained by status and an info line, not
	// logged as a reconciler error with a stack trace.
	if strings.Contains(logs.String()[logStart:], "Reconciler error") {
		t.Error("the outage was logged as a reconciler error")
	}
}

// An outage during delete keeps the object, says why and how to release
// it, and the delete is retried until it succeeds.
func TestProviderDownDuringDelete(t *testing.T) {
	f, c := readyMia(t, managerOptions{})

	f.qc.FailNext(1000, http.StatusBadGateway, "")
	f.delete(c)
	c = f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonProviderUnavailable)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "deletionPolicy", "Orphan"); err != nil {
		t.Error(err)
	}
	if r := meta.FindStatusCondition(c.Status.Conditions, collabv1alpha1.ConditionReady); r.Reason != collabv1alpha1.ReasonDeleting {
		t.Errorf("Ready reason = %s, want Deleting", r.Reason)
	}
	f.qc.ClearFaults()
	f.waitGone(c)
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("collaborator still at the provider after the retried delete")
	}
}

// Switching deletionPolicy to Orphan releases a delete that is blocked for
// good (here: credentials revoked at the provider).
func TestOrphanReleasesBlockedDelete(t *testing.T) {
	f, c := readyMia(t, managerOptions{slowRetry: time.Hour})

	f.qc.FailNext(1000, http.StatusUnauthorized, "")
	f.delete(c)
	c = f.waitCondition("mia", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonCredentialsInvalid)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionStalled), "Orphan"); err != nil {
		t.Error(err)
	}
	f.update(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
	f.waitGone(c)
}

// A 429 waits for the provider's Retry-After, then succeeds.
func TestRateLimitedWaitsForRetryAfter(t *testing.T) {
	f := newFixture(t)
	f.qc.RateLimitNext(1000, "2", `{"success":false,"errors":["slow down"]}`)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))

	f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonRateLimited)
	limited := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return r.Status == http.StatusTooManyRequests })
	// Retry-After is 2s: within one second at most the request already in
	// flight may have been answered 429, no more.
	consistently(t, time.Second, func() error {
		if n := f.qc.CountWhere(func(r simkit.RequestRecord) bool { return r.Status == http.StatusTooManyRequests }); n > limited+1 {
			return fmt.Errorf("%d requests within Retry-After", n-limited)
		}
		return nil
	})
	f.qc.ClearFaults()
	f.waitReady("mia")
}

// A ProviderConfig in use is not deleted until its Collaborators are gone.
func TestProviderConfigInUseWaits(t *testing.T) {
	f, c := readyMia(t, managerOptions{})
	pc := &collabv1alpha1.ProviderConfig{}
	eventually(t, 10*time.Second, func() error {
		must(t, f.get("qc", pc))
		if !slices.Contains(pc.Finalizers, collabv1alpha1.InUseFinalizer) {
			return fmt.Errorf("no in-use finalizer: %v", pc.Finalizers)
		}
		return nil
	})

	f.delete(pc)
	eventually(t, 10*time.Second, func() error {
		must(t, f.get("qc", pc))
		cond := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReconciling)
		if cond == nil || cond.Reason != collabv1alpha1.ReasonInUse {
			return fmt.Errorf("ProviderConfig does not say it is in use: %+v", pc.Status.Conditions)
		}
		return containsAll(cond.Message, "mia")
	})
	f.delete(c)
	// The Collaborator's delete still had its credentials.
	f.waitGone(c)
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("collaborator still at the provider")
	}
	f.waitGone(pc)
}

// A ProviderConfig created after the delete of a Collaborator that named
// it (a typo fixed, a GitOps sync in the wrong order) lets the delete run:
// the person is removed, then the object goes.
func TestDeleteWaitsForItsProviderConfig(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	must(t, f.qc.SetCollaborator(qcProject, "mia-ai", false, false))
	c := qcCollaborator("mia", "qc", "mia-ai", false, false)
	f.create(c)
	f.waitCondition("mia", collabv1alpha1.ConditionReconciling, metav1.ConditionTrue, collabv1alpha1.ReasonProviderConfigNotFound)
	f.delete(c)
	f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonDeleting)
	if _, ok := qcMember(f, "mia-ai"); !ok {
		t.Fatal("mia-ai left the project before the delete could run")
	}
	f.quantConnectConfig(time.Minute)
	f.waitGone(c)
	if _, ok := qcMember(f, "mia-ai"); ok {
		t.Error("mia-ai is still at the provider after the delete")
	}
}
