package player

import (
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/schedules"
)

func clip(kind schedules.EntryKind, id string, start time.Time, d time.Duration, sha string) schedules.Entry {
	e := schedules.Entry{ID: id, Kind: kind, Start: start, DurationMS: d.Milliseconds(), SegmentID: "clip-" + string(kind), SHA256: sha}
	if sha != "" {
		e.URL = "media/" + sha + ".mp3"
	}
	return e
}

// TestPlanFillerAndIdent: a filler or ident with audio in the bundle
// plays like a segment; one without is kept as a skip with its reason
// (not a problem: nothing failed), and the item before it stops at its
// start.
func TestPlanFillerAndIdent(t *testing.T) {
	b := newTestBundle()
	a, id := b.media("a"), b.media("ident")
	b.playlist(t, "trung-tam",
		seg(1, 0, 30*time.Second, a),
		clip(schedules.EntryFiller, "2025-03-03T05:30#2", t0.Add(30*time.Second), 20*time.Second, ""),
		clip(schedules.EntryIdent, "2025-03-03T05:30#3", t0.Add(50*time.Second), 10*time.Second, id),
	)
	got := mustPlan(t, b).Programme["trung-tam"]
	if len(got) != 3 {
		t.Fatalf("%d items, want 3: %+v", len(got), got)
	}
	if !got[0].Stop.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("the segment stops at %s, want the filler's start", got[0].Stop.Sub(t0))
	}
	if f := got[1]; f.File != "" || f.Problem != "" || !strings.Contains(f.Skip, "filler") || !strings.Contains(f.Skip, "20s") {
		t.Errorf("filler without audio: file %q problem %q skip %q; want a skip saying filler, 20s", f.File, f.Problem, f.Skip)
	}
	if i := got[2]; i.File == "" || i.Skip != "" || i.Problem != "" {
		t.Errorf("ident with audio: file %q problem %q skip %q; want it played", i.File, i.Problem, i.Skip)
	}
}

// TestRunnerSkipsSilentFiller: a filler without audio is journalled as
// skipped at its time with its reason, is not a play report nor in the
// upload backlog, and the segment after it plays on time.
func TestRunnerSkipsSilentFiller(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	a := b.media(toneData(t, "2", "440"))
	base := time.Now().Add(3 * time.Second).Truncate(time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam",
		clip(schedules.EntryFiller, "2025-03-03T05:30#1", base, 1500*time.Millisecond, ""),
		at("2025-03-03T05:30#2", base.Add(1500*time.Millisecond), 2*time.Second, a),
	)
	dir := b.writeOut(t)
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), dir)
	j, _ := runners(t, cur, "trung-tam")
	recs := waitFor(t, j, "the filler skipped and the segment played", func(r []Record) bool {
		return count(Skipped)(r) == 1 && count(Finished)(r) == 1
	})
	for _, r := range recs {
		if r.Kind != Skipped {
			continue
		}
		if r.Entry != "2025-03-03T05:30#1" || !strings.Contains(r.Reason, "has no audio") || r.Uploads() {
			t.Errorf("skip record %+v: want the filler, its reason, not uploaded", r)
		}
		if late := r.At.Sub(base); late < -100*time.Millisecond || late > lateBound {
			t.Errorf("skip journalled %s after the filler's start", late)
		}
	}
	if n := j.Backlog(); n != 1 {
		t.Errorf("backlog %d, want 1 (the segment's finish only)", n)
	}
}
