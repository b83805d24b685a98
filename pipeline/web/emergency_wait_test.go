package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestEmergencyWhileProcessingOnPage: the page of a segment still being
// processed says, on its emergency form, that the emergency can be raised
// as soon as processing ends (the page polls and refreshes itself: its
// state is not done); sending the form then is refused in the page's
// language, saying so, and raises nothing; once processed the note is
// gone and the same form raises the emergency.
func TestEmergencyWhileProcessingOnPage(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	now := b.db.Now().UTC()
	id := fmt.Sprintf("seg-%d", now.UnixNano())
	seg := pipeline.Segment{ID: id, SHA256: id, Title: "Cảnh báo lũ", Kind: pipeline.KindRadio, Topic: "procedures",
		Priority: pipeline.PriorityPriority, AirFrom: now.Add(-time.Hour), AirUntil: now.Add(240 * time.Hour), Languages: []string{"vi"},
		State: pipeline.StateProbed, ProducerID: b.users[pipeline.RoleProducer].ID, OriginalKey: "segments/" + id + "/original",
		OriginalName: "flood.wav", ContentType: "audio/wav", Size: 4, CreatedAt: now, UpdatedAt: now}
	if _, _, err := b.db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	page := "/producer/segments/" + id
	prod := b.session(t, pipeline.RoleProducer)
	_, body := b.do(t, "GET", page, prod, nil, "")
	if !strings.Contains(body, `id="emergency-wait"`) || !strings.Contains(body, "có thể phát khẩn cấp ngay khi xử lý xong") ||
		!strings.Contains(body, `data-done="false"`) || !strings.Contains(body, `id="emergency-form"`) {
		t.Fatalf("the page of a segment still processing lacks the note on its emergency form, or the form, or does not refresh itself:\n%s", body)
	}
	form := url.Values{"communes": {"muong-lan"}, "reason": {"Lũ quét"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	resp, body := b.do(t, "POST", page+"/emergency", prod, form, "same-origin")
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "chưa sẵn sàng phát") {
		t.Fatalf("emergency while processing: %d, want a refusal saying it is still processing\n%s", resp.StatusCode, body)
	}
	if _, err := b.db.EmergencyInForce(ctx, id, b.db.Now()); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		t.Fatalf("an emergency is in force after the refusal: %v", err)
	}
	v := pipeline.Variant{SegmentID: id, Language: "vi", AudioKey: "segments/" + id + "/vi/loudspeaker.mp3", DurationMS: 4000, SHA256: strings.Repeat("a", 64), Size: 1000}
	if err := b.db.SaveProcessed(ctx, id, nil, &v, nil); err != nil {
		t.Fatal(err)
	}
	if _, body := b.do(t, "GET", page, prod, nil, ""); strings.Contains(body, `id="emergency-wait"`) {
		t.Fatalf("the processed segment's page still says it is processing:\n%s", body)
	}
	if resp, body := b.do(t, "POST", page+"/emergency", prod, form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("emergency once processed: %d\n%s", resp.StatusCode, body)
	}
	if _, err := b.db.EmergencyInForce(ctx, id, b.db.Now()); err != nil {
		t.Fatalf("no emergency in force once raised: %v", err)
	}
}
