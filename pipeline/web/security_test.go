package web_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/web"
)

// TestSignInThrottled: after the account's burst of wrong passwords, even
// the right one is refused with 429 and Retry-After (before any bcrypt),
// while another account from another address still signs in.
func TestSignInThrottled(t *testing.T) {
	b := setup(t)
	wrong := url.Values{"name": {"u-producer"}, "password": {"sai-mat-khau-roi"}}
	for i := range throttle.DefaultAccount.Burst {
		if resp, body := b.do(t, "POST", "/sign-in", nil, wrong, "same-origin"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d\n%s", i+1, resp.StatusCode, body)
		}
	}
	right := url.Values{"name": {"u-producer"}, "password": {"mat-khau-dai-du"}}
	resp, body := b.do(t, "POST", "/sign-in", nil, right, "same-origin")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Đăng nhập sai quá nhiều lần") {
		t.Fatalf("right password after %d wrong ones: %d, want 429 with the reason\n%s", throttle.DefaultAccount.Burst, resp.StatusCode, body)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	// The address's sign-in budget (60) is not spent yet: another account signs in.
	resp, _ = b.do(t, "POST", "/sign-in", nil, url.Values{"name": {"u-admin"}, "password": {"mat-khau-dai-du"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another account: %d, want 303", resp.StatusCode)
	}
}

// TestSignInBehindProxy: failures with made-up names do not lock out a
// right password; behind a trusted proxy (the test's 127.0.0.1) each
// client is counted by its X-Forwarded-For address, so one client over
// its address's cap does not lock out another behind the same proxy, and
// a client cannot move its failures to another address by writing a
// header of its own.
func TestSignInBehindProxy(t *testing.T) {
	b := setup(t)
	signIn := func(t *testing.T, xff, name, password string) int {
		t.Helper()
		form := url.Values{"name": {name}, "password": {password}}
		req, err := http.NewRequest("POST", b.srv.URL+"/sign-in", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The tester's case, no proxy trusted: 20 made-up names, then the
	// right password. All but the last failure are spent on the throttle
	// directly (each through the pages costs a bcrypt, minutes under the
	// race detector); the last goes through the pages, from the same
	// address.
	for i := range 19 {
		b.auth.Failed(fmt.Sprintf("made-up-%d", i), "127.0.0.1")
	}
	if code := signIn(t, "", "made-up-19", "doan-bua-thoi"); code != http.StatusUnauthorized {
		t.Fatalf("made-up name 20: %d, want 401", code)
	}
	if code := signIn(t, "", "u-producer", "mat-khau-dai-du"); code != http.StatusSeeOther {
		t.Fatalf("right password after 20 made-up names: %d, want 303", code)
	}

	proxies, err := throttle.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	b.auth.Proxies = proxies
	// One client through the proxy spends its address's whole cap, the
	// last failure through the pages.
	for i := range throttle.DefaultSignInAddress.Burst - 1 {
		b.auth.Failed(fmt.Sprintf("spray-%d", i), "203.0.113.66")
	}
	if code := signIn(t, "203.0.113.66", "spray-last", "doan-bua-thoi"); code != http.StatusUnauthorized {
		t.Fatalf("last spray: %d, want 401", code)
	}
	cases := []struct {
		name, xff string
		want      int
	}{
		{"the sprayer, even with a right password", "203.0.113.66", http.StatusTooManyRequests},
		{"the sprayer claiming another address on the left", "198.51.100.5, 203.0.113.66", http.StatusTooManyRequests},
		{"the sprayer behind a second trusted proxy", "203.0.113.66, 127.0.0.1", http.StatusTooManyRequests},
		{"another client behind the same proxy", "198.51.100.5", http.StatusSeeOther},
		{"a malformed header: the proxy's own address", "not-an-address", http.StatusSeeOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code := signIn(t, c.xff, "u-admin", "mat-khau-dai-du"); code != c.want {
				t.Fatalf("X-Forwarded-For %q: %d, want %d", c.xff, code, c.want)
			}
		})
	}
}

// TestProvinceEmergencyNeedsAdmin drives the two-person rule through the
// pages: a producer's province-wide emergency is only pending (the page
// says so, with no confirm form), and an administrator confirms it on the
// segment page, which raises it.
func TestProvinceEmergencyNeedsAdmin(t *testing.T) {
	b := setup(t)
	seg := b.segs[0]
	page := "/producer/segments/" + seg
	producer, admin := b.session(t, pipeline.RoleProducer), b.session(t, pipeline.RoleAdmin)
	form := url.Values{"province": {"yes"}, "reason": {"Lũ quét toàn tỉnh"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	resp, body := b.do(t, "POST", page+"/emergency", producer, form, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=emergency_pending") {
		t.Fatalf("producer's province-wide emergency: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = b.do(t, "GET", page, producer, nil, "")
	if !strings.Contains(body, `id="pending-emergency"`) || strings.Contains(body, `id="pending-form"`) || !strings.Contains(body, "Lũ quét toàn tỉnh") {
		t.Fatalf("the producer's page should show the pending request without a confirm form:\n%s", body)
	}
	if resp, _ := b.do(t, "POST", page+"/emergency/confirm", producer, url.Values{"confirm": {"yes"}}, "same-origin"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("producer confirms: %d, want 403", resp.StatusCode)
	}
	_, body = b.do(t, "GET", page, admin, nil, "")
	if !strings.Contains(body, `id="pending-form"`) {
		t.Fatalf("the admin's page lacks the confirm form:\n%s", body)
	}
	// The request's end reads as every time on the pages (Sơn La's clock,
	// "Kết thúc lúc", not the form's "optional" label and UTC), and the
	// page's ids are unique.
	if card := body[strings.Index(body, `id="pending-emergency"`):]; !strings.Contains(card, "Kết thúc lúc:") || strings.Contains(card[:strings.Index(card, "</section>")], "UTC") || strings.Contains(card[:strings.Index(card, "</section>")], "không bắt buộc") {
		t.Errorf("the pending card's end:\n%s", card)
	}
	for _, id := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if n := strings.Count(body, `id="`+id[1]+`"`); n > 1 {
			t.Errorf("id %q appears %d times on the segment page", id[1], n)
		}
	}
	resp, body = b.do(t, "POST", page+"/emergency/confirm", admin, url.Values{"confirm": {"yes"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "done=emergency") {
		t.Fatalf("admin confirms: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, body = b.do(t, "GET", page, admin, nil, ""); strings.Contains(body, `id="pending-emergency"`) {
		t.Fatal("the request is still pending after the confirmation")
	}
	ems, err := b.db.ActiveEmergencies(t.Context(), time.Time{})
	if err != nil || len(ems) != 1 || ems[0].SegmentID != seg || len(ems[0].Targets) != 0 {
		t.Fatalf("active emergencies %+v %v, want the segment for the whole province", ems, err)
	}
	// The operator's alert counts bulletins, not the items of every
	// cluster, slot and language that carry this one.
	_, body = b.do(t, "GET", "/operator?commune=muong-lan", b.session(t, pipeline.RoleOperator), nil, "")
	if items := strings.Count(body, `class="item emergency`); items < 2 || !strings.Contains(body, "Có 1 tin khẩn cấp trong ngày") {
		t.Errorf("the operator's page (%d emergency items) should count one bulletin:\n%s", items, body)
	}
}

// TestCommunesPageShowsSigningKey: an administrator sees the bundle
// signing key and its fingerprint, to pin on devices out of band.
func TestCommunesPageShowsSigningKey(t *testing.T) {
	b := setup(t)
	resp, body := b.do(t, "GET", "/admin/communes", b.session(t, pipeline.RoleAdmin), nil, "")
	if resp.StatusCode != 200 || !regexp.MustCompile(`id="key-id" class="mono">[0-9a-f]{16}<`).MatchString(body) || !strings.Contains(body, `id="key-public"`) {
		t.Fatalf("communes page: %d, want the key and its fingerprint\n%s", resp.StatusCode, body)
	}
}

// TestSlowSignInBodyCut: a client that sends the sign-in form a byte at a
// time (or not at all) is cut off after SignInTimeout instead of holding
// the connection forever.
func TestSlowSignInBodyCut(t *testing.T) {
	db := sqlstoretest.New(t)
	pages, err := web.New(web.Config{Store: db, API: http.NotFoundHandler(), SignInTimeout: 200 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(pages.Site())
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /sign-in HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nname=u", srv.Listener.Addr())
	// Far longer than the timeout: a server that waits for the rest of the
	// body fails here; one that cuts it answers (or closes) long before.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("slow sign-in answered %d", resp.StatusCode)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the slow sign-in after %s", time.Since(start).Round(time.Second))
	}
}

// TestEndEmergencyOnPage: the segment page of an emergency in force has
// the end form; without the ticked box nothing ends; with a reason and the
// box it ends at once (no emergency in force left) and the page says so.
func TestEndEmergencyOnPage(t *testing.T) {
	b := setup(t)
	seg := b.segs[0]
	page := "/producer/segments/" + seg
	admin := b.session(t, pipeline.RoleAdmin)
	form := url.Values{"province": {"yes"}, "reason": {"Lũ quét toàn tỉnh"}, "confirm1": {"yes"}, "confirm2": {"yes"}}
	if resp, body := b.do(t, "POST", page+"/emergency", admin, form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin's emergency: %d\n%s", resp.StatusCode, body)
	}
	inForce := func() int {
		t.Helper()
		ems, err := b.db.ActiveEmergencies(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ems {
			if e.Until.After(b.db.Now()) {
				n++
			}
		}
		return n
	}
	if _, body := b.do(t, "GET", page, admin, nil, ""); !strings.Contains(body, `id="end-form"`) || inForce() != 1 {
		t.Fatalf("the page of an emergency in force lacks the end form (in force: %d):\n%s", inForce(), body)
	}
	resp, body := b.do(t, "POST", page+"/emergency/end", admin, url.Values{"reason": {"báo động nhầm"}}, "same-origin")
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "Hãy đánh dấu ô") || inForce() != 1 {
		t.Fatalf("end without the box: %d, in force %d\n%s", resp.StatusCode, inForce(), body)
	}
	resp, body = b.do(t, "POST", page+"/emergency/end", admin, url.Values{"reason": {"báo động nhầm"}, "confirm": {"yes"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "done=emergency_ended") || inForce() != 0 {
		t.Fatalf("end: %d %s, in force %d\n%s", resp.StatusCode, resp.Header.Get("Location"), inForce(), body)
	}
	if _, body := b.do(t, "GET", page+"?done=emergency_ended", admin, nil, ""); !strings.Contains(body, "Đã kết thúc tin khẩn cấp") || strings.Contains(body, `id="end-form"`) {
		t.Fatalf("the page after the end:\n%s", body)
	}
}

// TestOversizedFormRefusedAtOnce: a form whose Content-Length is over its
// page's file limit is answered 413 naming the limit, in Vietnamese like
// the pages' other errors, before a byte of the body is sent.
func TestOversizedFormRefusedAtOnce(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	cases := []struct {
		path   string
		role   pipeline.Role
		length int64
		want   string
	}{
		{"/admin/communes", pipeline.RoleAdmin, 9 << 20, "Tệp vượt quá giới hạn 8 MiB"},
		{"/glossary", pipeline.RoleAdmin, 99999999999, "Tệp vượt quá giới hạn 8 MiB"},
		{"/jobs/j1/upload", pipeline.RoleTranslator, 5368709120, "Tệp vượt quá giới hạn 1024 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			conn, err := net.Dial("tcp", b.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ck := b.session(t, tc.role)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\nSec-Fetch-Site: same-origin\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n",
				tc.path, b.srv.Listener.Addr(), ck.Name, ck.Value, tc.length)
			// The pages' body deadline is 30 s and more: an answer
			// within 20 s was not waiting for the body.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a form announcing %d bytes: %v", tc.length, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d, want 413 saying %q\n%s", resp.StatusCode, tc.want, body)
			}
		})
	}
}
