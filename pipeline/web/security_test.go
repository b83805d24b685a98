package web_test

import (
	"bufio"
	"fmt"
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
