package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// The command, run as kubectl runs a plugin, reads the kubeconfig, its
// context's namespace, the ProviderConfig and Secret, and prints a manifest
// for the hand-added member only.
func TestImportCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, cfg, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	cl, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	sim := qcsim.New()
	must(t, sim.AddUser(qcsim.User{UID: 1, PublicID: "olivia", APIToken: "tok"}))
	must(t, sim.AddUser(qcsim.User{UID: 2, PublicID: "lee-q"}))
	must(t, sim.AddProject(42, "olivia"))
	must(t, sim.SetCollaborator(42, "lee-q", true, false)) // live control, read
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)

	ctx := context.Background()
	const ns = "trading"
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "qc-creds", Namespace: ns},
			StringData: map[string]string{
				collabv1alpha1.QuantConnectUserIDKey: "1", collabv1alpha1.QuantConnectAPITokenKey: "tok",
			}},
		&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "qc", Namespace: ns},
			Spec: collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{
				BaseURL: srv.URL + qcsim.PathPrefix, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "qc-creds"}}}},
	} {
		must(t, cl.Create(ctx, o))
	}

	kubeconfig := writeKubeconfig(t, cfg, ns)
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"import", "--kubeconfig", kubeconfig, "--provider-config", "qc", "--project", "42",
		"--allowed-provider-urls", "http://127.0.0.1"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		`name: "lee-q"`, `namespace: "trading"`, `collab.dev/external-id: "2"`,
		"write: false", "liveControl: true", "projectID: 42",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "olivia") || strings.Contains(out, "tok") {
		t.Errorf("output names the owner or holds the token:\n%s", out)
	}

	// The default allow-list refuses the simulator's plain-HTTP URL.
	stdout.Reset()
	args := []string{"import", "--kubeconfig", kubeconfig, "--provider-config", "qc", "--project", "42"}
	err = run(ctx, args, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--allowed-provider-urls") {
		t.Errorf("import to a URL outside the allow-list: err %v", err)
	}
}

// writeKubeconfig writes cfg as a kubeconfig whose context's namespace is ns.
func writeKubeconfig(t *testing.T, cfg *rest.Config, ns string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := writeKubeconfigTo(path, cfg, ns); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeKubeconfigTo writes cfg to path as a kubeconfig whose context's
// namespace is ns.
func writeKubeconfigTo(path string, cfg *rest.Config, ns string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "user", Namespace: ns}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("kubeconfig not written: %w", err)
	}
	return nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
