package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"

	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// rig is the running stack: the API server, the simulators (in this
// process, so the test can switch their faults and read their state) and
// the manager (a process, so it can be killed).
type rig struct {
	stack *devstack.Stack
	cl    client.Client
	qc    *qcsim.Server
	ah    *ahsim.Server
	wti   *wtisim.Server
	// urls are the ProviderConfig baseURLs, by provider key.
	urls map[string]string
	sup  *supervisor
	// handAdopted names the objects whose lost AppHarbor create the test
	// fixed by hand, as the operator's status asked, with the reason.
	handAdopted map[string]string
}

// Provider keys, used in object names and figures.
const (
	pQC  = "qc"
	pAH  = "ah"
	pWTI = "wti"
)

// newRig starts everything, with the simulators empty (the workload seeds
// them) and the manager running.
func newRig(ctx context.Context, t *testing.T, seed uint64) *rig {
	t.Helper()
	root := testenv.RepoRoot()
	bin := buildManager(ctx, t, root)
	stack, err := devstack.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{stack: stack, qc: qcsim.New(), ah: ahsim.New(), wti: wtisim.New(),
		urls: map[string]string{}, handAdopted: map[string]string{}}
	t.Cleanup(func() {
		if t.Failed() {
			r.sup.dumpLogs(t)
		}
		if err := stack.Stop(); err != nil {
			t.Logf("stopping the stack: %v", err)
		}
	})
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{
		AssetsDir: assets, CRDs: true, AdmissionPolicy: true,
	}); err != nil {
		t.Fatal(err)
	}
	if r.cl, err = client.New(stack.Config, client.Options{Scheme: testenv.Scheme()}); err != nil {
		t.Fatal(err)
	}
	r.urls[pQC] = serve(ctx, t, r.qc) + qcsim.PathPrefix
	r.urls[pAH] = serve(ctx, t, r.ah)
	r.urls[pWTI] = serve(ctx, t, r.wti)
	r.sup = &supervisor{stack: stack, bin: bin, rng: rand.New(rand.NewPCG(seed, 8))} //nolint:gosec // G404: replayable
	if err := r.sup.start(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// buildManager builds ./cmd into the test's temporary directory.
func buildManager(ctx context.Context, t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd") //nolint:gosec // G204: this repository's manager
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	return bin
}

// serve runs h on a free loopback port until the test ends.
func serve(ctx context.Context, t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// kits are the simulators' fault injectors, by provider key.
func (r *rig) kits() map[string]*simkit.Kit {
	return map[string]*simkit.Kit{pQC: r.qc.Kit, pAH: r.ah.Kit, pWTI: r.wti.Kit}
}

// faultsOn makes each simulator fail faultRate of its requests in the ways
// its real service fails.
func (r *rig) faultsOn(seed uint64) {
	for i, p := range []string{pQC, pAH, pWTI} {
		//nolint:gosec // G404: replayable faults, not secrets
		r.kits()[p].SetRandomFaults(faultRate, faultsOf(p), rand.New(rand.NewPCG(seed, uint64(i+1))))
	}
}

// faultsOff stops every random fault.
func (r *rig) faultsOff() {
	for _, k := range r.kits() {
		k.StopRandomFaults()
	}
}

// faultsOf lists a provider's faults, each in that provider's error shape.
func faultsOf(p string) []simkit.Fault {
	unavailable := map[string]string{ //nolint:gosec // G101: error bodies, no credentials
		pQC:  `{"success":false,"errors":["Service Unavailable"]}`,
		pAH:  `{"error":{"message":"Service Unavailable"}}`,
		pWTI: `{"error":"Service Unavailable"}`,
	}[p]
	faults := []simkit.Fault{
		{Name: "503", Status: http.StatusServiceUnavailable, Body: unavailable},
		{Name: "drop", Drop: true},
		{Name: "429+Retry-After", Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}},
		{Name: "429", Status: http.StatusTooManyRequests},
	}
	// A lost answer leaves the client unsure whether its write happened,
	// which every operation must survive by reading again. An AppHarbor
	// create is the exception: its answer's Location header is the only
	// place the new id is ever told, and the list has no email to find the
	// person by. The operator marks the object before the create and, if
	// the answer is lost, asks a person for the id (Rejected on create,
	// ExternalIDUnknown on delete) instead of removing nobody; the test
	// plays that person (adoptLostCreates).
	lost := simkit.Fault{Name: "lost-answer", Drop: true, LoseAnswer: true}
	faults = append(faults, lost)
	switch p {
	case pQC:
		// QuantConnect reports a rate limit as a 200 refusal.
		faults = append(faults, simkit.Fault{Name: "200-rate-limit", Status: http.StatusOK,
			Body: `{"success":false,"errors":["Too many requests: rate limit exceeded, slow down."]}`})
	case pWTI:
		faults = append(faults, simkit.Fault{Name: "404-failed-to-delete", Status: http.StatusNotFound,
			Body: `{"error":"` + wtisim.MsgFailed + `"}`})
	}
	return faults
}

// faultCounts returns the faults injected, by kind and by provider.
func (r *rig) faultCounts() (byKind, byProvider map[string]int) {
	byKind, byProvider = map[string]int{}, map[string]int{}
	for p, k := range r.kits() {
		for name, n := range k.RandomFaultCounts() {
			byKind[name] += n
			byProvider[p] += n
		}
	}
	return byKind, byProvider
}

// requests is the number of requests the simulators received.
func (r *rig) requests() int {
	n := 0
	for _, k := range r.kits() {
		n += k.RequestCount()
	}
	return n
}

// supervisor runs the manager and kills it on schedule. A manager that
// exits on its own is a crash the test reports.
type supervisor struct {
	stack *devstack.Stack
	bin   string
	rng   *rand.Rand

	mu     sync.Mutex
	cur    *devstack.Process
	runs   []*devstack.Process
	ready  []time.Duration
	kills  int
	killed map[*devstack.Process]bool
}

// start runs a new manager process and waits until it is ready.
func (s *supervisor) start(ctx context.Context) error {
	s.mu.Lock()
	name := fmt.Sprintf("manager-%d", len(s.runs)+1)
	s.mu.Unlock()
	begin := time.Now()
	p, err := s.stack.StartManager(ctx, devstack.ManagerOptions{
		Binary: s.bin, ExtraArgs: managerArgs, Name: name, Timeout: 90 * time.Second,
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != nil {
		s.runs = append(s.runs, p)
		s.cur = p
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	s.ready = append(s.ready, time.Since(begin))
	return nil
}

// kill SIGKILLs the running manager.
func (s *supervisor) kill() error {
	s.mu.Lock()
	p := s.cur
	if s.killed == nil {
		s.killed = map[*devstack.Process]bool{}
	}
	s.killed[p] = true
	s.kills++
	s.mu.Unlock()
	if err := p.Kill(); err != nil {
		return fmt.Errorf("killing %s: %w", p.Name, err)
	}
	return nil
}

// killOnSchedule kills the manager at each offset from now and starts a new
// one after a short random outage (while the driver goes on changing
// objects); the returned channel closes once the last new manager is ready.
// A failure is reported with t.Errorf, not Fatal: this runs in its own
// goroutine.
func (s *supervisor) killOnSchedule(ctx context.Context, t *testing.T, at []time.Duration) <-chan struct{} {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		for _, offset := range at {
			timer := time.NewTimer(time.Until(start.Add(offset)))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
			if err := s.kill(); err != nil {
				t.Error(err)
				return
			}
			outage := time.NewTimer(time.Duration(s.rng.Int64N(int64(2 * time.Second))))
			select {
			case <-ctx.Done():
				outage.Stop()
				return
			case <-outage.C:
			}
			if err := s.start(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return done
}

// crashed reports a manager run that ended without being killed.
func (s *supervisor) crashed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.runs {
		select {
		case <-p.Done():
			if !s.killed[p] {
				return fmt.Errorf("%s exited on its own (%w); last lines of its log:\n%s", p.Name, p.ExitError(), p.Tail(40))
			}
		default:
		}
	}
	return nil
}

// starts is how many manager processes ran.
func (s *supervisor) starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

// readyTimes renders the start-to-ready times.
func (s *supervisor) readyTimes() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]string, 0, len(s.ready))
	for _, d := range s.ready {
		parts = append(parts, d.Round(100*time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}

// dumpLogs prints the end of every manager run's log, for a failure.
func (s *supervisor) dumpLogs(t *testing.T) {
	t.Helper()
	if s == nil {
		return
	}
	s.mu.Lock()
	runs := append([]*devstack.Process(nil), s.runs...)
	s.mu.Unlock()
	for i, p := range runs {
		n := 15
		if i == len(runs)-1 {
			n = 80
		}
		t.Logf("--- last %d lines of %s:\n%s", n, p.Name, p.Tail(n))
	}
	if dir := os.Getenv("CHAOS_KEEP_LOGS"); dir != "" {
		for _, p := range runs {
			if err := copyFile(p.LogPath, filepath.Join(dir, filepath.Base(p.LogPath))); err != nil {
				t.Log(err)
			}
		}
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(filepath.Clean(from))
	if err != nil {
		return fmt.Errorf("keeping %s: %w", from, err)
	}
	//nolint:gosec // G703: the directory is the developer's own CHAOS_KEEP_LOGS
	if err := os.WriteFile(filepath.Clean(to), data, 0o600); err != nil {
		return errors.Join(fmt.Errorf("keeping %s", from), err)
	}
	return nil
}
