// Package devstack is development and test tooling, not part of the
// operator. It runs the operator's whole stack on one machine without a
// container runtime: etcd and kube-apiserver (through controller-runtime's
// envtest), the provider simulators and the manager, the latter two as the
// same binaries users run, each in its own process group with its output in
// a log file. `make demo` (hack/demo) and the tests under test/ share it, so
// the demo a person watches is the stack the tests prove.
//
// It lives under test/, beside testenv, rather than under internal/,
// because it shells out to go build, bash (hack/setup-envtest.sh), kubectl
// and podman, which the manager itself must never need.
//
// Everything lives in one temporary directory (kubeconfig, logs) that Stop
// removes, and Stop ends every process it started, so an interrupted demo
// leaves nothing behind.
package devstack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ModulePath identifies the repository root when RepoRoot walks up.
const ModulePath = "github.com/collab-dev/collaborator-operator"

// RepoRoot finds the repository root by walking up from the working
// directory to the go.mod of this module; `go test` runs each package in
// its own directory, and the demo may be started from anywhere inside.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the working directory: %w", err)
	}
	for {
		//nolint:gosec // G304: reading go.mod files above the working directory is the point
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module "+ModulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

// AssetsDir returns the directory holding kube-apiserver, etcd and, when
// hack/setup-envtest.sh provisioned it, kubectl: the KUBEBUILDER_ASSETS
// environment variable when it names a usable directory (make test sets
// it), else what hack/setup-envtest.sh prints (which provisions the
// binaries on first use).
func AssetsDir(ctx context.Context, root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if isExecutable(filepath.Join(dir, "kube-apiserver")) && isExecutable(filepath.Join(dir, "etcd")) {
			return dir, nil
		}
	}
	//nolint:gosec // G204: runs the repository's own script, found from the repository root
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "setup-envtest.sh"))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("provisioning envtest binaries with hack/setup-envtest.sh: %w\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if !isExecutable(filepath.Join(dir, "kube-apiserver")) {
		return "", fmt.Errorf("hack/setup-envtest.sh printed %q, which holds no kube-apiserver", dir)
	}
	return dir, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(filepath.Clean(path)) //nolint:gosec // G703: only stats a path the developer configured
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Binaries are the paths of the programs the stack runs.
type Binaries struct {
	// Manager is the operator (built from ./cmd).
	Manager string
	// Simulator runs the three provider simulators (./cmd/simulator).
	Simulator string
}

// Build compiles the manager and the simulator into outDir. The two builds
// run one after the other, not in parallel: the machines this runs on are
// small and shared, and the second build reuses the first one's cache.
func Build(ctx context.Context, root, outDir string, progress io.Writer) (Binaries, error) {
	b := Binaries{
		Manager:   filepath.Join(outDir, "manager"),
		Simulator: filepath.Join(outDir, "simulator"),
	}
	for _, t := range []struct{ out, pkg string }{
		{b.Manager, "./cmd"},
		{b.Simulator, "./cmd/simulator"},
	} {
		_, _ = fmt.Fprintf(progress, "building %s from %s\n", relTo(root, t.out), t.pkg)
		//nolint:gosec // G204: builds this repository's packages into the caller's directory
		cmd := exec.CommandContext(ctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			return Binaries{}, fmt.Errorf("go build -o %s %s: %w\n%s", t.out, t.pkg, err, out.String())
		}
	}
	return b, nil
}

func relTo(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// Stack is a running local stack. Create it with New, then start its parts;
// Stop undoes everything, whichever parts were started.
type Stack struct {
	// Root is the repository root; processes run in it so that relative
	// paths in their arguments mean what they mean to a developer.
	Root string
	// Dir is the stack's private temporary directory: kubeconfig and logs.
	Dir string
	// Kubeconfig is the path of a kubeconfig for kubectl, with a
	// system:masters user; set by StartControlPlane.
	Kubeconfig string
	// Config is the REST config of the same user, for Go clients.
	Config *rest.Config

	progress io.Writer
	env      *envtest.Environment
	// assetsDir is where StartControlPlane found kube-apiserver and etcd;
	// Kubectl prefers the kubectl beside them (see KubectlPath).
	assetsDir string

	mu    sync.Mutex
	procs []*Process
	// containers are the names of the podman containers started, which
	// Stop removes should podman have left them behind.
	containers []string
}

// New creates a stack with a fresh temporary directory. progress receives
// one line per step, for a person watching.
func New(root string, progress io.Writer) (*Stack, error) {
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "collab-devstack-")
	if err != nil {
		return nil, fmt.Errorf("creating the stack's temporary directory: %w", err)
	}
	return &Stack{Root: root, Dir: dir, progress: progress}, nil
}

// ControlPlaneOptions says how to start the API server.
type ControlPlaneOptions struct {
	// AssetsDir holds kube-apiserver and etcd, and usually kubectl, which
	// Kubectl then prefers; see AssetsDir.
	AssetsDir string
	// CRDs, when true, installs config/crd/bases before returning, so the
	// collab.dev kinds are served at once.
	CRDs bool
	// AdmissionPolicy, when true (with CRDs), also installs
	// config/admission's finalizer policy, as dist/install.yaml and the
	// Helm chart do, and waits until it applies.
	AdmissionPolicy bool
}

// StartControlPlane starts etcd and kube-apiserver and writes a kubeconfig
// for an administrator (group system:masters) to s.Kubeconfig.
func (s *Stack) StartControlPlane(opts ControlPlaneOptions) error {
	env := &envtest.Environment{BinaryAssetsDirectory: opts.AssetsDir}
	if opts.CRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(s.Root, "config", "crd", "bases")}
		env.ErrorIfCRDPathMissing = true
	}
	_, _ = fmt.Fprintf(s.progress, "starting etcd and kube-apiserver from %s\n", relTo(s.Root, opts.AssetsDir))
	if _, err := env.Start(); err != nil {
		// envtest may have started etcd before the API server failed.
		_ = env.Stop()
		return fmt.Errorf("starting etcd and kube-apiserver (envtest, assets %s): %w", opts.AssetsDir, err)
	}
	s.env = env
	s.assetsDir = opts.AssetsDir
	// The user envtest gives Config is not a kubeconfig user; a dedicated
	// system:masters user gives kubectl the same powers a cluster admin has.
	admin, err := env.AddUser(envtest.User{Name: "collab-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding an administrator to the API server: %w", err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("rendering the administrator's kubeconfig: %w", err)
	}
	s.Kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	if err := os.WriteFile(s.Kubeconfig, kc, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	s.Config = admin.Config()
	if opts.CRDs && opts.AdmissionPolicy {
		return s.installAdmissionPolicy(context.Background())
	}
	return nil
}

// Start runs bin with args as a child process of the stack, in its own
// process group (so a Ctrl-C reaches only this program, which then stops
// the children in order), with stdout and stderr in Dir/<name>.log and
// extraEnv added to the environment.
func (s *Stack) Start(name, bin string, args, extraEnv []string) (*Process, error) {
	logPath := filepath.Join(s.Dir, name+".log")
	logFile, err := os.Create(logPath) //nolint:gosec // G304: the path is inside the stack's own temporary directory
	if err != nil {
		return nil, fmt.Errorf("creating the log file of %s: %w", name, err)
	}
	// Not CommandContext: a context would SIGKILL the child, while Stop
	// gives it SIGTERM and time to shut down cleanly.
	//nolint:gosec,noctx // G204: running the binaries the caller built is this package's purpose
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.Root
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	_, _ = fmt.Fprintf(s.progress, "started %s (pid %d), log %s\n", name, cmd.Process.Pid, logPath)
	return p, nil
}

// Processes returns the processes started so far, in start order.
func (s *Stack) Processes() []*Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Process(nil), s.procs...)
}

// Stop ends the child processes in reverse start order (the manager before
// the simulators it talks to), stops the API server and etcd, and removes
// Dir. It is safe to call more than once and after a partial start.
func (s *Stack) Stop() error {
	var errs []error
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.removeContainers(); err != nil {
		errs = append(errs, err)
	}
	if s.env != nil {
		if err := s.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
		}
		s.env = nil
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", s.Dir, err))
		}
		s.Dir = ""
	}
	return errors.Join(errs...)
}

// Process is a child process of the stack.
type Process struct {
	// Name names the process in messages and its log file.
	Name string
	// LogPath is where its stdout and stderr go.
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// PID is the process's id, e.g. to read its memory from /proc/PID/status.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitError is the process's exit status once Done is closed.
func (p *Process) ExitError() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process group, so that helpers the process
// started go too, and SIGKILL if it has not exited after grace.
func (p *Process) Stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pgid := p.cmd.Process.Pid
	if err := signalGroup(pgid, false); err != nil {
		return fmt.Errorf("stopping %s: %w", p.Name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := signalGroup(pgid, true); err != nil {
		return fmt.Errorf("killing %s: %w", p.Name, err)
	}
	<-p.done
	return fmt.Errorf("%s ignored SIGTERM for %s and was killed", p.Name, grace)
}

// Kill sends SIGKILL to the process group and waits until the process has
// exited: a crash, with no chance to shut down cleanly, which is what
// chaos tests inflict on the manager.
func (p *Process) Kill() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := signalGroup(p.cmd.Process.Pid, true); err != nil {
		return fmt.Errorf("killing %s: %w", p.Name, err)
	}
	<-p.done
	return nil
}

// Tail returns the last n lines of the process's log, for failure messages.
func (p *Process) Tail(n int) string {
	return TailFile(p.LogPath, n)
}

// TailFile returns the last n lines of a file, or a note saying why not.
func TailFile(path string, n int) string {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// WaitHTTP polls url until it answers 200, the process exits, or timeout.
// The failure message carries the log's tail, because "not ready" alone
// never says why.
func (p *Process) WaitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return p.waitFor(ctx, timeout, "GET "+url+" answering 200", func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// WaitTCP polls until every address accepts a connection, the process
// exits, or timeout.
func (p *Process) WaitTCP(ctx context.Context, addrs []string, timeout time.Duration) error {
	return p.waitFor(ctx, timeout, "listening on "+strings.Join(addrs, ", "), func(ctx context.Context) bool {
		for _, a := range addrs {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return false
			}
			_ = c.Close()
		}
		return true
	})
}

func (p *Process) waitFor(
	ctx context.Context, timeout time.Duration, what string, ok func(context.Context) bool,
) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		good := ok(attempt)
		cancelAttempt()
		if good {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%w) before %s; last lines of %s:\n%s",
				p.Name, p.err, what, p.LogPath, p.Tail(30))
		case <-ctx.Done():
			return fmt.Errorf("%s not %s after %s: %w; last lines of %s:\n%s",
				p.Name, what, timeout, ctx.Err(), p.LogPath, p.Tail(30))
		case <-tick.C:
		}
	}
}

// FreeLoopbackAddr returns a 127.0.0.1 address with a port that was free a
// moment ago. Another program could take it before ours binds it, but on a
// loopback interface that race is rare enough for a development stack.
func FreeLoopbackAddr() (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("releasing the free loopback port: %w", err)
	}
	return addr, nil
}

// Up provisions the envtest binaries, makes a Stack and starts its control
// plane with the project's CRDs installed: what every test that drives the
// built binaries needs first. On failure it stops what it started.
func Up(ctx context.Context, root string, progress io.Writer) (*Stack, error) {
	assets, err := AssetsDir(ctx, root)
	if err != nil {
		return nil, err
	}
	s, err := New(root, progress)
	if err != nil {
		return nil, err
	}
	if err := s.StartControlPlane(ControlPlaneOptions{AssetsDir: assets, CRDs: true, AdmissionPolicy: true}); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}
