// Package readcache holds the shared snapshots of whole-list reads.
// QuantConnect and AppHarbor answer reads with the list of a whole project
// or application, so one read per (credentials, project) per sync interval
// can serve every Collaborator of that project, whenever each was created:
// a snapshot is reused until it is as old as the caller's sync interval,
// concurrent reads of one key coalesce into one request, and the answers
// of writes (which return or change the list) update the snapshot, so a
// write never needs a read-back.
package readcache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTTL is the age at which a snapshot is read again when the caller
// names no maximum age. Callers normally pass their sync interval.
const DefaultTTL = 2 * time.Second

// sweepEvery is how often snapshots nobody has asked for in a while are
// dropped, so that keys no Collaborator uses any more do not pile up.
const sweepEvery = time.Minute

// Cache holds snapshots by key. The zero value is not usable; use New.
type Cache[V any] struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group
	// OnHit, when set, is called for every Get served from a snapshot,
	// for the metric of reads the snapshot saved.
	OnHit func()

	mu      sync.Mutex
	entries map[string]*entry[V]
	// gen counts writes per key, so that a read that started before a write
	// cannot store its older answer over the write's.
	gen       map[string]uint64
	writers   map[string]*sync.Mutex
	lastSweep time.Time
}

type entry[V any] struct {
	value   V
	fetched time.Time
	// used is when the snapshot was last asked for, and maxAge the age
	// its last caller accepted: a snapshot unused for twice that is dropped.
	used   time.Time
	maxAge time.Duration
}

// New returns a Cache whose snapshots live for ttl unless a caller names
// another maximum age; ttl <= 0 disables reuse (concurrent reads still
// coalesce). now may be nil for time.Now.
func New[V any](ttl time.Duration, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{ttl: ttl, now: now, entries: map[string]*entry[V]{}, gen: map[string]uint64{},
		writers: map[string]*sync.Mutex{}, lastSweep: now()}
}

// Get returns the snapshot for key if it is younger than maxAge (0 means
// the Cache's ttl), or runs fetch once for all concurrent callers of the
// same key. It also returns when the answer was fetched, so that callers
// can come back when it expires and share the next read too. fetch gets a
// context that is not cancelled when one waiting caller gives up, so that
// one impatient caller cannot fail the others; it must bound its own
// duration (the HTTP clients have a timeout). Each caller still returns
// when its own ctx is done.
func (c *Cache[V]) Get(ctx context.Context, key string, maxAge time.Duration, fetch func(context.Context) (V, error)) (V, time.Time, error) {
	if maxAge <= 0 {
		maxAge = c.ttl
	}
	if v, at, ok := c.fresh(key, maxAge); ok {
		if c.OnHit != nil {
			c.OnHit()
		}
		return v, at, nil
	}
	shared := context.WithoutCancel(ctx)
	ch := c.group.DoChan(key, func() (any, error) {
		// Another caller's fetch may have finished and stored its answer
		// between our miss above and this flight starting.
		if v, at, ok := c.fresh(key, maxAge); ok {
			return snapshot[V]{v, at}, nil
		}
		c.mu.Lock()
		startGen := c.gen[key]
		c.mu.Unlock()
		v, err := fetch(shared)
		if err != nil {
			return snapshot[V]{}, err
		}
		at := c.now()
		c.mu.Lock()
		if c.gen[key] == startGen && maxAge > 0 {
			c.entries[key] = &entry[V]{value: v, fetched: at, used: at, maxAge: maxAge}
		}
		c.mu.Unlock()
		return snapshot[V]{v, at}, nil
	})
	select {
	case res := <-ch:
		s, _ := res.Val.(snapshot[V])
		return s.value, s.at, res.Err
	case <-ctx.Done():
		var zero V
		return zero, time.Time{}, ctx.Err()
	}
}

type snapshot[V any] struct {
	value V
	at    time.Time
}

// Refresh is Get without reuse of a snapshot: the caller needs to see the
// provider's state now (after a write was refused, or when a person asked
// for a fresh read), yet concurrent refreshes still share one request.
func (c *Cache[V]) Refresh(ctx context.Context, key string, maxAge time.Duration, fetch func(context.Context) (V, error)) (V, time.Time, error) {
	c.Invalidate(key)
	return c.Get(ctx, key, maxAge, fetch)
}

// Read is Get, or Refresh when fresh is set: the one call every shared
// read makes, fresh when a person asked for a read past the snapshot.
func (c *Cache[V]) Read(ctx context.Context, key string, maxAge time.Duration, fresh bool, fetch func(context.Context) (V, error)) (V, time.Time, error) {
	if fresh {
		return c.Refresh(ctx, key, maxAge, fetch)
	}
	return c.Get(ctx, key, maxAge, fetch)
}

// Write runs one write for key at a time. Writes of one project or
// application are serialized so that their answers, each the list as the
// provider had it after that write, are stored in the order the provider
// made them: a slower, older answer never replaces a newer one.
func (c *Cache[V]) Write(key string, write func() error) error {
	c.mu.Lock()
	w, ok := c.writers[key]
	if !ok {
		w = &sync.Mutex{}
		c.writers[key] = w
	}
	c.mu.Unlock()
	w.Lock()
	defer w.Unlock()
	return write()
}

// Set stores a list a write returned, which is newer than any read in
// flight.
func (c *Cache[V]) Set(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	now := c.now()
	e := c.entries[key]
	if e == nil {
		e = &entry[V]{maxAge: c.ttl, used: now}
		c.entries[key] = e
	}
	e.value, e.fetched = v, now
	c.group.Forget(key)
}

// Update changes the snapshot of key in place, after a write whose answer
// does not carry the list but says exactly what changed. It keeps the
// snapshot's age: the rest of the list is as old as it was. Without a
// snapshot it does nothing; the next Get reads the list.
func (c *Cache[V]) Update(key string, change func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	if e := c.entries[key]; e != nil {
		e.value = change(e.value)
	}
	c.group.Forget(key)
}

// Invalidate drops key after a write whose effect on the list is unknown,
// and detaches reads in flight so that the next Get asks again.
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[key]++
	delete(c.entries, key)
	c.group.Forget(key)
}

// Len is how many snapshots are held, for tests of the sweep.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache[V]) fresh(key string, maxAge time.Duration) (V, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.sweep(now)
	var zero V
	e, ok := c.entries[key]
	if !ok {
		return zero, time.Time{}, false
	}
	e.used, e.maxAge = now, maxAge
	if now.Sub(e.fetched) >= maxAge {
		return zero, time.Time{}, false
	}
	return e.value, e.fetched, true
}

// sweep drops snapshots nobody asked for within twice the age their last
// caller accepted, at most once per sweepEvery. c.mu is held.
func (c *Cache[V]) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < sweepEvery {
		return
	}
	c.lastSweep = now
	for k, e := range c.entries {
		if now.Sub(e.used) > 2*max(e.maxAge, c.ttl) {
			delete(c.entries, k)
			// gen and writers stay: a write may be under way, and both
			// are a few bytes per key.
		}
	}
}
