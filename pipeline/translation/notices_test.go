package translation

import (
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
)

// TestDeadlineWarning: a job found due within the warning window is
// warned to whoever must act on it (the translator holding it, the
// translators of its language while it is open, the reviewers once
// submitted), except a job opened with no more time than the window (an
// emergency), whose opening notice gave its deadline already.
func TestDeadlineWarning(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)
	warn := 24 * time.Hour
	cases := []struct {
		name   string
		state  State
		opened time.Duration // before the deadline
		want   bool
		toUser int64
		toRole pipeline.Role
	}{
		{name: "held", state: StateClaimed, opened: 72 * time.Hour, want: true, toUser: thai.ID},
		{name: "open", state: StateOpen, opened: 72 * time.Hour, want: true, toRole: pipeline.RoleTranslator},
		{name: "submitted", state: StateSubmitted, opened: 72 * time.Hour, want: true, toRole: pipeline.RoleReviewer},
		{name: "emergency", state: StateOpen, opened: 4 * time.Hour, want: false},
		{name: "opened exactly the window before", state: StateOpen, opened: warn, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deadline := t0.Add(72 * time.Hour)
			j := Job{ID: "j1", Language: "blt", Kind: KindSubtitle, Title: "Một cửa", State: c.state,
				CreatedAt: deadline.Add(-c.opened), Deadline: deadline}
			if c.state == StateClaimed {
				j.TranslatorID = thai.ID
			}
			now := deadline.Add(-3 * time.Hour)
			n, ok := DeadlineWarning(j, now, warn)
			if ok != c.want {
				t.Fatalf("warned %v, want %v", ok, c.want)
			}
			if !ok {
				return
			}
			if n.Kind != notify.KindDeadlineSoon || n.JobID != "j1" || n.UserID != c.toUser || n.Role != string(c.toRole) || !n.CreatedAt.Equal(now) {
				t.Fatalf("notice %+v", n)
			}
		})
	}
}
