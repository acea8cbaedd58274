// Package readcache shares whole-list reads between the Observes of many
// Collaborators. QuantConnect and AppHarbor answer reads with the list of a
// whole project or application, so thousands of Collaborators over tens of
// projects need only tens of reads: concurrent reads of one key coalesce
// into one request, a fresh result is reused for a short TTL, and the
// answers of writes (which return or change the list) replace or drop it.
package readcache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTTL is short enough that drift made outside Kubernetes is seen on
// the next periodic sync, and long enough to absorb a burst of reconciles
// of one project's Collaborators.
const DefaultTTL = 2 * time.Second

// Cache holds lists by key. The zero value is not usable; use New.
type Cache[V any] struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]entry[V]
	// gen counts writes per key, so that a read that started before a write
	// cannot store its older answer over the write's.
	gen map[string]uint64
}

type entry[V any] struct {
	value   V
	fetched time.Time
}

// New returns a Cache whose entries live for ttl; ttl <= 0 disables reuse
// (concurrent reads still coalesce). now may be nil for time.Now.
func New[V any](ttl time.Duration, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{ttl: ttl, now: now, entries: map[string]entry[V]{}, gen: map[string]uint64{}}
}

// Get returns the fresh cached value for key, or runs fetch once for all
// concurrent callers of the same key. fetch gets a context that is not
// cancelled when one waiting caller gives up, so that one impatient caller
// cannot fail the others; it must bound its own duration (the HTTP clients
// have a timeout). Each caller still returns when its own ctx is done.
func (c *Cache[V]) Get(ctx context.Context, key string, fetch func(context.Context) (V, error)) (V, error) {
	if v, ok := c.fresh(key); ok {
		return v, nil
	}
	shared := context.WithoutCancel(ctx)
	ch := c.group.DoChan(key, func() (any, error) {
		// Another caller's fetch may have finished and stored its answer
		// between our miss above and this flight starting.
		if v, ok := c.fresh(key); ok {
			return v, nil
		}
		c.mu.Lock()
		startGen := c.gen[key]
		c.mu.Unlock()
		v, err := fetch(shared)
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if c.gen[key] == startGen && c.ttl > 0 {
			c.entries[key] = entry[V]{value: v, fetched: c.now()}
		}
		c.mu.Unlock()
		return v, nil
	})
	select {
	case res := <-ch:
		v, _ := res.Val.(V)
		return v, res.Err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Refresh is Get without reuse of a cached value: the caller needs to see
// the provider's state now (after a write was refused), yet concurrent
// refreshes still share one request.
func (c *Cache[V]) Refresh(ctx context.Context, key string, fetch func(context.Context) (V, error)) (V, error) {
	c.Invalidate(key)
	return c.Get(ctx, key, fetch)
}

// Set stores a value a write returned, which is newer than any read in
// flight.
func (c *Cache[V]) Set(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	if c.ttl > 0 {
		c.entries[key] = entry[V]{value: v, fetched: c.now()}
	}
	c.group.Forget(key)
}

// Invalidate drops key after a write whose answer does not carry the list,
// and detaches reads in flight so that the next Get asks again.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	delete(c.entries, key)
	c.group.Forget(key)
}

func (c *Cache[V]) fresh(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	if c.now().Sub(e.fetched) >= c.ttl {
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	return e.value, true
}
