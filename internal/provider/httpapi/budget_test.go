package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// A 429 answered to one caller pauses every client of the same credentials
// (they share one budget), and no client of other credentials.
func TestRateLimitPausesAllCallersOfACredential(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := NewSettings()
	creds := func(token string) provider.Config {
		return provider.Config{BaseURL: srv.URL, Credentials: provider.Credentials{"token": []byte(token)}, RequestsPerSecond: 100, Burst: 10}
	}
	first := NewClient("Test", s.ForCredentials(creds("a")), nil)
	sameCreds := NewClient("Test", s.ForCredentials(creds("a")), nil)
	otherCreds := NewClient("Test", s.ForCredentials(creds("b")), nil)
	send := func(c *Client, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, http.NoBody)
		_, err := c.Do("read", req)
		return err
	}

	if err := send(first, 5*time.Second); err != nil {
		t.Fatalf("the 429 itself is an answer, not an error of Do: %v", err)
	}
	if p := sameCreds.Budget.PausedFor(); p < 25*time.Second {
		t.Fatalf("the shared budget is paused for %s after Retry-After 30", p)
	}
	if err := send(sameCreds, 200*time.Millisecond); err == nil {
		t.Error("a client of the same credentials sent a request during the pause")
	}
	if n := served.Load(); n != 1 {
		t.Errorf("the provider saw %d requests during the pause, want 1", n)
	}
	if err := send(otherCreds, 5*time.Second); err != nil {
		t.Errorf("other credentials were paused too: %v", err)
	}
}

// Without a Retry-After the pause grows with each rate-limit answer in a
// row, and a success resets it.
func TestBudgetPauseBacksOff(t *testing.T) {
	b := NewBudgets().For("k", 10, 1)
	got := make([]time.Duration, 0, 3)
	for range 3 {
		b.pausedUntil = time.Time{}
		b.Pause(0)
		got = append(got, b.PausedFor().Round(time.Second))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pauses %v, want %v", got, want)
		}
	}
	b.Succeeded()
	b.pausedUntil = time.Time{}
	b.Pause(0)
	if p := b.PausedFor().Round(time.Second); p != time.Second {
		t.Errorf("pause after a success %s, want 1s", p)
	}
}

// No caller sleeps on a budget it cannot spend soon: a budget paused by a
// rate-limit answer, or one whose next request is more than MaxInlineWait
// away, answers at once with how long to wait, sends nothing and spends
// nothing; a wait within MaxInlineWait is waited.
func TestSpentBudgetAnswersAtOnce(t *testing.T) {
	tests := map[string]struct {
		prepare    func(b *Budget)
		wantPaused bool
		minWait    time.Duration
		maxWait    time.Duration
	}{
		"paused by a Retry-After of a day, capped": {
			prepare:    func(b *Budget) { b.Pause(24 * time.Hour) },
			wantPaused: true, minWait: MaxPause - time.Minute, maxWait: MaxPause,
		},
		"paused for ten minutes": {
			prepare:    func(b *Budget) { b.Pause(10 * time.Minute) },
			wantPaused: true, minWait: 9 * time.Minute, maxWait: 10 * time.Minute,
		},
		"requestsPerSecond 1 with three requests already taken": {
			prepare: func(b *Budget) {
				for range 3 {
					b.limiter.Reserve()
				}
			},
			minWait: 2 * time.Second, maxWait: 4 * time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := NewBudgets().For("k", 1, 1)
			tc.prepare(b)
			tokens := b.limiter.Tokens()
			_, _, err := b.Take(context.Background())
			var spent *SpentError
			if !errors.As(err, &spent) {
				t.Fatalf("Take = %v, want a *SpentError", err)
			}
			if spent.Paused != tc.wantPaused || spent.Wait < tc.minWait || spent.Wait > tc.maxWait {
				t.Errorf("SpentError %+v, want paused=%v and a wait in [%s, %s]", spent, tc.wantPaused, tc.minWait, tc.maxWait)
			}
			if got := b.limiter.Tokens(); got < tokens-0.01 {
				t.Errorf("a refused Take spent from the budget: %.2f tokens, had %.2f", got, tokens)
			}
		})
	}
}

// Do turns a spent budget into a rate-limit error that carries the wait,
// without sending the request.
func TestDoDoesNotSendOnASpentBudget(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := NewSettings()
	c := NewClient("Test", s.ForCredentials(provider.Config{BaseURL: srv.URL,
		Credentials: provider.Credentials{"token": []byte("a")}, RequestsPerSecond: 1, Burst: 1}), nil)
	c.Budget.Pause(10 * time.Minute)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, http.NoBody)
	_, err := c.Do("read", req)
	if provider.ClassOf(err) != provider.ClassRateLimited || provider.RetryAfterOf(err) < 9*time.Minute {
		t.Errorf("Do = %v (class %s, Retry-After %s), want RateLimited with the pause's wait",
			err, provider.ClassOf(err), provider.RetryAfterOf(err))
	}
	if n := served.Load(); n != 0 {
		t.Errorf("%d requests sent during the pause, want 0", n)
	}
}

// One set of credentials holds at most its slots of requests awaiting
// answers: the next call waits at most MaxInlineWait for one and is then
// turned away (Busy), and a released slot serves the next call.
func TestBudgetSlotsBoundRequestsInFlight(t *testing.T) {
	bs := NewBudgets()
	bs.maxInFlight = 2
	b := bs.For("k", 1000, 100)
	first, _, err := b.Take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Take(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Take(context.Background())
	var spent *SpentError
	if !errors.As(err, &spent) || !spent.Busy {
		t.Fatalf("third Take with two slots in use = %v, want a Busy *SpentError", err)
	}
	first()
	first() // releasing twice gives back one slot only
	if _, _, err := b.Take(context.Background()); err != nil {
		t.Errorf("Take after a release = %v", err)
	}
	if _, _, err := b.Take(context.Background()); err == nil {
		t.Error("a double release gave back two slots")
	}
}

// Removals due go first: while one waits for the budget, other calls are
// turned away at once, and the removal gets the next request.
func TestRemovalsGoFirst(t *testing.T) {
	b := NewBudgets().For("k", 2, 1)
	if _, _, err := b.Take(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := b.Take(provider.WithRemoval(context.Background()))
		done <- err
	}()
	// Poll until the removal is waiting for its token.
	for b.removals.Load() == 0 {
		select {
		case err := <-done:
			t.Fatalf("the removal did not wait for the spent budget: %v", err)
		default:
			runtime.Gosched()
		}
	}
	_, _, err := b.Take(context.Background())
	var spent *SpentError
	if !errors.As(err, &spent) || !spent.Busy {
		t.Errorf("a read while a removal waits = %v, want a Busy *SpentError", err)
	}
	if err := <-done; err != nil {
		t.Errorf("the removal = %v, want its request", err)
	}
}
