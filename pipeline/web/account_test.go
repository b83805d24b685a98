package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/web"
)

// TestAccountPages: the users page lists live tokens (no secrets) with a
// revoke button and disables and enables users; a disabled user's session
// and sign-in are refused with a message; the account page's "sign out
// everywhere" ends every session and token of the user.
func TestAccountPages(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	ctx := context.Background()
	admin := b.session(t, pipeline.RoleAdmin)
	phone, err := b.db.CreateToken(ctx, b.users[pipeline.RoleProducer].ID, "phone")
	if err != nil {
		t.Fatal(err)
	}
	_, body := b.do(t, "GET", "/admin/users", admin, nil, "")
	if !strings.Contains(body, `id="tokens"`) || !strings.Contains(body, "phone") || strings.Contains(body, phone) {
		t.Fatalf("the users page should list the phone token without its secret:\n%s", body)
	}
	if !strings.Contains(body, `action="/admin/users/u-producer/disable"`) || !strings.Contains(body, `action="/admin/tokens/`) {
		t.Fatalf("the users page lacks the disable or revoke forms:\n%s", body)
	}

	producer := b.session(t, pipeline.RoleProducer)
	if resp, _ := b.do(t, "POST", "/admin/users/u-producer/disable", admin, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if resp, _ := b.do(t, "GET", "/producer", producer, nil, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a disabled user's session: %d, want 303 to sign in", resp.StatusCode)
	}
	resp, body := b.do(t, "POST", "/sign-in", nil, url.Values{"name": {"u-producer"}, "password": {"mat-khau-dai-du"}}, "same-origin")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "bị khóa") {
		t.Fatalf("a disabled user's sign-in: %d, want 403 saying the account is disabled\n%s", resp.StatusCode, body)
	}
	if _, body = b.do(t, "GET", "/admin/users", admin, nil, ""); !strings.Contains(body, `action="/admin/users/u-producer/enable"`) {
		t.Fatalf("the users page does not offer to enable the disabled user:\n%s", body)
	}
	if resp, _ := b.do(t, "POST", "/admin/users/u-producer/enable", admin, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", resp.StatusCode)
	}

	here, there := b.session(t, pipeline.RoleProducer), b.session(t, pipeline.RoleProducer)
	if _, body := b.do(t, "GET", "/account", here, nil, ""); !strings.Contains(body, `id="sign-out-everywhere"`) {
		t.Fatalf("the account page lacks sign out everywhere:\n%s", body)
	}
	resp, _ = b.do(t, "POST", "/account/sign-out-everywhere", here, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sign-in" {
		t.Fatalf("sign out everywhere: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for name, ck := range map[string]*http.Cookie{"this": here, "another": there} {
		if resp, _ := b.do(t, "GET", "/producer", ck, nil, ""); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s browser's session after sign out everywhere: %d, want 303 to sign in", name, resp.StatusCode)
		}
	}
	if _, err := b.db.UserByToken(ctx, phone); err == nil {
		t.Error("the phone token still works after sign out everywhere")
	}
}

// TestSessionCookieSecure: the session cookie is Secure by default, even
// on a plain http request; with PlainHTTP (a localhost demo) it is not,
// unless the request came over https through a proxy.
func TestSessionCookieSecure(t *testing.T) {
	db := sqlstoretest.New(t)
	if _, err := db.CreateUser(context.Background(), pipeline.NewUser{Name: "u-admin", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		plainHTTP bool
		proto     string
		want      bool
	}{
		{"default", false, "", true},
		{"plain http demo", true, "", false},
		{"plain http behind an https proxy", true, "https", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages, err := web.New(web.Config{Store: db, API: http.NotFoundHandler(), PlainHTTP: tc.plainHTTP, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"name": {"u-admin"}, "password": {"mat-khau-dai-du"}}
			req := httptest.NewRequest("POST", "http://loa.example/sign-in", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			rec := httptest.NewRecorder()
			pages.Site().ServeHTTP(rec, req)
			cks := rec.Result().Cookies()
			if rec.Code != http.StatusSeeOther || len(cks) != 1 {
				t.Fatalf("sign-in: %d, cookies %v", rec.Code, cks)
			}
			if cks[0].Secure != tc.want {
				t.Fatalf("session cookie Secure=%v, want %v", cks[0].Secure, tc.want)
			}
		})
	}
}

// TestDisableSelfSaysWhy: an administrator who disables their own
// account on the users page is told why it is refused and what to do,
// in the page's language, with the API's 409; not the general sentence
// every conflict shares.
func TestDisableSelfSaysWhy(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	admin := b.session(t, pipeline.RoleAdmin)
	resp, body := b.do(t, "POST", "/admin/users/"+b.users[pipeline.RoleAdmin].Name+"/disable", admin, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("disabling oneself: %d, want 409", resp.StatusCode)
	}
	if !strings.Contains(body, "không thể tự khóa tài khoản của mình") || !strings.Contains(body, "quản trị viên khác") {
		t.Fatalf("the page does not say why and what to do:\n%s", body)
	}
}
