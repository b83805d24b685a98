package player

import (
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/schedules"
)

// TestPlanHolds: a new plan holds an item of an earlier plan while it
// has the same entry or (for a scheduled item) any entry of its segment
// for the cluster; an interrupt only while it has the interrupt itself.
// An entry of the same slot, segment and media under another key is the
// same broadcast (a rebuild re-timed or renumbered it).
func TestPlanHolds(t *testing.T) {
	old := newTestBundle()
	a, c, e := old.media("a"), old.media("c"), old.media("e")
	old.playlist(t, "trung-tam", seg(1, 0, 30*time.Second, a), seg(2, 30*time.Second, 30*time.Second, c),
		interrupt(t0.Add(10*time.Second), 15*time.Second, e))
	p := mustPlan(t, old)
	first, em := &p.Programme["trung-tam"][0], &p.Interrupts["trung-tam"][0]

	moved := func(pos int, off time.Duration, sha, segment string) schedules.Entry { // an entry of segment at another place
		s := seg(pos, off, 30*time.Second, sha)
		s.SegmentID = segment
		return s
	}
	evening := schedules.Entry{ID: "2025-03-03T17:00#1", Kind: schedules.EntrySegment, Start: t0.Add(11 * time.Hour), DurationMS: 30000,
		SegmentID: "s1", SHA256: a, URL: "media/" + a + ".mp3"}
	tests := []struct {
		name    string
		entries []schedules.Entry
		it      *Item
		held    bool
		same    string // the entry that is the same broadcast under another key, "" for none
	}{
		{"unchanged", []schedules.Entry{seg(1, 0, 30*time.Second, a), seg(2, 30*time.Second, 30*time.Second, c)}, first, true, ""},
		{"another item added", []schedules.Entry{seg(1, 0, 30*time.Second, a), seg(2, 30*time.Second, 30*time.Second, c), seg(3, time.Minute, 10*time.Second, e)}, first, true, ""},
		{"re-timed and renumbered in its slot", []schedules.Entry{moved(2, -5*time.Second, a, "s1")}, first, true, "2025-03-03T05:30#2"},
		{"moved to another slot: still on the air, another broadcast", []schedules.Entry{evening}, first, true, ""},
		{"its audio replaced: still on the air, another broadcast", []schedules.Entry{seg(1, 0, 30*time.Second, c)}, first, true, ""},
		{"withdrawn: its segment gone", []schedules.Entry{seg(2, 30*time.Second, 30*time.Second, c)}, first, false, ""},
		{"same media, another segment", []schedules.Entry{moved(2, -5*time.Second, a, "other")}, first, false, ""},
		{"interrupt still in force", []schedules.Entry{seg(1, 0, 30*time.Second, a), interrupt(t0.Add(10*time.Second), 15*time.Second, e)}, em, true, ""},
		{"emergency ended: interrupt gone", []schedules.Entry{seg(1, 0, 30*time.Second, a)}, em, false, ""},
		{"emergency ended: its segment in a slot is not its interrupt", []schedules.Entry{moved(1, 0, e, "em")}, em, false, ""},
		{"a later interrupt of the same segment is another one", []schedules.Entry{interrupt(t0.Add(20*time.Second), 15*time.Second, e)}, em, false, ""},
		{"nothing left for the cluster", nil, first, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb := newTestBundle()
			nb.media("a")
			nb.media("c")
			nb.media("e")
			nb.playlist(t, "trung-tam", tt.entries...)
			nb.playlist(t, "ban-a", seg(1, 0, 30*time.Second, a)) // the same entry on another cluster is not it
			np := mustPlan(t, nb)
			held, same := np.Holding(tt.it)
			if held != tt.held || np.Holds(tt.it) != tt.held {
				t.Fatalf("Holding(%s) = %v, want %v", tt.it.ID, held, tt.held)
			}
			if got := ""; same != nil || tt.same != "" {
				if same != nil {
					got = same.ID
				}
				if got != tt.same {
					t.Fatalf("the same broadcast: %q, want %q", got, tt.same)
				}
			}
		})
	}
}

// TestStoppedRecord: a stopped play closes its start, is not done (a
// later bundle holding the item again plays it where the schedule is),
// is reported failed with its reason, and survives a reopening.
func TestStoppedRecord(t *testing.T) {
	p := mustPlan(t, newTestBundle())
	p.Manifest.Version = "v7"
	p.Cause = "emergency_ended"
	why := StoppedReason(p)
	for _, want := range []string{"stopped", "v7", "no longer has this item", "emergency_ended"} {
		if !strings.Contains(why, want) {
			t.Errorf("reason %q does not say %q", why, want)
		}
	}
	r := rec(Stopped, "p1", "k1", t0)
	r.Reason = why
	if !r.Closes() || r.Done() || !r.Uploads() {
		t.Errorf("stopped: closes %v, done %v, uploads %v; want true, false, true", r.Closes(), r.Done(), r.Uploads())
	}
	rep := r.Report()
	if rep.Status != schedules.Failed || rep.Reason != why {
		t.Errorf("reported %s %q, want failed with the reason", rep.Status, rep.Reason)
	}
	path := t.TempDir() + "/journal"
	j := openJournal(t, path)
	for _, x := range []Record{rec(Started, "p1", "k1", t0.Add(-time.Second)), r} {
		if _, err := j.Append(x); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	j = openJournal(t, path)
	if got := j.Records(0); len(got) != 2 || got[1].Kind != Stopped || got[1].Reason != why {
		t.Fatalf("after reopening: %+v", got)
	}
	if len(j.Open()) != 0 || j.Done()["k1"] {
		t.Errorf("open %v, done %v: want the play closed and its item not done", j.Open(), j.Done())
	}
}

// TestRunnerStopsWhatTheNewPlanDrops: with real mpv, a new plan put in
// force while an item sounds stops it at once when it no longer holds
// the item (an emergency ended, a segment withdrawn): journalled
// stopped with the reason, reported failed, and the cluster goes on
// with what the new plan has due now by the schedule's clock. An item
// the new plan still holds plays on to its end.
func TestRunnerStopsWhatTheNewPlanDrops(t *testing.T) {
	needMPV(t)
	long, other, em := toneData(t, "12", "440"), toneData(t, "8", "550"), toneData(t, "10", "880")
	const slot = "2025-03-03T05:30"
	tests := []struct {
		name string
		// first is the plan in force at base-1 s; then, once playing is
		// sounding for a second, second replaces it.
		first, second func(base time.Time, sha func(string) string) []schedules.Entry
		playing       string // the entry sounding when the plan changes
		stopped       bool
		next          string // the entry that sounds next ("" for none within the test)
	}{
		{
			name: "emergency ended: the interrupt stops, the slot resumes where the schedule is",
			first: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 12*time.Second, sha(long)),
					{ID: "2025-03-03T053000!em", Kind: schedules.EntryInterrupt, Start: base.Add(-time.Second), DurationMS: 10000, SegmentID: "em", SHA256: sha(em), URL: "media/" + sha(em) + ".mp3"}}
			},
			second: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 12*time.Second, sha(long))}
			},
			playing: "2025-03-03T053000!em", stopped: true, next: slot + "#1",
		},
		{
			name: "withdrawn: the item stops, the rebuilt slot's item due now plays from the clock's offset",
			first: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 12*time.Second, sha(long))}
			},
			second: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#2", base, 8*time.Second, sha(other))}
			},
			playing: slot + "#1", stopped: true, next: slot + "#2",
		},
		{
			name: "another change: the item plays on to its end",
			first: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 8*time.Second, sha(other))}
			},
			second: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 8*time.Second, sha(other)), at(slot+"#2", base.Add(time.Hour), 12*time.Second, sha(long))}
			},
			playing: slot + "#1",
		},
		{
			name: "rebuilt slot without it, its segment moved to a later slot: plays on to its end",
			first: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 8*time.Second, sha(other))}
			},
			second: func(base time.Time, sha func(string) string) []schedules.Entry {
				e := at("2025-03-03T17:00#1", base.Add(time.Hour), 8*time.Second, sha(other))
				e.SegmentID = "seg-" + slot + "#1"
				return []schedules.Entry{e}
			},
			playing: slot + "#1",
		},
		{
			name: "re-timed later and renumbered by a rebuild: plays on, and is not heard again under its new entry",
			first: func(base time.Time, sha func(string) string) []schedules.Entry {
				return []schedules.Entry{at(slot+"#1", base, 8*time.Second, sha(other))}
			},
			second: func(base time.Time, sha func(string) string) []schedules.Entry {
				e := at(slot+"#2", base.Add(2*time.Second), 8*time.Second, sha(other))
				e.SegmentID = "seg-" + slot + "#1"
				return []schedules.Entry{e}
			},
			playing: slot + "#1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := func(entries func(time.Time, func(string) string) []schedules.Entry, base time.Time, version string) (*Plan, string) {
				b := newTestBundle()
				b.m.Version, b.m.ValidUntil = version, base.Add(2*time.Hour)
				shas := map[string]string{}
				for _, data := range []string{long, other, em} {
					shas[data] = b.media(data)
				}
				b.playlist(t, "trung-tam", entries(base, func(data string) string { return shas[data] })...)
				return mustPlan(t, b), b.writeOut(t)
			}
			base := time.Now().Add(time.Second)
			cur := NewCurrent()
			cur.Set(bundle(tt.first, base, "v1"))
			j, _ := runners(t, cur, "trung-tam")
			waitFor(t, j, tt.playing+" sounding", func(r []Record) bool { return has(r, Started, tt.playing) })
			time.Sleep(time.Second)
			plan2, dir2 := bundle(tt.second, base, "v2")
			plan2.Cause = "emergency_ended"
			changed := time.Now()
			cur.Set(plan2, dir2)
			if !tt.stopped {
				waitFor(t, j, tt.playing+" to its end", func(r []Record) bool { return has(r, Finished, tt.playing) || has(r, Stopped, tt.playing) })
				time.Sleep(1500 * time.Millisecond) // nothing else may start after it
				recs := j.Records(0)
				if n := count(Started)(recs); has(recs, Stopped, tt.playing) || n != 1 {
					t.Fatalf("a change that keeps the item cut it or started it again (%d starts): %+v", n, recs)
				}
				return
			}
			recs := waitFor(t, j, tt.playing+" stopped and "+tt.next+" sounding", func(r []Record) bool {
				return has(r, Stopped, tt.playing) && has(r, Started, tt.next)
			})
			var stop, next Record
			for _, r := range recs {
				switch {
				case r.Kind == Stopped:
					stop = r
				case r.Kind == Started && r.Entry == tt.next:
					next = r
				case r.Entry == tt.playing && r.Kind != Started:
					t.Errorf("%s also closed %s: %q", tt.playing, r.Kind, r.Reason)
				}
			}
			t.Logf("stopped %s and %s sounding %s after the new plan", stop.At.Sub(changed), tt.next, next.At.Sub(changed))
			if d := stop.At.Sub(changed); d > lateBound {
				t.Errorf("stopped %s after the new plan: want within %s", d, lateBound)
			}
			if stop.Entry != tt.playing || stop.Reason != StoppedReason(plan2) || stop.Report().Status != schedules.Failed {
				t.Errorf("stopped %s %q reported %s; want %s %q reported failed", stop.Entry, stop.Reason, stop.Report().Status, tt.playing, StoppedReason(plan2))
			}
			// The schedule's clock decides: the next item's offset is the
			// time since its start.
			want := next.At.Sub(base)
			if got := time.Duration(next.OffsetMS) * time.Millisecond; got < want-300*time.Millisecond || got > want+100*time.Millisecond {
				t.Errorf("%s started at offset %s, %s after its start", tt.next, got, want)
			}
			// Once stopped, it is not heard again.
			time.Sleep(time.Second)
			if n := len(startsOf(j.Records(0), tt.playing)); n != 1 {
				t.Errorf("%s started %d times", tt.playing, n)
			}
		})
	}
}

func has(recs []Record, kind Kind, entry string) bool {
	for _, r := range recs {
		if r.Kind == kind && r.Entry == entry {
			return true
		}
	}
	return false
}

func startsOf(recs []Record, entry string) []Record {
	var out []Record
	for _, r := range recs {
		if r.Kind == Started && r.Entry == entry {
			out = append(out, r)
		}
	}
	return out
}
