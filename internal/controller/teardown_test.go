package controller

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// app is everything `kubectl apply -f app.yaml` made for the three
// providers, in the order `kubectl delete -f` (or a GitOps prune, or a
// namespace deletion) removes it: Secrets first.
func (f *fixture) app() []client.Object {
	f.quantConnectConfig(time.Minute)
	f.appHarborConfig(time.Minute)
	f.webTranslateItConfig()
	people := []*collabv1alpha1.Collaborator{
		qcCollaborator("mia", "qc", "mia-ai", true, false),
		ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
		wtiCollaborator("carol", "carol@example.com"),
	}
	for _, c := range people {
		f.create(c)
	}
	for _, c := range people {
		f.waitReady(c.Name)
	}
	// A Ready Collaborator has put the in-use finalizer on the Secret that
	// its delete will need.
	for _, name := range []string{"qc-creds", "ah-creds", "wti-creds"} {
		eventually(f.t, 10*time.Second, func() error {
			s := &corev1.Secret{}
			must(f.t, f.get(name, s))
			if !slices.Contains(s.Finalizers, collabv1alpha1.InUseFinalizer) {
				return fmt.Errorf("secret %s has no in-use finalizer: %v", name, s.Finalizers)
			}
			return nil
		})
	}
	objs := make([]client.Object, 0, 6+len(people))
	for _, name := range []string{"qc-creds", "ah-creds", "wti-creds"} {
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns}})
	}
	for _, name := range []string{"qc", "ah", "wti"} {
		objs = append(objs, &collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns}})
	}
	for _, c := range people {
		objs = append(objs, c)
	}
	return objs
}

// assertRevoked checks that nobody the app granted is left at a provider
// and that every object of the app is gone.
func (f *fixture) assertRevoked(objs []client.Object) {
	f.t.Helper()
	for _, o := range objs {
		f.waitGone(o)
	}
	if _, ok := qcMember(f, "mia-ai"); ok {
		f.t.Error("mia is still a QuantConnect collaborator")
	}
	if _, ok := ahHolds(f, "bob@example.com"); ok {
		f.t.Error("bob is still an AppHarbor collaborator")
	}
	if f.wti.IsMember(wtiToken, "carol@example.com") {
		f.t.Error("carol is still a WebTranslateIt member")
	}
}

// Deleting an app's Secrets, ProviderConfigs and Collaborators together,
// Secrets first, removes every person at every provider and leaves no
// object behind: the Secrets wait, readable, for the deletes that need
// them.
func TestTeardownSecretFirst(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	objs := f.app()
	for _, o := range objs {
		f.delete(o)
	}
	f.assertRevoked(objs)
}

// The same teardown while the manager is down, then a new manager: the
// finalizers, not the manager's memory, hold what the deletes need.
func TestTeardownAcrossRestart(t *testing.T) {
	f := newFixture(t)
	stop := startManager(t, f.ns, f.reg, managerOptions{})
	objs := f.app()
	stop()
	for _, o := range objs {
		f.delete(o)
	}
	startManager(t, f.ns, f.reg, managerOptions{})
	f.assertRevoked(objs)
}

// Deleting a Collaborator whose credentials cannot be used keeps it, even
// if it never reached its provider (the person may be there all the same),
// with a message that names Orphan; switching to Orphan releases it, and
// no provider is called at any point.
func TestUnusableCredentialsKeepDeletingObjectUntilOrphan(t *testing.T) {
	tests := map[string]struct {
		setup  func(f *fixture)
		reason string
	}{
		"no ProviderConfig": {setup: func(*fixture) {}, reason: collabv1alpha1.ReasonProviderConfigNotFound},
		"no Secret": {
			setup: func(f *fixture) {
				f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}, Spec: collabv1alpha1.ProviderConfigSpec{
					QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}},
				}})
			},
			reason: collabv1alpha1.ReasonSecretNotFound,
		},
		"Secret without keys": {
			setup: func(f *fixture) {
				f.create(f.secret("qc-creds", map[string]string{"unrelated": "x"}))
				f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}, Spec: collabv1alpha1.ProviderConfigSpec{
					QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}},
				}})
			},
			reason: collabv1alpha1.ReasonCredentialsInvalid,
		},
		"another provider's ProviderConfig": {
			setup: func(f *fixture) {
				f.appHarborConfig(time.Minute)
			},
			reason: collabv1alpha1.ReasonProviderMismatch,
		},
		"base URL not allowed": {
			setup: func(f *fixture) {
				f.create(f.secret("qc-creds", map[string]string{"userID": fmt.Sprint(qcOwnerUID), "apiToken": qcToken}))
				f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}, Spec: collabv1alpha1.ProviderConfigSpec{
					QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: "https://collector.example/api/v2", CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}},
				}})
			},
			reason: collabv1alpha1.ReasonBaseURLNotAllowed,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
			tc.setup(f)
			pcName := "qc"
			if tc.reason == collabv1alpha1.ReasonProviderMismatch {
				pcName = "ah"
			}
			c := qcCollaborator("mia", pcName, "mia-ai", false, false)
			f.create(c)
			f.waitCondition("mia", collabv1alpha1.ConditionSynced, metav1.ConditionFalse, tc.reason)
			f.delete(c)
			got := f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonDeleting)
			if err := containsAll(condMessage(got, collabv1alpha1.ConditionReady), "deletionPolicy to Orphan"); err != nil {
				t.Error(err)
			}
			if !controllerutil.ContainsFinalizer(got, collabv1alpha1.Finalizer) {
				t.Fatal("the finalizer was released while the credentials could not be used")
			}
			f.update(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
			f.waitGone(c)
			if n := f.qc.RequestCount(); n != 0 {
				t.Errorf("QuantConnect got %d requests; want none", n)
			}
		})
	}
}

// A base URL outside --allowed-provider-urls gets no request at all, so no
// credential; the ProviderConfig and its Collaborators say why and stall.
func TestBaseURLNotAllowedSendsNothing(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
	f.create(f.secret("qc-creds", map[string]string{"userID": fmt.Sprint(qcOwnerUID), "apiToken": qcToken}))
	// The simulator itself, but named so that it matches no entry.
	other := "http://localhost" + f.qcURL[len("http://127.0.0.1"):]
	f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc"}, Spec: collabv1alpha1.ProviderConfigSpec{
		QuantConnect: &collabv1alpha1.QuantConnectConfig{BaseURL: other, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}},
	}})
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	c := f.waitCondition("mia", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonBaseURLNotAllowed)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "--allowed-provider-urls", other); err != nil {
		t.Error(err)
	}
	eventually(t, 10*time.Second, func() error {
		pc := &collabv1alpha1.ProviderConfig{}
		must(t, f.get("qc", pc))
		if !meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionStalled) ||
			meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady).Reason != collabv1alpha1.ReasonBaseURLNotAllowed {
			return fmt.Errorf("ProviderConfig conditions %+v, want Stalled BaseURLNotAllowed", pc.Status.Conditions)
		}
		return nil
	})
	if n := f.qc.RequestCount(); n != 0 {
		t.Errorf("the simulator got %d requests; want none", n)
	}
}

// A collaborator removed at the provider whose re-create keeps failing is
// not Ready: a read has shown the provider differs from the spec.
func TestFailedRecreateDropsReady(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")

	f.qc.Inject(simkit.Fault{Times: 1000, Status: http.StatusServiceUnavailable, Body: `{"message":"down"}`,
		Match: func(r *http.Request) bool { return r.URL.Path == "/api/v2/projects/collaboration/create" }})
	if !f.qc.RemoveCollaborator(qcProject, "mia-ai") {
		t.Fatal("mia was not at the provider")
	}
	c := f.waitCondition("mia", collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonProviderUnavailable)
	if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReconciling) {
		t.Errorf("Reconciling not True while the re-create is retried: %+v", c.Status.Conditions)
	}
	f.qc.ClearFaults()
	f.waitReady("mia")
	if _, ok := qcMember(f, "mia-ai"); !ok {
		t.Error("mia was not created again")
	}
}

// A rate-limited credentials check does not flip a Ready ProviderConfig,
// which would requeue every Collaborator that uses it.
func TestRateLimitedCheckKeepsProviderConfigReady(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Second)
	f.waitProviderConfigReady()
	f.qc.Inject(simkit.Fault{Times: 1000, Status: http.StatusOK, Body: `{"success":false,"errors":["Rate limit exceeded"]}`,
		Match: func(r *http.Request) bool { return r.URL.Path == "/api/v2/authenticate" }})
	pc := &collabv1alpha1.ProviderConfig{}
	eventually(t, 10*time.Second, func() error {
		must(t, f.get("qc", pc))
		if c := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionSynced); c == nil || c.Reason != collabv1alpha1.ReasonRateLimited {
			return fmt.Errorf("Synced = %+v, want RateLimited", c)
		}
		return nil
	})
	if !meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionReady) {
		t.Errorf("Ready flipped on a rate limit: %+v", pc.Status.Conditions)
	}
}

// A new ProviderConfig says "in progress" before its first credentials
// check, so Flux never reads it as Current early.
func TestNewProviderConfigIsInProgressFirst(t *testing.T) {
	f := newFixture(t)
	// The check takes long enough to see the first write.
	f.qc.DelayNext(1, 1500*time.Millisecond)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Minute)
	eventually(t, 10*time.Second, func() error {
		pc := &collabv1alpha1.ProviderConfig{}
		must(t, f.get("qc", pc))
		ready := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady)
		if ready == nil || ready.Status != metav1.ConditionUnknown ||
			!meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionReconciling) || pc.Status.ObservedGeneration != pc.Generation {
			return fmt.Errorf("first status %+v, want Ready=Unknown and Reconciling=True", pc.Status)
		}
		return nil
	})
	f.waitProviderConfigReady()
}
