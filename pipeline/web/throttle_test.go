package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline/throttle"
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
	// The address's budget (20) is not spent yet: another account signs in.
	resp, _ = b.do(t, "POST", "/sign-in", nil, url.Values{"name": {"u-admin"}, "password": {"mat-khau-dai-du"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another account: %d, want 303", resp.StatusCode)
	}
}
