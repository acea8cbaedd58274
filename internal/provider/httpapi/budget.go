package httpapi

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Budgets holds one request budget per set of credentials (and base URL),
// shared by every client a factory builds with them: a ProviderConfig's
// rateLimit bounds all calls made with its credentials, whichever
// Collaborator makes them.
type Budgets struct {
	mu sync.Mutex
	by map[string]*Budget
	// maxInFlight bounds the requests of one budget that may await their
	// answers at once (see Budget.Take); 0 means no bound.
	maxInFlight int
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
		if b.maxInFlight > 0 {
			bg.slots = make(chan struct{}, b.maxInFlight)
		}
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

	// slots holds one token per request awaiting its answer: a slow or
	// hanging provider of one tenant can hold that many workers, never
	// all of them. Nil is no bound.
	slots chan struct{}
	// removals counts removals waiting to spend from this budget; other
	// calls yield to them.
	removals atomic.Int32

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

// MaxInlineWait is the longest a request waits for its budget inside the
// caller. A longer wait is not slept in a reconcile worker: Take returns
// a *SpentError and the caller comes back later, so that one tenant's
// spent budget or paused provider never parks the workers every other
// tenant needs.
const MaxInlineWait = time.Second

// MaxPause caps how long a rate-limit answer pauses a budget: a provider
// (or a proxy in front of it) asking for hours must not stop revocations
// for hours.
const MaxPause = 15 * time.Minute

// busyRetry is when a call turned away for a full set of slots, or to
// let removals go first, comes back.
const busyRetry = time.Second

// SpentError says the budget allows no request for Wait.
type SpentError struct {
	// Wait is how long until the budget allows one.
	Wait time.Duration
	// Paused says the wait comes from the provider's rate-limit answer,
	// not from these credentials' own requestsPerSecond.
	Paused bool
	// Busy says every slot of these credentials awaits an answer, or
	// removals wait for this budget and go first.
	Busy bool
}

// Error implements error.
func (e *SpentError) Error() string {
	if e.Busy {
		return "every request slot of these credentials awaits the provider's answer, or removals due go first: " +
			"no request is sent now"
	}
	if e.Paused {
		return fmt.Sprintf("the provider asked these credentials to wait (rate limit): no request is sent for %s",
			e.Wait.Round(time.Second))
	}
	return fmt.Sprintf("the request budget of these credentials (rateLimit) allows the next request in %s",
		e.Wait.Round(10*time.Millisecond))
}

// Take takes one of the budget's slots and spends one request from it,
// waiting at most MaxInlineWait for each (or until ctx ends). The returned
// release gives the slot back; call it once the answer is read. A longer
// wait, slots that stay full, or removals waiting while ctx is not one
// (provider.WithRemoval) is a *SpentError, and nothing is spent.
func (b *Budget) Take(ctx context.Context) (release func(), waited time.Duration, err error) {
	start := time.Now()
	removal := provider.IsRemoval(ctx)
	if removal {
		b.removals.Add(1)
		defer b.removals.Add(-1)
	} else if b.removals.Load() > 0 {
		return nil, 0, &SpentError{Wait: busyRetry, Busy: true}
	}
	b.mu.Lock()
	until := b.pausedUntil
	b.mu.Unlock()
	if d := time.Until(until); d > 0 {
		return nil, 0, &SpentError{Wait: d, Paused: true}
	}
	release = func() {}
	if b.slots != nil {
		// A slot frees as soon as an answer arrives: a bulk onboarding
		// waits here a moment, a hanging provider turns callers away.
		t := time.NewTimer(MaxInlineWait)
		select {
		case b.slots <- struct{}{}:
			t.Stop()
			var once sync.Once
			release = func() { once.Do(func() { <-b.slots }) }
		case <-t.C:
			return nil, time.Since(start), &SpentError{Wait: busyRetry, Busy: true}
		case <-ctx.Done():
			t.Stop()
			return nil, time.Since(start), fmt.Errorf("waiting for a request slot: %w", ctx.Err())
		}
	}
	r := b.limiter.Reserve()
	d := r.Delay()
	if d > MaxInlineWait {
		r.Cancel()
		release()
		return nil, 0, &SpentError{Wait: d}
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			r.Cancel()
			release()
			return nil, time.Since(start), fmt.Errorf("waiting for the request budget: %w", ctx.Err())
		}
	}
	return release, time.Since(start), nil
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
	wait = min(wait, MaxPause)
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
