package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestLookAlikeUserNameOnPage: the users page refuses a name that would
// read like another, in the page's language, naming the character (and a
// name to try) or the existing user it would be confused with; nothing is
// created.
func TestLookAlikeUserNameOnPage(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	admin := b.session(t, pipeline.RoleAdmin)
	cases := []struct{ name, want string }{
		{"prod\u2010x", `Tên người dùng "prod‐x" có ký tự U+2010 HYPHEN ở vị trí 5: tên người dùng chỉ gồm chữ cái Latinh`},
		{"prod\u2010x", `Thử "prod-x".`},
		{"ad\u200bmin", "U+200B ZERO WIDTH SPACE ở vị trí 3"},
		{"U-Prodúcer", `Đã có người dùng "u-producer"; tên "U-Prodúcer" sẽ bị nhầm với tên đó`},
	}
	for _, c := range cases {
		form := url.Values{"name": {c.name}, "role": {"producer"}, "password": {"mat-khau-dai-du"}}
		resp, body := b.do(t, "POST", "/admin/users", admin, form, "same-origin")
		if resp.StatusCode < 400 || !strings.Contains(html.UnescapeString(body), c.want) {
			t.Errorf("%q: %d, want a refusal saying %q\n%s", c.name, resp.StatusCode, c.want, body)
		}
	}
	users, err := b.db.Users(t.Context())
	if err != nil || len(users) != len(pipeline.Roles) {
		t.Fatalf("%d users (%v), want the %d made by the setup", len(users), err, len(pipeline.Roles))
	}
	if resp, _ := b.do(t, "POST", "/admin/users", admin, url.Values{"name": {"Lò-Văn-A"}, "role": {"producer"}, "password": {"mat-khau-dai-du"}}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Lò-Văn-A: %d, want 303", resp.StatusCode)
	}
}
