package player

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []Event
		err    string
	}{
		{"loa's version events", "id: e1\nevent: version\ndata: {\"etag\":\"a\"}\n\n: keep-alive\n\nid: e2\nevent: version\ndata: {\"etag\":\"b\"}\n\n",
			[]Event{{ID: "e1", Type: "version", Data: `{"etag":"a"}`}, {ID: "e2", Type: "version", Data: `{"etag":"b"}`}}, ""},
		{"CRLF and multi-line data", "event: x\r\ndata: one\r\ndata:two\r\n\r\n", []Event{{Type: "x", Data: "one\ntwo"}}, ""},
		{"no data: no event", "event: version\n\n", nil, ""},
		{"cut mid-event: not dispatched", "event: version\ndata: {\"etag\":", nil, ""},
		{"unknown fields ignored", "retry: 5\nfoo\ndata: d\n\n", []Event{{Data: "d"}}, ""},
		{"line too long", "data: " + strings.Repeat("x", maxEventLine+1) + "\n\n", nil, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Event
			err := ReadEvents(strings.NewReader(tt.stream), func(e Event) error { got = append(got, e); return nil })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	stop := errors.New("stop")
	if err := ReadEvents(strings.NewReader("data: a\n\ndata: b\n\n"), func(Event) error { return stop }); err != stop {
		t.Fatalf("fn's error: %v", err)
	}
}

// FuzzReadEvents: any stream is read without a panic, and every event
// handed out has data free of CR (lines are split on it).
func FuzzReadEvents(f *testing.F) {
	f.Add("id: e1\nevent: version\ndata: {\"etag\":\"a\"}\n\n")
	f.Add(": keep-alive\n\n")
	f.Add("data\n\ndata:\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		ReadEvents(strings.NewReader(s), func(e Event) error {
			if strings.ContainsRune(e.Data, '\r') && !strings.Contains(s, "\r") {
				t.Fatalf("CR out of nowhere: %q", e.Data)
			}
			return nil
		})
	})
}

// signedBundle writes b to a folder with a signed manifest and the
// public key pinned beside it, as a pull leaves it.
func signedBundle(t *testing.T, b *testBundle) string {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(nil)
	dir := b.writeOut(t)
	raw, err := schedules.EncodeManifest(b.m)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, schedules.ManifestName), raw, 0o644)
	os.WriteFile(filepath.Join(dir, schedules.SignatureName), schedules.SignManifest(key, raw), 0o644)
	_, _, pinned := pull.Paths(dir)
	os.WriteFile(pinned, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644)
	return dir
}

// TestSyncerLoad: the bundle on disk is put in force at start when its
// signature and playlists verify; a damaged media file loses only its
// items; a damaged playlist or signature refuses the bundle.
func TestSyncerLoad(t *testing.T) {
	tests := []struct {
		name   string
		damage func(dir string, b *testBundle)
		ok     bool
	}{
		{"intact", func(string, *testBundle) {}, true},
		{"damaged media", func(dir string, b *testBundle) {
			os.WriteFile(filepath.Join(dir, b.m.Files[0].Path), []byte("xx"), 0o644)
		}, true},
		{"damaged playlist", func(dir string, b *testBundle) {
			os.WriteFile(filepath.Join(dir, "2025-03-03_trung-tam.json"), []byte("{}"), 0o644)
		}, false},
		{"manifest changed after signing", func(dir string, b *testBundle) {
			data, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
			os.WriteFile(filepath.Join(dir, schedules.ManifestName), bytes.Replace(data, []byte(`"v1"`), []byte(`"v2"`), 1), 0o644)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBundle()
			a := b.media("a")
			b.playlist(t, "trung-tam", seg(1, 0, 10*time.Second, a))
			dir := signedBundle(t, b)
			tt.damage(dir, b)
			cur := NewCurrent()
			s := &Syncer{Commune: "muong-lan", Dir: dir, Current: cur, Status: &Status{}, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			err := s.Load()
			plan, _, _ := cur.Get()
			if tt.ok != (err == nil) || tt.ok != (plan != nil) {
				t.Fatalf("load: %v, plan %v; want ok %v", err, plan != nil, tt.ok)
			}
		})
	}
}

// TestListenGivesUpOnASilentStream: a stream that sends its first event
// and then nothing (a cut network) is dropped after EventsIdle, and the
// first event's new version kicks a pull.
func TestListenGivesUpOnASilentStream(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: e1\nevent: version\ndata: {\"etag\":\"new\",\"reason\":\"emergency\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	s := &Syncer{Client: &pull.Client{Server: ts.URL, Token: "tok"}, Commune: "muong-lan", Current: NewCurrent(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), EventsIdle: 300 * time.Millisecond}
	began := time.Now()
	err := s.listenOnce(context.Background())
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("a silent stream held on for %s (%v)", took, err)
	}
	select {
	case <-s.kicks():
	default:
		t.Fatal("the announced version did not kick a pull")
	}
}

// TestListenReconnectsSoonAfterClosing: a server shutting down ends the
// stream with a "closing" event; the device reconnects after
// ClosingPause each time, instead of a pause that doubles (1, 2, 4 s…).
func TestListenReconnectsSoonAfterClosing(t *testing.T) {
	conns := make(chan time.Time, 16)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns <- time.Now()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "retry: 1000\n\nid: e1\nevent: version\ndata: {\"etag\":\"v1\",\"reason\":\"current\"}\n\n")
		fmt.Fprint(w, "retry: 1000\nevent: closing\ndata: {\"reason\":\"server shutting down: reconnect\"}\n\n")
	}))
	defer ts.Close()
	s := &Syncer{Client: &pull.Client{Server: ts.URL, Token: "tok"}, Commune: "muong-lan", Current: NewCurrent(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Listen(ctx)
	first := <-conns
	var last time.Time
	for range 3 {
		select {
		case last = <-conns:
		case <-time.After(30 * time.Second):
			t.Fatal("the device did not reconnect")
		}
	}
	// Three pauses of ClosingPause take 3 s; doubling ones 1+2+4 = 7 s.
	if took := last.Sub(first); took >= 6*ClosingPause {
		t.Fatalf("three reconnections after closing events took %s, want about %s", took, 3*ClosingPause)
	}
}

// TestDaysAhead counts the days a bundle holds from the device's today
// (in Sơn La, by the clock given) through its last day.
func TestDaysAhead(t *testing.T) {
	loc := localtime.Location()
	for _, tt := range []struct {
		now   time.Time
		until string
		want  int
	}{
		{time.Date(2025, 3, 3, 8, 0, 0, 0, loc), "2025-03-05", 3},
		{time.Date(2025, 3, 3, 8, 0, 0, 0, loc), "2025-03-03", 1},
		{time.Date(2025, 3, 3, 23, 59, 0, 0, loc), "2025-03-03", 1},
		{time.Date(2025, 3, 4, 0, 1, 0, 0, loc), "2025-03-03", 0},
		{time.Date(2025, 3, 2, 17, 1, 0, 0, time.UTC), "2025-03-03", 1}, // 00:01 on the 3rd in Sơn La
		{time.Date(2025, 3, 3, 8, 0, 0, 0, loc), "", 0},
	} {
		if got := DaysAhead(&schedules.Manifest{Until: tt.until}, tt.now); got != tt.want {
			t.Errorf("DaysAhead(until %q at %s) = %d, want %d", tt.until, tt.now, got, tt.want)
		}
	}
}

// TestRetryAfter: a pull the server answered "not built" waits the full
// sync interval (only a build changes that, and the events stream
// announces it); other failures are retried within 30 s.
func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		err   error
		every time.Duration
		want  time.Duration
	}{
		{pipeline.Errorf(pipeline.CodeNotFound, "No schedule is built for 2025-03-05."), 5 * time.Minute, 5 * time.Minute},
		{pipeline.Errorf(pipeline.CodeUnavailable, "Cannot reach the Loa server."), 5 * time.Minute, 30 * time.Second},
		{pipeline.Errorf(pipeline.CodeConflict, "refused"), 5 * time.Minute, 30 * time.Second},
		{errors.New("broken"), 10 * time.Second, 10 * time.Second},
	} {
		if got := RetryAfter(tt.err, tt.every); got != tt.want {
			t.Errorf("RetryAfter(%v, %s) = %s, want %s", tt.err, tt.every, got, tt.want)
		}
	}
}

// TestSyncerCause: a bundle put in force with the ETag the events stream
// announced carries the announced reason as its Cause (one short line
// whatever the stream sent, as it ends up in play reports); another
// bundle carries none.
func TestSyncerCause(t *testing.T) {
	long := strings.Repeat("ế", 100)
	tests := []struct {
		name         string
		etag, reason string
		want         string
	}{
		{"announced", "e1", "emergency_ended", "emergency_ended"},
		{"another version announced", "e2", "withdrawn", ""},
		{"nothing announced", "", "", ""},
		{"control characters dropped", "e1", "with\ndrawn\x00\r", "withdrawn"},
		{"too long: cut", "e1", long, strings.Repeat("ế", maxCauseRunes) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBundle()
			b.m.ETag = "e1"
			b.playlist(t, "trung-tam", seg(1, 0, 10*time.Second, b.media("a")))
			dir := signedBundle(t, b)
			cur := NewCurrent()
			s := &Syncer{Commune: "muong-lan", Dir: dir, Current: cur, Status: &Status{}, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if tt.etag != "" {
				s.announce(tt.etag, tt.reason)
			}
			if err := s.Load(); err != nil {
				t.Fatal(err)
			}
			if plan, _, _ := cur.Get(); plan.Cause != tt.want {
				t.Fatalf("cause %q, want %q", plan.Cause, tt.want)
			}
		})
	}
}
