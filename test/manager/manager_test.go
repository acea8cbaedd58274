// Package manager runs the real manager binary (cmd/main.go) against a real
// API server: it must start, answer its probes, guard its metrics and stop
// cleanly on SIGTERM.
package manager

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/collab-dev/collaborator-operator/test/testenv"
)

var (
	testEnv    *envtest.Environment
	kubeconfig string
	managerBin string
	// k8sClient is an administrator's client, for the tests' own objects.
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "manager-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()

	managerBin = filepath.Join(dir, "manager")
	//nolint:gosec // G204: go build into this test's temporary directory.
	build := exec.CommandContext(context.Background(), "go", "build", "-o", managerBin, "./cmd")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the manager: %v\n%s", err, out)
		return 1
	}

	var cfg *rest.Config
	testEnv, cfg, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the manager test needs a real API server:", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	if k8sClient, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	user, err := testEnv.AddUser(envtest.User{Name: "manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	data, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode, nil
}

// trackSources makes the go command rerun these tests when the manager's
// sources change: a child process builds the binary, so the test binary
// does not import them.
func trackSources(t *testing.T) {
	t.Helper()
	if err := testenv.TrackInputs("go.mod", "go.sum", "api", "cmd", "internal",
		"config/crd/bases", "config/admission"); err != nil {
		t.Fatal(err)
	}
}

// TestManagerStartsAndStops runs the manager as `make run` does, with
// HTTPS metrics as in the Deployment.
func TestManagerStartsAndStops(t *testing.T) {
	trackSources(t)
	probeAddr, metricsAddr := freeAddr(t), freeAddr(t)
	var out testenv.Buffer
	// The test's context kills the manager if the test ends early.
	cmd := exec.CommandContext(t.Context(), managerBin, //nolint:gosec // G204: the binary this test built.
		"--health-probe-bind-address="+probeAddr,
		"--metrics-bind-address="+metricsAddr,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager output:\n%s", out.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	plain := &http.Client{Timeout: 5 * time.Second}
	for {
		code, err := get(ctx, plain, "http://"+probeAddr+"/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the manager exited before it was ready: %v", err)
		case <-ctx.Done():
			t.Fatalf("the manager was not ready within 90s (last: %d %v)", code, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if code, err := get(ctx, plain, "http://"+probeAddr+"/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz: %d %v; want 200", code, err)
	}

	// Metrics are served over HTTPS with a self-signed certificate and
	// require an authenticated, authorized caller.
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The manager made up a self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // G402: see above.
	}}
	// The metrics server starts alongside the probes, so wait for it too.
	for {
		code, err := get(ctx, insecure, "https://"+metricsAddr+"/metrics")
		if err == nil {
			if code != http.StatusUnauthorized {
				t.Errorf("anonymous GET /metrics: %d; want 401", code)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the metrics endpoint did not answer within 90s: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	checkMetricsAccess(ctx, t, insecure, "https://"+metricsAddr+"/metrics")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the manager exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the manager did not stop within 60s of SIGTERM")
	}
	// Production logging by default: every line is a JSON object, which
	// log collectors parse without configuration.
	started := false
	for line := range strings.Lines(out.String()) {
		var entry struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON (want zap's production encoder by default): %q", line)
			continue
		}
		started = started || entry.Msg == "starting manager"
	}
	if !started {
		t.Errorf("the manager's log does not say it started:\n%s", out.String())
	}
}

// TestManagerRefusesBadFlags: nonsense settings stop the manager before it
// touches the cluster, with a message that names the flag.
func TestManagerRefusesBadFlags(t *testing.T) {
	trackSources(t)
	tests := map[string]struct {
		args []string
		want string
	}{
		"no concurrency": {
			args: []string{"--max-concurrent-reconciles=0"},
			want: "--max-concurrent-reconciles must be at least 1",
		},
		"unparsable provider URL allow-list": {
			args: []string{"--allowed-provider-urls=appharbor.com"},
			want: "--allowed-provider-urls",
		},
		"zero provider timeout": {
			args: []string{"--provider-timeout=0s"},
			want: "--provider-timeout must be a positive duration",
		},
		"bad namespace": {
			args: []string{"--watch-namespaces=team-a,Team_B"},
			want: `--watch-namespaces: \"Team_B\" is not a namespace name`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, managerBin, tc.args...) //nolint:gosec // G204: the binary this test built.
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the manager accepted %v", tc.args)
			}
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("exit code %d; want 2", code)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output does not contain %q:\n%s", tc.want, out)
			}
		})
	}
}
