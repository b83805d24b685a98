package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestRaisingBringsDeadlinesForward: jobs opened while their segment was
// normal (due in 72 h) are brought forward when the segment is raised to
// priority (24 h from then) and again when an emergency is raised on it
// (4 h from then), whatever state they are in short of done; lowering
// the priority moves none; ending the emergency early gives them back the
// normal deadline from their opening; another segment's jobs keep
// theirs; each move is in the job's history.
func TestRaisingBringsDeadlinesForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.processedPair(t)
	opened := b.clock.Now()
	if _, err := b.apply(t, b.jobOf(t, "n", "blt", translation.KindVoiceover).ID, translation.ActionClaim, "lo-van-a", ""); err != nil {
		t.Fatal(err)
	}
	producer := b.users["dai-ptth"].ID
	steps := []struct {
		name   string
		change func(now time.Time) error
		due    func(now time.Time) time.Time // of n's jobs, after the change
	}{
		{"raised to priority", func(time.Time) error {
			_, err := b.db.SetPriority(ctx, "n", producer, pipeline.PriorityPriority)
			return err
		}, func(now time.Time) time.Time { return now.Add(24 * time.Hour) }},
		{"lowered to normal", func(time.Time) error {
			_, err := b.db.SetPriority(ctx, "n", producer, pipeline.PriorityNormal)
			return err
		}, func(now time.Time) time.Time { return now.Add(-time.Hour).Add(24 * time.Hour) }}, // unchanged
		{"emergency raised", func(now time.Time) error {
			return b.db.MarkEmergency(ctx, pipeline.Emergency{SegmentID: "n", Until: now.Add(6 * time.Hour), MarkedBy: producer, MarkedAt: now, Reason: "lũ quét"})
		}, func(now time.Time) time.Time { return now.Add(4 * time.Hour) }},
		// Ended early, the segment airs nowhere: its jobs are due by the
		// normal deadline from their opening again.
		// A job the emergency's deadline made overdue is not overdue
		// any more.
		{"emergency ended", func(time.Time) error {
			b.clock.Add(4 * time.Hour) // an hour past the emergency's 4 h deadline, before its end
			if _, err := b.db.SweepJobs(ctx, b.clock.Now(), time.Hour, func(translation.Job, time.Time, time.Duration) (notify.Notice, bool) {
				return notify.Notice{}, false
			}); err != nil {
				return err
			}
			if j := b.jobOf(t, "n", "hnj", translation.KindVoiceover); !j.Overdue {
				t.Fatalf("the job past the emergency's deadline is not overdue: %+v", j)
			}
			_, _, err := b.db.EndEmergency(ctx, "n", producer, "báo động nhầm", b.clock.Now())
			return err
		}, func(time.Time) time.Time { return opened.Add(72 * time.Hour) }},
	}
	for _, s := range steps {
		b.clock.Add(time.Hour)
		now := b.clock.Now()
		if err := s.change(now); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		for _, lang := range []string{"blt", "hnj"} {
			j := b.jobOf(t, "n", lang, translation.KindVoiceover)
			if !j.Deadline.Equal(s.due(now)) {
				t.Errorf("%s: %s job due %s, want %s", s.name, lang, j.Deadline.UTC(), s.due(now).UTC())
			}
		}
	}
	if j := b.jobOf(t, "n", "hnj", translation.KindVoiceover); j.Overdue {
		t.Errorf("the job is still overdue after the emergency ended: due %s", j.Deadline.UTC())
	}
	if j := b.jobOf(t, "n", "blt", translation.KindVoiceover); j.State != translation.StateClaimed {
		t.Errorf("the claimed job is now %s, want it still claimed", j.State)
	}
	if j := b.jobOf(t, "other", "blt", translation.KindVoiceover); !j.Deadline.Equal(opened.Add(72 * time.Hour)) {
		t.Errorf("another segment's job due %s, want %s", j.Deadline.UTC(), opened.Add(72*time.Hour).UTC())
	}
	var moves int
	if err := b.db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE j.segment_id = ? AND e.action = ?",
		"n", string(translation.ActionRetime)).Scan(&moves); err != nil {
		t.Fatal(err)
	}
	if moves != 6 { // two jobs, moved three times each
		t.Errorf("%d retime events in the jobs' history, want 6", moves)
	}
}

// processedPair adds two normal radio segments, "n" (processed in
// Vietnamese now, so its translation jobs are open) and "other".
func (b *jobBundle) processedPair(t *testing.T) {
	t.Helper()
	b.segment(t, "n", pipeline.KindRadio, pipeline.PriorityNormal, false)
	b.segment(t, "other", pipeline.KindRadio, pipeline.PriorityNormal, false)
	if err := b.db.SaveProcessed(context.Background(), "n", nil, &pipeline.Variant{SegmentID: "n", Language: "vi", AudioKey: "segments/n/vi.mp3",
		DurationMS: 8000, SHA256: "x", Size: 10, ReadyAt: b.clock.Now()}, nil); err != nil {
		t.Fatal(err)
	}
}
