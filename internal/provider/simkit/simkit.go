// Package simkit is what the provider simulators share: a request log,
// request counting and fault injection wrapped around a simulator's
// handler. It lets tests make a simulator fail the way real SaaS APIs fail
// (5xx, 429 with Retry-After, dropped connections, latency) without each
// simulator reimplementing it.
package simkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a failure the next Times requests get instead of (or, for pure
// latency, before) the simulator's normal answer.
type Fault struct {
	// Name labels the fault in RandomFaultCounts; it does not change what
	// the fault does.
	Name string
	// Times is how many requests the fault applies to; 0 means 1. Random
	// faults (SetRandomFaults) ignore it.
	Times int
	// Latency delays the answer; the request's own cancellation ends the
	// wait, so a client timeout test needs no sleep to settle.
	Latency time.Duration
	// Drop hijacks the connection and closes it without an answer.
	Drop bool
	// LoseAnswer, with Drop, runs the simulator's normal handling first and
	// only then drops the connection: the change is made but the client
	// never hears of it, as when a connection breaks on the way back.
	LoseAnswer bool
	// Status, when non-zero, is answered instead of the normal handling.
	Status int
	// Body is sent with Status; JSON is assumed.
	Body string
	// Header is added to the answer (for example Retry-After).
	Header http.Header
	// Match, when set, limits the fault to the requests it accepts; other
	// requests are served normally and do not use up Times. It lets a test
	// break one endpoint (say, make an update a silent no-op) while reads
	// keep working.
	Match func(r *http.Request) bool
}

// RequestRecord is one request as the simulator saw it, with secrets
// redacted so that a test failure printing the log leaks nothing.
type RequestRecord struct {
	// Method is the HTTP method.
	Method string
	// Path is the escaped path as received, secrets redacted.
	Path string
	// Query is the raw query, secrets redacted.
	Query string
	// Header holds Accept, Content-Type and Timestamp as sent, and the
	// Authorization scheme only.
	Header http.Header
	// Status is the answer's status, 0 for a dropped connection.
	Status int
}

// String renders the record for logs.
func (r RequestRecord) String() string {
	q := ""
	if r.Query != "" {
		q = "?" + r.Query
	}
	return fmt.Sprintf("%s %s%s -> %d", r.Method, r.Path, q, r.Status)
}

// Kit records requests and injects faults. It is safe for concurrent use.
type Kit struct {
	// Redact rewrites a path or query so that secrets are not recorded; nil
	// records them unchanged.
	Redact func(string) string
	// OnRequest, when set, sees each record as it is logged (the binary
	// prints them); it must not block.
	OnRequest func(RequestRecord)

	// latency is SetLatency's delay of every answer, in nanoseconds.
	latency atomic.Int64

	mu       sync.Mutex
	faults   []Fault
	random   *randomFaults
	counts   map[string]int
	requests []RequestRecord
	count    int
}

// randomFaults is the state of SetRandomFaults; Kit.mu guards it, the
// generator included (rand.Rand is not safe for concurrent use).
type randomFaults struct {
	rate   float64
	faults []Fault
	rng    *rand.Rand
}

// SetRandomFaults makes each request, with probability rate, get one of
// faults picked at random among those whose Match accepts it (Times is
// ignored), until StopRandomFaults. Queued faults (Inject) still come
// first. Chaos tests use it to fail a share of all traffic; each fault
// given is counted under its Name in RandomFaultCounts. The order in which
// concurrent requests draw from rng is not fixed, so a seed reproduces the
// mix of faults, not which request gets which.
func (k *Kit) SetRandomFaults(rate float64, faults []Fault, rng *rand.Rand) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.random = &randomFaults{rate: rate, faults: append([]Fault(nil), faults...), rng: rng}
}

// StopRandomFaults ends SetRandomFaults; the counts are kept.
func (k *Kit) StopRandomFaults() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.random = nil
}

// RandomFaultCounts returns how many requests got each random fault, by
// the fault's Name.
func (k *Kit) RandomFaultCounts() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.counts)
}

// SetLatency delays every answer by d from now on (0 ends it), before the
// simulator handles the request and on top of any fault's own Latency. A
// real SaaS API answers in tens of milliseconds, not microseconds like a
// loopback simulator; the scale benchmark uses it to give concurrency and
// request counts their real cost.
func (k *Kit) SetLatency(d time.Duration) { k.latency.Store(int64(max(d, 0))) }

// Latency is the delay SetLatency set.
func (k *Kit) Latency() time.Duration { return time.Duration(k.latency.Load()) }

// Inject queues a fault; queued faults apply in order, each to its Times
// requests.
func (k *Kit) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = append(k.faults, f)
}

// FailNext makes the next n requests answer status with a JSON body.
func (k *Kit) FailNext(n, status int, body string) {
	k.Inject(Fault{Times: n, Status: status, Body: body})
}

// RateLimitNext makes the next n requests answer 429 with Retry-After.
func (k *Kit) RateLimitNext(n int, retryAfter string, body string) {
	k.Inject(Fault{Times: n, Status: http.StatusTooManyRequests, Body: body,
		Header: http.Header{"Retry-After": {retryAfter}}})
}

// DropNext closes the connection of the next n requests without answer.
func (k *Kit) DropNext(n int) { k.Inject(Fault{Times: n, Drop: true}) }

// DelayNext delays the next n requests by d before normal handling.
func (k *Kit) DelayNext(n int, d time.Duration) { k.Inject(Fault{Times: n, Latency: d}) }

// ClearFaults drops every queued fault.
func (k *Kit) ClearFaults() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = nil
}

// Requests returns a copy of the request log.
func (k *Kit) Requests() []RequestRecord {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]RequestRecord(nil), k.requests...)
}

// RequestCount is the number of requests received since the last reset.
func (k *Kit) RequestCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.count
}

// CountWhere counts logged requests matching pred.
func (k *Kit) CountWhere(pred func(RequestRecord) bool) int {
	n := 0
	for _, r := range k.Requests() {
		if pred(r) {
			n++
		}
	}
	return n
}

// ResetLog clears the request log and count, keeping state and faults.
func (k *Kit) ResetLog() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = nil
	k.count = 0
}

func (k *Kit) nextFault(r *http.Request) (Fault, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range k.faults {
		f := k.faults[i]
		if f.Match != nil && !f.Match(r) {
			continue
		}
		k.faults[i].Times--
		if k.faults[i].Times <= 0 {
			k.faults = append(k.faults[:i], k.faults[i+1:]...)
		}
		return f, true
	}
	return k.randomFault(r)
}

// randomFault draws a random fault for r; the lock is held.
func (k *Kit) randomFault(r *http.Request) (Fault, bool) {
	rf := k.random
	if rf == nil || rf.rng.Float64() >= rf.rate {
		return Fault{}, false
	}
	fits := make([]Fault, 0, len(rf.faults))
	for _, f := range rf.faults {
		if f.Match == nil || f.Match(r) {
			fits = append(fits, f)
		}
	}
	if len(fits) == 0 {
		return Fault{}, false
	}
	f := fits[rf.rng.IntN(len(fits))]
	if k.counts == nil {
		k.counts = map[string]int{}
	}
	k.counts[f.Name]++
	return f, true
}

func (k *Kit) record(r *http.Request, status int) {
	redact := k.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	h := http.Header{}
	for _, name := range []string{"Accept", "Content-Type", "Timestamp"} {
		if v := r.Header.Values(name); len(v) > 0 {
			h[name] = append([]string(nil), v...)
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, _, _ := strings.Cut(auth, " ")
		h.Set("Authorization", scheme+" <redacted>")
	}
	rec := RequestRecord{
		Method: r.Method, Path: redact(r.URL.EscapedPath()), Query: redact(r.URL.RawQuery),
		Header: h, Status: status,
	}
	k.mu.Lock()
	k.requests = append(k.requests, rec)
	k.count++
	k.mu.Unlock()
	if k.OnRequest != nil {
		k.OnRequest(rec)
	}
}

// Wrap returns next with logging and fault injection in front of it.
func (k *Kit) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := k.nextFault(r)
		delay := k.Latency()
		if ok {
			delay += f.Latency
		}
		if delay > 0 {
			// Read the body first: only then does net/http watch the
			// connection and cancel r.Context() when the client gives up.
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				k.record(r, 0)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				k.record(r, 0)
				return
			}
		}
		if ok && f.Drop {
			if f.LoseAnswer {
				next.ServeHTTP(discardWriter{header: http.Header{}}, r)
			}
			k.record(r, 0)
			if hj, isHJ := w.(http.Hijacker); isHJ {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			// No hijacking (HTTP/2): abort the handler, which resets the stream.
			panic(http.ErrAbortHandler)
		}
		if ok && f.Status != 0 {
			for name, vs := range f.Header {
				for _, v := range vs {
					w.Header().Add(name, v)
				}
			}
			if f.Body != "" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
			}
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			k.record(r, f.Status)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		k.record(r, sw.status)
	})
}

// discardWriter takes an answer that is never sent (Fault.LoseAnswer).
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	if err != nil {
		return n, fmt.Errorf("writing response: %w", err)
	}
	return n, nil
}

// WriteJSON answers status with v as JSON; simulators use it for every
// answer so that the Content-Type is always right.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DeleteNested deletes m[outer][inner] and reports whether it was there;
// simulators keep their per-tenant state in such maps.
func DeleteNested[K1, K2 comparable, V any](m map[K1]map[K2]V, outer K1, inner K2) bool {
	if _, ok := m[outer][inner]; !ok {
		return false
	}
	delete(m[outer], inner)
	return true
}

// IsJSON reports whether a Content-Type or Accept value names JSON.
func IsJSON(value string) bool {
	for part := range strings.SplitSeq(value, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return true
		}
	}
	return false
}
