package controller

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// Credentials of the test fixtures. They are distinctive so that the
// credential scans can search for them anywhere.
const (
	qcOwnerUID = 100001
	qcOwner    = "olivia-owner"
	qcToken    = "qc-TOKEN-5ecret-7d1f" //nolint:gosec // a fake credential the scans search for
	qcProject  = 23456789
	qcMiaUID   = 200002
	ahToken    = "ah-BEARER-s3cret-91c2"
	ahApp      = "my-app"
	wtiToken   = "wti-ORG-s3cret-4b7e" //nolint:gosec // a fake credential the scans search for
)

// credentials lists every secret value the fixtures use.
var credentials = []string{qcToken, ahToken, wtiToken}

// fixture is one test's world: a namespace, provider simulators on loopback
// HTTP and a registry whose clients talk to them.
type fixture struct {
	t   *testing.T
	ns  string
	reg *provider.Registry

	qc    *qcsim.Server
	qcURL string

	ah    *ahsim.Server
	ahURL string

	wti    *wtisim.Server
	wtiURL string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ns: newNamespace(t), reg: provider.NewRegistry()}
	// Registered first, so it runs last: after the manager has stopped.
	t.Cleanup(f.scanForCredentials)

	f.qc = qcsim.New()
	must(t, f.qc.AddUser(qcsim.User{UID: qcOwnerUID, PublicID: qcOwner, Name: "Olivia", APIToken: qcToken}))
	must(t, f.qc.AddUser(qcsim.User{UID: qcMiaUID, PublicID: "mia-ai", Name: "Mia", Email: "mia@example.com"}))
	must(t, f.qc.AddUser(qcsim.User{UID: 200003, PublicID: "noah", Name: "Noah", Email: "noah@example.com"}))
	must(t, f.qc.AddProject(qcProject, qcOwner))
	qsrv := httptest.NewServer(f.qc)
	t.Cleanup(qsrv.Close)
	f.qcURL = qsrv.URL + qcsim.PathPrefix
	f.reg.Register(collabv1alpha1.ProviderQuantConnect, quantconnect.NewFactory(
		httpapi.WithTimeout(2*time.Second), httpapi.WithCacheTTL(50*time.Millisecond)))

	// AppHarbor writes its own URL into Location headers, so the server
	// must exist before the simulator knows its base URL.
	asrv := httptest.NewUnstartedServer(nil)
	asrv.Start()
	t.Cleanup(asrv.Close)
	f.ahURL = asrv.URL
	f.ah = ahsim.New(ahsim.WithBaseURL(f.ahURL))
	asrv.Config.Handler = f.ah
	for _, u := range []string{"bob", "carol", "dave"} {
		must(t, f.ah.AddUser(ahsim.User{Name: u, Email: u + "@example.com"}))
	}
	must(t, f.ah.AddApplication(ahApp))
	must(t, f.ah.AddToken(ahToken, ahApp))
	f.reg.Register(collabv1alpha1.ProviderAppHarbor, appharbor.NewFactory(
		httpapi.WithTimeout(2*time.Second), httpapi.WithCacheTTL(50*time.Millisecond)))

	f.wti = wtisim.New()
	f.wti.AddOrganization(wtiToken, "bob@example.com", "carol@example.com")
	wsrv := httptest.NewServer(f.wti)
	t.Cleanup(wsrv.Close)
	f.wtiURL = wsrv.URL
	f.reg.Register(collabv1alpha1.ProviderWebTranslateIt, webtranslateit.NewFactory(httpapi.WithTimeout(2*time.Second)))
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) create(obj client.Object) {
	f.t.Helper()
	obj.SetNamespace(f.ns)
	if err := k8s.Create(context.Background(), obj); err != nil {
		f.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (f *fixture) secret(name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns}, StringData: data}
}

// quantConnectConfig creates a working QuantConnect Secret qc-creds and
// ProviderConfig qc.
func (f *fixture) quantConnectConfig(sync time.Duration) {
	const name = "qc"
	f.create(f.secret(name+"-creds", map[string]string{
		collabv1alpha1.QuantConnectUserIDKey:   fmt.Sprint(qcOwnerUID),
		collabv1alpha1.QuantConnectAPITokenKey: qcToken,
	}))
	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.ProviderConfigSpec{
			SyncInterval: &metav1.Duration{Duration: sync},
			QuantConnect: &collabv1alpha1.QuantConnectConfig{
				BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: name + "-creds"},
			},
		},
	})
}

// appHarborConfig creates a working AppHarbor Secret ah-creds and
// ProviderConfig ah.
func (f *fixture) appHarborConfig(sync time.Duration) {
	const name = "ah"
	f.create(f.secret(name+"-creds", map[string]string{collabv1alpha1.AppHarborAccessTokenKey: ahToken}))
	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.ProviderConfigSpec{
			SyncInterval: &metav1.Duration{Duration: sync},
			AppHarbor: &collabv1alpha1.AppHarborConfig{
				BaseURL: f.ahURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: name + "-creds"},
			},
		},
	})
}

// webTranslateItConfig creates a working WebTranslateIt Secret wti-creds
// and ProviderConfig wti.
func (f *fixture) webTranslateItConfig() {
	const name = "wti"
	f.create(f.secret(name+"-creds", map[string]string{collabv1alpha1.WebTranslateItOrganizationTokenKey: wtiToken}))
	f.create(&collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.ProviderConfigSpec{
			WebTranslateIt: &collabv1alpha1.WebTranslateItConfig{
				BaseURL: f.wtiURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: name + "-creds"},
			},
		},
	})
}

func ahCollaborator(name, email string, role collabv1alpha1.AppHarborRole) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
			AppHarbor:         &collabv1alpha1.AppHarborCollaborator{Application: ahApp, Email: email, Role: role},
		},
	}
}

func wtiCollaborator(name, email string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "wti"},
			WebTranslateIt:    &collabv1alpha1.WebTranslateItCollaborator{Email: email},
		},
	}
}

func qcCollaborator(name, pc, user string, write, live bool) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: pc},
			QuantConnect:      &collabv1alpha1.QuantConnectCollaborator{ProjectID: qcProject, UserID: user, Write: write, LiveControl: live},
		},
	}
}

// readyMia starts a manager with o and a QuantConnect ProviderConfig, and
// returns the Collaborator mia once it is Ready: the starting point of the
// tests that break something afterwards.
func readyMia(t *testing.T, o managerOptions) (*fixture, *collabv1alpha1.Collaborator) {
	t.Helper()
	f := newFixture(t)
	startManager(t, f.ns, f.reg, o)
	f.quantConnectConfig(time.Minute)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	return f, f.waitReady("mia")
}

// get reads an object straight from the API server.
func (f *fixture) get(name string, obj client.Object) error {
	return k8s.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, obj)
}

func (f *fixture) collaborator(name string) *collabv1alpha1.Collaborator {
	f.t.Helper()
	c := &collabv1alpha1.Collaborator{}
	if err := f.get(name, c); err != nil {
		f.t.Fatalf("reading Collaborator %s: %v", name, err)
	}
	return c
}

// update applies mutate to the latest copy, retrying on conflicts.
func (f *fixture) update(obj client.Object, mutate func()) {
	f.t.Helper()
	eventually(f.t, 10*time.Second, func() error {
		if err := f.get(obj.GetName(), obj); err != nil {
			return err
		}
		mutate()
		return k8s.Update(context.Background(), obj)
	})
}

func (f *fixture) delete(obj client.Object) {
	f.t.Helper()
	if err := k8s.Delete(context.Background(), obj); err != nil {
		f.t.Fatalf("deleting %s: %v", obj.GetName(), err)
	}
}

// waitCondition waits until the object's condition has the status and reason.
func (f *fixture) waitCondition(name, typ string, status metav1.ConditionStatus, reason string) *collabv1alpha1.Collaborator {
	f.t.Helper()
	c := &collabv1alpha1.Collaborator{}
	eventually(f.t, 20*time.Second, func() error {
		if err := f.get(name, c); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, typ)
		if cond == nil || cond.Status != status || (reason != "" && cond.Reason != reason) || cond.ObservedGeneration != c.Generation {
			return fmt.Errorf("%s %s: want %s=%s/%s at generation %d, have %+v", c.Name, typ, typ, status, reason, c.Generation, cond)
		}
		return nil
	})
	return c
}

func (f *fixture) waitReady(name string) *collabv1alpha1.Collaborator {
	f.t.Helper()
	return f.waitCondition(name, collabv1alpha1.ConditionReady, metav1.ConditionTrue, "")
}

// waitGone waits until the object no longer exists.
func (f *fixture) waitGone(obj client.Object) {
	f.t.Helper()
	eventually(f.t, 20*time.Second, func() error {
		err := f.get(obj.GetName(), obj)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("reading %s: %w", obj.GetName(), err)
		}
		return fmt.Errorf("%s still exists (finalizers %v)", obj.GetName(), obj.GetFinalizers())
	})
}

// condMessage returns a condition's message, for assertions on its text.
func condMessage(c *collabv1alpha1.Collaborator, typ string) string {
	if cond := meta.FindStatusCondition(c.Status.Conditions, typ); cond != nil {
		return cond.Message
	}
	return ""
}

func containsAll(s string, subs ...string) error {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Errorf("%q does not contain %q", s, sub)
		}
	}
	return nil
}

// scanForCredentials fails the test if any credential appears in an Event,
// a status or a log line: API.md promises they never do.
func (f *fixture) scanForCredentials() {
	f.t.Helper()
	ctx := context.Background()
	events := &eventsv1.EventList{}
	collabs := &collabv1alpha1.CollaboratorList{}
	pcs := &collabv1alpha1.ProviderConfigList{}
	for _, list := range []client.ObjectList{events, collabs, pcs} {
		if err := k8s.List(ctx, list, client.InNamespace(f.ns)); err != nil {
			f.t.Errorf("listing %T: %v", list, err)
		}
	}
	texts := make([]string, 0, 1+len(events.Items)+len(collabs.Items)+len(pcs.Items))
	texts = append(texts, "logs: "+logs.String())
	for _, e := range events.Items {
		texts = append(texts, "event "+e.Reason+": "+e.Note)
	}
	for _, c := range collabs.Items {
		texts = append(texts, fmt.Sprintf("status of %s: %+v", c.Name, c.Status))
	}
	for _, pc := range pcs.Items {
		texts = append(texts, fmt.Sprintf("status of %s: %+v", pc.Name, pc.Status))
	}
	for _, text := range texts {
		for _, cred := range credentials {
			if strings.Contains(text, cred) {
				f.t.Errorf("a credential leaked into %.200s...", text)
			}
		}
	}
}

// waitEvents waits until Events with all the reasons were published for
// the named object.
func (f *fixture) waitEvents(name string, reasons ...string) {
	f.t.Helper()
	eventually(f.t, 10*time.Second, func() error {
		list := &eventsv1.EventList{}
		if err := k8s.List(context.Background(), list, client.InNamespace(f.ns)); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range list.Items {
			if e.Regarding.Name == name {
				seen[e.Reason] = true
			}
		}
		for _, r := range reasons {
			if !seen[r] {
				return fmt.Errorf("no %s event for %s; have %v", r, name, seen)
			}
		}
		return nil
	})
}

// waitProviderConfigReady waits until the ProviderConfig qc is Ready, so that
// its Ready flip (which requeues its Collaborators) is behind the test.
func (f *fixture) waitProviderConfigReady() {
	const name = "qc"
	f.t.Helper()
	eventually(f.t, 10*time.Second, func() error {
		pc := &collabv1alpha1.ProviderConfig{}
		if err := f.get(name, pc); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionReady) {
			return fmt.Errorf("ProviderConfig %s not Ready: %+v", name, pc.Status.Conditions)
		}
		return nil
	})
}
