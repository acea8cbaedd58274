package scale

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// Targets of issue 10.
const (
	timeFactor   = 1.2  // cold start: time ≤ 1.2 × its bound
	callsFactor  = 1.05 // cold start: provider calls ≤ 1.05 × the minimum
	steadyFactor = 1.1  // steady state: calls per interval ≤ 1.1 × keys
	peakRSSMiB   = 100  // manager peak RSS at 10,000 Collaborators
	rssTargetAt  = 10000
)

// result is one run's measurements.
type result struct {
	cfg config
	pop *population
	n   int
	// burstCreated and allCreated are when the first half, and the last
	// object, had been created, from the first create.
	burstCreated, allCreated time.Duration
	// allReady is when the last Collaborator turned Ready (to the
	// second); readySeen when a poll saw all Ready.
	allReady, readySeen time.Duration
	cold                delta
	// events are the Events at the end of the cold start, by reason.
	events map[string]float64
	// windows are the steady-state intervals; the first is not judged.
	windows []delta
	// coldPeakKiB is the manager's VmHWM at the end of the cold start;
	// peakKiB at the end, which is the steady state's own peak if
	// peakReset, else the whole run's; rssKiB its RSS then.
	coldPeakKiB, peakKiB, rssKiB int
	// anonKiB and fileKiB split rssKiB: anonymous memory, and mapped files
	// (the binary's code and data).
	anonKiB, fileKiB int
	// end is the last checkpoint, for the manager's Go memory figures.
	end       checkpoint
	peakReset bool
	final     readiness
}

// minCalls is the physical minimum of provider calls for the cold start:
// one create per new collaborator and one list per key.
func (r *result) minCalls() int { return r.pop.creates() + r.pop.keys() }

// timeBound is how fast the cold start can be. Calls take the latency
// each and at most --max-concurrent-reconciles run at once; each
// credential's calls go through its own budget; and nothing can be Ready
// before it exists: the last trickled object was created at allCreated
// and needs one create after that. Before the creation ends, allCreated
// is the planned trickle end.
func (r *result) timeBound() time.Duration {
	calls := time.Duration(r.minCalls()) * r.cfg.latency / time.Duration(r.cfg.concurrency)
	perSecond := float64(r.cfg.rate)
	budget := time.Duration(float64(max(r.pop.qc+r.pop.qcKeys, r.pop.ah+r.pop.ahKey)) / perSecond * float64(time.Second))
	arrival := r.allCreated
	if arrival == 0 {
		arrival = r.cfg.syncInterval
	}
	return max(calls, budget, arrival+r.cfg.latency)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// judged are the steady-state windows that count: all but the first.
func (r *result) judged() []delta {
	if len(r.windows) < 2 {
		return nil
	}
	return r.windows[1:]
}

func (r *result) steady() (maxCalls, meanCalls, writes float64) {
	j := r.judged()
	for _, w := range j {
		maxCalls = max(maxCalls, w.totalCalls)
		meanCalls += w.totalCalls / float64(len(j))
		writes += w.writes
	}
	return maxCalls, meanCalls, writes
}

// print writes the figures next to their targets as a table.
func (r *result) print(out io.Writer) {
	c, p := r.cfg, r.pop
	_, _ = fmt.Fprintf(out, "\n=== scale benchmark: %d Collaborators: %d QuantConnect over %d projects, "+
		"%d AppHarbor over %d applications, %d WebTranslateIt; %d keys\n",
		r.n, p.qc, p.qcKeys, p.ah, p.ahKey, p.wti, p.keys())
	_, _ = fmt.Fprintf(out, "    simulator latency %s, --max-concurrent-reconciles %d, syncInterval %s, "+
		"rateLimit %d/s burst %d per credentials; %d at once (created in %.1f s), %d over %s (last created at %.1f s)\n",
		c.latency, c.concurrency, c.syncInterval, c.rate, c.burst, r.n/2, r.burstCreated.Seconds(),
		r.n-r.n/2, c.syncInterval, r.allCreated.Seconds())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { _, _ = fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	// Breakdowns are long: they go under the table, not in it.
	var details []string
	detail := func(format string, args ...any) { details = append(details, fmt.Sprintf(format, args...)) }
	row("figure", "measured", "target", "result")
	row("------", "--------", "------", "------")

	bound := r.timeBound()
	if r.allReady > 0 {
		limit := time.Duration(timeFactor * float64(bound))
		row("cold start: all Ready",
			fmt.Sprintf("%.1f s (a poll saw it at %.1f s)", r.allReady.Seconds(), r.readySeen.Seconds()),
			fmt.Sprintf("≤ %.1f s = %.1f × %.1f s bound", limit.Seconds(), timeFactor, bound.Seconds()),
			verdict(r.allReady <= limit))
		minimum := float64(r.minCalls())
		row("cold start: provider calls",
			fmt.Sprintf("%.0f = %.3f × minimum", r.cold.totalCalls, r.cold.totalCalls/minimum),
			fmt.Sprintf("≤ %.0f = %.2f × %.0f (%d creates + %d lists)",
				callsFactor*minimum, callsFactor, minimum, p.creates(), p.keys()),
			verdict(r.cold.totalCalls <= callsFactor*minimum))
		detail("cold start: provider calls by operation: %s", render(r.cold.calls))
		// Scrapes and the simulator log are read one after the other, so a
		// request in flight can make them differ by one or two.
		detail("cold start: the simulators received %d requests (the manager counted %.0f); "+
			"%.0f reads were served from snapshots", r.cold.simulated, r.cold.totalCalls, r.cold.snapshotReads)
		row("API-server writes / created Collaborator",
			fmt.Sprintf("%.2f (%.0f writes)", r.cold.writes/float64(r.n), r.cold.writes), "(report; ≈3 minimum)", "")
		server := r.cold.serverWrites
		// The benchmark's own creates are not the manager's.
		server["POST collaborators"] -= float64(r.n)
		if server["POST collaborators"] == 0 {
			delete(server, "POST collaborators")
		}
		detail("cold start: the manager's writes as the API server counted them: %s", render(server))
		detail("cold start: Events by reason: %s", render(r.events))
		detail("cold start: CPU seconds by process over %.0f s (%d cores): %s",
			r.cold.d.Seconds(), runtime.NumCPU(), renderSeconds(r.cold.cpu))
		detail("cold start: mean durations: %s", renderTimers(r.cold.timers))
	}
	for i, w := range r.windows {
		name := fmt.Sprintf("steady interval %d", i+1)
		if i == 0 {
			name += " (settling, not judged)"
		}
		detail("%s: %.0f provider calls (simulators %d), %.0f API-server writes, %.0f snapshot reads; %s; writes: %s",
			name, w.totalCalls, w.simulated, w.writes, w.snapshotReads, render(w.calls), render(w.serverWrites))
	}
	if len(r.judged()) > 0 {
		maxCalls, mean, writes := r.steady()
		keys := float64(p.keys())
		row("steady state: provider calls / interval",
			fmt.Sprintf("max %.0f, mean %.1f over %d intervals", maxCalls, mean, len(r.judged())),
			fmt.Sprintf("≤ %.0f = %.1f × %d keys", steadyFactor*keys, steadyFactor, p.keys()),
			verdict(maxCalls <= steadyFactor*keys))
		row("steady state: API-server writes", fmt.Sprintf("%.0f", writes), "0", verdict(writes == 0))
	}
	if r.peakKiB > 0 {
		target, result := fmt.Sprintf("≤ %d MiB at %d", peakRSSMiB, rssTargetAt), "(report)"
		peak := max(r.coldPeakKiB, r.peakKiB)
		if r.n >= rssTargetAt {
			result = verdict(peak <= peakRSSMiB*1024)
		}
		row("manager peak RSS (VmHWM)", fmt.Sprintf("%.1f MiB", float64(peak)/1024), target, result)
		steady := "the whole run's (the peak could not be reset)"
		if r.peakReset {
			steady = fmt.Sprintf("%.1f MiB", float64(r.peakKiB)/1024)
		}
		detail("manager RSS: peak %.1f MiB during the cold start; steady-state peak %s; %.1f MiB at the end "+
			"(%.1f MiB anonymous, %.1f MiB mapped files: the binary)",
			float64(r.coldPeakKiB)/1024, steady, float64(r.rssKiB)/1024, float64(r.anonKiB)/1024, float64(r.fileKiB)/1024)
		if m := r.end.goMem; len(m) > 0 {
			mib := func(name string) float64 { return m[name] / (1 << 20) }
			detail("manager Go memory at the end: heap in use %.1f MiB, next GC at %.1f MiB of heap, "+
				"idle heap kept from the OS %.1f MiB, obtained from the OS in all %.1f MiB",
				mib(mHeapInuse), mib(mNextGC), mib(mHeapIdle)-mib(mHeapReleased), mib(mSys))
			detail("manager Go memory besides the heap: goroutine stacks %.1f MiB, span metadata %.1f MiB, "+
				"GC metadata %.1f MiB, other %.1f MiB",
				mib(mStackSys), mib(mMSpanSys), mib(mGCSys), mib(mOtherSys))
		}
		row("all still Ready at the end", fmt.Sprintf("%d of %d", r.final.ready, r.n), fmt.Sprintf("%d", r.n),
			verdict(r.final.ready == r.n))
	}
	_ = tw.Flush()
	for _, d := range details {
		_, _ = fmt.Fprintln(out, "  "+d)
	}
}

// reportMetrics adds the headline figures to go test's benchmark line, for
// benchstat.
func (r *result) reportMetrics(b *testing.B) {
	if r.allReady > 0 {
		b.ReportMetric(r.allReady.Seconds(), "s-to-all-ready")
		b.ReportMetric(r.cold.totalCalls/float64(r.minCalls()), "calls/minimum")
		b.ReportMetric(r.cold.writes/float64(r.n), "writes/collaborator")
	}
	if len(r.judged()) > 0 {
		maxCalls, _, _ := r.steady()
		b.ReportMetric(maxCalls/float64(r.pop.keys()), "steady-calls/key")
	}
	if r.peakKiB > 0 {
		b.ReportMetric(float64(max(r.coldPeakKiB, r.peakKiB))/1024, "peak-RSS-MiB")
	}
}

// renderSeconds lists durations in seconds as "k=v, k=v", largest first.
func renderSeconds(m map[string]float64) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.1f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// renderTimers lists each timer's mean and count.
func renderTimers(m map[string]timer) string {
	parts := make([]string, 0, len(m))
	for _, k := range []string{timerPass, timerProvider, timerWrite, timerBudget} {
		if t, ok := m[k]; ok && t.count > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f ms (%.0f)", k, 1000*t.sum/t.count, t.count))
		}
	}
	return strings.Join(parts, ", ")
}
