package scale

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// sample is one metric series as scraped: its name, labels and value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// samples is one scrape of a Prometheus text endpoint.
type samples []sample

// scrape reads a Prometheus text endpoint with hc. Only counters matter
// here, so a hand-rolled parser of "name{labels} value" lines does, and
// keeps prometheus/common's parser out of the module's direct imports.
func scrape(ctx context.Context, hc *http.Client, url string) (samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	var out samples
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if x, ok := parseSample(sc.Text()); ok {
			out = append(out, x)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	return out, nil
}

// parseSample parses one exposition line; comments and blanks are not
// samples.
func parseSample(line string) (sample, bool) {
	if line == "" || line[0] == '#' {
		return sample{}, false
	}
	x := sample{labels: map[string]string{}}
	left := line
	if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
		x.name = line[:i]
		left = line[i+1:]
		for len(left) > 0 && left[0] != '}' {
			eq := strings.IndexByte(left, '=')
			if eq < 0 || len(left) < eq+2 || left[eq+1] != '"' {
				return sample{}, false
			}
			key := left[:eq]
			left = left[eq+2:]
			var val strings.Builder
			for len(left) > 0 && left[0] != '"' {
				if left[0] == '\\' && len(left) > 1 {
					left = left[1:]
				}
				val.WriteByte(left[0])
				left = left[1:]
			}
			if len(left) == 0 {
				return sample{}, false
			}
			x.labels[key] = val.String()
			left = strings.TrimPrefix(left[1:], ",")
		}
		left = strings.TrimPrefix(left, "}")
	} else if i >= 0 {
		x.name, left = line[:i], line[i:]
	}
	fields := strings.Fields(left)
	if len(fields) == 0 {
		return sample{}, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return sample{}, false
	}
	x.value = v
	return x, true
}

// Metric names the figures are read from. rest_client_requests_total is
// client-go's count of the manager's API-server requests, which
// controller-runtime publishes on the manager's metrics endpoint.
const (
	mProviderRequests = "collab_provider_requests_total"
	mSnapshotReads    = "collab_provider_snapshot_reads_total"
	mRESTRequests     = "rest_client_requests_total"
	mAPIServerRequest = "apiserver_request_total"
	// Go runtime memory, from the manager's Go collector.
	mHeapInuse    = "go_memstats_heap_inuse_bytes"
	mHeapIdle     = "go_memstats_heap_idle_bytes"
	mHeapReleased = "go_memstats_heap_released_bytes"
	mNextGC       = "go_memstats_next_gc_bytes"
	mSys          = "go_memstats_sys_bytes"
	// What the runtime holds besides the heap: goroutine stacks, span
	// metadata, GC metadata and the rest.
	mStackSys = "go_memstats_stack_sys_bytes"
	mMSpanSys = "go_memstats_mspan_sys_bytes"
	mGCSys    = "go_memstats_gc_sys_bytes"
	mOtherSys = "go_memstats_other_sys_bytes"
)

func isWrite(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, "APPLY":
		return true
	}
	return false
}

// checkpoint is everything counted at one moment; figures are differences
// of two checkpoints.
type checkpoint struct {
	at time.Time
	// calls are the manager's provider requests by "provider operation".
	calls map[string]float64
	// snapshotReads are reads served from a shared snapshot.
	snapshotReads float64
	// writes are the manager's API-server writes.
	writes float64
	// serverWrites are the API server's own count of writes to the
	// operator's kinds and Events, by "VERB resource[/subresource]".
	serverWrites map[string]float64
	// simulated are the simulators' request counts, by simulator.
	simulated map[string]int
	// cpu is the CPU time spent so far by this process and every process
	// it started (API server, etcd, simulators, manager), by command
	// name, in seconds: on a small machine they compete for the cores.
	cpu map[string]float64
	// goMem is the manager's Go memory figures (mHeapInuse ...), in bytes.
	goMem map[string]float64
	// timers are sums and counts of the manager's duration histograms, by
	// what they time (timerPass ...): where a pass's time goes.
	timers map[string]timer
}

// timer is a histogram's running sum (seconds) and count.
type timer struct{ sum, count float64 }

// What the timers time.
const (
	timerPass     = "Collaborator pass"
	timerProvider = "provider request"
	timerWrite    = "API-server write"
	timerBudget   = "budget wait"
)

// timerOf says which timer a sample adds to, if any.
func timerOf(x sample) (name string, isSum, ok bool) {
	base, isSum := strings.CutSuffix(x.name, "_sum")
	if !isSum {
		var isCount bool
		if base, isCount = strings.CutSuffix(x.name, "_count"); !isCount {
			return "", false, false
		}
	}
	switch {
	case base == "controller_runtime_reconcile_time_seconds" && x.labels["controller"] == "collaborator":
		return timerPass, isSum, true
	case base == "collab_provider_request_duration_seconds":
		return timerProvider, isSum, true
	case base == "rest_client_request_duration_seconds" && isWrite(x.labels["verb"]):
		return timerWrite, isSum, true
	case base == "collab_provider_budget_wait_seconds":
		return timerBudget, isSum, true
	}
	return "", false, false
}

// probes reads checkpoints.
type probes struct {
	managerMetrics string
	apiServer      *rest.Config
	simulatorLog   string
}

func (p probes) take(ctx context.Context) (checkpoint, error) {
	c := checkpoint{at: time.Now(), calls: map[string]float64{}, goMem: map[string]float64{}, timers: map[string]timer{}}
	m, err := scrape(ctx, http.DefaultClient, p.managerMetrics)
	if err != nil {
		return c, err
	}
	for _, x := range m {
		switch x.name {
		case mProviderRequests:
			c.calls[x.labels["provider"]+" "+x.labels["operation"]] += x.value
		case mSnapshotReads:
			c.snapshotReads += x.value
		case mRESTRequests:
			if isWrite(x.labels["method"]) {
				c.writes += x.value
			}
		case mHeapInuse, mHeapIdle, mHeapReleased, mNextGC, mSys, mStackSys, mMSpanSys, mGCSys, mOtherSys:
			c.goMem[x.name] = x.value
		}
		if name, isSum, ok := timerOf(x); ok {
			t := c.timers[name]
			if isSum {
				t.sum += x.value
			} else {
				t.count += x.value
			}
			c.timers[name] = t
		}
	}
	hc, err := rest.HTTPClientFor(p.apiServer)
	if err != nil {
		return c, fmt.Errorf("a client for the API server's metrics: %w", err)
	}
	a, err := scrape(ctx, hc, strings.TrimRight(p.apiServer.Host, "/")+"/metrics")
	if err != nil {
		return c, err
	}
	c.serverWrites = map[string]float64{}
	for _, x := range a {
		r := x.labels["resource"]
		if x.name != mAPIServerRequest || !isWrite(x.labels["verb"]) ||
			(r != "collaborators" && r != "providerconfigs" && r != "events" && r != "secrets") {
			continue
		}
		if s := x.labels["subresource"]; s != "" {
			r += "/" + s
		}
		c.serverWrites[x.labels["verb"]+" "+r] += x.value
	}
	if c.simulated, err = simulatorRequests(p.simulatorLog); err != nil {
		return c, err
	}
	if c.cpu, err = processTreeCPU(os.Getpid()); err != nil {
		return c, err
	}
	return c, nil
}

// simulatorRequests counts the request lines the simulator binary logs
// with --log-requests ("quantconnect POST /api/v2/... -> 200").
func simulatorRequests(logPath string) (map[string]int, error) {
	f, err := os.Open(logPath) //nolint:gosec // G304: the stack's own log file
	if err != nil {
		return nil, fmt.Errorf("reading the simulator log: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, line, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.Contains(line, " -> ") {
			out[name]++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the simulator log: %w", err)
	}
	return out, nil
}

// simulatorCreates counts the creates the simulators answered with
// success (2xx), from the same log.
func simulatorCreates(logPath string) (int, error) {
	data, err := os.ReadFile(logPath) //nolint:gosec // G304: the stack's own log file
	if err != nil {
		return 0, fmt.Errorf("reading the simulator log: %w", err)
	}
	n := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		// QuantConnect's .../collaboration/create, AppHarbor's POST
		// .../collaborators; both answer 2xx on success.
		if strings.Contains(line, " -> 20") &&
			(strings.Contains(line, "/collaboration/create") || strings.HasPrefix(line, "appharbor POST ")) {
			n++
		}
	}
	return n, nil
}

// delta is what happened between two checkpoints.
type delta struct {
	d             time.Duration
	calls         map[string]float64
	totalCalls    float64
	snapshotReads float64
	writes        float64
	serverWrites  map[string]float64
	simulated     int
	cpu           map[string]float64
	timers        map[string]timer
}

func between(a, b checkpoint) delta {
	d := delta{d: b.at.Sub(a.at), calls: map[string]float64{}, serverWrites: map[string]float64{},
		snapshotReads: b.snapshotReads - a.snapshotReads, writes: b.writes - a.writes}
	for k, v := range b.calls {
		if n := v - a.calls[k]; n != 0 {
			d.calls[k] = n
			d.totalCalls += n
		}
	}
	for k, v := range b.serverWrites {
		if n := v - a.serverWrites[k]; n != 0 {
			d.serverWrites[k] = n
		}
	}
	for k, v := range b.simulated {
		d.simulated += v - a.simulated[k]
	}
	d.timers = map[string]timer{}
	for k, v := range b.timers {
		d.timers[k] = timer{sum: v.sum - a.timers[k].sum, count: v.count - a.timers[k].count}
	}
	d.cpu = map[string]float64{}
	for k, v := range b.cpu {
		if n := v - a.cpu[k]; n > 0 {
			d.cpu[k] = n
		}
	}
	return d
}

// render lists counts as "k=v, k=v" in key order.
func render(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
