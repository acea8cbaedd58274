package simkit

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// served counts the requests that reached the simulator's own handler.
func served(t *testing.T, k *Kit) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(k.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})))
	t.Cleanup(srv.Close)
	return srv, &n
}

func get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// TestRandomFaults: every request fails at rate 1, none after
// StopRandomFaults, and each fault is counted under its name.
func TestRandomFaults(t *testing.T) {
	k := &Kit{}
	srv, n := served(t, k)
	//nolint:gosec // G404: a fault injector needs reproducible, not secure, randomness
	k.SetRandomFaults(1, []Fault{
		{Name: "503", Status: http.StatusServiceUnavailable},
		{Name: "429", Status: http.StatusTooManyRequests},
	}, rand.New(rand.NewPCG(1, 2)))
	for range 20 {
		code, err := get(t.Context(), srv.URL)
		if err != nil || (code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests) {
			t.Fatalf("with rate 1 got %d %v; want 503 or 429", code, err)
		}
	}
	counts := k.RandomFaultCounts()
	if counts["503"]+counts["429"] != 20 || counts["503"] == 0 || counts["429"] == 0 {
		t.Errorf("counts %v; want 20 split between 503 and 429", counts)
	}
	k.StopRandomFaults()
	if code, err := get(t.Context(), srv.URL); err != nil || code != http.StatusOK {
		t.Errorf("after StopRandomFaults got %d %v; want 200", code, err)
	}
	if n.Load() != 1 {
		t.Errorf("the handler ran %d times; want once, after the faults stopped", n.Load())
	}
}

// TestRandomFaultsMatch: a fault whose Match refuses a request is not
// drawn for it.
func TestRandomFaultsMatch(t *testing.T) {
	k := &Kit{}
	srv, _ := served(t, k)
	//nolint:gosec // G404: a fault injector needs reproducible, not secure, randomness
	k.SetRandomFaults(1, []Fault{{Name: "post-only", Status: http.StatusServiceUnavailable,
		Match: func(r *http.Request) bool { return r.Method == http.MethodPost }}}, rand.New(rand.NewPCG(1, 2)))
	if code, err := get(t.Context(), srv.URL); err != nil || code != http.StatusOK {
		t.Errorf("GET got %d %v; want 200, the only fault matches POST", code, err)
	}
	if c := k.RandomFaultCounts(); len(c) != 0 {
		t.Errorf("counts %v; want none", c)
	}
}

// TestLoseAnswer: the handler runs, so the change is made, but the client
// sees a broken connection.
func TestLoseAnswer(t *testing.T) {
	k := &Kit{}
	srv, n := served(t, k)
	k.Inject(Fault{Drop: true, LoseAnswer: true})
	if _, err := get(t.Context(), srv.URL); err == nil {
		t.Fatal("the request succeeded; want a dropped connection")
	}
	if n.Load() != 1 {
		t.Errorf("the handler ran %d times; want once", n.Load())
	}
	k.Inject(Fault{Drop: true})
	if _, err := get(t.Context(), srv.URL); err == nil {
		t.Fatal("the request succeeded; want a dropped connection")
	}
	if n.Load() != 1 {
		t.Errorf("a plain drop ran the handler (%d runs); want it untouched", n.Load())
	}
}

// TestSetLatency: every answer waits at least the set latency, and the
// request still reaches the handler (latency is not a fault).
func TestSetLatency(t *testing.T) {
	k := &Kit{}
	srv, n := served(t, k)
	const d = 30 * time.Millisecond
	k.SetLatency(d)
	for range 3 {
		start := time.Now()
		if code, err := get(t.Context(), srv.URL); err != nil || code != http.StatusOK {
			t.Fatalf("got %d %v; want 200", code, err)
		}
		if took := time.Since(start); took < d {
			t.Fatalf("answered after %s; want at least %s", took, d)
		}
	}
	if n.Load() != 3 || k.RequestCount() != 3 {
		t.Fatalf("handler saw %d, log %d requests; want 3 and 3", n.Load(), k.RequestCount())
	}
}
