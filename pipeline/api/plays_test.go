package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/schedules"
)

// TestPlayReportsChecked posts play reports against the built schedule:
// an item not scheduled, or played far longer than it lasts, is refused
// with its reason and not stored; the others are stored, and a body whose
// every report is refused is a 422 that names each.
func TestPlayReportsChecked(t *testing.T) {
	sb := setupSchedules(t)
	// Reports of the morning's items are posted in the evening: a report
	// may not start after the server's now.
	sb.advance(14 * time.Hour)
	op := sb.tokens[pipeline.RoleOperator]
	_, js := sb.get(t, "/api/communes/muong-lan/clusters/trung-tam/playlists/"+sb.today+".json", op)
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	var e schedules.Entry
	for _, x := range doc.Entries {
		if x.Kind == schedules.EntrySegment {
			e = x
			break
		}
	}
	if e.ID == "" {
		t.Fatalf("no segment entry in the test schedule: %s", js)
	}
	length := time.Duration(e.DurationMS) * time.Millisecond
	played := func(id, item string, start time.Time, d time.Duration) string {
		return fmt.Sprintf(`{"id":%q,"item":%q,"cluster":"trung-tam","status":"played","started":%q,"finished":%q}`,
			id, item, start.Format(time.RFC3339), start.Add(d).Format(time.RFC3339))
	}
	tests := []struct {
		name    string
		body    string
		status  int
		new     int
		refused map[int]string // position -> part of the reason
	}{
		{"bogus item", `[` + played("r-bogus", "bogus", e.Start, length) + `]`, 422, 0, map[int]string{1: "is not in the schedule of cluster trung-tam"}},
		{"17 hours for minutes", `[` + played("r-long", e.ID, e.Start, 17*time.Hour) + `]`, 422, 0, map[int]string{1: "played 17h"}},
		{"started in the future", `[` + played("r-future", e.ID, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), length) + `]`, 422, 0, map[int]string{1: "in the future"}},
		{"started after the item's window", `[` + played("r-after", e.ID, e.Start.Add(2*time.Hour), length) + `]`, 422, 0, map[int]string{1: "outside the times it could play"}},
		{"started the day before", `[` + played("r-before", e.ID, e.Start.Add(-24*time.Hour), length) + `]`, 422, 0, map[int]string{1: "outside the times it could play"}},
		{"mixed", `[` + played("r-ok", e.ID, e.Start, length+10*time.Second) + `,` + played("r-bogus2", sb.today+"T23:59#9", e.Start, length) + `,` +
			played("r-long2", e.ID, e.Start, length+broadcast.PlayTolerance+time.Minute) + `,` +
			fmt.Sprintf(`{"id":"r-failed","item":%q,"cluster":"trung-tam","status":"failed","started":%q,"reason":"mất điện"}`, e.ID, e.Start.Format(time.RFC3339)) + `]`,
			200, 2, map[int]string{2: "is not in the schedule", 3: "but the report says it played"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := sb.do(t, "POST", "/api/communes/muong-lan/plays", op, strings.NewReader(tc.body), "application/json")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status != 200 {
				for n, why := range tc.refused {
					if !strings.Contains(string(body), fmt.Sprintf("report %d", n)) || !strings.Contains(string(body), why) {
						t.Errorf("refusal lacks report %d's reason %q: %s", n, why, body)
					}
				}
				return
			}
			var got api.PlayReportResponse
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.New != tc.new || len(got.Refused) != len(tc.refused) {
				t.Fatalf("answer %s: want %d new, %d refused", body, tc.new, len(tc.refused))
			}
			for _, rf := range got.Refused {
				if why, ok := tc.refused[rf.N]; !ok || !strings.Contains(rf.Reason, why) {
					t.Errorf("refused %+v, want reason with %q", rf, why)
				}
			}
		})
	}
	stored, err := sb.db.PlayReports(context.Background(), "muong-lan", sb.today)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range stored {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "r-ok,r-failed" && strings.Join(ids, ",") != "r-failed,r-ok" {
		t.Fatalf("stored reports %v, want only r-ok and r-failed", ids)
	}
}
