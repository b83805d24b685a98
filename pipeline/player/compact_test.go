package player

import (
	"context"

	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// fillJournal appends n finished plays (a start and a finish each, an
// hour apart from base) and one play left open.
func fillJournal(t *testing.T, j *Journal, base time.Time, n int) {
	t.Helper()
	for i := range n {
		p := fmt.Sprintf("p%d", i)
		at := base.Add(time.Duration(i) * time.Hour)
		for _, r := range []Record{rec(Started, p, "k"+p, at), rec(Finished, p, "k"+p, at.Add(time.Minute))} {
			if _, err := j.Append(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := j.Append(rec(Started, "open", "kopen", base.Add(time.Duration(n)*time.Hour))); err != nil {
		t.Fatal(err)
	}
}

// checkCompacted checks what a compaction must keep: every record after
// acked, the open play, the done records from keepSince, the last
// record; and that sequence numbers go on.
func checkCompacted(t *testing.T, j *Journal, acked int64, keepSince time.Time, wantDone []string, compacted bool) {
	t.Helper()
	recs := j.Records(0)
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			t.Fatalf("sequence goes back at %d: %+v", i, recs)
		}
	}
	for _, r := range recs {
		if compacted && r.Seq <= acked && r.Done() && r.At.Before(keepSince) && r.Seq != recs[len(recs)-1].Seq {
			t.Errorf("kept an acknowledged record past its time: %+v", r)
		}
	}
	done := j.Done()
	for _, k := range wantDone {
		if !done[k] {
			t.Errorf("item %s lost its done record: done %v", k, done)
		}
	}
	if open := j.Open(); len(open) != 1 || open[0].Play != "open" {
		t.Errorf("open plays %+v, want the one left open", open)
	}
}

// TestJournalCompact: compaction drops acknowledged records no longer
// needed and keeps the rest; a crash injected after each step (copy
// written, renamed, folder synced) leaves a journal that opens with
// every needed record and goes on numbering after the last.
func TestJournalCompact(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const plays = 72 // three days, one play an hour
	keepSince := base.Add(48 * time.Hour)
	var recentDone []string
	for i := 48; i < plays; i++ {
		recentDone = append(recentDone, fmt.Sprintf("kp%d", i))
	}
	for _, crashAt := range []string{"", "written", "renamed", "synced"} {
		t.Run("crash after "+crashAt, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.log")
			j, _, _, err := OpenJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			fillJournal(t, j, base, plays)
			last := int64(2*plays + 1)
			acked := int64(2*plays - 10) // the last five plays are not uploaded yet
			j.Acknowledge(acked)
			if n, err := j.Compact(keepSince, false); n != 0 || err != nil {
				t.Fatalf("a small journal was compacted: %d, %v", n, err)
			}
			crash := errors.New("crash")
			if crashAt != "" {
				j.crash = func(step string) error {
					if step == crashAt {
						return crash
					}
					return nil
				}
			}
			n, err := j.Compact(keepSince, true)
			if crashAt == "" && (err != nil || n != 2*48+(24-5)) {
				t.Fatalf("compact: dropped %d, %v; want %d", n, err, 2*48+(24-5))
			}
			if crashAt != "" && !errors.Is(err, crash) {
				t.Fatalf("compact: %v, want the injected crash", err)
			}
			// The crashed process is gone: open the journal anew.
			j2, skipped, torn, err := OpenJournal(path)
			if err != nil || skipped != 0 || torn != "" {
				t.Fatalf("reopen: %v, skipped %d, torn %q", err, skipped, torn)
			}
			defer j2.Close()
			if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the unfinished copy is still there: %v", err)
			}
			got := j2.Records(0)
			if crashAt == "written" {
				if len(got) != int(last) {
					t.Fatalf("a crash before the rename kept %d records, want the whole %d", len(got), last)
				}
			} else if len(got) != int(last)-(2*48+(24-5)) {
				t.Fatalf("after the rename %d records, want %d", len(got), int(last)-(2*48+(24-5)))
			}
			checkCompacted(t, j2, acked, keepSince, recentDone, crashAt != "written")
			if after := j2.Records(acked); len(after) != int(last-acked) {
				t.Errorf("%d records after the acknowledged %d, want all %d", len(after), acked, last-acked)
			}
			r, err := j2.Append(rec(Finished, "open", "kopen", base.Add(80*time.Hour)))
			if err != nil || r.Seq != last+1 {
				t.Fatalf("append after compaction: seq %d, %v; want %d", r.Seq, err, last+1)
			}
			j2.Acknowledge(acked)
			if b := j2.Backlog(); b != 6 { // five plays' finishes and the open play's
				t.Errorf("backlog %d, want 6", b)
			}
		})
	}
}

// TestJournalCompactAll: with everything acknowledged and old, only the
// last record stays, so sequence numbers never restart below the upload
// cursor.
func TestJournalCompactAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.log")
	j := openJournal(t, path)
	for i := range 10 {
		p := fmt.Sprintf("p%d", i)
		j.Append(rec(Started, p, p, t0))
		j.Append(rec(Finished, p, p, t0.Add(time.Minute)))
	}
	j.Acknowledge(20)
	if j.Backlog() != 0 {
		t.Errorf("backlog %d with everything acknowledged", j.Backlog())
	}
	if n, err := j.Compact(t0.Add(KeepDone), true); n != 19 || err != nil {
		t.Fatalf("dropped %d, %v; want 19", n, err)
	}
	j.Close()
	j = openJournal(t, path)
	j.Acknowledge(20) // as Run does from the upload cursor
	if r, err := j.Append(rec(Started, "next", "next", t0.Add(time.Hour))); err != nil || r.Seq != 21 {
		t.Fatalf("next record seq %d, %v; want 21", r.Seq, err)
	}
	if j.Backlog() != 0 {
		t.Errorf("a start is not a play report: backlog %d", j.Backlog())
	}
}

// TestJournalCompactKill9 runs appends and compactions in a child
// process and kills it with SIGKILL at random moments, several times;
// each time the journal must open, hold every record the child's cursor
// had not acknowledged (no gap after it), keep numbering above the
// cursor, and leave no unfinished copy behind.
func TestJournalCompactKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.log")
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJournalCompactChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LOA_JOURNAL_CHILD="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		cur, err := LoadCursor(filepath.Join(dir, CursorFile))
		if err != nil {
			t.Fatal(err)
		}
		j, _, _, err := OpenJournal(path)
		if err != nil {
			t.Fatalf("round %d: the journal does not open after kill -9: %v", round, err)
		}
		recs := j.Records(0)
		if len(recs) == 0 {
			j.Close()
			continue
		}
		if lastSeq := recs[len(recs)-1].Seq; lastSeq < cur.Seq {
			t.Fatalf("round %d: the journal ends at %d, below the acknowledged %d", round, lastSeq, cur.Seq)
		}
		after := j.Records(cur.Seq)
		for i, r := range after {
			if r.Seq != cur.Seq+int64(i)+1 {
				t.Fatalf("round %d: record %d after the cursor %d is missing (found %d)", round, cur.Seq+int64(i)+1, cur.Seq, r.Seq)
			}
		}
		if _, err := os.Stat(path + compactSuffix); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("round %d: unfinished copy left", round)
		}
		t.Logf("round %d: %d records on disk, cursor at %d, last %d", round, len(recs), cur.Seq, recs[len(recs)-1].Seq)
		j.Close()
	}
}

// TestJournalCompactChild is the child of TestJournalCompactKill9: it
// appends plays, moves the cursor (written first, as the uploader does)
// and compacts, until killed.
func TestJournalCompactChild(t *testing.T) {
	dir := os.Getenv("LOA_JOURNAL_CHILD")
	if dir == "" {
		t.Skip("the child of TestJournalCompactKill9")
	}
	j, _, _, err := OpenJournal(filepath.Join(dir, "journal.log"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := LoadCursor(filepath.Join(dir, CursorFile))
	if err != nil {
		t.Fatal(err)
	}
	j.Acknowledge(cur.Seq)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		p := "c" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		at = at.Add(time.Hour)
		j.Append(rec(Started, p, p, at))
		j.Append(rec(Finished, p, p, at.Add(time.Minute)))
		if i%7 == 6 {
			// Acknowledge all but the last few, as an upload would.
			recs := j.Records(0)
			cur.Seq = recs[len(recs)-1].Seq - 3
			if err := pull.WriteFileSync(cur.path, []byte(`{"uploaded_seq":`+strconv.FormatInt(cur.Seq, 10)+"}\n")); err != nil {
				t.Fatal(err)
			}
			j.Acknowledge(cur.Seq)
			if _, err := j.Compact(at.Add(-KeepDone), true); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestUploaderCompacts: once the server has the reports and the journal
// has grown past its threshold, a flush compacts it: the old records go,
// the recent done ones stay.
func TestUploaderCompacts(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, filepath.Join(dir, "journal.log"))
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	fillJournal(t, j, base, 72)
	j.compactAt = j.Size() // as if CompactBytes were this journal's size
	sent := 0
	u := &Uploader{Journal: j, Cursor: &Cursor{path: filepath.Join(dir, CursorFile)},
		Send: func(_ context.Context, reports []schedules.PlayReport) error { sent += len(reports); return nil },
		Now:  func() time.Time { return base.Add(72*time.Hour + KeepDone - 24*time.Hour) }}
	if _, err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent != 72 {
		t.Fatalf("sent %d reports, want 72", sent)
	}
	// Kept: the last 24 plays' finishes (within KeepDone of the clock)
	// and the open play's start.
	if got := len(j.Records(0)); got != 25 {
		t.Errorf("%d records after the compaction, want 25", got)
	}
	if d := j.Done(); !d["kp71"] || !d["kp48"] || d["kp47"] {
		t.Errorf("done after compaction %v: want kp48..kp71 only", d)
	}
}

// TestCursorReconcile: a cursor past the journal's last record (the
// journal was lost) comes back to it, so the new records are uploaded;
// a cursor within the journal stays.
func TestCursorReconcile(t *testing.T) {
	dir := t.TempDir()
	j := openJournal(t, filepath.Join(dir, "journal.log"))
	j.Append(rec(Started, "p", "k", t0))
	j.Append(rec(Finished, "p", "k", t0.Add(time.Minute)))
	for _, tt := range []struct {
		seq, want int64
		moved     bool
	}{{500, 2, true}, {1, 1, false}, {2, 2, false}} {
		c := &Cursor{path: filepath.Join(dir, CursorFile), Seq: tt.seq}
		moved, err := c.Reconcile(j)
		if err != nil || moved != tt.moved || c.Seq != tt.want {
			t.Errorf("cursor at %d: moved %v to %d (%v); want %v, %d", tt.seq, moved, c.Seq, err, tt.moved, tt.want)
		}
		if saved, _ := LoadCursor(c.path); tt.moved && saved.Seq != tt.want {
			t.Errorf("cursor at %d: saved %d, want %d", tt.seq, saved.Seq, tt.want)
		}
	}
}
