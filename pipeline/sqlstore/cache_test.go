package sqlstore

import (
	"testing"
	"time"
)

// TestReadCache: an entry is served until its TTL passes or a write
// invalidates the cache, and a lookup that started before a write is not
// cached as fresh after it.
func TestReadCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(c *readCache[string, int])
		want bool
	}{
		{"fresh entry", func(c *readCache[string, int]) { c.put("k", 1, c.generation()) }, true},
		{"invalidated after put", func(c *readCache[string, int]) {
			c.put("k", 1, c.generation())
			c.invalidate()
		}, false},
		{"lookup older than a write", func(c *readCache[string, int]) {
			gen := c.generation()
			c.invalidate() // a write lands while the lookup runs
			c.put("k", 1, gen)
		}, false},
		{"put after the write", func(c *readCache[string, int]) {
			c.invalidate()
			c.put("k", 1, c.generation())
		}, true},
		{"expired", func(c *readCache[string, int]) {
			c.put("k", 1, c.generation())
			time.Sleep(300 * time.Millisecond)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ttl := time.Hour
			if tt.name == "expired" {
				ttl = 100 * time.Millisecond
			}
			c := newReadCache[string, int](ttl)
			t.Cleanup(c.close)
			tt.do(c)
			v, ok := c.get("k")
			if ok != tt.want || (ok && v != 1) {
				t.Errorf("get = %d, %v; want found %v", v, ok, tt.want)
			}
		})
	}
}
