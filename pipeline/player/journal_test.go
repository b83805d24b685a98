package player

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

func rec(kind Kind, play, key string, at time.Time) Record {
	return Record{Kind: kind, Play: play, Key: key, Entry: "2025-03-03T05:30#1", Cluster: "trung-tam", At: at, Started: at.Add(-time.Second), Planned: at.Add(-time.Second), Reason: reasonFor(kind)}
}

func reasonFor(k Kind) string {
	if k == Failed || k == Preempted || k == Interrupted {
		return "because"
	}
	return ""
}

func openJournal(t *testing.T, path string) *Journal {
	t.Helper()
	j, skipped, torn, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 0 || torn != "" {
		t.Fatalf("a clean journal: skipped %d, torn %q", skipped, torn)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestJournalReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j := openJournal(t, path)
	recs := []Record{rec(Started, "p1", "k1", t0), rec(Finished, "p1", "k1", t0.Add(time.Minute)),
		rec(Started, "p2", "k2", t0.Add(time.Minute)), rec(Preempted, "p2", "k2", t0.Add(2*time.Minute)),
		rec(Started, "p3", "k2", t0.Add(3*time.Minute))}
	for _, r := range recs {
		if _, err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	j = openJournal(t, path)
	got := j.Records(0)
	if len(got) != len(recs) {
		t.Fatalf("%d records after reopening, want %d", len(got), len(recs))
	}
	for i, r := range got {
		if r.Seq != int64(i+1) || r.Play != recs[i].Play || r.Kind != recs[i].Kind || !r.At.Equal(recs[i].At) {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if d := j.Done(); !d["k1"] || d["k2"] {
		t.Errorf("done %v: want k1 (finished) and not k2 (preempted, then started again)", d)
	}
	if open := j.Open(); len(open) != 1 || open[0].Play != "p3" {
		t.Errorf("open plays %+v, want p3", open)
	}
	if got := j.Records(3); len(got) != 2 || got[0].Seq != 4 {
		t.Errorf("records after 3: %+v", got)
	}
	r, err := j.Append(rec(Finished, "p3", "k2", t0.Add(4*time.Minute)))
	if err != nil || r.Seq != 6 {
		t.Fatalf("append after reopening: seq %d, %v", r.Seq, err)
	}
}

// TestJournalDamage: a torn or damaged last record is set aside and cut
// off, a damaged record before good ones is skipped; opening never fails
// on content, and the journal goes on after the last good record.
func TestJournalDamage(t *testing.T) {
	good := func() []byte {
		var b bytes.Buffer
		for i, r := range []Record{rec(Started, "p1", "k1", t0), rec(Finished, "p1", "k1", t0.Add(time.Minute))} {
			r.Seq = int64(i + 1)
			line, _ := encodeRecord(&r)
			b.Write(line)
		}
		return b.Bytes()
	}
	third := func() []byte {
		r := rec(Started, "p2", "k2", t0.Add(2*time.Minute))
		r.Seq = 3
		line, _ := encodeRecord(&r)
		return line
	}
	tests := []struct {
		name    string
		content []byte
		records int
		skipped int
		torn    string // the set-aside bytes' prefix, "" for none
	}{
		{"cut mid-record", append(good(), third()[:25]...), 2, 0, string(third()[:25])},
		{"flipped byte in the last record", append(good(), bytes.Replace(third(), []byte("p2"), []byte("p9"), 1)...), 2, 0, string(third()[:8])},
		{"zeros after a power cut", append(good(), make([]byte, 300)...), 2, 0, "\x00"},
		{"damaged record in the middle", append(append(good(), []byte("garbage\n")...), third()...), 3, 1, ""},
		{"empty", nil, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal")
			os.WriteFile(path, tt.content, 0o644)
			j, skipped, tornFile, err := OpenJournal(path)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer j.Close()
			if n := len(j.Records(0)); n != tt.records || skipped != tt.skipped {
				t.Fatalf("%d records, %d skipped; want %d, %d", n, skipped, tt.records, tt.skipped)
			}
			if (tornFile != "") != (tt.torn != "") {
				t.Fatalf("torn file %q, want one: %v", tornFile, tt.torn != "")
			}
			if tornFile != "" {
				aside, _ := os.ReadFile(tornFile)
				if !strings.HasPrefix(string(aside), tt.torn) {
					t.Fatalf("set aside %q, want it to start %q", aside, tt.torn)
				}
			}
			if _, err := j.Append(rec(Finished, "p2", "k2", t0.Add(3*time.Minute))); err != nil {
				t.Fatal(err)
			}
			j.Close()
			j2, skipped2, torn2, err := OpenJournal(path) // nothing torn now; the old damage is still skipped
			if err != nil || torn2 != "" || skipped2 != tt.skipped {
				t.Fatalf("reopening: %v, torn %q, skipped %d", err, torn2, skipped2)
			}
			defer j2.Close()
			if n := len(j2.Records(0)); n != tt.records+1 {
				t.Fatalf("after appending and reopening: %d records, want %d", n, tt.records+1)
			}
		})
	}
}

// FuzzReadJournal: any bytes read as a journal give records with rising
// sequence numbers, a good length within the input, and the good part
// read again gives the same records with nothing torn.
func FuzzReadJournal(f *testing.F) {
	var b bytes.Buffer
	for i, r := range []Record{rec(Started, "p1", "k1", t0), rec(Finished, "p1", "k1", t0.Add(time.Minute)),
		rec(Started, "p2", "k2", t0.Add(time.Minute)), rec(Stopped, "p2", "k2", t0.Add(2*time.Minute))} {
		r.Seq = int64(i + 1)
		line, _ := encodeRecord(&r)
		b.Write(line)
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:b.Len()-7])
	f.Add([]byte("00000000 {}\n"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ReadJournal(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if res.Good < 0 || res.Good > int64(len(data)) {
			t.Fatalf("good %d of %d bytes", res.Good, len(data))
		}
		if res.Good+int64(len(res.Torn)) > int64(len(data)) {
			t.Fatalf("good %d + torn %d > %d", res.Good, len(res.Torn), len(data))
		}
		for i := 1; i < len(res.Records); i++ {
			if res.Records[i].Seq <= res.Records[i-1].Seq {
				t.Fatal("sequence goes back")
			}
		}
		again, err := ReadJournal(bytes.NewReader(data[:res.Good]))
		if err != nil || len(again.Torn) != 0 || len(again.Records) != len(res.Records) {
			t.Fatalf("the good part reads differently: %d records (torn %q), want %d", len(again.Records), again.Torn, len(res.Records))
		}
	})
}

// playsServer stands in for POST /api/communes/{code}/plays: it parses
// the body as the server does, refuses one cluster as invalid, fails
// while down, and stores each report id once (as the table's primary key
// does), checking that a report sent again is the same report.
type playsServer struct {
	mu       sync.Mutex
	down     int // fail this many requests with 503
	ids      map[string]int
	stored   map[string]schedules.PlayReport
	requests int
	t        *testing.T
}

func (s *playsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.URL.Path != "/api/communes/muong-lan/plays" || r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "wrong route", 404)
		return
	}
	if s.down > 0 {
		s.down--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	data, _ := io.ReadAll(r.Body)
	reports, err := schedules.ParsePlayReports(data)
	for _, rp := range reports {
		if rp.Cluster == "gone" {
			err = fmt.Errorf("no cluster gone")
		}
	}
	if err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":{"code":"invalid","message":%q}}`, err.Error())
		return
	}
	for _, rp := range reports {
		s.ids[rp.ID]++
		if old, ok := s.stored[rp.ID]; ok && (old.Entry != rp.Entry || old.Status != rp.Status || !old.Started.Equal(rp.Started)) {
			s.t.Errorf("report %s sent again with other content: %+v, then %+v", rp.ID, old, rp)
		}
		s.stored[rp.ID] = rp
	}
	w.Write([]byte(`{}`))
}

func TestUploaderRetriesAndCountsOnce(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, filepath.Join(dir, "journal"))
	srv := &playsServer{ids: map[string]int{}, stored: map[string]schedules.PlayReport{}, down: 2, t: t}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	const plays = 25
	for i := range plays {
		p := fmt.Sprintf("play-%d", i)
		j.Append(rec(Started, p, p, t0.Add(time.Duration(i)*time.Minute)))
		r := rec(Finished, p, p, t0.Add(time.Duration(i)*time.Minute+30*time.Second))
		if i == 7 {
			r.Cluster = "gone" // the server refuses this one
		}
		if i%5 == 0 {
			r.Kind, r.Reason = Failed, "mpv stalled"
		}
		j.Append(r)
	}
	cur, err := LoadCursor(filepath.Join(dir, "uploaded.json"))
	if err != nil {
		t.Fatal(err)
	}
	u := &Uploader{Journal: j, Cursor: cur, Send: PlaysSender(&pull.Client{Server: ts.URL, Token: "tok"}, "muong-lan"), Batch: 10}
	ctx := context.Background()
	for attempt := 1; ; attempt++ {
		_, err := u.Flush(ctx)
		if err == nil {
			break
		}
		if attempt > 3 {
			t.Fatalf("still failing after %d attempts: %v", attempt, err)
		}
	}
	// A crash before the cursor was saved sends everything again.
	u2 := &Uploader{Journal: j, Cursor: &Cursor{path: filepath.Join(dir, "other.json")}, Send: u.Send}
	if _, err := u2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range plays {
		p := fmt.Sprintf("play-%d", i)
		// Received once by the first uploader, once more by the second.
		want := 2
		if i == 7 {
			want = 0
		}
		if srv.ids[p] != want {
			t.Errorf("%s received %d times, want %d", p, srv.ids[p], want)
		}
		if i%5 == 0 && i != 7 && srv.stored[p].Status != schedules.Failed {
			t.Errorf("%s: status %s, want failed", p, srv.stored[p].Status)
		}
	}
	if len(srv.stored) != plays-1 {
		t.Errorf("%d reports stored, want %d", len(srv.stored), plays-1)
	}
	saved, _ := LoadCursor(filepath.Join(dir, "uploaded.json"))
	if saved.Seq != 2*plays || saved.Refused != 1 {
		t.Errorf("cursor %+v, want seq %d, 1 refused", saved, 2*plays)
	}
	before := srv.requests
	if n, err := u.Flush(ctx); n != 0 || err != nil || srv.requests != before {
		t.Errorf("nothing new: sent %d, %v, %d requests", n, err, srv.requests-before)
	}
}
