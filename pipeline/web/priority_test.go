package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// TestSegmentPriority changes a segment's priority from its page: the
// page shows the current level, the form sends it to the API, the page
// confirms, and the store has the new level; an emergency cannot be set
// through this form.
func TestSegmentPriority(t *testing.T) {
	b := setup(t)
	pr := b.session(t, pipeline.RoleProducer)
	page := "/producer/segments/" + b.segs[0]
	resp, body := b.do(t, "GET", page, pr, nil, "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<dd id="priority-text">Thường</dd>`) ||
		!strings.Contains(body, `id="p-normal" checked`) || !strings.Contains(body, `<legend>Mức ưu tiên</legend>`) {
		t.Fatalf("segment page before: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.do(t, "POST", page+"/priority", pr, url.Values{"priority": {"priority"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=priority" {
		t.Fatalf("change: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = b.do(t, "GET", page+"?done=priority", pr, nil, "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="notice">Đã đổi mức ưu tiên.`) ||
		!strings.Contains(body, `<dd id="priority-text">Ưu tiên</dd>`) || !strings.Contains(body, `id="p-priority" checked`) {
		t.Fatalf("segment page after: %d\n%s", resp.StatusCode, body)
	}
	seg, err := b.db.Segment(context.Background(), b.segs[0])
	if err != nil || seg.Priority != pipeline.PriorityPriority {
		t.Fatalf("stored priority %q (%v), want priority", seg.Priority, err)
	}
	// Back to normal, by an admin.
	resp, _ = b.do(t, "POST", page+"/priority", b.session(t, pipeline.RoleAdmin), url.Values{"priority": {"normal"}}, "same-origin")
	if seg, _ := b.db.Segment(context.Background(), b.segs[0]); resp.StatusCode != http.StatusSeeOther || seg.Priority != pipeline.PriorityNormal {
		t.Fatalf("admin lowers it: %d, stored %q", resp.StatusCode, seg.Priority)
	}
	for _, bad := range []string{"emergency", "", "urgent"} {
		resp, body := b.do(t, "POST", page+"/priority", pr, url.Values{"priority": {bad}}, "same-origin")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="error-message"`) {
			t.Errorf("priority %q: %d, want 422 with the error page", bad, resp.StatusCode)
		}
	}
	if seg, _ := b.db.Segment(context.Background(), b.segs[0]); seg.Priority != pipeline.PriorityNormal {
		t.Fatalf("a refused change was stored: %q", seg.Priority)
	}
	// A cross-site form is refused.
	resp, _ = b.do(t, "POST", page+"/priority", pr, url.Values{"priority": {"priority"}}, "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site priority change: %d, want 403", resp.StatusCode)
	}
}

// TestEmergencyRunsOutOnPage: once an emergency has run to its end time,
// the segment page says it ended and when (local time), offers no end
// form (ending would answer 404) and offers the priority form again.
func TestEmergencyRunsOutOnPage(t *testing.T) {
	b := setup(t)
	page := "/producer/segments/" + b.segs[0]
	admin := b.session(t, pipeline.RoleAdmin)
	form := url.Values{"communes": {"muong-lan"}, "reason": {"Cháy rừng"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	if resp, body := b.do(t, "POST", page+"/emergency", admin, form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("emergency: %d\n%s", resp.StatusCode, body)
	}
	if _, body := b.do(t, "GET", page, admin, nil, ""); !strings.Contains(body, `<dd id="priority-text">Khẩn cấp</dd>`) ||
		!strings.Contains(body, `id="end-form"`) || strings.Contains(body, `id="priority-form"`) {
		t.Fatalf("the page of the emergency in force:\n%s", body)
	}
	ems, err := b.db.ActiveEmergencies(t.Context(), time.Time{})
	if err != nil || len(ems) != 1 {
		t.Fatalf("emergencies: %v %v", ems, err)
	}
	b.advance(ems[0].Until.Sub(b.db.Now()) + time.Minute)
	admin = b.session(t, pipeline.RoleAdmin) // the session of a day ago has expired
	zone, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	want := `<dd id="priority-text">Khẩn cấp (đã kết thúc lúc ` + ems[0].Until.In(zone).Format("02/01/2006 15:04") + `)</dd>`
	if _, body := b.do(t, "GET", page, admin, nil, ""); !strings.Contains(body, want) ||
		strings.Contains(body, `id="end-form"`) || !strings.Contains(body, `id="priority-form"`) {
		t.Fatalf("the page after the emergency ran out lacks %s, or still offers to end it:\n%s", want, body)
	}
}

// TestMediaRemovalPendingOnPage: the page of a withdrawn segment whose
// media has not been moved away yet says so, since the withdrawal (local
// time); once moved, it no longer does.
func TestMediaRemovalPendingOnPage(t *testing.T) {
	b := setup(t)
	id := b.segs[0]
	page := "/producer/segments/" + id
	pr := b.session(t, pipeline.RoleProducer)
	seg, err := b.db.Segment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Put(t.Context(), seg.OriginalKey, strings.NewReader("x"), 1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	if resp, body := b.do(t, "POST", page+"/withdraw", pr, url.Values{"confirm": {"yes"}, "reason": {"sai"}}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d\n%s", resp.StatusCode, body)
	}
	if seg, err = b.db.Segment(t.Context(), id); err != nil || seg.WithdrawnAt == nil {
		t.Fatalf("withdrawn: %+v %v", seg, err)
	}
	zone, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	want := `id="media-removal">Chưa gỡ xong tệp của bản tin (từ ` + seg.WithdrawnAt.In(zone).Format("02/01/2006 15:04") + `)`
	if _, body := b.do(t, "GET", page, pr, nil, ""); !strings.Contains(body, want) {
		t.Fatalf("the page of the withdrawn segment lacks %s:\n%s", want, body)
	}
	wd := &worker.Withdrawal{Catalog: b.db, Objects: b.store.(worker.WithdrawnObjects)}
	if _, _, err := wd.Move(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, body := b.do(t, "GET", page, pr, nil, ""); strings.Contains(body, `id="media-removal"`) {
		t.Fatalf("the page still says the removal is pending after the move:\n%s", body)
	}
}
