package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// countingProbes counts the write probes that reach the store.
type countingProbes struct {
	objects.Backend
	n atomic.Int64
}

func (c *countingProbes) ProbeWrite(ctx context.Context) error {
	c.n.Add(1)
	return c.Backend.ProbeWrite(ctx)
}

func readyz(t *testing.T, b *bundle) (int, map[string]string) {
	t.Helper()
	resp, body := b.do(t, "GET", "/readyz", "", nil, "")
	var checks map[string]string
	if err := json.Unmarshal(body, &checks); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return resp.StatusCode, checks
}

// TestReadyzWriteProbe: /readyz probes the object store with a write, at
// most once per WriteProbeEvery however many polls arrive, and a store
// that reads but refuses writes (a read-only account on a real MinIO,
// as a full disk does) is reported as such with 200: the replica still
// serves playlists.
func TestReadyzWriteProbe(t *testing.T) {
	t.Parallel()
	store, cfg := objectstest.New(t)
	ro, err := objects.Open(context.Background(), objectstest.ReadOnly(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		store      objects.Backend
		wantStatus int
		wantObject string // prefix of the objects check
		wantErr    string // in the objects check
	}{
		{"writable", store, http.StatusOK, "ok", ""},
		{"writes refused", ro, http.StatusOK, "read ok, write refused: ", "Access Denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probes := &countingProbes{Backend: tc.store}
			db := sqlstoretest.New(t)
			b := serve(t, db, probes, &api.Server{Catalog: db, Objects: probes, WriteProbeEvery: time.Hour})
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					status, checks := readyz(t, b)
					if status != tc.wantStatus || checks["database"] != "ok" ||
						!strings.HasPrefix(checks["objects"], tc.wantObject) || !strings.Contains(checks["objects"], tc.wantErr) {
						t.Errorf("readyz: %d %q, want %d with objects %q…%q", status, checks, tc.wantStatus, tc.wantObject, tc.wantErr)
					}
				})
			}
			wg.Wait()
			if n := probes.n.Load(); n != 1 {
				t.Errorf("8 polls wrote %d probes, want 1 (the result is reused for WriteProbeEvery)", n)
			}
		})
	}
	if o, err := store.Stat(context.Background(), objects.ProbeKey); err != nil || !strings.HasPrefix(o.Key, objects.ProbePrefix) {
		t.Errorf("probe object: %+v %v", o, err)
	}
}

// TestReadyzWriteProbeExpires: past WriteProbeEvery the next poll probes
// again, so a store that starts refusing writes is noticed.
func TestReadyzWriteProbeExpires(t *testing.T) {
	t.Parallel()
	probes := &countingProbes{Backend: objectstest.NewMemory(t)}
	db := sqlstoretest.New(t)
	const every = 50 * time.Millisecond
	b := serve(t, db, probes, &api.Server{Catalog: db, Objects: probes, WriteProbeEvery: every})
	readyz(t, b)
	time.Sleep(3 * every)
	readyz(t, b)
	if n := probes.n.Load(); n != 2 {
		t.Errorf("two polls %v apart wrote %d probes, want 2", 3*every, n)
	}
}
