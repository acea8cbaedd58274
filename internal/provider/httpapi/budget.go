package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Budgets holds one request budget per set of credentials (and base URL),
// shared by every client a factory builds with them: a ProviderConfig's
// rateLimit bounds all calls made with its credentials, whichever
// Collaborator makes them.
type Budgets struct {
	mu sync.Mutex
	by map[string]*Budget
}

// NewBudgets returns an empty set of budgets.
func NewBudgets() *Budgets { return &Budgets{by: map[string]*Budget{}} }

// For returns the budget of key, created or retuned to rps and burst.
// rps <= 0 returns nil: no budget.
func (b *Budgets) For(key string, rps, burst int) *Budget {
	if rps <= 0 {
		return nil
	}
	burst = max(burst, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	bg, ok := b.by[key]
	if !ok {
		bg = &Budget{limiter: rate.NewLimiter(rate.Limit(rps), burst)}
		b.by[key] = bg
		return bg
	}
	if bg.limiter.Limit() != rate.Limit(rps) {
		bg.limiter.SetLimit(rate.Limit(rps))
	}
	if bg.limiter.Burst() != burst {
		bg.limiter.SetBurst(burst)
	}
	return bg
}

// Budget is a token bucket that a rate-limit answer can pause as a whole.
type Budget struct {
	limiter *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
	// strikes counts rate-limit answers without a wait in a row, for the
	// exponential pause.
	strikes int
}

// Budget pause bounds when the provider names no wait.
const (
	minPause = time.Second
	maxPause = time.Minute
)

// Wait blocks until the budget allows one request, or ctx ends. It returns
// how long it waited.
func (b *Budget) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	b.mu.Lock()
	until := b.pausedUntil
	b.mu.Unlock()
	if d := time.Until(until); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return time.Since(start), fmt.Errorf("waiting for the request budget: %w", ctx.Err())
		}
	}
	if err := b.limiter.Wait(ctx); err != nil {
		return time.Since(start), fmt.Errorf("waiting for the request budget: %w", err)
	}
	return time.Since(start), nil
}

// Pause stops every caller of the budget for wait, or, when the provider
// named none (wait <= 0), for an exponential backoff that grows with each
// rate-limit answer in a row (1s, 2s, 4s, … up to a minute).
func (b *Budget) Pause(wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if wait <= 0 {
		wait = min(minPause<<min(b.strikes, 6), maxPause)
		b.strikes++
	}
	if until := time.Now().Add(wait); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// Succeeded ends a run of rate-limit answers.
func (b *Budget) Succeeded() {
	b.mu.Lock()
	b.strikes = 0
	b.mu.Unlock()
}

// PausedFor is how much longer the budget is paused, for tests and
// messages.
func (b *Budget) PausedFor() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(time.Until(b.pausedUntil), 0)
}
