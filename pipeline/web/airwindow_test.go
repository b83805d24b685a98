package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// TestAirWindowLastDay: the upload page's second date is the last day on
// air ("Đến hết ngày", with a note that the window runs through it), and a
// segment page whose window ends at 00:00 names the day before as the last
// day on air; one that ends in the day names that day.
func TestAirWindowLastDay(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	pr := b.session(t, pipeline.RoleProducer)
	resp, body := b.do(t, "GET", "/producer/upload", pr, nil, "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<label for="f-air_until">Đến hết ngày</label>`) ||
		!strings.Contains(body, "Phát từ 00:00 ngày bắt đầu đến hết ngày kết thúc (giờ Việt Nam).") {
		t.Fatalf("upload page: %d\n%s", resp.StatusCode, body)
	}
	ctx := context.Background()
	now := b.db.Now().UTC()
	for i, tc := range []struct {
		until time.Time
		want  string
	}{
		{time.Date(2025, 4, 1, 0, 0, 0, 0, localtime.Location()), "01/04/2025 00:00 (ngày phát cuối 31/03/2025)"},
		{time.Date(2025, 4, 1, 17, 0, 0, 0, localtime.Location()), "01/04/2025 17:00 (ngày phát cuối 01/04/2025)"},
	} {
		id := fmt.Sprintf("seg-%d-%d", now.UnixNano(), i)
		seg := pipeline.Segment{ID: id, SHA256: id, Title: "Tin đến hết tháng", Kind: pipeline.KindRadio, Topic: "procedures",
			Priority: pipeline.PriorityNormal, AirFrom: now, AirUntil: tc.until.UTC(), Languages: []string{"vi"},
			State: pipeline.StateProbed, ProducerID: b.users[pipeline.RoleProducer].ID, OriginalKey: "segments/" + id + "/original",
			OriginalName: "a.wav", ContentType: "audio/wav", Size: 4, CreatedAt: now, UpdatedAt: now}
		if _, _, err := b.db.InsertSegment(ctx, seg, nil); err != nil {
			t.Fatal(err)
		}
		resp, body := b.do(t, "GET", "/producer/segments/"+id, pr, nil, "same-origin")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, " – "+tc.want+"</dd>") {
			t.Fatalf("segment page until %v: %d, want %q\n%s", tc.until, resp.StatusCode, tc.want, body)
		}
	}
}
