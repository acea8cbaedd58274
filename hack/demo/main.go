// Command demo is `make demo`: it builds the manager and the provider
// simulators, starts a local API server (etcd + kube-apiserver, no
// container runtime needed), the simulators and the manager, applies
// config/demo (config/samples pointed at the simulators) and
// config/demo/organization (a ClusterProviderConfig and a Collaborator using
// it), waits until every Collaborator is Ready and shows them.
// Then it keeps the stack running and prints the KUBECONFIG to use, so a
// person can edit, delete and watch Collaborators with kubectl; Ctrl-C stops
// everything and removes every temporary file.
//
// With --exit (or CI=true in the environment) it stops after the check and
// exits 0 only if every Collaborator became Ready, for CI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

// options are the demo's command-line settings.
type options struct {
	exit      bool
	noBuild   bool
	timeout   time.Duration
	namespace string
	seed      string
	binDir    string
	samples   string
	org       string
	image     string
}

func main() {
	var o options
	flag.BoolVar(&o.exit, "exit", os.Getenv("CI") == "true",
		"Stop after the check instead of keeping the stack running; "+
			"exit 0 only if every Collaborator is Ready. Default true when CI=true.")
	flag.BoolVar(&o.noBuild, "no-build", false,
		"Use the manager and simulator already in --bin-dir instead of building them.")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "How long to wait for the Collaborators to become Ready.")
	flag.StringVar(&o.namespace, "namespace", "default", "The namespace the samples are applied to.")
	flag.StringVar(&o.seed, "seed", "hack/simulator-seed.json",
		"The simulators' seed file, relative to the repository root.")
	flag.StringVar(&o.binDir, "bin-dir", "bin",
		"Where the manager and simulator binaries are built, relative to the repository root.")
	flag.StringVar(&o.image, "image", "",
		"Run the manager from this image archive (make image writes dist/manager-image.tar) "+
			"in podman instead of as a process.")
	flag.StringVar(&o.samples, "samples", "config/demo",
		"The kustomization applied with kubectl apply -k, relative to the repository root.")
	flag.StringVar(&o.org, "organization", "config/demo/organization",
		"The kustomization with the demo's ClusterProviderConfig, its Secret and a Collaborator using it, "+
			"applied without -n (it names its namespaces), relative to the repository root; empty to leave it out.")
	flag.Parse()
	os.Exit(run(o))
}

// out is where the demo talks to the person running it.
var out io.Writer = os.Stdout

func step(format string, args ...any) {
	_, _ = fmt.Fprintf(out, "==> "+format+"\n", args...)
}

func run(o options) int {
	start := time.Now()
	// The first Ctrl-C or SIGTERM starts an orderly shutdown; the deferred
	// Stop below then ends the manager, the simulators, the API server and
	// etcd, and removes the temporary directory.
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	root, err := devstack.RepoRoot()
	if err != nil {
		return fail(err)
	}
	binDir := filepath.Join(root, o.binDir)
	bins := devstack.Binaries{Manager: filepath.Join(binDir, "manager"), Simulator: filepath.Join(binDir, "simulator")}
	if !o.noBuild {
		step("Building the manager and the simulators")
		if bins, err = devstack.Build(ctx, root, binDir, out); err != nil {
			return fail(err)
		}
	}
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		return fail(err)
	}

	stack, err := devstack.New(root, out)
	if err != nil {
		return fail(err)
	}
	defer func() {
		step("Stopping the manager, the simulators, kube-apiserver and etcd")
		if err := stack.Stop(); err != nil {
			_, _ = fmt.Fprintln(os.Stderr, "demo: cleaning up:", err)
		}
	}()

	step("Starting a local API server")
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{
		AssetsDir: assets, CRDs: true, AdmissionPolicy: true,
	}); err != nil {
		return fail(err)
	}

	step("Starting the provider simulators (QuantConnect, AppHarbor, WebTranslateIt)")
	// The seed accepts the fake credentials of the samples' Secrets; if
	// the two drift apart, the samples do not become Ready and the demo
	// says which condition failed.
	seed := filepath.Join(root, o.seed)
	sim, err := devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{Binary: bins.Simulator, Seed: seed})
	if err != nil {
		return fail(err)
	}

	mgrOpts := devstack.ManagerOptions{Binary: bins.Manager}
	if o.image != "" {
		step("Loading %s into podman", o.image)
		if mgrOpts.Image, err = devstack.LoadImage(ctx, filepath.Join(root, o.image)); err != nil {
			return fail(err)
		}
	}
	step("Starting the manager")
	mgr, err := stack.StartManager(ctx, mgrOpts)
	if err != nil {
		return fail(err)
	}

	// If the manager or the simulators die, waiting on kubectl would only
	// run into its timeout; stop at once and show why.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, p := range []*devstack.Process{sim.Process, mgr} {
		go func() {
			select {
			case <-p.Done():
				cancel(fmt.Errorf("%s exited (%w); last lines of %s:\n%s", p.Name, p.ExitError(), p.LogPath, p.Tail(30)))
			case <-ctx.Done():
			}
		}()
	}

	step("kubectl apply -k %s -n %s", o.samples, o.namespace)
	res, err := stack.Kubectl(ctx, nil, "apply", "-k", o.samples, "-n", o.namespace)
	_, _ = fmt.Fprint(out, res.Stdout)
	if err != nil {
		return failStack(ctx, stack, err)
	}
	if o.org != "" {
		step("kubectl apply -k %s", o.org)
		res, err := stack.Kubectl(ctx, nil, "apply", "-k", o.org)
		_, _ = fmt.Fprint(out, res.Stdout)
		if err != nil {
			return failStack(ctx, stack, err)
		}
	}

	step("kubectl wait --for=condition=Ready collaborators,accesspolicies --all -n %s --timeout=%s",
		o.namespace, o.timeout)
	res, waitErr := stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "collaborators,accesspolicies", "--all",
		"-n", o.namespace, "--timeout="+o.timeout.String())
	_, _ = fmt.Fprint(out, res.Stdout)
	if waitErr == nil && o.org != "" {
		step("kubectl wait --for=condition=Ready clusterproviderconfigs --all --timeout=%s", o.timeout)
		res, waitErr = stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "clusterproviderconfigs", "--all",
			"--timeout="+o.timeout.String())
		_, _ = fmt.Fprint(out, res.Stdout)
	}

	step("kubectl get providerconfigs,clusterproviderconfigs,collaborators,accesspolicies -A")
	if res, err := stack.Kubectl(ctx, nil, "get", "providerconfigs,clusterproviderconfigs,collaborators,accesspolicies",
		"-A"); err == nil {
		_, _ = fmt.Fprint(out, res.Stdout)
	}
	if waitErr != nil {
		return failStack(ctx, stack, fmt.Errorf("not every Collaborator, AccessPolicy and ClusterProviderConfig "+
			"became Ready: %w", waitErr))
	}
	step("All Collaborators, AccessPolicies and ClusterProviderConfigs are Ready (%s after start)",
		time.Since(start).Round(time.Second))

	if o.exit {
		return 0
	}
	_, _ = fmt.Fprintf(out, `
The stack keeps running. In another terminal:

  export KUBECONFIG=%s%s
  kubectl get collab -w                                   # watch
  kubectl patch collab bob --type merge -p '{"spec":{"appHarbor":{"role":"administrator"}}}'
  kubectl delete collab mia                               # removes Mia at the QuantConnect simulator
  kubectl describe collab carol                           # conditions and events
  kubectl get collabcpc                                   # the ClusterProviderConfig Ava's access goes through

Logs: %s
      %s
Press Ctrl-C to stop everything.
`, stack.Kubeconfig, kubectlOnPath(stack), mgr.LogPath, sim.LogPath)
	<-ctx.Done()
	// A second Ctrl-C during shutdown now ends the demo at once; the
	// children still get SIGTERM from Linux when it goes.
	stopSignals()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fail(cause)
	}
	return 0
}

// kubectlOnPath returns a line that puts the demo's kubectl first on PATH,
// or "" when `kubectl` already is that one. The demo uses the kubectl that
// hack/setup-envtest.sh provisioned beside kube-apiserver when there is
// one, so that a person gets the same kubectl, with the API server's
// version, and one at all on a machine without kubectl installed.
func kubectlOnPath(stack *devstack.Stack) string {
	k, err := stack.KubectlPath()
	if err != nil || !strings.ContainsRune(k, filepath.Separator) {
		// No kubectl, or $KUBECTL names one that the shell finds on PATH.
		return ""
	}
	if onPath, err := exec.LookPath("kubectl"); err == nil && onPath == k {
		return ""
	}
	if filepath.Base(k) != "kubectl" {
		// $KUBECTL names a binary by another name; PATH cannot help.
		return "\n  alias kubectl=" + k
	}
	return "\n  export PATH=" + filepath.Dir(k) + ":$PATH"
}

func fail(err error) int {
	_, _ = fmt.Fprintln(os.Stderr, "demo:", err)
	return 1
}

// readyColumns shows each object's Ready status and message, which say why
// it is not Ready.
const readyColumns = `custom-columns=KIND:.kind,NAME:.metadata.name,` +
	`READY:.status.conditions[?(@.type=="Ready")].status,` +
	`MESSAGE:.status.conditions[?(@.type=="Ready")].message`

// failStack reports err with what a person needs to see why: the
// Collaborators' conditions and the manager's last log lines.
func failStack(ctx context.Context, stack *devstack.Stack, err error) int {
	_, _ = fmt.Fprintln(os.Stderr, "demo:", err)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		_, _ = fmt.Fprintln(os.Stderr, "demo:", cause)
		return 1
	}
	if res, derr := stack.Kubectl(context.WithoutCancel(ctx), nil, "get",
		"collaborators,providerconfigs,clusterproviderconfigs", "-A", "-o", readyColumns); derr == nil {
		_, _ = fmt.Fprint(os.Stderr, res.Stdout)
	}
	for _, p := range stack.Processes() {
		_, _ = fmt.Fprintf(os.Stderr, "--- last lines of %s (%s)\n%s\n", p.Name, p.LogPath, strings.TrimSpace(p.Tail(20)))
	}
	return 1
}
