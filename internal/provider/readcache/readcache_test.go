package readcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTTLAndWrites(t *testing.T) {
	now := time.Unix(0, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := New[int](time.Second, clock)
	var calls atomic.Int32
	fetch := func(context.Context) (int, error) { return int(calls.Add(1)), nil }
	ctx := context.Background()

	if v, _, _ := c.Get(ctx, "k", 0, fetch); v != 1 {
		t.Fatalf("first get %d", v)
	}
	if v, _, _ := c.Get(ctx, "k", 0, fetch); v != 1 {
		t.Fatalf("fresh value not reused: %d", v)
	}
	advance(time.Second)
	if v, _, _ := c.Get(ctx, "k", 0, fetch); v != 2 {
		t.Fatalf("stale value reused: %d", v)
	}
	c.Set("k", 42)
	if v, _, _ := c.Get(ctx, "k", 0, fetch); v != 42 {
		t.Fatalf("written value not served: %d", v)
	}
	c.Invalidate("k")
	if v, _, _ := c.Get(ctx, "k", 0, fetch); v != 3 {
		t.Fatalf("invalidated value served: %d", v)
	}
	if v, _, _ := c.Refresh(ctx, "k", 0, fetch); v != 4 {
		t.Fatalf("refresh reused: %d", v)
	}
}

func TestReadInFlightDuringWriteIsNotStored(t *testing.T) {
	c := New[int](time.Hour, nil)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		v, _, _ := c.Get(context.Background(), "k", 0, func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil // older than the write below
		})
		done <- v
	}()
	<-started
	c.Set("k", 2)
	close(release)
	<-done
	if v, _, _ := c.Get(context.Background(), "k", 0, func(context.Context) (int, error) { return 3, nil }); v != 2 {
		t.Fatalf("got %d, want the write's 2", v)
	}
}

func TestWaiterCancellationDoesNotFailOthers(t *testing.T) {
	c := New[int](0, nil)
	release := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	fetch := func(ctx context.Context) (int, error) {
		once.Do(func() { close(started) })
		select {
		case <-release:
			return 7, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() { _, _, err := c.Get(ctx1, "k", 0, fetch); errs <- err }()
	<-started
	vals := make(chan int, 1)
	go func() { v, _, _ := c.Get(context.Background(), "k", 0, fetch); vals <- v }()
	cancel1()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter got %v", err)
	}
	close(release)
	if v := <-vals; v != 7 {
		t.Fatalf("other waiter got %d", v)
	}
}

// A caller's maximum age decides reuse, the answer says when it was
// fetched, and snapshots nobody asks for any more are swept.
func TestMaxAgeAndSweep(t *testing.T) {
	now := time.Unix(0, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := New[int](time.Second, clock)
	var calls atomic.Int32
	fetch := func(context.Context) (int, error) { return int(calls.Add(1)), nil }
	ctx := context.Background()

	_, at, _ := c.Get(ctx, "k", 10*time.Minute, fetch)
	advance(9 * time.Minute)
	if v, at2, _ := c.Get(ctx, "k", 10*time.Minute, fetch); v != 1 || !at2.Equal(at) {
		t.Fatalf("a 9-minute-old snapshot was not reused for a 10-minute interval: %d at %v", v, at2)
	}
	advance(time.Minute)
	if v, _, _ := c.Get(ctx, "k", 10*time.Minute, fetch); v != 2 {
		t.Fatalf("a 10-minute-old snapshot was reused: %d", v)
	}
	hits := 0
	c.OnHit = func() { hits++ }
	_, _, _ = c.Get(ctx, "k", 10*time.Minute, fetch)
	if hits != 1 {
		t.Errorf("OnHit called %d times, want 1", hits)
	}
	// Unused for more than twice its interval, it goes at the next sweep.
	advance(21 * time.Minute)
	_, _, _ = c.Get(ctx, "other", 10*time.Minute, fetch)
	if n := c.Len(); n != 1 {
		t.Errorf("%d snapshots held after the sweep, want 1 (only the one just read)", n)
	}
}

// Writes of one key run one at a time, so their answers are stored in the
// order the provider made them.
func TestWritesOfOneKeyAreSerialized(t *testing.T) {
	c := New[int](time.Minute, nil)
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Write("k", func() error {
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				c.Set("k", i)
				inside.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d writes of one key ran at once", most.Load())
	}
}
