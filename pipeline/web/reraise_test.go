package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestReraiseOnPage: an administrator's emergency on Mường Lạn, Suối Tọ
// and Tà Xùa is shown on the segment page (its communes, reason, who
// raised it) and its communes are pre-ticked on the form; a producer
// ticking Phiêng Khoài is asked to confirm a page that lists the three
// keeping the alert, Phiêng Khoài added and none losing it; with
// "replace" the page names the three that would lose it, and sending it
// is refused (403) with the emergency unchanged; sending the add keeps all
// four on air.
func TestReraiseOnPage(t *testing.T) {
	b := setup(t)
	seg := b.segs[0]
	page := "/producer/segments/" + seg
	admin, producer := b.session(t, pipeline.RoleAdmin), b.session(t, pipeline.RoleProducer)
	form := url.Values{"communes": {"muong-lan", "suoi-to", "ta-xua"}, "reason": {"lũ: Sở chỉ đạo"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	if resp, body := b.do(t, "POST", page+"/emergency", admin, form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin's emergency: %d\n%s", resp.StatusCode, body)
	}
	targets := func() string {
		t.Helper()
		ems, err := b.db.ActiveEmergencies(t.Context(), b.db.Now().Add(-48*3600e9))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ems {
			if e.SegmentID == seg && e.Until.After(b.db.Now()) {
				return strings.Join(e.Targets, ",")
			}
		}
		return ""
	}
	_, body := b.do(t, "GET", page, producer, nil, "")
	for _, code := range []string{"muong-lan", "suoi-to", "ta-xua"} {
		if !regexp.MustCompile(`id="e-c-` + code + `" checked`).MatchString(body) {
			t.Errorf("commune %s in force is not pre-ticked", code)
		}
	}
	if strings.Contains(body, `id="e-c-phieng-khoai" checked`) || !strings.Contains(body, `id="emergency-in-force"`) || !strings.Contains(body, "Mường Lạn, Suối Tọ, Tà Xùa") ||
		!strings.Contains(body, "lũ: Sở chỉ đạo") || !strings.Contains(body, `id="e-replace"`) {
		t.Fatalf("the segment page does not show the emergency in force:\n%s", body)
	}
	add := url.Values{"communes": {"phieng-khoai"}, "reason": {"đổi"}, "confirm1": {"yes"}}
	resp, body := b.do(t, "POST", page+"/emergency", producer, add, "same-origin")
	if resp.StatusCode != 200 || !strings.Contains(body, `<span id="emergency-kept">Mường Lạn, Suối Tọ, Tà Xùa</span>`) ||
		!strings.Contains(body, `<span id="emergency-added">Phiêng Khoài</span>`) || !strings.Contains(body, `<span id="emergency-dropped">không có</span>`) {
		t.Fatalf("confirmation of the add: %d\n%s", resp.StatusCode, body)
	}
	replace := url.Values{"communes": {"phieng-khoai"}, "reason": {"đổi"}, "confirm1": {"yes"}, "replace": {"yes"}}
	resp, body = b.do(t, "POST", page+"/emergency", producer, replace, "same-origin")
	if resp.StatusCode != 200 || !strings.Contains(body, `<span id="emergency-dropped">Mường Lạn, Suối Tọ, Tà Xùa</span>`) || !strings.Contains(body, `name="replace" value="yes"`) {
		t.Fatalf("confirmation of the replace: %d\n%s", resp.StatusCode, body)
	}
	replace.Set("confirm2", "yes")
	if resp, body := b.do(t, "POST", page+"/emergency", producer, replace, "same-origin"); resp.StatusCode != http.StatusForbidden || targets() != "muong-lan,suoi-to,ta-xua" {
		t.Fatalf("producer's replace: %d, targets %q\n%s", resp.StatusCode, targets(), body)
	}
	add.Set("confirm2", "yes")
	if resp, body := b.do(t, "POST", page+"/emergency", producer, add, "same-origin"); resp.StatusCode != http.StatusSeeOther || targets() != "muong-lan,phieng-khoai,suoi-to,ta-xua" {
		t.Fatalf("producer's add: %d, targets %q\n%s", resp.StatusCode, targets(), body)
	}
}
