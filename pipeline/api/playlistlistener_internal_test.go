package api

import (
	"net/http"
	"net/url"
	"path"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sonla-cchc/loa/pipeline"
)

// FuzzPlaylistPath: the playlist listener reads a request's path as
// net/http's ServeMux does, since both listeners must serve the same
// playlist for the same path. For any request path: a path not in
// canonical form is redirected by both to the same place; a canonical
// one matches the playlist pattern on the listener exactly when it
// matches on a ServeMux, with the same wildcard values.
func FuzzPlaylistPath(f *testing.F) {
	for _, s := range []string{
		"/api/communes/muong-lan/clusters/trung-tam/playlists/2025-03-03.m3u8",
		"/api/c%6Fmmunes/a/clusters/b/playlists/c",
		"/api/communes/a%2Fb/clusters/b/playlists/c",
		"/api/communes/a/../b/clusters/c/playlists/d",
		"//api/communes/a/clusters/b/playlists/c",
		"/api/communes/a/clusters/b/playlists/",
		"/api/communes/a/clusters/b/playlists/c/",
		"/api/communes/%2e%2e/clusters/b/playlists/c",
		"/api/communes/a/clusters/b/playlists/c%zz",
		"/api/communes/a/clusters/b/playlists/%",
		"/api/communes//clusters/b/playlists/c",
		"/",
		"",
		"*",
		"/api/communes/a b/clusters/b/playlists/c",
	} {
		f.Add(s)
	}
	s := &Server{}
	var rt *Route
	for i, r := range s.Routes() {
		if r.Playlist {
			rt = &s.Routes()[i]
		}
	}
	fr, err := compileRoute(rt)
	if err != nil {
		f.Fatal(err)
	}
	var got struct{ code, cluster, file string }
	mux := http.NewServeMux()
	mux.HandleFunc(rt.Method+" "+rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
		got.code, got.cluster, got.file = r.PathValue("code"), r.PathValue("cluster"), r.PathValue("file")
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil || u.Path == "" || u.RawQuery != "" || u.Fragment != "" || u.Host != "" || u.Opaque != "" || u.EscapedPath() != raw {
			return // net/http refuses it, or reads another path than the raw one
		}
		r := &http.Request{Method: "GET", URL: u, Host: "loa", Header: http.Header{}}
		got.code, got.cluster, got.file = "", "", ""
		w := &recorder{h: http.Header{}}
		mux.ServeHTTP(w, r)
		clean := cleanPath(raw)
		if clean != raw {
			if w.code != http.StatusTemporaryRedirect {
				t.Fatalf("%q: the listener redirects to %q, the ServeMux answers %d", raw, clean, w.code)
			}
			if loc := w.h.Get("Location"); loc != clean {
				// The ServeMux escapes the escaped path again (a "%41"
				// becomes "%2541"); unescaped once, it must be the
				// listener's place.
				lu, err := url.Parse(loc)
				if err != nil || lu.Path != clean {
					t.Fatalf("%q: redirected to %q by the listener, to %q by the ServeMux", raw, clean, loc)
				}
			}
			return
		}
		var values [maxWildcards]string
		matched := fr.match(raw, &values)
		if matched != (w.code == http.StatusOK) {
			t.Fatalf("%q: the listener matches %v, the ServeMux answers %d", raw, matched, w.code)
		}
		if !matched {
			return
		}
		in := &fastInbound{route: fr, values: values}
		if in.pathValue("code") != got.code || in.pathValue("cluster") != got.cluster || in.pathValue("file") != got.file {
			t.Fatalf("%q: the listener reads (%q, %q, %q), the ServeMux (%q, %q, %q)", raw,
				in.pathValue("code"), in.pathValue("cluster"), in.pathValue("file"), got.code, got.cluster, got.file)
		}
	})
}

// recorder is the least http.ResponseWriter the fuzz test needs.
type recorder struct {
	h    http.Header
	code int
}

func (w *recorder) Header() http.Header { return w.h }
func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}

// TestCompileRouteRefuses: a route marked Playlist that the listener
// cannot serve as the table says is refused when the listener is made,
// not served differently.
func TestCompileRouteRefuses(t *testing.T) {
	lean := func(r Route) Route {
		r.lean = (&Server{}).playlist
		return r
	}
	for _, rt := range []Route{
		{Method: "GET", Pattern: "/api/x/{a}", Playlist: true}, // no lean handler
		lean(Route{Method: "POST", Pattern: "/api/x/{a}", Playlist: true}),
		lean(Route{Method: "GET", Pattern: "/api/x/{a...}", Playlist: true}),
		lean(Route{Method: "GET", Pattern: "/api/x/", Playlist: true}),
		lean(Route{Method: "GET", Pattern: "/api//x", Playlist: true}),
		lean(Route{Method: "GET", Pattern: "/{a}/{b}/{c}/{d}/{e}", Playlist: true}),
	} {
		if _, err := compileRoute(&rt); err == nil {
			t.Errorf("%s %s: compiled", rt.Method, rt.Pattern)
		}
	}
}

// FuzzIsClean: the listener's quick test of a canonical path agrees with
// path.Clean (a trailing slash kept), so skipping the walk for a path it
// passes changes no redirect.
func FuzzIsClean(f *testing.F) {
	for _, s := range []string{"/", "/a", "/a/", "//", "/a//b", "/./a", "/a/.", "/a/..", "/a/../b", "/..a", "/a./b", "/.../", "/a/.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" || p[0] != '/' {
			return
		}
		np := path.Clean(p)
		if p[len(p)-1] == '/' && np != "/" {
			np += "/"
		}
		if got, want := isClean(p), np == p; got != want {
			t.Fatalf("isClean(%q) = %v, but path.Clean gives %q", p, got, np)
		}
	})
}

// TestLeanHeaderNames: the playlist listener writes a lean answer's
// header names as they are (SetCanonical), so each must be in canonical
// form, as the playlist's answers (200 and 304) and errors name them.
func TestLeanHeaderNames(t *testing.T) {
	p := &servedPlaylist{tag: `W/"x"`, etag: []string{`W/"x"`}, ctype: m3u8Type, body: []byte("#EXTM3U\n"), length: []string{"8"}}
	for _, notModified := range []bool{false, true} {
		a := p.answer(notModified)
		for _, f := range a.headers[:a.n] {
			if !canonicalName(f.name) || http.CanonicalHeaderKey(f.name) != f.name {
				t.Errorf("answer (304: %v): header name %q is not canonical", notModified, f.name)
			}
		}
	}
	for _, err := range []error{
		pipeline.Errorf(pipeline.CodeUnauthorized, "x"),
		pipeline.Errorf(pipeline.CodeUnavailable, "x"),
		&pipeline.Error{Code: pipeline.CodeRateLimited, RetryAfter: time.Second, Message: "x"},
	} {
		for _, f := range renderError(err).headers {
			if !canonicalName(f.name) || http.CanonicalHeaderKey(f.name) != f.name {
				t.Errorf("error %v: header name %q is not canonical", err, f.name)
			}
		}
	}
}

// FuzzCanonicalName: a name canonicalName passes is one fasthttp and
// net/http leave as it is, so looking it up without normalizing it
// (PeekCanonical) finds what a normalizing lookup finds.
func FuzzCanonicalName(f *testing.F) {
	for _, s := range []string{"Authorization", "If-None-Match", "X-Forwarded-For", "authorization", "IF-NONE-MATCH", "If--None", "-If", "If-", "Etag", "ETag", "X-1", "Www-Authenticate", "A", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !canonicalName(name) {
			return
		}
		if c := http.CanonicalHeaderKey(name); c != name {
			t.Fatalf("canonicalName(%q), but net/http makes it %q", name, c)
		}
		var h fasthttp.RequestHeader
		h.Set(name, "v")
		if got := string(h.PeekCanonical([]byte(name))); got != "v" {
			t.Fatalf("canonicalName(%q), but fasthttp stores it otherwise (PeekCanonical gives %q)", name, got)
		}
	})
}
