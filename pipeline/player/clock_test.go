package player

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/pull"
)

// TestSyncerMeasuresClockOffset: each sync compares the device's clock
// with the server's Date header; an offset past ClockSkew is logged as a
// warning, and the offset goes into the status (and so the heartbeat,
// which is asked for after every sync).
func TestSyncerMeasuresClockOffset(t *testing.T) {
	var key atomic.Value // the pinned key, base64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/signing-key" {
			fmt.Fprintf(w, `{"algorithm":"ed25519","public_key":%q}`, key.Load())
			return
		}
		w.WriteHeader(http.StatusNotModified) // net/http sets Date
	}))
	defer ts.Close()
	tests := []struct {
		name   string
		behind time.Duration // the device's clock behind the server's
		warn   bool
	}{
		{"in step", 0, false},
		{"30 s behind", 30 * time.Second, true},
		{"20 s ahead", -20 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBundle()
			b.playlist(t, "trung-tam", seg(1, 0, 10*time.Second, b.media("a")))
			dir := signedBundle(t, b)
			_, _, pinned := pull.Paths(dir)
			pub, err := os.ReadFile(pinned)
			if err != nil {
				t.Fatal(err)
			}
			key.Store(strings.TrimSpace(string(pub)))
			var logs bytes.Buffer
			kicked := 0
			st := &Status{}
			s := &Syncer{Client: &pull.Client{Server: ts.URL, Token: "tok"}, Commune: "muong-lan", Dir: dir, Current: NewCurrent(), Status: st,
				Now: func() time.Time { return time.Now().Add(-tt.behind) }, Log: slog.New(slog.NewTextHandler(&logs, nil)),
				AfterSync: func() { kicked++ }}
			if err := s.Load(); err != nil {
				t.Fatal(err)
			}
			if err := s.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
			off := time.Duration(st.get().ClockOffsetMS) * time.Millisecond
			if d := off - tt.behind; d < -1500*time.Millisecond || d > 1500*time.Millisecond {
				t.Errorf("offset %s, want %s within the Date header's second", off, tt.behind)
			}
			if warned := strings.Contains(logs.String(), "clock differs"); warned != tt.warn {
				t.Errorf("warned %v, want %v: %s", warned, tt.warn, logs.String())
			}
			if kicked != 1 {
				t.Errorf("AfterSync called %d times, want once", kicked)
			}
		})
	}
}
