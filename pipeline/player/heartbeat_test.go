package player

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// beatServer takes heartbeats through the server's own parser.
type beatServer struct {
	mu    sync.Mutex
	got   []schedules.Heartbeat
	path  string
	down  bool
	fails []string
}

func (s *beatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, `{"error":{"code":"unavailable","message":"down for maintenance"}}`, http.StatusServiceUnavailable)
		return
	}
	data, _ := io.ReadAll(r.Body)
	hb, err := schedules.ParseHeartbeat(data)
	if err != nil {
		s.fails = append(s.fails, err.Error())
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"error":{"code":"invalid","message":"` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}}`))
		return
	}
	s.path = r.URL.Path
	s.got = append(s.got, hb)
	w.Write([]byte(`{}`))
}

func (s *beatServer) beats() []schedules.Heartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]schedules.Heartbeat(nil), s.got...)
}

// TestHeartbeater: the heartbeat carries the status (bundle, valid_until,
// what plays, clock offset, free disk, last error) and the journal's
// upload backlog, passes the server's parser even with a title on two
// lines or past the length limit, is sent at start and on each Kick, and
// a failure is noted in the status and cleared by the next success.
func TestHeartbeater(t *testing.T) {
	srv := &beatServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	j := openJournal(t, filepath.Join(t.TempDir(), "journal.log"))
	j.Append(rec(Started, "p1", "k1", t0))
	j.Append(rec(Finished, "p1", "k1", t0.Add(time.Minute)))
	j.Append(rec(Started, "p2", "k2", t0.Add(2*time.Minute)))
	j.Append(rec(Failed, "p2", "k2", t0.Add(3*time.Minute)))
	j.Acknowledge(2)
	now := t0.Add(4 * time.Minute)
	st := &Status{now: func() time.Time { return now }, doc: StatusDoc{Commune: "muong-lan", Version: "v7", ValidUntil: t0.Add(72 * time.Hour),
		ClockOffsetMS: -1500, FreeBytes: 5 << 30, LastError: "Cannot reach the Loa server", LastErrorAt: t0,
		Playing: map[string]string{"trung-tam": "2025-03-03T05:30#1 Bản tin\nhai dòng", "ban-mong": "x " + strings.Repeat("ữ", 200)}}}
	h := &Heartbeater{Client: &pull.Client{Server: ts.URL, Token: "tok"}, Commune: "muong-lan", Status: st, Journal: j,
		Every: time.Hour, Version: "v1.2.3 abc", Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitBeats := func(n int) []schedules.Heartbeat {
		t.Helper()
		deadline := time.Now().Add(budget(t, 0.25))
		for len(srv.beats()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d heartbeats received, want %d (refused: %v)", len(srv.beats()), n, srv.fails)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return srv.beats()
	}
	hb := waitBeats(1)[0]
	if srv.path != "/api/communes/muong-lan/heartbeat" {
		t.Errorf("posted to %s", srv.path)
	}
	if hb.BundleVersion != "v7" || !hb.ValidUntil.Equal(t0.Add(72*time.Hour)) || hb.ClockOffsetMS != -1500 || hb.FreeBytes != 5<<30 ||
		hb.Backlog != 1 || hb.PlayerVersion != "v1.2.3 abc" || hb.EverySeconds != 3600 || !strings.Contains(hb.LastError, "Cannot reach") ||
		!strings.HasPrefix(hb.Playing["trung-tam"], "2025-03-03T05:30#1 Bản tin hai dòng") || len(hb.Playing["ban-mong"]) > 200 {
		t.Errorf("heartbeat %+v", hb)
	}
	srv.mu.Lock()
	srv.down = true
	srv.mu.Unlock()
	h.Kick()
	deadline := time.Now().Add(budget(t, 0.25))
	for st.get().HeartbeatError == "" {
		if time.Now().After(deadline) {
			t.Fatal("a failed heartbeat is not in the status")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(st.get().HeartbeatError, "down for maintenance") {
		t.Errorf("status says %q", st.get().HeartbeatError)
	}
	srv.mu.Lock()
	srv.down = false
	srv.mu.Unlock()
	h.Kick()
	waitBeats(2)
	deadline = time.Now().Add(budget(t, 0.25))
	for st.get().HeartbeatError != "" || !st.get().LastHeartbeat.Equal(now) {
		if time.Now().After(deadline) {
			t.Fatalf("status after a heartbeat arrived: %+v", st.get())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
