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

	if v, _ := c.Get(ctx, "k", fetch); v != 1 {
		t.Fatalf("first get %d", v)
	}
	if v, _ := c.Get(ctx, "k", fetch); v != 1 {
		t.Fatalf("fresh value not reused: %d", v)
	}
	advance(time.Second)
	if v, _ := c.Get(ctx, "k", fetch); v != 2 {
		t.Fatalf("stale value reused: %d", v)
	}
	c.Set("k", 42)
	if v, _ := c.Get(ctx, "k", fetch); v != 42 {
		t.Fatalf("written value not served: %d", v)
	}
	c.Invalidate("k")
	if v, _ := c.Get(ctx, "k", fetch); v != 3 {
		t.Fatalf("invalidated value served: %d", v)
	}
	if v, _ := c.Refresh(ctx, "k", fetch); v != 4 {
		t.Fatalf("refresh reused: %d", v)
	}
}

func TestReadInFlightDuringWriteIsNotStored(t *testing.T) {
	c := New[int](time.Hour, nil)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.Get(context.Background(), "k", func(context.Context) (int, error) {
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
	if v, _ := c.Get(context.Background(), "k", func(context.Context) (int, error) { return 3, nil }); v != 2 {
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
	go func() { _, err := c.Get(ctx1, "k", fetch); errs <- err }()
	<-started
	vals := make(chan int, 1)
	go func() { v, _ := c.Get(context.Background(), "k", fetch); vals <- v }()
	cancel1()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter got %v", err)
	}
	close(release)
	if v := <-vals; v != 7 {
		t.Fatalf("other waiter got %d", v)
	}
}
