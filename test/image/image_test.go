// Package image runs the manager's container image, as `make image` built
// it, the way a cluster would: loaded into podman, on a read-only root
// filesystem as its own non-root user, against a real API server and the
// provider simulators; the samples must become Ready.
//
// It runs only when IMAGE_ARCHIVE names the archive (`make test-image` sets
// it), because it needs podman and a built image; `go test ./...` skips it.
package image

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

func TestImage(t *testing.T) {
	archive := os.Getenv("IMAGE_ARCHIVE")
	if archive == "" {
		t.Skip("IMAGE_ARCHIVE is unset: run `make test-image`, which builds the image and sets it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(archive) {
		archive = filepath.Join(root, archive)
	}

	start := time.Now()
	image, err := devstack.LoadImage(ctx, archive)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %s in %s", image, time.Since(start).Round(time.Millisecond))
	t.Run("config", func(t *testing.T) { checkConfig(ctx, t, image) })

	tmp := t.TempDir()
	simulator := filepath.Join(tmp, "simulator")
	//nolint:gosec // G204: builds this repository's simulator into the test's directory
	build := exec.CommandContext(ctx, "go", "build", "-o", simulator, "./cmd/simulator")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the simulator: %v\n%s", err, out)
	}
	stack, err := devstack.Up(ctx, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	sim, err := devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{
		Binary: simulator, Seed: filepath.Join(root, "hack", "simulator-seed.json"), FreePorts: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr, err := devstack.FreeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	// Authenticated HTTPS metrics as in the Deployment: the manager makes
	// its self-signed certificate in memory, which a read-only root
	// filesystem must not break.
	mgr, err := stack.StartManager(ctx, devstack.ManagerOptions{
		Image:     image,
		ExtraArgs: []string{"--metrics-bind-address=" + metricsAddr},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the manager's container was ready %s after start", time.Since(start).Round(time.Millisecond))

	res, err := stack.Kubectl(ctx, nil, "kustomize", "config/demo")
	if err != nil {
		t.Fatal(err)
	}
	samples := devstack.PointSamplesAt(res.Stdout, sim.URLs)
	if _, err := stack.Kubectl(ctx, strings.NewReader(samples), "apply", "-n", "default", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "collaborator", "--all",
		"-n", "default", "--timeout=2m"); err != nil {
		out, _ := stack.Kubectl(ctx, nil, "get", "collaborators,providerconfigs", "-A", "-o", "yaml")
		t.Fatalf("%v\n%s\nmanager log:\n%s", err, out.Stdout, mgr.Tail(40))
	}
	t.Logf("every sample Collaborator Ready %s after the manager started", time.Since(start).Round(time.Millisecond))

	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // G402: the manager's self-signed certificate
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+metricsAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatalf("the containerised manager's metrics endpoint: %v\n%s", err, mgr.Tail(20))
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous GET /metrics: %d; want 401 or 403", resp.StatusCode)
	}
}

// checkConfig checks what a Pod relies on from the image itself: the
// entrypoint, and a numeric non-root user so runAsNonRoot can verify it.
func checkConfig(ctx context.Context, t *testing.T, image string) {
	out, err := devstack.Podman(ctx, "image", "inspect", "--format",
		"{{.Config.User}}|{{json .Config.Entrypoint}}|{{.Os}}", image)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`65532:65532|["/manager"]|linux`, strings.TrimSpace(out)); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
}

// testWriter sends the stack's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
