package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestJobBoardEmergencyLabel: the jobs board labels a job Khẩn cấp while
// its segment's emergency is in force, and no longer once it is over
// (ended early or run out: the segment airs nowhere and its jobs are due
// by the normal deadline), though the segment's priority still says
// emergency.
func TestJobBoardEmergencyLabel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		until time.Duration // the emergency's end from now
		label bool
	}{
		{"in force", time.Hour, true},
		{"over", -time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			ctx := context.Background()
			job := b.subtitleJob(t)
			now := b.db.Now().UTC()
			if _, err := b.db.SQL().ExecContext(ctx, "UPDATE segments SET priority = ? WHERE id = ?", string(pipeline.PriorityEmergency), job.SegmentID); err != nil {
				t.Fatal(err)
			}
			if _, err := b.db.SQL().ExecContext(ctx, "INSERT INTO emergencies (segment_id, targets, until, marked_by, marked_at) VALUES (?, ?, ?, ?, ?)",
				job.SegmentID, "", now.Add(tc.until), b.users[pipeline.RoleAdmin].ID, now.Add(-2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			_, body := b.do(t, "GET", "/jobs", b.session(t, pipeline.RoleTranslator), nil, "")
			card := section(body, `data-id="`+job.ID+`"`)
			if card == "" {
				t.Fatalf("the job is not on the board:\n%s", body)
			}
			if got := strings.Contains(card, "Khẩn cấp"); got != tc.label {
				t.Errorf("the job's card says Khẩn cấp: %v, want %v\n%s", got, tc.label, card)
			}
		})
	}
}
