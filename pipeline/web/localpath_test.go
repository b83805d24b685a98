package web

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzLocalPath: whatever "next" says, the page a browser lands on after
// the redirect (http.Redirect cleans the path; browsers read a backslash
// as a slash) is on this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/jobs?x=1", "//evil.example", "/./\\evil.example", "/x/../\\evil", "/%2F/evil", "/\t/evil", "https://evil.example"} {
		f.Add(s)
	}
	base, err := url.Parse("http://loa.example/sign-in")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localPath(next, "/")
		if got != "/" && got != next {
			t.Fatalf("localPath(%q) = %q: neither the input nor the default", next, got)
		}
		// http.Redirect's treatment of a path: cleaned, query kept.
		p, q, _ := strings.Cut(got, "?")
		sent := path.Clean(p)
		if q != "" {
			sent += "?" + q
		}
		to, err := base.Parse(strings.ReplaceAll(sent, "\\", "/"))
		if err != nil {
			return // the browser goes nowhere
		}
		if to.Host != "loa.example" {
			t.Fatalf("next=%q sends the browser to %s", next, to)
		}
	})
}
