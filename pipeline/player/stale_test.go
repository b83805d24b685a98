package player

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/player/mpv"
	"github.com/sonla-cchc/loa/schedules"
)

// TestRunnerDropsWhatTheNewPlanHasNot: a player restarted from a stale
// bundle begins loading the interrupt in it; while mpv loads, the first
// sync puts in force a bundle without it (the emergency was ended while
// the player was down) and takes its file, so the load fails. That item
// is not journalled failed (nor reported): the runner goes on with the
// new plan. When the new plan still has the item, the failure is
// journalled as before.
func TestRunnerDropsWhatTheNewPlanHasNot(t *testing.T) {
	tests := []struct {
		name     string
		stillHas bool // the new plan keeps the interrupt
	}{
		{"emergency ended while the player was down", false},
		{"emergency still in force", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			loading, goOn := filepath.Join(tmp, "loading"), filepath.Join(tmp, "go-on")
			// A stand-in for mpv that says when it was started, waits to
			// be let go and then fails as mpv does on a file gone.
			fake := filepath.Join(tmp, "mpv")
			script := "#!/bin/sh\ntouch '" + loading + "'\nwhile [ ! -e '" + goOn + "' ]; do sleep 0.02; done\necho 'Cannot open file: No such file or directory' >&2\nexit 2\n"
			if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			em := schedules.Entry{ID: "2025-03-03T053000!a", Kind: schedules.EntryInterrupt, Start: now, DurationMS: 8000, SegmentID: "a"}
			filler := clip(schedules.EntryFiller, "2025-03-03T05:30#1", now.Add(-time.Minute), 10*time.Minute, "")

			b := newTestBundle()
			em.SHA256 = b.media("warning")
			em.URL = "media/" + em.SHA256 + ".mp3"
			b.m.ValidUntil = now.Add(time.Hour)
			b.playlist(t, "trung-tam", em)
			cur := NewCurrent()
			cur.Set(mustPlan(t, b), b.writeOut(t))

			j := openJournal(t, filepath.Join(tmp, "journal"))
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			r := &Runner{Cluster: "trung-tam", Current: cur, Journal: j, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				MPV: mpv.Options{Binary: fake, SocketDir: tmp}}
			wg.Add(1)
			go func() { defer wg.Done(); r.Run(ctx) }()
			t.Cleanup(func() { cancel(); wg.Wait() })

			deadline := time.Now().Add(budget(t, 0.25))
			for {
				if _, err := os.Stat(loading); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the runner never started loading the interrupt")
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The first sync: the new bundle in force while mpv loads.
			b2 := newTestBundle()
			b2.m.ValidUntil = b.m.ValidUntil
			entries := []schedules.Entry{filler}
			if tt.stillHas {
				b2.media("warning")
				entries = append(entries, em)
			}
			b2.playlist(t, "trung-tam", entries...)
			cur.Set(mustPlan(t, b2), b2.writeOut(t))
			os.WriteFile(goOn, nil, 0o644)

			recs := waitFor(t, j, "the runner going on with the new plan", func(r []Record) bool { return count(Skipped)(r) == 1 })
			failed := false
			for _, rec := range recs {
				if rec.Kind == Failed && strings.HasSuffix(rec.Entry, "!a") {
					failed = true
				}
			}
			if failed != tt.stillHas {
				t.Fatalf("interrupt journalled failed: %v, want %v", failed, tt.stillHas)
			}
		})
	}
}
