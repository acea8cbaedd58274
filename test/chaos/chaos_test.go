// Package chaos is issue 9's chaos test: for about a minute a seeded
// driver creates, changes and deletes Collaborators of all three providers
// at random while the provider simulators fail about a fifth of all
// requests (503, dropped connections, answers lost after the change was
// made, 429 with and without Retry-After, QuantConnect's 200 rate-limit
// body, WebTranslateIt's "Failed to delete enrollment.") and the real
// manager binary is killed with SIGKILL and restarted several times. Then
// the faults stop and the test waits until everything has converged: every
// remaining Collaborator Ready for its current generation, every deleted
// one gone from the API server, and each simulator holding exactly what
// the remaining objects say (no lost delete, no duplicate, no wrong
// access, no bystander touched).
//
// It runs under `make test` (which sets KUBEBUILDER_ASSETS) and skips when
// KUBEBUILDER_ASSETS is unset or with -short, because it takes about two
// minutes. CHAOS_SEED=<n> replays a run's workload (the seed is printed);
// CHAOS_DURATION=<duration> shortens or lengthens the chaos phase. Its
// figures are printed with t.Logf and on stdout: `go test -v -run TestChaos
// ./test/chaos` shows them.
package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// The bounds of the chaos phase: it stops at whichever comes first.
const (
	defaultDuration = 60 * time.Second
	maxOps          = 400
	// opInterval paces the driver: maxOps in about defaultDuration, if the
	// API server keeps up.
	opInterval = 120 * time.Millisecond
	// faultRate is the share of provider requests that fail at random.
	faultRate = 0.2
	// kills is how many times the manager is killed during the phase.
	kills = 4
	// convergeDeadline bounds the wait once the faults are off. The
	// manager's backoff starts at 1s and a killed manager restarts with
	// none, so a sound operator converges in seconds.
	convergeDeadline = 3 * time.Minute
)

// managerArgs are the manager's flags beyond the ones devstack sets
// (which include --allowed-provider-urls for the loopback simulators).
var managerArgs []string

// TestChaos is the whole run: stack up, chaos, convergence, figures.
func TestChaos(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset; `make test` sets it and runs this test")
	}
	if testing.Short() {
		t.Skip("the chaos test takes about two minutes; skipped with -short")
	}
	// A child process builds the manager, so its sources are inputs the
	// go command would otherwise not see.
	if err := testenv.TrackInputs("go.mod", "go.sum", "api", "cmd", "internal",
		"config/crd/bases", "config/admission"); err != nil {
		t.Fatal(err)
	}
	seed, duration := settings(t)
	say(t, "chaos: seed %d (replay with CHAOS_SEED=%d), chaos phase %s or %d operations", seed, seed, duration, maxOps)

	ctx, cancel := context.WithTimeout(t.Context(), duration+convergeDeadline+3*time.Minute)
	defer cancel()
	r := newRig(ctx, t, seed)
	w := newWorkload(r, rand.New(rand.NewPCG(seed, 0))) //nolint:gosec // G404: a replayable workload, not a secret
	w.setup(ctx, t)
	r.waitSetupReady(ctx, t)

	// Chaos: faults on, the driver and the killer run side by side.
	r.faultsOn(seed)
	chaosStart := time.Now()
	killer := r.sup.killOnSchedule(ctx, t, killSchedule(seed, duration))
	w.drive(ctx, t, duration, maxOps)
	<-killer // the last restart must be up before the faults stop
	chaosTime := time.Since(chaosStart)
	r.faultsOff()

	converged, problems := r.converge(ctx, w, convergeDeadline)
	// The figures come first: a failed run needs them most.
	figures(t, seed, r, w, chaosTime, converged, len(problems) == 0)
	if len(problems) > 0 {
		t.Fatalf("not converged %s after the faults stopped (seed and figures above); %d problems:\n%s",
			convergeDeadline, len(problems), strings.Join(problems, "\n"))
	}
	// The stack installs the shipped admission policy, so every
	// Collaborator has its finalizer from its creation, whether or not a
	// manager was running: none may be deleted without it.
	if w.early > 0 {
		t.Errorf("%d Collaborators were deleted without the finalizer the admission policy adds at creation", w.early)
	}
	r.checkChecker(t, w)
}

// settings reads CHAOS_SEED and CHAOS_DURATION.
func settings(t *testing.T) (uint64, time.Duration) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", s, err)
		}
		seed = n
	}
	duration := defaultDuration
	if s := os.Getenv("CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("CHAOS_DURATION=%q: want a positive duration such as 30s", s)
		}
		duration = d
	}
	return seed, duration
}

// killSchedule spreads the kills over the phase, each at a random point of
// its share, so that they land on different moments of the reconcilers'
// work from run to run.
func killSchedule(seed uint64, duration time.Duration) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 9)) //nolint:gosec // G404: a replayable schedule, not a secret
	share := duration / kills
	at := make([]time.Duration, 0, kills)
	for i := range kills {
		// Within the middle of each share, so that two kills never come
		// back to back and the last one leaves the manager time to start.
		at = append(at, time.Duration(i)*share+share/4+time.Duration(rng.Int64N(int64(share/2))))
	}
	return at
}

// say logs a line and prints it on stdout, which `go test -v` shows as it
// happens.
func say(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	fmt.Printf(format+"\n", args...)
}

// figures prints what the run did.
func figures(t *testing.T, seed uint64, r *rig, w *workload, chaosTime, converged time.Duration, ok bool) {
	t.Helper()
	faults, byProvider := r.faultCounts()
	total := 0
	for _, n := range faults {
		total += n
	}
	say(t, "chaos: figures for seed %d", seed)
	say(t, "  operations: %d in %s: %s", w.total(), chaosTime.Round(100*time.Millisecond), render(w.ops))
	say(t, "  creates refused while the old object was still being deleted: %d; "+
		"deletes before the operator added its finalizer: %d", w.refused, w.early)
	say(t, "  WebTranslateIt: %d members removed by deletes; %d deleted before the operator saw them, not required",
		len(w.wtiGone), len(w.wtiMaybe))
	say(t, "  provider requests: %d; faults injected: %d (%s); by provider: %s",
		r.requests(), total, render(faults), render(byProvider))
	say(t, "  manager: %d kills (SIGKILL), %d starts, start to ready %s",
		r.sup.kills, r.sup.starts(), r.sup.readyTimes())
	say(t, "  AppHarbor objects whose id nobody recorded (a lost create answer, or a delete before the create), "+
		"settled by hand as the status asked: %d %v",
		len(r.handAdopted), r.handAdopted)
	outcome := "converged"
	if !ok {
		outcome = "NOT converged"
	}
	say(t, "  %s %s after the faults stopped: want %d Collaborators Ready, %d slots deleted and gone",
		outcome, converged.Round(100*time.Millisecond), w.liveCount(), w.goneCount())
	fmt.Printf("chaos: seed=%d ops=%d faults=%d kills=%d %s=%s\n",
		seed, w.total(), total, r.sup.kills, strings.ReplaceAll(outcome, " ", "-"), converged.Round(100*time.Millisecond))
}

// render prints counts sorted by name, for stable output.
func render(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
