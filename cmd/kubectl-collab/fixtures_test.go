package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// now is the tests' clock: the fixtures' expiresAt are relative to it, so
// that "in 5d" in the golden files never drifts.
var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// shared is one API server for the access and renew tests: starting one
// costs seconds on a loaded machine. The fixtures are created once and
// never changed; tests that write create their own objects.
var shared struct {
	once       sync.Once
	env        *envtest.Environment
	cfg        *rest.Config
	cl         client.Client
	kubeconfig string
	err        error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.env != nil {
		_ = shared.env.Stop()
	}
	if shared.kubeconfig != "" {
		_ = os.RemoveAll(filepath.Dir(shared.kubeconfig))
	}
	os.Exit(code)
}

// sharedEnv starts the shared API server and creates the fixtures on first
// use, and returns a client and an admin kubeconfig whose namespace is
// "trading".
func sharedEnv(t *testing.T) (client.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an API server")
	}
	shared.once.Do(func() {
		if shared.env, shared.cfg, shared.err = testenv.Start(); shared.err != nil {
			return
		}
		if shared.cl, shared.err = client.New(shared.cfg, client.Options{Scheme: testenv.Scheme()}); shared.err != nil {
			return
		}
		dir, err := os.MkdirTemp("", "kubectl-collab-test")
		if shared.err = err; err != nil {
			return
		}
		shared.kubeconfig = filepath.Join(dir, "kubeconfig")
		if shared.err = writeKubeconfigTo(shared.kubeconfig, shared.cfg, "trading"); shared.err != nil {
			return
		}
		shared.err = createFixtures(context.Background(), shared.cl)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.cl, shared.kubeconfig
}

// collab is a Collaborator fixture and the status the operator would have
// written.
type collab struct {
	ns, name string
	spec     collabv1alpha1.CollaboratorSpec
	reason   string         // Ready reason; "" for none yet
	email    string         // status.quantConnect.email
	expires  *time.Duration // spec.expiresAt, relative to now
}

func in(d time.Duration) *time.Duration { return &d }

func qc(project int64, user string, write, live bool) collabv1alpha1.CollaboratorSpec {
	return collabv1alpha1.CollaboratorSpec{QuantConnect: &collabv1alpha1.QuantConnectCollaborator{
		ProjectID: project, UserID: user, Write: write, LiveControl: live}}
}

func ah(app, email string, role collabv1alpha1.AppHarborRole) collabv1alpha1.CollaboratorSpec {
	return collabv1alpha1.CollaboratorSpec{AppHarbor: &collabv1alpha1.AppHarborCollaborator{
		Application: app, Email: email, Role: role}}
}

func wti(email string) collabv1alpha1.CollaboratorSpec {
	return collabv1alpha1.CollaboratorSpec{WebTranslateIt: &collabv1alpha1.WebTranslateItCollaborator{Email: email}}
}

// fixtures: three namespaces, all three providers, every state the access
// review distinguishes, and the same person (Lee) under a QuantConnect id
// and differently cased emails.
var fixtures = []collab{
	{ns: "trading", name: "lee-q", spec: qc(42, "lee-q", true, true), reason: "Available",
		email: "Lee@Example.com", expires: in(5*24*time.Hour + time.Hour)},
	{ns: "trading", name: "ana", spec: qc(42, "ana-q", false, false), reason: "Conflict"},
	{ns: "trading", name: "new-hire", spec: qc(7, "kim-q", false, false)}, // not reconciled yet
	{ns: "research", name: "lee-backtester", spec: ah("backtester", "lee@example.com", "administrator"),
		reason: "Available"},
	{ns: "research", name: "bob", spec: wti("bob@example.com"), reason: "Expired", expires: in(-49 * time.Hour)},
	{ns: "web", name: "lee", spec: wti("LEE@example.com"), reason: "DeleteOnly", expires: in(3*time.Hour + time.Minute)},
}

// policies: unmanaged members in two namespaces, one declared elsewhere and
// one with a note.
var policies = []collabv1alpha1.AccessPolicy{
	{
		ObjectMeta: metav1.ObjectMeta{Namespace: "trading", Name: "project-42"},
		Spec: collabv1alpha1.AccessPolicySpec{ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			QuantConnect: &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 42}},
		Status: collabv1alpha1.AccessPolicyStatus{Provider: "QuantConnect", Target: "42",
			Unmanaged: []collabv1alpha1.UnmanagedMember{
				{Member: "mallory-q", Access: "write+live"},
				{Member: "sam-q", Access: "read", DeclaredElsewhere: true},
			}},
	},
	{
		ObjectMeta: metav1.ObjectMeta{Namespace: "research", Name: "backtester"},
		Spec: collabv1alpha1.AccessPolicySpec{ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "ah"},
			AppHarbor: &collabv1alpha1.AppHarborPolicyTarget{Application: "backtester"}},
		Status: collabv1alpha1.AccessPolicyStatus{Provider: "AppHarbor", Target: "backtester",
			Unmanaged: []collabv1alpha1.UnmanagedMember{
				{Member: "carol", Access: "administrator", Note: "may be the account of the ProviderConfig's token"},
			}},
	},
}

func createFixtures(ctx context.Context, cl client.Client) error {
	for _, ns := range []string{"trading", "research", "web", "renewals"} {
		if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for _, f := range fixtures {
		if err := createCollaborator(ctx, cl, f); err != nil {
			return err
		}
	}
	for i := range policies {
		p := policies[i].DeepCopy()
		status := p.Status
		if err := cl.Create(ctx, p); err != nil {
			return err
		}
		p.Status = status
		if err := cl.Status().Update(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// createCollaborator creates f and writes its status through the status
// subresource, as the operator would.
func createCollaborator(ctx context.Context, cl client.Client, f collab) error {
	c := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.name}, Spec: f.spec}
	c.Spec.ProviderConfigRef.Name = "pc"
	if f.expires != nil {
		t := metav1.NewTime(now.Add(*f.expires))
		c.Spec.ExpiresAt = &t
	}
	if err := cl.Create(ctx, c); err != nil {
		return err
	}
	if f.reason == "" && f.email == "" {
		return nil
	}
	if f.reason != "" {
		c.Status.Conditions = []metav1.Condition{{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: f.reason, Message: "set by the test", LastTransitionTime: metav1.NewTime(now)}}
	}
	if f.email != "" {
		c.Status.QuantConnect = &collabv1alpha1.QuantConnectObservation{PublicID: f.spec.QuantConnect.UserID, Email: f.email}
	}
	return cl.Status().Update(ctx, c)
}

// collabCmd runs the plugin with the tests' clock and returns its stdout,
// stderr and error.
func collabCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runWith(context.Background(), clock, args, &out, &errOut)
	return out.String(), errOut.String(), err
}
