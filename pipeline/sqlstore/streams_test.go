package sqlstore_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestStreamsCountedAcrossProcesses: streams of one key opened by several
// processes at once are capped in total (never one more), a released
// stream frees its place, a process that stops forgets its streams, and
// the streams of a process that died stop counting once their lease
// lapses.
func TestStreamsCountedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	db := sqlstoretest.New(t)
	now := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	db.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	keys, caps := []string{"cred:x", "user:1"}, []int{4, 16}

	// 12 streams race through 3 processes for a cap of 4.
	var wg sync.WaitGroup
	var got sync.Map
	won := make(chan func() error, 12)
	for i := range 12 {
		wg.Go(func() {
			p := sqlstore.ProcessStreams{DB: db, Process: []string{"a", "b", "c"}[i%3]}
			release, full, err := p.AcquireStream(ctx, keys, caps)
			if err != nil {
				t.Error(err)
				return
			}
			got.Store(i, full)
			if full < 0 {
				won <- release
			}
		})
	}
	wg.Wait()
	close(won)
	var releases []func() error
	for r := range won {
		releases = append(releases, r)
	}
	if len(releases) != 4 {
		t.Fatalf("%d of 12 racing streams opened, want the cap of 4", len(releases))
	}
	got.Range(func(_, v any) bool {
		if f := v.(int); f != -1 && f != 0 {
			t.Errorf("a refused stream names key %d, want 0 (the credential's)", f)
		}
		return true
	})

	// A released stream frees its place.
	if err := releases[0](); err != nil {
		t.Fatal(err)
	}
	if _, full, err := db.AcquireStream(ctx, "d", keys, caps); err != nil || full != -1 {
		t.Fatalf("after a release: full %d, %v; want a place", full, err)
	}
	if _, full, _ := db.AcquireStream(ctx, "d", keys, caps); full != 0 {
		t.Fatalf("past the cap again: full %d, want 0", full)
	}

	// Process d stops: its stream is forgotten at once.
	stop, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); db.RenewStreams(stop, "d", slog.New(slog.DiscardHandler)) }()
	cancel()
	<-done
	if _, full, err := db.AcquireStream(ctx, "e", keys, caps); err != nil || full != -1 {
		t.Fatalf("after process d stopped: full %d, %v; want a place", full, err)
	}

	// Processes that died (a, b, c and e hold the 4 places): their rows
	// stop counting once the lease lapses, and not before.
	mu.Lock()
	now = now.Add(sqlstore.StreamLease - time.Second)
	mu.Unlock()
	if _, full, _ := db.AcquireStream(ctx, "f", keys, caps); full != 0 {
		t.Fatalf("before the lease lapsed: full %d, want 0", full)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if _, full, err := db.AcquireStream(ctx, "f", keys, caps); err != nil || full != -1 {
		t.Fatalf("after the lease lapsed: full %d, %v; want a place", full, err)
	}
}
