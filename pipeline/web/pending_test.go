package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestPendingCommuneRequestSaysWhatItIs: a producer holding emergencies
// on 3 of the demo's 7 communes asks for one more on another segment; the
// request waits (4 is more than half the province) and the segment page
// says it is a request for that one commune, names it and says why it
// waits, not "province-wide"; the administrator's confirm box names the
// communes, not every loudspeaker of the province.
func TestPendingCommuneRequestSaysWhatItIs(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	producer, admin := b.session(t, pipeline.RoleProducer), b.session(t, pipeline.RoleAdmin)
	first := url.Values{"communes": {"muong-lan", "suoi-to", "ta-xua"}, "reason": {"Lũ: Sở chỉ đạo"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	if resp, body := b.do(t, "POST", "/producer/segments/"+b.segs[0]+"/emergency", producer, first, "same-origin"); resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "done=emergency") {
		t.Fatalf("first emergency: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	page := "/producer/segments/" + b.segs[1]
	one := url.Values{"communes": {"muong-leo"}, "reason": {"Sạt lở Mường Lèo"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	resp, body := b.do(t, "POST", page+"/emergency", producer, one, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=emergency_pending") {
		t.Fatalf("the fourth commune: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = b.do(t, "GET", resp.Header.Get("Location"), producer, nil, "")
	if strings.Contains(body, "toàn tỉnh đang chờ") || strings.Contains(body, "Tin khẩn cấp toàn tỉnh") {
		t.Errorf("a one-commune request reads as province-wide:\n%s", body)
	}
	i := strings.Index(body, `id="pending-emergency"`)
	if i < 0 {
		t.Fatalf("no pending card:\n%s", body)
	}
	card := body[i : i+strings.Index(body[i:], "</section>")]
	for _, want := range []string{"1 xã", "Mường Lèo", "quá nửa số xã", "quá 10 xã"} {
		if !strings.Contains(card, want) {
			t.Errorf("the pending card lacks %q:\n%s", want, card)
		}
	}
	// The administrator's home lists the request with a link to the
	// segment's page (the confirm form); the segments list marks it.
	_, body = b.do(t, "GET", "/admin/users", admin, nil, "")
	if i := strings.Index(body, `id="pending-emergencies"`); i < 0 || !strings.Contains(body[i:], `href="`+page+`#pending-emergency"`) || strings.Contains(body[i:], b.segs[0]) {
		t.Errorf("the admin's home should list the one request, linked to %s:\n%s", page, body)
	}
	_, body = b.do(t, "GET", "/producer", admin, nil, "")
	if n := strings.Count(body, `class="pending-request"`); n != 1 || !strings.Contains(body, "yêu cầu khẩn cấp đang chờ quản trị viên") {
		t.Errorf("the segments list marks %d segments pending, want 1:\n%s", n, body)
	}
	_, body = b.do(t, "GET", page, admin, nil, "")
	if !strings.Contains(body, "trên loa của các xã này") || strings.Contains(body, "mọi loa của toàn tỉnh") {
		t.Errorf("the admin's confirm box should name the communes, not the province:\n%s", body)
	}
}
