package player

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// TestRunSyncsBeforeItPlays: a player starting with a bundle on disk
// (here with an emergency interrupt due) asks the server first and plays
// only once that first sync has ended (the server may have ended the
// emergency while the player was down); a server that does not answer
// holds it no longer than FirstSync, then the bundle on disk plays.
func TestRunSyncsBeforeItPlays(t *testing.T) {
	tests := []struct {
		name      string
		answers   bool          // the server answers the first pull (after a second)
		firstSync time.Duration // Config.FirstSync
		want      string        // when mpv was started, relative to the answer
	}{
		{"server answers", true, time.Minute, "after"},
		{"server silent", false, 300 * time.Millisecond, "before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			answered, started := filepath.Join(tmp, "answered"), filepath.Join(tmp, "started")
			// A stand-in for mpv: it notes whether the server had answered
			// when the player started it, then fails.
			fake := filepath.Join(tmp, "mpv")
			script := "#!/bin/sh\nif [ -e '" + answered + "' ]; then echo after > '" + started + ".tmp'; else echo before > '" + started + ".tmp'; fi\nmv '" +
				started + ".tmp' '" + started + "'\nexit 2\n"
			if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { close(release) }) })
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The pull: the signing key's check, then the bundle.
				if r.URL.Path == "/api/signing-key" || strings.HasSuffix(r.URL.Path, "/bundle") {
					if !tt.answers {
						<-release
						return
					}
					// Give a player that does not wait the time to start mpv
					// first (the old behaviour this test catches).
					select {
					case <-time.After(time.Second):
					case <-r.Context().Done():
					}
					os.WriteFile(answered, nil, 0o644)
				}
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
			}))
			t.Cleanup(ts.Close)
			t.Cleanup(func() { once.Do(func() { close(release) }) })

			now := time.Now()
			b := newTestBundle()
			sha := b.media("warning")
			b.m.ValidUntil = now.Add(time.Hour)
			b.playlist(t, "trung-tam", schedules.Entry{ID: "2025-03-03T053000!a", Kind: schedules.EntryInterrupt, Start: now, DurationMS: 8000,
				SegmentID: "a", SHA256: sha, URL: "media/" + sha + ".mp3"})
			bundle := signedBundle(t, b)
			dir := filepath.Dir(bundle)

			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				errc <- Run(ctx, Config{Client: &pull.Client{Server: ts.URL, Token: "tok"}, Commune: "muong-lan", Dir: dir, MPV: fake,
					Days: 1, SyncEvery: time.Hour, HeartbeatEvery: time.Hour, FirstSync: tt.firstSync, Now: time.Now,
					Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			}()
			t.Cleanup(func() {
				cancel()
				once.Do(func() { close(release) })
				if err := <-errc; err != nil {
					t.Errorf("Run: %v", err)
				}
			})
			deadline := time.Now().Add(budget(t, 0.25))
			for {
				data, err := os.ReadFile(started)
				if err == nil {
					if got := strings.TrimSpace(string(data)); got != tt.want {
						t.Fatalf("mpv started %s the server's answer, want %s", got, tt.want)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("the player never started mpv")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
