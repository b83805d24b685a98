package sqlstore

import (
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// readCache keeps answers to hot lookups (a device's token, a commune's
// current schedule head) in memory for a short time, so a commune device
// polling its playlist does not wait on SQLite's single connection. Writes
// made through this process invalidate it at once; writes made by another
// process reach it through the change feed (changes.go) while Follow runs,
// else within the TTL. Expiry and the bound on entries are otter's; the
// generation is Loa's (see generation).
type readCache[K comparable, V any] struct {
	gen atomic.Uint64
	c   *otter.Cache[K, cacheEntry[V]]
}

type cacheEntry[V any] struct {
	v   V
	gen uint64
}

// maxCacheEntries bounds memory; past it the least useful entries go.
const maxCacheEntries = 50_000

func newReadCache[K comparable, V any](ttl time.Duration) *readCache[K, V] {
	return &readCache[K, V]{c: otter.Must(&otter.Options[K, cacheEntry[V]]{
		MaximumSize:      maxCacheEntries,
		ExpiryCalculator: otter.ExpiryWriting[K, cacheEntry[V]](ttl),
	})}
}

// generation is read before the lookup whose result is put, so a write
// that lands in between makes the result stale instead of cached.
func (c *readCache[K, V]) generation() uint64 { return c.gen.Load() }

func (c *readCache[K, V]) get(key K) (V, bool) {
	e, ok := c.c.GetIfPresent(key)
	if !ok || e.gen != c.gen.Load() {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *readCache[K, V]) put(key K, v V, gen uint64) {
	c.c.Set(key, cacheEntry[V]{v: v, gen: gen})
}

// invalidate drops every entry. Every write that can end a sign-in
// (token revoked, user disabled or signed out everywhere, operator bound
// to another commune) goes through this one method, through the change
// feed (WriteChange, and Follow for another process's writes).
func (c *readCache[K, V]) invalidate() {
	c.gen.Add(1)
	c.c.InvalidateAll()
}

// close stops the cache's clean-up goroutine.
func (c *readCache[K, V]) close() { c.c.StopAllGoroutines() }
