package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestPasswordForms: the account page changes the user's own password
// (current, new, new again), saying in Vietnamese what is wrong (the two
// new ones differ, the current one is wrong, the new one too short) and
// keeping this browser's session while ending the others; the admin's
// users page sets another user's password, ending their sessions. Both
// forms refuse a cross-site post (the pages' CSRF protection) and change
// nothing then; a non-admin cannot post the reset.
func TestPasswordForms(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	ctx := context.Background()
	signsIn := func(name, password string) bool {
		t.Helper()
		_, err := b.db.Authenticate(ctx, name, password)
		return err == nil
	}

	here, there := b.session(t, pipeline.RoleProducer), b.session(t, pipeline.RoleProducer)
	if _, body := b.do(t, "GET", "/account", here, nil, ""); !strings.Contains(body, `id="change-password"`) || !strings.Contains(body, "Đổi mật khẩu") ||
		!strings.Contains(body, "24 chữ") {
		t.Fatalf("the account page lacks the password form or its rule in Vietnamese:\n%s", body)
	}
	form := func(current, new, again string) url.Values {
		return url.Values{"current": {current}, "new": {new}, "again": {again}}
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		site   string
		status int
		says   string
	}{
		{"cross-site", form("mat-khau-dai-du", "mat-khau-moi-dai", "mat-khau-moi-dai"), "cross-site", http.StatusForbidden, ""},
		{"new ones differ", form("mat-khau-dai-du", "mat-khau-moi-dai", "mat-khau-moi-dai!"), "same-origin", http.StatusUnprocessableEntity, "không giống nhau"},
		{"wrong current", form("sai-mat-khau-roi", "mat-khau-moi-dai", "mat-khau-moi-dai"), "same-origin", http.StatusUnprocessableEntity, "Mật khẩu hiện tại không đúng"},
		{"too short", form("mat-khau-dai-du", "ngan", "ngan"), "same-origin", http.StatusUnprocessableEntity, "cần ít nhất 10 ký tự"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := b.do(t, "POST", "/account/password", here, tc.form, tc.site)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
				t.Fatalf("%d, want %d saying %q:\n%s", resp.StatusCode, tc.status, tc.says, body)
			}
			if !signsIn("u-producer", "mat-khau-dai-du") {
				t.Fatal("a refused change changed the password")
			}
		})
	}

	resp, _ := b.do(t, "POST", "/account/password", here, form("mat-khau-dai-du", "Mật khẩu mới nhé", "Mật khẩu mới nhé"), "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account?password=changed" {
		t.Fatalf("change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := b.do(t, "GET", "/account?password=changed", here, nil, ""); resp.StatusCode != 200 || !strings.Contains(body, "Đã đổi mật khẩu") {
		t.Fatalf("this browser after the change: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.do(t, "GET", "/account", there, nil, ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another browser after the change: %d, want 303 to sign in", resp.StatusCode)
	}
	if signsIn("u-producer", "mat-khau-dai-du") || !signsIn("u-producer", "Mật khẩu mới nhé") {
		t.Error("after the change the old password should be refused and the new accepted")
	}

	// The admin's reset.
	admin, operator := b.session(t, pipeline.RoleAdmin), b.session(t, pipeline.RoleOperator)
	if _, body := b.do(t, "GET", "/admin/users", admin, nil, ""); !strings.Contains(body, `action="/admin/users/u-operator/password"`) {
		t.Fatalf("the users page lacks the reset form:\n%s", body)
	}
	reset := url.Values{"password": {"dat-lai-cho-ban"}}
	if resp, _ := b.do(t, "POST", "/admin/users/u-operator/password", admin, reset, "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site reset: %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.do(t, "POST", "/admin/users/u-operator/password", b.session(t, pipeline.RoleProducer), reset, "same-origin"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a producer's reset: %d, want 403", resp.StatusCode)
	}
	resp, body := b.do(t, "POST", "/admin/users/u-operator/password", admin, url.Values{"password": {"ngan"}}, "same-origin")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="reset-error"`) || !strings.Contains(body, "cần ít nhất 10 ký tự") {
		t.Fatalf("a short reset: %d\n%s", resp.StatusCode, body)
	}
	if !signsIn("u-operator", "mat-khau-dai-du") {
		t.Fatal("a refused reset changed the password")
	}
	resp, _ = b.do(t, "POST", "/admin/users/u-operator/password", admin, reset, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/users?reset=u-operator" {
		t.Fatalf("reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := b.do(t, "GET", "/admin/users?reset=u-operator", admin, nil, ""); !strings.Contains(body, `id="password-reset"`) {
		t.Errorf("the users page does not say the password was set:\n%s", body)
	}
	if resp, _ := b.do(t, "GET", "/operator", operator, nil, ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the operator's session after the reset: %d, want 303 to sign in", resp.StatusCode)
	}
	if signsIn("u-operator", "mat-khau-dai-du") || !signsIn("u-operator", "dat-lai-cho-ban") {
		t.Error("after the reset the old password should be refused and the new accepted")
	}
}
