package translation

import (
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestApplyRerender: only an approved job is rendered again, by an admin
// or a reviewer of its language (never a translator, a producer, a
// reviewer of another language or the system); it stays approved and
// loses the failure's reason.
func TestApplyRerender(t *testing.T) {
	t.Parallel()
	failed := job(StateApproved)
	failed.Reason = "The approved subtitles could not be rendered"
	for _, tc := range []struct {
		name  string
		state State
		by    pipeline.User
		ok    bool
	}{
		{"admin", StateApproved, admin, true},
		{"reviewer of the language", StateApproved, reviewer2, true},
		{"reviewer of another language", StateApproved, mongRev, false},
		{"translator", StateApproved, thai, false},
		{"producer", StateApproved, producer, false},
		{"system", StateApproved, system, false},
		{"a job in review", StateInReview, admin, false},
		{"a cancelled job", StateCancelled, admin, false},
	} {
		j := failed
		if tc.state != StateApproved {
			j = job(tc.state)
		}
		got, ev, err := policy.Apply(j, Request{Action: ActionRerender, By: tc.by, Now: t0})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed %v", tc.name, err, tc.ok)
			continue
		}
		if tc.ok && (got.State != StateApproved || got.Reason != "" || ev.Action != ActionRerender || ev.To != StateApproved) {
			t.Errorf("%s: job %s reason %q, event %+v", tc.name, got.State, got.Reason, ev)
		}
	}
}

// TestRenderFailed: the last of render_failed and rerender decides.
func TestRenderFailed(t *testing.T) {
	t.Parallel()
	ev := func(as ...Action) []Event {
		var out []Event
		for _, a := range as {
			out = append(out, Event{Action: a})
		}
		return out
	}
	for _, tc := range []struct {
		events []Event
		want   bool
	}{
		{nil, false},
		{ev(ActionApprove), false},
		{ev(ActionApprove, ActionRenderFailed), true},
		{ev(ActionApprove, ActionRenderFailed, ActionRerender), false},
		{ev(ActionApprove, ActionRenderFailed, ActionRerender, ActionRenderFailed), true},
	} {
		if got := RenderFailed(tc.events); got != tc.want {
			t.Errorf("RenderFailed(%v) = %v, want %v", tc.events, got, tc.want)
		}
	}
}
