package broadcast_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/schedules"
)

// raiseScene is what TestEmergencyRaiseKeepsWhatCameBefore's checks read:
// each commune's head and today's and tomorrow's entries of its
// trung-tam cluster, before the first raise and after each raise.
type raiseScene struct {
	fire    string
	raised  []time.Time                          // when each raise was made
	results []broadcast.EmergencyResult          // each raise's answer
	heads   []map[string]string                  // ETags: before, then after each raise
	items   []map[string][]pipeline.ScheduleItem // commune -> entries, as heads
}

// slot lists the entries of a commune's trung-tam cluster in one slot
// (date, start in seconds after midnight) of snapshot i.
func (sc *raiseScene) slot(i int, commune string, date schedules.Date, start int) []pipeline.ScheduleItem {
	var out []pipeline.ScheduleItem
	for _, it := range sc.items[i][commune] {
		if it.Date == date.String() && it.SlotStart == start && it.Kind != "interrupt" {
			out = append(out, it)
		}
	}
	return out
}

// interrupt is the commune's interrupt entry of the emergency in
// snapshot i (nil when none).
func (sc *raiseScene) interrupt(i int, commune string) *pipeline.ScheduleItem {
	for _, it := range sc.items[i][commune] {
		if it.Kind == "interrupt" && it.SegmentID == sc.fire {
			return &it
		}
	}
	return nil
}

// leads reports whether the emergency heads the commune's slot in
// snapshot i (right after the relay).
func (sc *raiseScene) leads(i int, commune string, date schedules.Date, start int) bool {
	for _, it := range sc.slot(i, commune, date, start) {
		if it.Kind == "segment" {
			return it.SegmentID == sc.fire && it.Priority == "emergency"
		}
	}
	return false
}

// TestEmergencyRaiseKeepsWhatCameBefore: raising an emergency changes
// only what comes after it, in the communes that get it. Raising it
// again to add a commune leaves the communes in force their interrupt
// (same entry, same time) and their ETag; the slots that ended before a
// raise keep their entries; and the emergency leads the slots from its
// raise to its end whatever the segment's own air window says (a warning
// uploaded with a later air_from, or whose window has ended).
func TestEmergencyRaiseKeepsWhatCameBefore(t *testing.T) {
	t.Parallel()
	const morning, evening = 5*3600 + 30*60, 17 * 3600
	type raise struct {
		after    time.Duration // from the previous step (the first: from 04:00)
		communes []string
	}
	tests := []struct {
		name string
		// window sets the emergency segment's own air window from the
		// time of the first raise (zero: the fixture's default, begun an
		// hour before it was added).
		window func(now time.Time) (from, until time.Time)
		raises []raise
		check  func(t *testing.T, sc *raiseScene, today schedules.Date)
	}{
		{
			name:   "adding a commune leaves the commune in force its interrupt and ETag",
			raises: []raise{{2 * time.Hour, []string{"muong-lan"}}, {10 * time.Minute, []string{"to-hieu"}}},
			check: func(t *testing.T, sc *raiseScene, today schedules.Date) {
				if got := sc.results[1].Plan; got == nil || !slices.Equal(got.Kept, []string{"muong-lan"}) || !slices.Equal(got.Added, []string{"to-hieu"}) {
					t.Fatalf("plan of the second raise: %+v", got)
				}
				if slices.Contains(sc.results[1].Build.Changed, "muong-lan") {
					t.Errorf("the second raise gave muong-lan a new version (changed %v): nothing changed there", sc.results[1].Build.Changed)
				}
				if sc.heads[2]["muong-lan"] != sc.heads[1]["muong-lan"] {
					t.Errorf("muong-lan's ETag changed on a raise that only added to-hieu: %s -> %s", sc.heads[1]["muong-lan"], sc.heads[2]["muong-lan"])
				}
				first, again := sc.interrupt(1, "muong-lan"), sc.interrupt(2, "muong-lan")
				if first == nil || again == nil || again.EntryID != first.EntryID || !again.Start.Equal(sc.raised[0]) {
					t.Errorf("muong-lan's interrupt moved: %+v -> %+v, want it kept at the first raise %s", first, again, sc.raised[0])
				}
				if added := sc.interrupt(2, "to-hieu"); added == nil || !added.Start.Equal(sc.raised[1]) {
					t.Errorf("to-hieu's interrupt: %+v, want one at the second raise %s", added, sc.raised[1])
				}
				if sc.heads[2]["to-hieu"] == sc.heads[1]["to-hieu"] {
					t.Error("the added commune kept its ETag")
				}
			},
		},
		{
			name:   "slots that ended before the raise keep their entries",
			raises: []raise{{3 * time.Hour, []string{"muong-lan"}}}, // 07:00, after the morning slot
			check: func(t *testing.T, sc *raiseScene, today schedules.Date) {
				before, after := sc.slot(0, "muong-lan", today, morning), sc.slot(1, "muong-lan", today, morning)
				if len(before) == 0 || !slices.EqualFunc(before, after, sameEntry) {
					t.Errorf("this morning's slot, which ended before the raise, changed:\n before %v\n after  %v", brief(before), brief(after))
				}
				if !sc.leads(1, "muong-lan", today, evening) || !sc.leads(1, "muong-lan", today.AddDays(1), morning) {
					t.Error("the emergency does not lead this evening's and tomorrow morning's slots")
				}
			},
		},
		{
			name: "an air window that has not begun does not keep the warning off",
			window: func(now time.Time) (time.Time, time.Time) {
				return now.Add(4 * 24 * time.Hour), now.Add(30 * 24 * time.Hour)
			},
			raises: []raise{{2 * time.Hour, []string{"muong-lan"}}},
			check: func(t *testing.T, sc *raiseScene, today schedules.Date) {
				if sc.interrupt(1, "muong-lan") == nil {
					t.Error("no interrupt")
				}
				if !sc.leads(1, "muong-lan", today, evening) || !sc.leads(1, "muong-lan", today.AddDays(1), morning) {
					t.Error("the emergency does not lead this evening's and tomorrow morning's slots: its air window (from in 4 days) kept it off")
				}
			},
		},
		{
			name: "an air window that has ended does not keep the warning off",
			window: func(now time.Time) (time.Time, time.Time) {
				return now.Add(-10 * 24 * time.Hour), now.Add(-time.Minute)
			},
			raises: []raise{{2 * time.Hour, []string{"muong-lan"}}},
			check: func(t *testing.T, sc *raiseScene, today schedules.Date) {
				if !sc.leads(1, "muong-lan", today, evening) {
					t.Error("the emergency does not lead this evening's slot: its ended air window kept it off")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := context.Background()
			for i := range 6 {
				broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thường " + string(rune('A'+i)), Languages: []string{"vi", "blt", "hnj"}, DurationMS: int64(100_000 + 1000*i)})
			}
			today := schedules.DateOf(f.now.In(broadcast.Location()))
			seg := broadcasttest.Segment{Title: "Lũ quét", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000}
			if tt.window != nil {
				seg.AirFrom, seg.AirUntil = tt.window(f.now.Add(tt.raises[0].after))
			}
			if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
				t.Fatal(err)
			}
			// The warning is made ready after the nightly build, as a
			// flood warning is: it is in no playlist before its raise.
			sc := &raiseScene{fire: broadcasttest.AddReady(t, f.db, nil, f.producer, seg)}
			snap := func() {
				t.Helper()
				heads := f.heads(t)
				items := map[string][]pipeline.ScheduleItem{}
				for code := range heads {
					head, err := f.db.CommuneHead(ctx, code)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range []schedules.Date{today, today.AddDays(1)} {
						its, err := f.db.VersionItems(ctx, head.VersionID, "trung-tam", d.String())
						if err != nil {
							t.Fatal(err)
						}
						items[code] = append(items[code], its...)
					}
				}
				sc.heads, sc.items = append(sc.heads, heads), append(sc.items, items)
			}
			snap()
			for _, r := range tt.raises {
				f.now = f.now.Add(r.after)
				res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: sc.fire, Communes: r.communes, Reason: "lũ quét", By: f.producer})
				if err != nil {
					t.Fatal(err)
				}
				sc.raised, sc.results = append(sc.raised, f.now), append(sc.results, res)
				snap()
			}
			tt.check(t, sc, today)
		})
	}
}

// sameEntry compares what a device plays of two entries.
func sameEntry(a, b pipeline.ScheduleItem) bool {
	return a.EntryID == b.EntryID && a.Kind == b.Kind && a.SegmentID == b.SegmentID && a.Language == b.Language && a.Start.Equal(b.Start) && a.DurationMS == b.DurationMS
}

func brief(items []pipeline.ScheduleItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.EntryID+" "+it.Kind+" "+it.SegmentID)
	}
	return out
}

// TestReportNamesEachRaise: the report's emergency section says when
// each commune got the alert (the first raise, or the later one that
// added it), so no commune's first play comes before it, and names both
// the producer who asked for a wide emergency and the administrator who
// confirmed it.
func TestReportNamesEachRaise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// raise raises the emergency on seg at f.now, moving the clock as
		// it goes, and returns who should be named.
		raise         func(t *testing.T, f *fixture, seg string) (markedBy, requestedBy string)
		want          map[string]time.Duration // commune -> raised after the first raise
		requestedLine bool
	}{
		{
			name: "raised again to add a commune",
			raise: func(t *testing.T, f *fixture, seg string) (string, string) {
				ctx := context.Background()
				for _, cs := range [][]string{{"muong-lan"}, {"to-hieu"}} {
					if _, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: seg, Communes: cs, Reason: "lũ quét", By: f.producer}); err != nil {
						t.Fatal(err)
					}
					f.now = f.now.Add(8 * time.Second)
				}
				return f.producer.Name, ""
			},
			want: map[string]time.Duration{"muong-lan": 0, "to-hieu": 8 * time.Second},
		},
		{
			name: "asked by a producer, confirmed by an administrator",
			raise: func(t *testing.T, f *fixture, seg string) (string, string) {
				ctx := context.Background()
				wide := []string{"muong-lan", "to-hieu", "suoi-to", "ta-xua"} // more than half of the 7
				res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: seg, Communes: wide, Reason: "lũ quét", By: f.producer})
				if err != nil || !res.Pending {
					t.Fatalf("wide request: %+v %v", res, err)
				}
				admin, err := f.db.CreateUser(ctx, pipeline.NewUser{Name: "quan-tri-" + seg[:8], Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.svc.ConfirmEmergency(ctx, seg, admin); err != nil {
					t.Fatal(err)
				}
				return admin.Name, f.producer.Name
			},
			want:          map[string]time.Duration{"muong-lan": 0, "to-hieu": 0, "suoi-to": 0, "ta-xua": 0},
			requestedLine: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := context.Background()
			broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thường", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 100_000})
			if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
				t.Fatal(err)
			}
			f.now = f.now.Add(2 * time.Hour)
			first := f.now
			seg := broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Lũ quét", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
			markedBy, requestedBy := tt.raise(t, f, seg)
			// Each commune's player plays its interrupt at once.
			for code := range tt.want {
				head, err := f.db.CommuneHead(ctx, code)
				if err != nil {
					t.Fatal(err)
				}
				items, err := f.db.VersionItems(ctx, head.VersionID, "trung-tam", "")
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(items, func(it pipeline.ScheduleItem) bool { return it.Kind == "interrupt" && it.SegmentID == seg })
				if i < 0 {
					t.Fatalf("%s has no interrupt", code)
				}
				it := items[i]
				r := schedules.PlayReport{ID: "p-" + code, Entry: it.EntryID, Cluster: it.Cluster, SegmentID: seg, Status: schedules.Played,
					Started: it.Start, Finished: it.Start.Add(30 * time.Second)}
				if _, err := f.db.SavePlayReports(ctx, code, f.producer.ID, []schedules.PlayReport{r}, func(schedules.PlayReport) string { return it.Date }); err != nil {
					t.Fatal(err)
				}
			}
			p, err := report.ParsePeriod("2025-03")
			if err != nil {
				t.Fatal(err)
			}
			r, err := report.Build(ctx, f.db, p, "", f.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Emergencies) != 1 {
				t.Fatalf("emergencies %+v", r.Emergencies)
			}
			em := r.Emergencies[0]
			if !em.MarkedAt.Equal(first) || em.MarkedBy != markedBy || em.RequestedBy != requestedBy {
				t.Errorf("marked at %s by %q, requested by %q; want %s by %q, requested by %q", em.MarkedAt, em.MarkedBy, em.RequestedBy, first, markedBy, requestedBy)
			}
			if len(em.Targets) != len(tt.want) {
				t.Errorf("targets %+v, want %v", em.Targets, tt.want)
			}
			for _, tg := range em.Targets {
				if want := first.Add(tt.want[tg.Commune]); !tg.RaisedAt.Equal(want) {
					t.Errorf("%s raised at %s, want %s", tg.Commune, tg.RaisedAt, want)
				}
				if tg.FirstPlayed.IsZero() || tg.FirstPlayed.Before(tg.RaisedAt) || tg.FirstPlayed.Before(em.MarkedAt) {
					t.Errorf("%s first played %s, before it got the alert (%s, first raise %s)", tg.Commune, tg.FirstPlayed, tg.RaisedAt, em.MarkedAt)
				}
			}
			var csv strings.Builder
			if err := r.WriteCSV(&csv); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(csv.String(), "requested_by,"+requestedBy); got != tt.requestedLine {
				t.Errorf("CSV names the requester: %v, want %v\n%s", got, tt.requestedLine, csv.String())
			}
			if !strings.Contains(csv.String(), ",marked_by,"+markedBy) || !strings.Contains(csv.String(), ",muong-lan,,,"+seg+",raised_at,") {
				t.Errorf("CSV lacks who raised it or a commune's raise:\n%s", csv.String())
			}
		})
	}
}
