package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestJobsOfAnEmergencyThatIsOver: an emergency raised on a segment
// brings its jobs to the 4 h deadline and job lists label them
// emergency. Once the emergency is over — ended early, or run out by its
// end time (the next sweep) — the jobs are due by the normal deadline from
// their opening, are not flagged overdue by the emergency's deadline, and
// lists (Jobs, Job) label them normal, marked EmergencyEnded; while it is
// in force nothing of that changes. A second sweep moves nothing again.
func TestJobsOfAnEmergencyThatIsOver(t *testing.T) {
	t.Parallel()
	noWarning := func(translation.Job, time.Time, time.Duration) (notify.Notice, bool) { return notify.Notice{}, false }
	for _, tc := range []struct {
		name string
		// over acts after the emergency's 4 h job deadline passed (5 h
		// after the raise; the emergency lasts 6 h) and returns the
		// sweep's count of relaxed jobs, -1 when it does not sweep.
		over    func(t *testing.T, b *jobBundle, producer int64) int
		ended   bool
		relaxed int
	}{
		{name: "still in force", over: func(t *testing.T, b *jobBundle, _ int64) int {
			res, err := b.db.SweepJobs(context.Background(), b.clock.Now(), time.Hour, noWarning)
			if err != nil {
				t.Fatal(err)
			}
			return res.Relaxed
		}},
		{name: "ended early", ended: true, relaxed: -1, over: func(t *testing.T, b *jobBundle, producer int64) int {
			if _, _, err := b.db.EndEmergency(context.Background(), "n", producer, "báo động nhầm", b.clock.Now()); err != nil {
				t.Fatal(err)
			}
			return -1
		}},
		{name: "ran out", ended: true, relaxed: 2, over: func(t *testing.T, b *jobBundle, _ int64) int {
			b.clock.Add(2 * time.Hour) // past the emergency's end
			res, err := b.db.SweepJobs(context.Background(), b.clock.Now(), time.Hour, noWarning)
			if err != nil {
				t.Fatal(err)
			}
			return res.Relaxed
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setupJobs(t)
			b.processedPair(t)
			opened := b.clock.Now()
			producer := b.users["dai-ptth"].ID
			raised := b.clock.Now()
			if err := b.db.MarkEmergency(ctx, pipeline.Emergency{SegmentID: "n", Until: raised.Add(6 * time.Hour), MarkedBy: producer, MarkedAt: raised, Reason: "lũ quét"}); err != nil {
				t.Fatal(err)
			}
			if j := b.jobOf(t, "n", "blt", translation.KindVoiceover); j.Priority != "emergency" || j.EmergencyEnded {
				t.Fatalf("in force: job labelled %s (ended %v), want emergency", j.Priority, j.EmergencyEnded)
			}
			b.clock.Add(5 * time.Hour)
			if _, err := b.db.SweepJobs(ctx, b.clock.Now(), time.Hour, noWarning); err != nil {
				t.Fatal(err)
			}
			if n := tc.over(t, b, producer); n != tc.relaxed && tc.relaxed >= 0 {
				t.Errorf("the sweep relaxed %d jobs, want %d", n, tc.relaxed)
			}
			wantDue, wantPrio := raised.Add(4*time.Hour), "emergency"
			if tc.ended {
				wantDue, wantPrio = opened.Add(72*time.Hour), "normal"
			}
			jobs, err := b.db.Jobs(ctx, translation.Filter{SegmentID: "n"})
			if err != nil || len(jobs) != 2 {
				t.Fatalf("jobs of n: %d %v", len(jobs), err)
			}
			for _, j := range jobs {
				if !j.Deadline.Equal(wantDue) || j.Overdue == tc.ended || j.Priority != wantPrio || j.EmergencyEnded != tc.ended {
					t.Errorf("%s job: due %s overdue %v labelled %s (ended %v); want due %s overdue %v labelled %s",
						j.Language, j.Deadline.UTC(), j.Overdue, j.Priority, j.EmergencyEnded, wantDue.UTC(), !tc.ended, wantPrio)
				}
				one, err := b.db.Job(ctx, j.ID)
				if err != nil || one.Priority != wantPrio || one.EmergencyEnded != tc.ended {
					t.Errorf("Job(%s): labelled %s (ended %v) %v, want %s", j.ID, one.Priority, one.EmergencyEnded, err, wantPrio)
				}
			}
			if j := b.jobOf(t, "other", "blt", translation.KindVoiceover); j.Priority != "normal" || !j.Deadline.Equal(opened.Add(72*time.Hour)) {
				t.Errorf("another segment's job: %s due %s", j.Priority, j.Deadline.UTC())
			}
			res, err := b.db.SweepJobs(ctx, b.clock.Now(), time.Hour, noWarning)
			if err != nil || res.Relaxed != 0 {
				t.Errorf("a second sweep relaxed %d jobs (%v), want none", res.Relaxed, err)
			}
		})
	}
}
