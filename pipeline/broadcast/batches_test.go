package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/schedules"
)

// failingSaves is a store whose SaveVersions fails from its failAt-th
// call on, and which records the batches it was given and whether two
// saves ever overlapped.
type failingSaves struct {
	*sqlstore.DB
	failAt  int
	panics  bool // fail by panicking, as a bug in the store would
	calls   atomic.Int32
	running atomic.Int32
	overlap atomic.Bool

	mu      sync.Mutex
	batches [][]string // the communes of each call, in call order
}

var errSave = errors.New("disk full")

func (f *failingSaves) SaveVersions(ctx context.Context, ws []pipeline.VersionWrite) error {
	n := int(f.calls.Add(1))
	if f.running.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.running.Add(-1)
	var codes []string
	for _, w := range ws {
		codes = append(codes, w.Version.Commune)
	}
	f.mu.Lock()
	f.batches = append(f.batches, codes)
	f.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // a slow store: the next batch is made meanwhile
	if n >= f.failAt && f.panics {
		panic("store bug")
	}
	if n >= f.failAt {
		return errSave
	}
	return f.DB.SaveVersions(ctx, ws)
}

// TestBuildSavesBatchesInTurn: a build of more communes than a batch
// saves its batches one at a time, in registry order (the next batch is
// made while one is saved); when a batch's save fails, the build stops
// with that error, reports changed exactly the communes of the batches
// saved before it, and saves no later batch.
func TestBuildSavesBatchesInTurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	const communes = 450 // two full batches of 200 and a partial one
	if _, err := db.ImportRegistry(ctx, registryOf(communes), schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	now := broadcasttest.Monday.Add(-3 * time.Hour).UTC()
	db.Now = func() time.Time { return now }
	prod := broadcasttest.Producer(t, db)
	broadcasttest.AddReady(t, db, nil, prod, broadcasttest.Segment{Title: "Bản tin", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 90_000})
	var order []string
	for i := range communes {
		order = append(order, fmt.Sprintf("xa-%04d", i))
	}

	for _, tc := range []struct {
		name   string
		failAt int
		panics bool
	}{{"all saved", 99, false}, {"second batch fails", 2, false}, {"second batch panics", 2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			// A new priority segment changes every commune.
			broadcasttest.AddReady(t, db, nil, prod, broadcasttest.Segment{Title: tc.name, Priority: pipeline.PriorityPriority,
				Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
			store := &failingSaves{DB: db, failAt: tc.failAt, panics: tc.panics}
			svc := &broadcast.Service{Store: store, Now: func() time.Time { return now }}
			before, err := db.HeadTags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.Build(ctx, now, nil, tc.name)
			if store.overlap.Load() {
				t.Error("two batches were saved at once")
			}
			var saved []string
			for _, b := range store.batches {
				saved = append(saved, b...)
			}
			if tc.failAt > 3 {
				if err != nil || !slices.Equal(res.Changed, order) || !slices.Equal(saved, order) || len(store.batches) != 3 {
					t.Fatalf("build: %v; changed %d communes, saved %d in %d batches; want all %d in registry order in 3", err, len(res.Changed), len(saved), len(store.batches), communes)
				}
				return
			}
			if tc.panics && (err == nil || !strings.Contains(err.Error(), "store bug")) {
				t.Fatalf("build error %v, want the save's panic as an error", err)
			}
			if !tc.panics && !errors.Is(err, errSave) {
				t.Fatalf("build error %v, want the failed save's", err)
			}
			if len(store.batches) != 2 || !slices.Equal(saved, order[:400]) {
				t.Fatalf("saved %d batches (%d communes), want the first two in registry order, none after the failed one", len(store.batches), len(saved))
			}
			if !slices.Equal(res.Changed, order[:200]) {
				t.Fatalf("changed %d communes, want the first batch's 200", len(res.Changed))
			}
			after, err := db.HeadTags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range order {
				if moved := after[c] != before[c]; moved != (i < 200) {
					t.Errorf("%s: head moved %v, want %v", c, moved, i < 200)
				}
			}
		})
	}
}
