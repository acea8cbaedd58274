package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
)

// start runs the binary's run with args and returns the URLs from its
// ready line; cleanup stops it and checks that it exits cleanly.
func start(t *testing.T, args ...string) (map[string]string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, stderr)
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("simulator did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (stderr %s)", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	fields := strings.Fields(line)
	if len(fields) < 3 || fields[0] != "simulator" || fields[1] != "ready" {
		t.Fatalf("ready line %q", line)
	}
	urls := map[string]string{}
	for _, f := range fields[2:] {
		k, v, _ := strings.Cut(f, "=")
		urls[k] = v
	}
	return urls, stderr
}

func seedPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "hack", "simulator-seed.json")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBinaryServesTheExampleSeed runs all three simulators from the example
// seed and drives each with its real client and the seed's credentials.
func TestBinaryServesTheExampleSeed(t *testing.T) {
	urls, stderr := start(t, "--seed", seedPath(t), "--log-requests",
		"--quantconnect-addr", "127.0.0.1:0", "--appharbor-addr", ":0", "--webtranslateit-addr", "127.0.0.1:0")
	for name, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			t.Fatalf("%s listens on %s, want loopback only", name, u.Host)
		}
	}
	ctx := context.Background()

	qc, err := quantconnect.NewFactory()(provider.Config{BaseURL: urls["quantconnect"], Credentials: provider.Credentials{
		"userID": []byte("100001"), "apiToken": []byte("fake-qc-token-not-a-secret"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := qc.(provider.Authenticator).Authenticate(ctx); err != nil {
		t.Fatalf("QuantConnect authenticate: %v", err)
	}
	mia := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: "mia"}, Spec: collabv1alpha1.CollaboratorSpec{
		QuantConnect: &collabv1alpha1.QuantConnectCollaborator{ProjectID: 23456789, UserID: "mia-ai", Write: true}}}
	if _, err := qc.Create(ctx, mia); err != nil {
		t.Fatalf("QuantConnect create: %v", err)
	}

	ah, err := appharbor.NewFactory()(provider.Config{BaseURL: urls["appharbor"], Credentials: provider.Credentials{
		"accessToken": []byte("fake-ah-token-not-a-secret"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	bob := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: "bob"}, Spec: collabv1alpha1.CollaboratorSpec{
		AppHarbor: &collabv1alpha1.AppHarborCollaborator{Application: "my-app", Email: "bob@example.com"}}}
	created, err := ah.Create(ctx, bob)
	if err != nil {
		t.Fatalf("AppHarbor create: %v", err)
	}
	bob.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: created.ExternalID}
	if obs, err := ah.Observe(ctx, bob); err != nil || !obs.UpToDate {
		t.Fatalf("AppHarbor observe: %+v %v", obs, err)
	}

	wti, err := webtranslateit.NewFactory()(provider.Config{
		BaseURL: urls["webtranslateit"],
		Credentials: provider.Credentials{
			"organizationToken": []byte("fake-wti-org-token-not-a-secret"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	carol := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "carol"},
		Spec: collabv1alpha1.CollaboratorSpec{
			WebTranslateIt: &collabv1alpha1.WebTranslateItCollaborator{Email: "carol@example.com"},
		},
	}
	if err := wti.Delete(ctx, carol); err != nil {
		t.Fatalf("WebTranslateIt delete: %v", err)
	}

	log := stderr.String()
	for _, want := range []string{
		"quantconnect POST /api/v2/authenticate -> 200",
		"appharbor POST /applications/my-app/collaborators -> 201",
		"webtranslateit DELETE",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("request log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{
		"fake-qc-token-not-a-secret",
		"fake-ah-token-not-a-secret",
		"fake-wti-org-token-not-a-secret",
	} {
		if strings.Contains(log, secret) {
			t.Errorf("request log holds a token:\n%s", log)
		}
	}
}

func TestOnlyChosenSimulators(t *testing.T) {
	urls, _ := start(t, "--quantconnect-addr", "127.0.0.1:0", "--appharbor-addr", "", "--webtranslateit-addr", "off")
	if len(urls) != 1 || urls["quantconnect"] == "" || !strings.HasSuffix(urls["quantconnect"], "/api/v2") {
		t.Fatalf("urls %v, want only quantconnect", urls)
	}
}

func TestBadSeedIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(p, []byte("quantConect:\n  users: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"--seed", p}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "quantConect") {
		t.Fatalf("error %v, want the unknown field named", err)
	}
}

func TestYAMLSeed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "seed.yaml")
	yml := "webTranslateIt:\n  organizations:\n  - token: t\n    members: [a@example.com]\n"
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	seed, err := readSeed(p)
	if err != nil || seed.WebTranslateIt == nil || seed.WebTranslateIt.Organizations[0].Members[0] != "a@example.com" {
		t.Fatalf("%+v %v", seed, err)
	}
}

// TestLatency: --latency delays every answer of every simulator, and a
// negative latency is refused.
func TestLatency(t *testing.T) {
	err := run(context.Background(), []string{"--latency=-1s"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--latency") {
		t.Fatalf("error %v, want --latency refused", err)
	}
	const d = 40 * time.Millisecond
	urls, _ := start(t, "--quantconnect-addr", "off", "--appharbor-addr", "127.0.0.1:0",
		"--webtranslateit-addr", "off", "--latency", d.String())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, urls["appharbor"]+"/applications", nil)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if took := time.Since(begin); took < d {
		t.Fatalf("answered after %s, want at least %s", took, d)
	}
}
