package manager

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// startManager runs the built manager with args and waits for /readyz; the
// test's end stops it.
func startManager(t *testing.T, args ...string) *testenv.Buffer {
	t.Helper()
	out, probeAddr, exited := launchManager(t, kubeconfig, args...)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	plain := &http.Client{Timeout: 5 * time.Second}
	for {
		if code, err := get(ctx, plain, "http://"+probeAddr+"/readyz"); err == nil && code == http.StatusOK {
			return out
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the manager exited before it was ready: %v", err)
		case <-ctx.Done():
			t.Fatal("the manager was not ready within 90s")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// launchManager runs the built manager as the user of kubecfg with args,
// and returns its output, its probe address and its exit; the test's end
// stops it.
func launchManager(t *testing.T, kubecfg string, args ...string) (*testenv.Buffer, string, chan error) {
	t.Helper()
	probeAddr := freeAddr(t)
	out := &testenv.Buffer{}
	cmd := exec.CommandContext(t.Context(), managerBin, //nolint:gosec // G204: the binary this test built.
		append([]string{"--health-probe-bind-address=" + probeAddr, "--metrics-bind-address=0"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubecfg)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		t.Logf("manager stopped: %v", <-exited)
		if t.Failed() {
			t.Logf("manager output:\n%s", out.String())
		}
	})
	return out, probeAddr, exited
}

// createPair creates, in a new namespace, a ProviderConfig whose Secret is
// missing and a Collaborator using it: a manager that watches the
// namespace answers with conditions (SecretNotFound) and a finalizer
// without calling any provider.
func createPair(t *testing.T, prefix string) *collabv1alpha1.Collaborator {
	t.Helper()
	ctx := t.Context()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := k8sClient.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	pc := &collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "qc"},
		Spec: collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{
			BaseURL:              "http://127.0.0.1:9/api/v2",
			CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "missing"},
		}},
	}
	collab := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "mia"},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "qc"},
			QuantConnect:      &collabv1alpha1.QuantConnectCollaborator{ProjectID: 1, UserID: "mia"},
		},
	}
	for _, o := range []client.Object{pc, collab} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return collab
}

func touched(t *testing.T, c *collabv1alpha1.Collaborator) bool {
	t.Helper()
	var got collabv1alpha1.Collaborator
	if err := k8sClient.Get(t.Context(), client.ObjectKeyFromObject(c), &got); err != nil {
		t.Fatal(err)
	}
	return len(got.Status.Conditions) > 0 || len(got.Finalizers) > 0
}

// TestWatchNamespaces: a manager given --watch-namespaces acts on the
// Collaborators of those namespaces only. The ignored namespace's objects
// are created first, so by the time the watched ones have been handled the
// manager has had every chance to handle those too.
func TestWatchNamespaces(t *testing.T) {
	trackSources(t)
	ignored := createPair(t, "ignored")
	watchedA := createPair(t, "watched-a")
	watchedB := createPair(t, "watched-b")

	out := startManager(t, "--watch-namespaces="+watchedA.Namespace+" , "+watchedB.Namespace)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for !touched(t, watchedA) || !touched(t, watchedB) {
		select {
		case <-ctx.Done():
			t.Fatal("the manager did not handle the Collaborators of the watched namespaces within 60s")
		case <-time.After(200 * time.Millisecond):
		}
	}
	if touched(t, ignored) {
		t.Errorf("the manager handled Collaborator %s/%s outside --watch-namespaces", ignored.Namespace, ignored.Name)
	}
	if strings.Contains(out.String(), ignored.Namespace) {
		t.Errorf("the manager's log mentions the namespace it does not watch:\n%s", out.String())
	}
}
