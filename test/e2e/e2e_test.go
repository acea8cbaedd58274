// Package e2e runs the operator the way a user meets it: the manager and
// the provider simulators are the built binaries, each its own process,
// against a real API server, and every step goes through kubectl, the
// user's tool. Provider state is checked by asking each simulator's API
// with the samples' credentials, as one would ask the real provider.
//
// It is part of `go test ./...` (make test); make test-e2e runs it alone.
// If the stack cannot start it fails, with the reason, rather than skip: a
// silently skipped end-to-end test proves nothing.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

// ns is where the samples are applied; a namespace of its own shows they
// carry none.
const ns = "e2e"

var (
	stack *devstack.Stack
	sim   *devstack.Simulators
	mgr   *devstack.Process
	creds devstack.SampleCredentials
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := devstack.RepoRoot()
	if err != nil {
		return setupFailed(err)
	}
	bins, cleanup, err := binaries(ctx, root)
	if err != nil {
		return setupFailed(err)
	}
	defer cleanup()
	seedFile := filepath.Join(root, "hack", "simulator-seed.json")
	if s := os.Getenv("E2E_SEED"); s != "" {
		seedFile = s
	}
	if creds, err = devstack.ReadSampleCredentials(filepath.Join(root, "config", "demo")); err != nil {
		return setupFailed(err)
	}
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		return setupFailed(err)
	}
	stack, err = devstack.New(root, os.Stderr)
	if err != nil {
		return setupFailed(err)
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the stack:", err)
		}
	}()
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{
		AssetsDir: assets, CRDs: true, AdmissionPolicy: true,
	}); err != nil {
		return setupFailed(err)
	}
	seed := seedFile
	// Free ports, so the test can run beside make demo or another run.
	if sim, err = devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{
		Binary: bins.Simulator, Seed: seed, FreePorts: true,
	}); err != nil {
		return setupFailed(err)
	}
	if mgr, err = stack.StartManager(ctx, devstack.ManagerOptions{Binary: bins.Manager}); err != nil {
		return setupFailed(err)
	}
	fmt.Fprintf(os.Stderr, "e2e: stack up after %s\n", time.Since(start).Round(100*time.Millisecond))
	code := m.Run()
	if code != 0 {
		for _, p := range stack.Processes() {
			fmt.Fprintf(os.Stderr, "--- last lines of %s\n%s\n", p.Name, p.Tail(40))
		}
	}
	return code
}

// binaries builds the manager and the simulator once per run, into a
// private directory: bin/ may be in use by a developer's make demo or build
// at the same time. E2E_BIN_DIR names a directory of prebuilt ones instead
// (for CI that built them in an earlier step).
func binaries(ctx context.Context, root string) (devstack.Binaries, func(), error) {
	if dir := os.Getenv("E2E_BIN_DIR"); dir != "" {
		bins := devstack.Binaries{Manager: filepath.Join(dir, "manager"), Simulator: filepath.Join(dir, "simulator")}
		return bins, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "collab-e2e-bin-")
	if err != nil {
		return devstack.Binaries{}, nil, fmt.Errorf("creating a directory for the binaries: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	bins, err := devstack.Build(ctx, root, dir, os.Stderr)
	if err != nil {
		cleanup()
		return devstack.Binaries{}, nil, err
	}
	return bins, cleanup, nil
}

func setupFailed(err error) int {
	fmt.Fprintln(os.Stderr, "e2e: FAIL: cannot start the end-to-end stack (API server, simulators, manager):", err)
	return 1
}

// kubectl runs kubectl and fails the test if it fails.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := stack.Kubectl(ctx, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Stdout
}

// kubectlIn runs kubectl with stdin and fails the test if it fails.
func kubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := stack.Kubectl(ctx, strings.NewReader(stdin), args...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Stdout
}

// kubectlFails runs kubectl with stdin, expects it to fail, and returns
// what it printed on stderr.
func kubectlFails(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := stack.Kubectl(ctx, strings.NewReader(stdin), args...)
	if err == nil {
		t.Fatalf("kubectl %s succeeded; want a refusal. Output:\n%s", strings.Join(args, " "), res.Stdout)
	}
	return res.Stderr
}

// TestUserJourney is one user's session, in order: each step builds on
// the state the previous one left.
func TestUserJourney(t *testing.T) {
	// The samples' own credentials, which the simulators were seeded to
	// accept, at the simulators' actual addresses.
	qc := quantConnect{base: sim.URLs["quantconnect"], userID: creds.QuantConnectUserID, token: creds.QuantConnectAPIToken}
	ah := appHarbor{base: sim.URLs["appharbor"], token: creds.AppHarborAccessToken}
	wti := webTranslateIt{base: sim.URLs["webtranslateit"], token: creds.WebTranslateItOrganizationToken}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"apply-samples", func(t *testing.T) {
			kubectl(t, "create", "namespace", ns)
			// What `kubectl apply -k config/demo` applies, with the
			// baseURLs pointed at this run's simulator ports.
			samples := devstack.PointSamplesAt(kubectl(t, "kustomize", "config/demo"), sim.URLs)
			if strings.Contains(samples, "127.0.0.1:1808") {
				t.Fatalf("the samples still point at a fixed demo port after rewriting to %v:\n%s", sim.URLs, samples)
			}
			out := kubectlIn(t, samples, "apply", "-n", ns, "-f", "-")
			for _, want := range []string{
				"collaborator.collab.dev/mia created",
				"collaborator.collab.dev/bob created",
				"collaborator.collab.dev/carol created",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("kubectl apply printed %q; want it to include %q", out, want)
				}
			}
		}},
		{"wait-ready", func(t *testing.T) {
			kubectl(t, "wait", "--for=condition=Ready", "providerconfig", "--all", "-n", ns, "--timeout=60s")
			kubectl(t, "wait", "--for=condition=Ready", "collaborator", "--all", "-n", ns, "--timeout=60s")
		}},
		{"get-columns", func(t *testing.T) {
			out := kubectl(t, "get", "collab", "-n", ns)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			got := strings.Fields(lines[0])
			want := []string{"NAME", "PROVIDER", "TARGET", "MEMBER", "ACCESS", "READY", "REASON", "AGE"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("kubectl get collab columns are %v, want %v", got, want)
			}
			rows := map[string][]string{
				"bob":   {"AppHarbor", "my-app", "bob@example.com", "collaborator", "True", "Available"},
				"carol": {"WebTranslateIt", "organization", "carol@example.com", "member", "True", "DeleteOnly"},
				"mia":   {"QuantConnect", "23456789", "mia-ai", "write+live", "True", "Available"},
			}
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				w, ok := rows[f[0]]
				if !ok {
					t.Errorf("unexpected row %q", l)
					continue
				}
				delete(rows, f[0])
				if got := f[1 : len(f)-1]; strings.Join(got, " ") != strings.Join(w, " ") {
					t.Errorf("row %s is %v, want %v then AGE", f[0], got, w)
				}
			}
			for name := range rows {
				t.Errorf("kubectl get collab shows no row for %s:\n%s", name, out)
			}
		}},
		{"provider-holds-samples", func(t *testing.T) {
			if _, ok := qc.member(t, 23456789, "mia-ai"); !ok {
				t.Error("QuantConnect simulator does not list mia-ai on project 23456789 though the Collaborator is Ready")
			}
			id := kubectl(t, "get", "collab", "bob", "-n", ns, "-o", "jsonpath={.metadata.annotations.collab\\.dev/external-id}")
			if id == "" {
				t.Fatal("bob has no collab.dev/external-id annotation after becoming Ready")
			}
			if role := ah.role(t, "my-app", id); role != "collaborator" {
				t.Errorf("AppHarbor simulator holds bob (id %s) with role %q, want collaborator", id, role)
			}
		}},
		{"patch-role", func(t *testing.T) {
			kubectl(t, "patch", "collab", "bob", "-n", ns, "--type=merge",
				"-p", `{"spec":{"appHarbor":{"role":"administrator"}}}`)
			// Ready for generation 2: observedGeneration first, because
			// Ready=True of generation 1 would satisfy a bare wait.
			kubectl(t, "wait", "--for=jsonpath={.status.observedGeneration}=2", "collab/bob", "-n", ns, "--timeout=60s")
			kubectl(t, "wait", "--for=condition=Ready", "collab/bob", "-n", ns, "--timeout=60s")
			id := kubectl(t, "get", "collab", "bob", "-n", ns, "-o", "jsonpath={.metadata.annotations.collab\\.dev/external-id}")
			if role := ah.role(t, "my-app", id); role != "administrator" {
				t.Errorf("AppHarbor simulator holds bob with role %q after the patch, want administrator", role)
			}
			got := kubectl(t, "get", "collab", "bob", "-n", ns, "-o", "jsonpath={.status.appHarbor.role}")
			if got != "administrator" {
				t.Errorf("status.appHarbor.role is %q, want administrator", got)
			}
		}},
		{"delete", func(t *testing.T) {
			// kubectl delete waits until the object is gone, which with
			// deletionPolicy Delete means the provider's delete succeeded.
			kubectl(t, "delete", "collab", "mia", "-n", ns, "--timeout=60s")
			res, err := stack.Kubectl(context.Background(), nil, "get", "collab", "mia", "-n", ns)
			if err == nil || !strings.Contains(res.Stderr, "NotFound") {
				t.Errorf("collab mia still readable after kubectl delete returned: %s %s", res.Stdout, res.Stderr)
			}
			if m, ok := qc.member(t, 23456789, "mia-ai"); ok {
				t.Errorf("QuantConnect simulator still lists mia-ai on project 23456789 after the delete: %+v", m)
			}
		}},
		{"delete-webtranslateit", func(t *testing.T) {
			kubectl(t, "delete", "collab", "carol", "-n", ns, "--timeout=60s")
			// WebTranslateIt has no read API; its delete answers a person who
			// is not a member with a documented 404 message, which is how
			// one checks the operator's delete removed her.
			if msg := wti.deleteMessage(t, "carol@example.com"); msg != "Couldn't find this collaborator on that organization." {
				t.Errorf("WebTranslateIt simulator answered a second delete of carol with %q; want that she is not a member", msg)
			}
		}},
		{"invalid-refused", func(t *testing.T) {
			for _, tc := range []struct {
				name, manifest, want string
			}{
				{"two-provider-blocks", `apiVersion: collab.dev/v1alpha1
kind: Collaborator
metadata: {name: two-blocks}
spec:
  providerConfigRef: {name: appharbor}
  appHarbor: {application: my-app, email: x@example.com}
  webTranslateIt: {email: x@example.com}
`, "exactly one of quantConnect, appHarbor or webTranslateIt must be set"},
				{"bad-project", `apiVersion: collab.dev/v1alpha1
kind: Collaborator
metadata: {name: bad-project}
spec:
  providerConfigRef: {name: quantconnect}
  quantConnect: {projectID: 0, userID: someone}
`, "spec.quantConnect.projectID"},
				{"bad-role", `apiVersion: collab.dev/v1alpha1
kind: Collaborator
metadata: {name: bad-role}
spec:
  providerConfigRef: {name: appharbor}
  appHarbor: {application: my-app, email: x@example.com, role: owner}
`, `Unsupported value: "owner"`},
			} {
				stderr := kubectlFails(t, tc.manifest, "apply", "-n", ns, "-f", "-")
				if !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: kubectl apply refused with %q; want the message to include %q", tc.name, stderr, tc.want)
				}
			}
			stderr := kubectlFails(t, "", "patch", "collab", "bob", "-n", ns, "--type=merge",
				"-p", `{"spec":{"appHarbor":{"email":"other@example.com"}}}`)
			if !strings.Contains(stderr, "email is immutable") {
				t.Errorf("changing bob's email was refused with %q; want it to say the email is immutable", stderr)
			}
		}},
		{"orphan", func(t *testing.T) {
			id := kubectl(t, "get", "collab", "bob", "-n", ns, "-o", "jsonpath={.metadata.annotations.collab\\.dev/external-id}")
			kubectl(t, "patch", "collab", "bob", "-n", ns, "--type=merge", "-p", `{"spec":{"deletionPolicy":"Orphan"}}`)
			kubectl(t, "delete", "collab", "bob", "-n", ns, "--timeout=60s")
			if role := ah.role(t, "my-app", id); role != "administrator" {
				t.Errorf("AppHarbor simulator holds bob with role %q after deleting the Orphan Collaborator, "+
					"want him kept as administrator", role)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			// Later steps depend on this one's state.
			t.FailNow()
		}
	}
}
