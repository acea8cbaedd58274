// Package scale is the scale benchmark of issue 10. It runs the operator
// as users run it, at 1,000 and 10,000 Collaborators: a real kube-apiserver
// and etcd, the provider simulators binary answering every request after a
// fixed latency (a SaaS API is tens of milliseconds away, not loopback
// microseconds), and the manager binary in its own process, so that its
// peak memory is its own. It prints each figure next to its target:
// cold-start time and provider calls, steady-state provider calls per sync
// interval and API-server writes, writes per created Collaborator and the
// manager's peak RSS.
//
// It is a benchmark, so `go test ./...` (make test) compiles it and runs
// nothing. Run it with `make bench` (docs/scaling.md):
//
//	SCALE_SIZES=1000,10000 make bench
package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// config is the benchmark's settings, from SCALE_* environment variables
// (go test's own flags are not ours to extend, and make passes variables
// through the environment).
type config struct {
	sizes        []int         // SCALE_SIZES: comma-separated; default 1000
	latency      time.Duration // SCALE_LATENCY: every simulator answer's delay; default 50ms
	syncInterval time.Duration // SCALE_SYNC_INTERVAL: the ProviderConfigs' syncInterval; default 30s
	concurrency  int           // SCALE_CONCURRENCY: the manager's --max-concurrent-reconciles; default 16, its own
	rate, burst  int           // SCALE_RATE, SCALE_BURST: spec.rateLimit of each ProviderConfig; default 100, 2×rate
	intervals    int           // SCALE_STEADY_INTERVALS: judged steady-state intervals; default 3
	profileDir   string        // SCALE_PROFILE_DIR: where to save the manager's pprof profiles; default none
	managerEnv   []string      // SCALE_MANAGER_ENV: space-separated NAME=value for the manager's environment; default none
}

func configFromEnv() (config, error) {
	c := config{latency: 50 * time.Millisecond, syncInterval: 30 * time.Second, concurrency: 16, rate: 100, intervals: 3}
	var errs []error
	sizes := envOr("SCALE_SIZES", "1000")
	for s := range strings.SplitSeq(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			errs = append(errs, fmt.Errorf("SCALE_SIZES=%q: each size must be a number of at least 2", sizes))
			break
		}
		c.sizes = append(c.sizes, n)
	}
	dur := func(name string, into *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 50ms", name, v))
			}
			*into = d
		}
	}
	num := func(name string, into *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number of at least 1", name, v))
			}
			*into = n
		}
	}
	dur("SCALE_LATENCY", &c.latency)
	dur("SCALE_SYNC_INTERVAL", &c.syncInterval)
	num("SCALE_CONCURRENCY", &c.concurrency)
	num("SCALE_RATE", &c.rate)
	c.burst = 2 * c.rate
	num("SCALE_BURST", &c.burst)
	num("SCALE_STEADY_INTERVALS", &c.intervals)
	c.profileDir = os.Getenv("SCALE_PROFILE_DIR")
	c.managerEnv = strings.Fields(os.Getenv("SCALE_MANAGER_ENV"))
	return c, errors.Join(errs...)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// BenchmarkScale runs one stack per size in SCALE_SIZES and prints its
// figures. Each size runs once, whatever b.N: one run takes minutes and is
// the measurement.
func BenchmarkScale(b *testing.B) {
	// envtest logs through controller-runtime's logger: its errors go to
	// stderr, its chatter nowhere (unset, controller-runtime prints a
	// stack trace in the middle of the report instead).
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	cfg, err := configFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	root := testenv.RepoRoot()
	assets, err := devstack.AssetsDir(b.Context(), root)
	if err != nil {
		b.Fatal(err)
	}
	bins, err := devstack.Build(b.Context(), root, b.TempDir(), os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range cfg.sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			res, err := runOnce(b.Context(), cfg, root, assets, bins, n)
			if res != nil {
				res.print(os.Stdout)
				res.reportMetrics(b)
			}
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// runOnce starts a stack, creates n Collaborators (half at once, half
// over one sync interval), waits until all are Ready, then watches the
// steady state for 1 + cfg.intervals sync intervals.
func runOnce(ctx context.Context, cfg config, root, assets string, bins devstack.Binaries, n int) (*result, error) {
	pop := newPopulation(n)
	stack, err := devstack.New(root, os.Stderr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stack.Stop() }()
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{
		AssetsDir: assets, CRDs: true, AdmissionPolicy: true,
	}); err != nil {
		return nil, err
	}
	seed := filepath.Join(stack.Dir, "seed.json")
	if err := pop.writeSeed(seed); err != nil {
		return nil, err
	}
	sims, err := devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{
		Binary: bins.Simulator, Seed: seed, FreePorts: true,
		ExtraArgs: []string{"--latency=" + cfg.latency.String(), "--log-requests"},
	})
	if err != nil {
		return nil, err
	}
	// The benchmark's own client must not be what limits creation.
	restCfg := rest.CopyConfig(stack.Config)
	restCfg.QPS, restCfg.Burst = 1000, 2000
	cl, err := client.New(restCfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("a client for the API server: %w", err)
	}
	for _, o := range providerConfigs(sims.URLs, cfg.syncInterval, cfg.rate, cfg.burst) {
		if err := cl.Create(ctx, o); err != nil {
			return nil, fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	metricsAddr, err := devstack.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--metrics-bind-address=" + metricsAddr, "--metrics-secure=false",
		"--max-concurrent-reconciles=" + strconv.Itoa(cfg.concurrency),
	}
	prof, err := newProfiler(cfg.profileDir, n, stack.Config)
	if err != nil {
		return nil, err
	}
	if prof != nil {
		args = append(args, "--pprof-bind-address="+prof.addr)
	}
	mgr, err := stack.StartManager(ctx, devstack.ManagerOptions{
		Binary: bins.Manager, ExtraArgs: args, Env: cfg.managerEnv,
	})
	if err != nil {
		return nil, err
	}
	// Cold start is the Collaborators' alone: the ProviderConfigs are
	// Ready (credentials checked) before the first one is created.
	if err := waitProviderConfigs(ctx, cl); err != nil {
		return nil, fmt.Errorf("%w; manager log:\n%s", err, mgr.Tail(20))
	}
	pr := probes{managerMetrics: "http://" + metricsAddr + "/metrics", apiServer: stack.Config, simulatorLog: sims.LogPath}
	res := &result{cfg: cfg, pop: pop, n: n}
	c0, err := pr.take(ctx)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	prof.cpu(ctx, "cold-start-cpu", time.Minute)
	half := n / 2
	if err := createAll(ctx, cl, pop.objs[:half], 8); err != nil {
		return nil, err
	}
	res.burstCreated = time.Since(start)
	if err := trickle(ctx, cl, pop.objs[half:], time.Now(), cfg.syncInterval); err != nil {
		return nil, err
	}
	res.allCreated = time.Since(start)
	// A list of 10,000 objects costs the API server, which the manager
	// needs, real CPU: until the simulators have seen every create, no
	// object can be missing only its last status write, so the cheap
	// count of their log gates the first list.
	if err := waitCreates(ctx, mgr, sims.LogPath, pop.creates(), start.Add(3*res.timeBound()+2*time.Minute)); err != nil {
		return res, err
	}
	r, err := waitReady(ctx, cl, mgr, n, start.Add(3*res.timeBound()+2*time.Minute))
	if err != nil {
		return res, err
	}
	res.readySeen = time.Since(start)
	// The last Ready transition, to the second, is when the cold start
	// ended, however late the poll noticed it.
	res.allReady = max(r.lastReady.Sub(start.Truncate(time.Second)), 0)
	c1, err := pr.take(ctx)
	if err != nil {
		return res, err
	}
	res.cold = between(c0, c1)
	prof.heap(ctx, "cold-start-heap")
	if res.coldPeakKiB, _, err = memory(mgr.PID()); err != nil {
		return res, err
	}
	// Not being allowed to reset the peak (no root) leaves it whole-run.
	res.peakReset = resetPeak(mgr.PID()) == nil
	if res.events, err = eventReasons(ctx, cl); err != nil {
		return res, err
	}

	// Steady state: measurement windows of one sync interval each. The
	// first, right after the cold start, is shown but not judged.
	prev := c1
	for i := range 1 + cfg.intervals {
		if err := waitUntil(ctx, mgr, c1.at.Add(time.Duration(i+1)*cfg.syncInterval)); err != nil {
			return res, err
		}
		c, err := pr.take(ctx)
		if err != nil {
			return res, err
		}
		res.windows = append(res.windows, between(prev, c))
		res.end = c
		prev = c
	}
	prof.heap(ctx, "steady-heap")
	if res.peakKiB, res.rssKiB, err = memory(mgr.PID()); err != nil {
		return res, err
	}
	if res.anonKiB, res.fileKiB, err = residentSplit(mgr.PID()); err != nil {
		return res, err
	}
	if res.final, err = pollReady(ctx, cl); err != nil {
		return res, err
	}
	return res, nil
}

// waitProviderConfigs polls until the three ProviderConfigs are Ready.
func waitProviderConfigs(ctx context.Context, cl client.Client) error {
	deadline := time.Now().Add(time.Minute)
	for {
		list := &collabv1alpha1.ProviderConfigList{}
		if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("listing ProviderConfigs: %w", err)
		}
		ready := 0
		for i := range list.Items {
			if meta.IsStatusConditionTrue(list.Items[i].Status.Conditions, collabv1alpha1.ConditionReady) {
				ready++
			}
		}
		if ready == 3 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of 3 ProviderConfigs Ready after a minute", ready)
		}
		if err := waitUntil(ctx, nil, time.Now().Add(200*time.Millisecond)); err != nil {
			return err
		}
	}
}

// waitReady polls until all n Collaborators are Ready. A poll of 10,000
// objects costs the API server and this process real CPU, which the
// manager shares, so larger runs poll less often; the figure itself comes
// from the Ready transition times, not from when a poll saw them.
func waitReady(ctx context.Context, cl client.Client, mgr *devstack.Process, n int,
	deadline time.Time) (readiness, error) {
	every := max(time.Duration(n/2000)*time.Second, time.Second)
	for {
		r, err := pollReady(ctx, cl)
		if err != nil {
			return r, err
		}
		if r.ready == n {
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("only %d of %d Collaborators Ready by the deadline; the others by reason: %v; manager log:\n%s",
				r.ready, n, r.notReady, mgr.Tail(20))
		}
		if err := waitUntil(ctx, mgr, time.Now().Add(every)); err != nil {
			return r, err
		}
	}
}

// waitCreates waits until the simulators have answered creates creates
// (each the last provider call of a new Collaborator's first pass).
func waitCreates(ctx context.Context, mgr *devstack.Process, simLog string, creates int, deadline time.Time) error {
	for {
		n, err := simulatorCreates(simLog)
		if err != nil {
			return err
		}
		if n >= creates {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the simulators answered only %d of %d creates by the deadline; manager log:\n%s",
				n, creates, mgr.Tail(20))
		}
		if err := waitUntil(ctx, mgr, time.Now().Add(time.Second)); err != nil {
			return err
		}
	}
}

// waitUntil waits for t, failing early if ctx ends or the manager exits.
func waitUntil(ctx context.Context, mgr *devstack.Process, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	var exited <-chan struct{}
	if mgr != nil {
		exited = mgr.Done()
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting: %w", ctx.Err())
	case <-exited:
		return fmt.Errorf("the manager exited (%w); its log:\n%s", mgr.ExitError(), mgr.Tail(30))
	case <-timer.C:
		return nil
	}
}
