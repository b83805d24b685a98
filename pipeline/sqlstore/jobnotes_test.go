package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestJobEventNotes: the system's events of a job keep why as a note (key
// and arguments, for pages to say in their reader's language) beside the
// English reason the API shows, with durations said as people say them;
// a person's event has none, and an event stored before notes reads back
// with its reason as it was and no note.
func TestJobEventNotes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "s1", pipeline.KindRadio, pipeline.PriorityNormal, false)
	j := b.jobOf(t, "s1", "blt", translation.KindVoiceover)
	lease := b.clock.Now().Add(48 * time.Hour)
	if _, err := b.apply(t, j.ID, translation.ActionClaim, "lo-van-a", ""); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Hour)
	wasDue := j.Deadline
	if _, err := b.db.SetPriority(ctx, "s1", b.users["dai-ptth"].ID, pipeline.PriorityPriority); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(47 * time.Hour) // the lease ends and the new deadline (24 h) is past
	if _, err := b.db.SweepJobs(ctx, b.clock.Now(), 24*time.Hour, translation.DeadlineWarning); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.WithdrawSegment(ctx, "s1", b.users["dai-ptth"].ID, "sai số liệu"); err != nil {
		t.Fatal(err)
	}
	// An event recorded before notes existed: English text only.
	if _, err := b.db.sql.ExecContext(ctx, `INSERT INTO job_events (job_id, at, actor_id, action, from_state, to_state, reason)
		VALUES (?, ?, 0, 'open', '', 'open', 'segment processed; due in 72h0m0s (normal)')`, j.ID, b.clock.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	evs, err := b.db.JobEvents(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	arg := func(k translation.ArgKind, v string) translation.NoteArg {
		return translation.NoteArg{Kind: k, Value: v}
	}
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	want := []struct {
		action translation.Action
		note   *translation.Note
		reason string
	}{
		{translation.ActionOpen, &translation.Note{Key: translation.NoteOpened, Args: []translation.NoteArg{arg(translation.ArgDuration, "259200"), arg(translation.ArgPriority, "normal")}},
			"segment processed; due in 3 days (normal)"},
		{translation.ActionClaim, nil, ""},
		{translation.ActionRetime, &translation.Note{Key: translation.NoteRetimed, Args: []translation.NoteArg{arg(translation.ArgPriority, "priority"), arg(translation.ArgDuration, "86400"), arg(translation.ArgTime, rfc(wasDue))}},
			"segment now priority: due in 24 hours (was " + rfc(wasDue) + ")"},
		{translation.ActionExpire, &translation.Note{Key: translation.NoteLeaseRanOut, Args: []translation.NoteArg{arg(translation.ArgTime, rfc(lease))}},
			"lease ran out at " + rfc(lease)},
		{translation.ActionFlagOverdue, nil, ""}, // checked by key below
		{translation.ActionCancel, &translation.Note{Key: translation.NoteWithdrawnBecause, Args: []translation.NoteArg{arg(translation.ArgText, "sai số liệu")}},
			"segment withdrawn: sai số liệu"},
		{translation.ActionOpen, nil, "segment processed; due in 72h0m0s (normal)"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Action != w.action {
			t.Errorf("event %d is %s, want %s", i, e.Action, w.action)
			continue
		}
		if w.action == translation.ActionFlagOverdue {
			if e.Note == nil || e.Note.Key != translation.NoteDeadlinePassed || e.Reason != e.Note.English() {
				t.Errorf("overdue event %+v, want a deadline_passed note", e)
			}
			continue
		}
		if (e.Note == nil) != (w.note == nil) || e.Note != nil && (e.Note.Key != w.note.Key || !slices.Equal(e.Note.Args, w.note.Args)) {
			t.Errorf("event %d (%s) note %+v, want %+v", i, e.Action, e.Note, w.note)
		}
		if e.Reason != w.reason {
			t.Errorf("event %d (%s) reason %q, want %q", i, e.Action, e.Reason, w.reason)
		}
	}
}
