package devstack

import (
	"context"
	"errors"
	"time"
)

// LoopbackProviderURLs is the --allowed-provider-urls of a manager that
// talks to the local simulators.
const LoopbackProviderURLs = "http://127.0.0.1"

// SimulatorURLsArgs are the manager flags that let it talk to the local
// simulators, which listen on plain-HTTP loopback URLs that the manager's
// default provider URL allow-list refuses. Every manager the stack starts
// gets them.
var SimulatorURLsArgs = []string{"--allowed-provider-urls=" + LoopbackProviderURLs}

// ManagerOptions configures StartManager.
type ManagerOptions struct {
	// Binary is the manager's path. Ignored when Image is set.
	Binary string
	// Image, when set, runs the manager from this container image (a name
	// in podman's store, e.g. from LoadImage) with podman instead of
	// Binary: read-only, non-root, on the host network.
	Image string
	// Kubeconfig is the manager's kubeconfig; the stack's administrator
	// (s.Kubeconfig) when empty. Tests set it to a ServiceAccount's to
	// prove the shipped RBAC is enough.
	Kubeconfig string
	// ExtraArgs are added after the stack's own flags.
	ExtraArgs []string
	// Env is added to the binary's environment (e.g. GOGC), as a
	// Deployment's env would be; ignored with Image.
	Env []string
	// Timeout bounds the wait for /readyz; 60s when zero.
	Timeout time.Duration
	// Name names the process and its log file; "manager" when empty. A
	// test that restarts the manager gives each run its own name, so that
	// the logs of the earlier runs are kept.
	Name string
}

// StartManager runs the manager against the stack's API server, with its
// health probes on a free loopback port and metrics off (nothing scrapes
// them here, and a fixed port would clash between concurrent runs), and
// waits until /readyz answers 200.
func (s *Stack) StartManager(ctx context.Context, opts ManagerOptions) (*Process, error) {
	if s.Kubeconfig == "" {
		return nil, errors.New("starting the manager: the control plane is not running")
	}
	kubeconfig := opts.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = s.Kubeconfig
	}
	probe, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--health-probe-bind-address=" + probe,
		"--metrics-bind-address=0",
		"--leader-elect=false",
	}, SimulatorURLsArgs...)
	args = append(args, opts.ExtraArgs...)

	bin, env := opts.Binary, append([]string{"KUBECONFIG=" + kubeconfig}, opts.Env...)
	if opts.Image != "" {
		if bin, args, err = s.containerCommand(opts.Image, kubeconfig, args); err != nil {
			return nil, err
		}
		env = nil
	}
	name := opts.Name
	if name == "" {
		name = "manager"
	}
	p, err := s.Start(name, bin, args, env)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := p.WaitHTTP(ctx, "http://"+probe+"/readyz", timeout); err != nil {
		return p, err
	}
	return p, nil
}
