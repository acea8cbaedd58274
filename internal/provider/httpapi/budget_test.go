package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
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
