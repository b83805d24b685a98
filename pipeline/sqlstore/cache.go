package sqlstore

import (
	"sync"
	"sync/atomic"
	"time"
)

// readCache keeps answers to hot lookups (a device's token, a commune's
// current schedule head) in memory for a short time, so a commune device
// polling its playlist does not wait on SQLite's single connection. Writes
// made through this process invalidate it at once; writes made by another
// process (a separate worker) are seen within the TTL.
type readCache[V any] struct {
	ttl time.Duration
	gen atomic.Uint64

	mu sync.Mutex
	m  map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v   V
	gen uint64
	at  time.Time
}

// maxCacheEntries bounds memory; past it the cache starts over.
const maxCacheEntries = 50_000

func newReadCache[V any](ttl time.Duration) *readCache[V] {
	return &readCache[V]{ttl: ttl, m: map[string]cacheEntry[V]{}}
}

// generation is read before the lookup whose result is put, so a write
// that lands in between makes the result stale instead of cached.
func (c *readCache[V]) generation() uint64 { return c.gen.Load() }

func (c *readCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.gen != c.gen.Load() || time.Since(e.at) > c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *readCache[V]) put(key string, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheEntries {
		c.m = map[string]cacheEntry[V]{}
	}
	c.m[key] = cacheEntry[V]{v: v, gen: gen, at: time.Now()}
}

// invalidate drops every entry. Every write that can end a sign-in
// (token revoked, user disabled or signed out everywhere, operator bound
// to another commune) goes through this one method; code that learns of
// such a write made by another process calls it too.
func (c *readCache[V]) invalidate() { c.gen.Add(1) }
