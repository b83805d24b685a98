package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestCancelRequestOnSegmentPage: an administrator's emergency is in
// force on two communes and the segment's producer asks for the whole
// province. The segment page offers the producer a form withdrawing only
// his request and no End card (he may not end the administrator's
// emergency); the administrator gets a decline form (reason required)
// and the End card. Sending the form drops the request only: the
// emergency in force stays, and the page says so.
func TestCancelRequestOnSegmentPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		admin  bool
		form   url.Values
		status int
		done   string
		notice string
	}{
		{name: "the producer withdraws", form: url.Values{"confirm": {"yes"}}, status: http.StatusSeeOther, done: "done=request_withdrawn", notice: "Đã rút lại yêu cầu khẩn cấp"},
		{name: "the administrator declines without a reason", admin: true, form: url.Values{"confirm": {"yes"}, "decline": {"yes"}}, status: http.StatusUnprocessableEntity},
		{name: "the administrator declines", admin: true, form: url.Values{"confirm": {"yes"}, "decline": {"yes"}, "reason": {"đã đủ hai xã"}}, status: http.StatusSeeOther,
			done: "done=request_declined", notice: "Đã từ chối yêu cầu khẩn cấp"},
		{name: "no box ticked", form: url.Values{}, status: http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setupOn(t, objectstest.NewMemory(t))
			producer, admin := b.session(t, pipeline.RoleProducer), b.session(t, pipeline.RoleAdmin)
			page := "/producer/segments/" + b.segs[0]
			raise := url.Values{"communes": {"to-hieu", "ngoc-chien"}, "reason": {"Lũ: Sở chỉ đạo"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
			if resp, body := b.do(t, "POST", page+"/emergency", admin, raise, "same-origin"); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("admin raises: %d\n%s", resp.StatusCode, body)
			}
			ask := url.Values{"province": {"yes"}, "reason": {"Lũ lan rộng"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
			if resp, body := b.do(t, "POST", page+"/emergency", producer, ask, "same-origin"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=emergency_pending") {
				t.Fatalf("producer asks for the province: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			_, body := b.do(t, "GET", page, producer, nil, "")
			if !strings.Contains(body, `id="request-cancel-form"`) || !strings.Contains(body, "Rút lại yêu cầu") || strings.Contains(body, `id="end-form"`) || strings.Contains(body, `name="decline"`) {
				t.Errorf("the producer's page should offer withdrawing his request and no End card:\n%s", body)
			}
			_, body = b.do(t, "GET", page, admin, nil, "")
			if !strings.Contains(body, `id="request-cancel-form"`) || !strings.Contains(body, "Từ chối yêu cầu") || !strings.Contains(body, `id="rc-reason" name="reason" maxlength="500" required`) || !strings.Contains(body, `id="end-form"`) {
				t.Errorf("the administrator's page should offer declining (reason required) and ending:\n%s", body)
			}
			who := producer
			if tc.admin {
				who = admin
			}
			resp, body := b.do(t, "POST", page+"/emergency/request/cancel", who, tc.form, "same-origin")
			if resp.StatusCode != tc.status || !strings.Contains(resp.Header.Get("Location"), tc.done) {
				t.Fatalf("cancel: %d %s, want %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.done, body)
			}
			if tc.notice != "" {
				if _, body := b.do(t, "GET", resp.Header.Get("Location"), who, nil, ""); !strings.Contains(body, tc.notice) || strings.Contains(body, `id="pending-emergency"`) {
					t.Errorf("after the cancel the page should say %q and show no request:\n%s", tc.notice, body)
				}
			}
			_, body = b.do(t, "GET", "/api/segments/"+b.segs[0], admin, nil, "same-origin")
			var v struct {
				Emergency *struct {
					Communes []string `json:"communes"`
				} `json:"emergency"`
				Pending *struct{} `json:"pending_emergency"`
			}
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if v.Emergency == nil || strings.Join(v.Emergency.Communes, ",") != "ngoc-chien,to-hieu" {
				t.Errorf("the emergency in force changed: %s", body)
			}
			if (v.Pending == nil) != (tc.done != "") {
				t.Errorf("request waiting: %v, want %v", v.Pending != nil, tc.done == "")
			}
		})
	}
}

// TestEmergencyPageSaysWhenAdminMustConfirm: the page that asks again
// before an emergency goes out tells a producer when his request is a
// wide one that would only be stored for an administrator's confirmation
// (more than half the communes), and says nothing of it for a small one
// or for an administrator, whose emergency goes out at once.
func TestEmergencyPageSaysWhenAdminMustConfirm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		admin    bool
		communes []string
		says     bool
	}{
		{"producer, four of seven", false, []string{"muong-lan", "suoi-to", "ta-xua", "to-hieu"}, true},
		{"producer, one", false, []string{"muong-lan"}, false},
		{"administrator, four of seven", true, []string{"muong-lan", "suoi-to", "ta-xua", "to-hieu"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setupOn(t, objectstest.NewMemory(t))
			who := b.session(t, pipeline.RoleProducer)
			if tc.admin {
				who = b.session(t, pipeline.RoleAdmin)
			}
			form := url.Values{"communes": tc.communes, "reason": {"Lũ"}, "confirm1": {"yes"}}
			resp, body := b.do(t, "POST", "/producer/segments/"+b.segs[0]+"/emergency", who, form, "same-origin")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="e-confirm2"`) {
				t.Fatalf("the page asking again: %d\n%s", resp.StatusCode, body)
			}
			if got := strings.Contains(body, `id="emergency-needs-admin"`); got != tc.says {
				t.Errorf("the page says an administrator must confirm: %v, want %v\n%s", got, tc.says, body)
			}
			if _, err := b.db.PendingEmergency(context.Background(), b.segs[0]); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("asking again stored a request (%v)", err)
			}
		})
	}
}
