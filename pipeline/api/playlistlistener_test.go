package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/schedules"
)

// answer is one HTTP answer as the listener tests compare them.
type answer struct {
	status int
	header http.Header
	body   []byte
	close  bool // the server closes the connection after it
}

// noRedirects is a client that shows a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// ask sends one request to the listener at base: hdr are header name
// and value pairs; body "" sends none.
func ask(t *testing.T, base, method, path, token, body string, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		// As written: a lower-case name is sent lower-case.
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data, close: resp.Close}
}

// comparedHeaders are the headers both listeners must answer alike.
var comparedHeaders = []string{"ETag", "Cache-Control", "Vary", "Content-Type", "Content-Length", "Retry-After", "WWW-Authenticate", "Location"}

// sameAnswer fails unless the two answers have the same status, body,
// compared headers and connection closing.
func sameAnswer(t *testing.T, main, pl answer) {
	t.Helper()
	if main.status != pl.status {
		t.Errorf("status: main %d, playlist listener %d\nmain: %s\nplaylist listener: %s", main.status, pl.status, main.body, pl.body)
	}
	if !bytes.Equal(main.body, pl.body) {
		t.Errorf("bodies differ:\nmain: %s\nplaylist listener: %s", main.body, pl.body)
	}
	for _, h := range comparedHeaders {
		if m, p := main.header.Values(h), pl.header.Values(h); strings.Join(m, "\n") != strings.Join(p, "\n") {
			t.Errorf("%s: main %q, playlist listener %q", h, m, p)
		}
	}
	if main.close != pl.close {
		t.Errorf("connection closed after the answer: main %v, playlist listener %v", main.close, pl.close)
	}
}

// TestPlaylistListenerAnswersAsMain asks the same playlist requests of
// the main address and of the playlist listener (LOA_PLAYLIST_ADDR):
// every answer — the playlist, its 304s, and every refusal (no token, a
// bad or revoked one, each role, another commune's operator, bad dates,
// an unknown cluster, a body with the GET, escaped and dotted paths) —
// has the same status, body and headers on both, since both run the
// route table's one gate and handler.
func TestPlaylistListenerAnswersAsMain(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	op := sb.tokens[pipeline.RoleOperator]
	revoked, err := sb.db.CreateToken(ctx, sb.users[pipeline.RoleOperator].ID, "lost device")
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.db.RevokeToken(ctx, revoked, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	other, err := sb.db.CreateUser(ctx, pipeline.NewUser{Name: "op-to-hieu", Role: pipeline.RoleOperator, Password: "mat-khau-dai-du", Commune: "to-hieu"})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := sb.db.CreateToken(ctx, other.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/communes/muong-lan/clusters/trung-tam/playlists/"
	mine := base + sb.today + ".m3u8"
	tag := ask(t, sb.srv.URL, "GET", mine, op, "").header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on the playlist")
	}
	type tc struct {
		name, method, path, token, body string
		hdr                             []string
		want                            int
	}
	cases := []tc{
		{name: "operator", path: mine, token: op, want: 200},
		{name: "json", path: base + sb.today + ".json", token: op, want: 200},
		{name: "HEAD", method: "HEAD", path: mine, token: op, want: 200},
		{name: "no token", path: mine, want: 401},
		{name: "not bearer", path: mine, hdr: []string{"Authorization", "Basic dTpw"}, want: 401},
		{name: "unknown token", path: mine, token: "loa_not-a-token", want: 401},
		{name: "revoked token", path: mine, token: revoked, want: 401},
		{name: "bearer in lower case", path: mine, hdr: []string{"authorization", "bearer " + op}, want: 200},
		{name: "operator of another commune", path: mine, token: otherTok, want: 404},
		{name: "operator asks another commune", path: "/api/communes/to-hieu/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 404},
		{name: "operator asks a made-up commune", path: "/api/communes/khong-co/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 404},
		{name: "bad date", path: base + strings.Replace(sb.today, "-0", "-", 1) + ".m3u8", token: op, want: 422},
		{name: "date with a space", path: base + sb.today + "%20.m3u8", token: op, want: 422},
		{name: "date past the window", path: base + today.AddDays(7).String() + ".m3u8", token: op, want: 404},
		{name: "date before the window", path: base + today.AddDays(-8).String() + ".json", token: op, want: 404},
		{name: "format not served", path: base + sb.today + ".txt", token: op, want: 404},
		{name: "unknown cluster", path: "/api/communes/muong-lan/clusters/khong-co/playlists/" + sb.today + ".m3u8", token: op, want: 404},
		{name: "unknown cluster, If-None-Match *", path: "/api/communes/muong-lan/clusters/khong-co/playlists/" + sb.today + ".m3u8", token: op, hdr: []string{"If-None-Match", "*"}, want: 404},
		{name: "If-None-Match", path: mine, token: op, hdr: []string{"If-None-Match", tag}, want: 304},
		{name: "If-None-Match *", path: mine, token: op, hdr: []string{"If-None-Match", "*"}, want: 304},
		{name: "If-None-Match list", path: mine, token: op, hdr: []string{"If-None-Match", `"x", ` + tag + `, "y"`}, want: 304},
		// The tag is weak (W/"…"); its strong twin matches too (weak
		// comparison, RFC 9110 13.1.2).
		{name: "If-None-Match strong twin", path: mine, token: op, hdr: []string{"If-None-Match", strings.TrimPrefix(tag, "W/")}, want: 304},
		{name: "If-None-Match other", path: mine, token: op, hdr: []string{"If-None-Match", `"x"`}, want: 200},
		{name: "If-None-Match second header", path: mine, token: op, hdr: []string{"If-None-Match", `"x"`, "If-None-Match", tag}, want: 200},
		{name: "HEAD If-None-Match", method: "HEAD", path: mine, token: op, hdr: []string{"If-None-Match", tag}, want: 304},
		{name: "body with the GET", path: mine, token: op, body: `{"x":1}`, want: 413},
		{name: "body without a token", path: mine, body: `{"x":1}`, want: 401},
		{name: "escaped literal segment", path: "/api/c%6Fmmunes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 200},
		{name: "escaped slash inside the code", path: "/api/communes/muong-lan%2F..%2Fto-hieu/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 404},
		{name: "escaped dots as the code", path: "/api/communes/%2e%2e/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 404},
		{name: "escaped dots as the file", path: base + "%2e%2e", token: op, want: 404},
		{name: "dot-dot to another commune", path: "/api/communes/muong-lan/../to-hieu/clusters/trung-tam/playlists/" + sb.today + ".m3u8", token: op, want: 307},
		{name: "doubled slash", path: "/api//communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8?x=1", token: op, want: 307},
		{name: "query ignored", path: mine + "?days=99", token: op, want: 200},
	}
	for _, role := range pipeline.Roles {
		want := http.StatusForbidden
		if role == pipeline.RoleAdmin || role == pipeline.RoleOperator {
			want = http.StatusOK
		}
		cases = append(cases, tc{name: "as " + string(role), path: mine, token: sb.tokens[role], want: want})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "GET"
			}
			main := ask(t, sb.srv.URL, method, c.path, c.token, c.body, c.hdr...)
			pl := ask(t, sb.playlists, method, c.path, c.token, c.body, c.hdr...)
			if main.status != c.want {
				t.Errorf("main address: %d, want %d\n%s", main.status, c.want, main.body)
			}
			if c.want == http.StatusTemporaryRedirect {
				// net/http's redirect has an HTML body; the playlist
				// listener's none: the status and the place are what
				// count.
				main.body, pl.body = nil, nil
				main.header.Del("Content-Type")
				main.header.Del("Content-Length")
				pl.header.Del("Content-Length")
			}
			sameAnswer(t, main, pl)
			if method == "HEAD" && (len(pl.body) != 0 || c.want == 200 && pl.header.Get("Content-Length") == "") {
				t.Errorf("HEAD on the playlist listener: body %q, Content-Length %q", pl.body, pl.header.Get("Content-Length"))
			}
		})
	}
}

// TestPlaylistListenerSameBytes: for the same request both listeners
// answer the same ETag and the same bytes, M3U8 and JSON, and a 304 to
// either's ETag on the other.
func TestPlaylistListenerSameBytes(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	for _, format := range []string{"m3u8", "json"} {
		path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + "." + format
		// The playlist listener first: it renders and caches, the main
		// address then answers from the same cache.
		pl := ask(t, sb.playlists, "GET", path, op, "")
		main := ask(t, sb.srv.URL, "GET", path, op, "")
		if pl.status != 200 || len(pl.body) == 0 || pl.header.Get("ETag") == "" {
			t.Fatalf("%s on the playlist listener: %d ETag=%q\n%s", format, pl.status, pl.header.Get("ETag"), pl.body)
		}
		if format == "m3u8" && !strings.Contains(string(pl.body), "#EXTINF:") {
			t.Fatalf("the playlist listener's m3u8 has no items:\n%s", pl.body)
		}
		if pl.header.Get("Content-Length") != strconv.Itoa(len(pl.body)) {
			t.Errorf("%s: Content-Length %q for %d bytes", format, pl.header.Get("Content-Length"), len(pl.body))
		}
		sameAnswer(t, main, pl)
		if a := ask(t, sb.srv.URL, "GET", path, op, "", "If-None-Match", pl.header.Get("ETag")); a.status != 304 {
			t.Errorf("%s: the main address answers %d to the playlist listener's ETag", format, a.status)
		}
		if a := ask(t, sb.playlists, "GET", path, op, "", "If-None-Match", main.header.Get("ETag")); a.status != 304 || len(a.body) != 0 {
			t.Errorf("%s: the playlist listener answers %d %q to the main address's ETag", format, a.status, a.body)
		}
	}
}

// TestPlaylistListenerServesPlaylistsOnly: on the playlist listener any
// path that is not a playlist is 404 in the API's error shape, naming
// the main address; a playlist path asked with another method is 405
// with Allow, as on the main address (TestPlaylistListenerRawParity).
func TestPlaylistListenerServesPlaylistsOnly(t *testing.T) {
	sb := setupSchedules(t)
	admin := sb.tokens[pipeline.RoleAdmin]
	for _, path := range []string{
		"/", "/healthz", "/readyz", "/metrics", "/api/me", "/api/users", "/api/communes",
		"/api/communes/muong-lan/bundle", "/api/communes/muong-lan/events", "/login",
		"/api/communes/muong-lan/clusters/trung-tam/playlists/",
		"/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8/x",
		"/api/communes/muong-lan%2Fclusters%2Ftrung-tam/playlists/" + sb.today + ".m3u8",
		"/api/communes/muong-lan/clusters/trung-tam/playlists%2F" + sb.today + ".m3u8",
		"/api/communes//clusters/trung-tam/playlists/" + sb.today + ".m3u8/",
		// Not in canonical form and not a playlist once cleaned: not
		// here, never a redirect (the main address redirects these).
		"/api/communes/muong-lan/clusters/trung-tam/playlists/../../../../users",
		"/x/../%5Cevil.example", "/x/..//evil.example",
	} {
		t.Run(path, func(t *testing.T) {
			a := ask(t, sb.playlists, "GET", path, admin, "")
			if a.status != http.StatusNotFound || a.header.Get("Content-Type") != "application/json; charset=utf-8" ||
				!strings.Contains(string(a.body), `"code": "not_found"`) || !strings.Contains(string(a.body), "serves playlists only") ||
				!strings.Contains(string(a.body), sb.srv.URL) {
				t.Fatalf("%d %s\n%s", a.status, a.header.Get("Content-Type"), a.body)
			}
		})
	}
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
		a := ask(t, sb.playlists, method, path, admin, "")
		if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(a.body), "this path answers only GET, HEAD.") {
			t.Errorf("%s on the playlist listener: %d Allow=%q\n%s", method, a.status, a.header.Get("Allow"), a.body)
		}
	}
}

// rawRequest writes req to the listener at base over one connection and
// reads the answer; the write runs beside the read, so a server that
// answers before it has read everything (431) is still heard.
func rawRequest(t *testing.T, base string, req []byte) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = conn.Write(req) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestPlaylistListenerHeaderLimit: a request whose headers are over
// PlaylistHeaderBytes is refused 431 by the playlist listener (JSON, the
// connection closed); over the main server's own limit (1 MiB) both
// refuse it alike.
func TestPlaylistListenerHeaderLimit(t *testing.T) {
	sb := setupSchedules(t)
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	request := func(pad int) []byte {
		return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer %s\r\nX-Pad: %s\r\n\r\n",
			path, sb.tokens[pipeline.RoleOperator], strings.Repeat("a", pad))
	}
	resp := rawRequest(t, sb.playlists, request(100))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a short header: %d", resp.StatusCode)
	}
	resp = rawRequest(t, sb.playlists, request(20<<10))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !resp.Close || !strings.Contains(string(body), "16 KiB") {
		t.Fatalf("a 20 KiB header on the playlist listener: %d close=%v\n%s", resp.StatusCode, resp.Close, body)
	}
	for _, base := range []string{sb.srv.URL, sb.playlists} {
		resp := rawRequest(t, base, request(1100<<10))
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 1.1 MiB header on %s: %d, want 431", base, resp.StatusCode)
		}
	}
}

// TestPlaylistListenerChunkedBody: a GET with a chunked body (its length
// not announced) is refused 413 on both listeners, its connection closed.
func TestPlaylistListenerChunkedBody(t *testing.T) {
	sb := setupSchedules(t)
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	req := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		path, sb.tokens[pipeline.RoleOperator])
	var bodies [][]byte
	for _, base := range []string{sb.srv.URL, sb.playlists} {
		resp := rawRequest(t, base, req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Errorf("%s: %d close=%v\n%s", base, resp.StatusCode, resp.Close, body)
		}
		bodies = append(bodies, body)
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("bodies differ:\n%s\n%s", bodies[0], bodies[1])
	}
}

// TestPlaylistListenerThrottle: unknown tokens sent to the playlist
// listener use the same per-address budget as the main address's (one
// throttle): past the burst both answer 429 with Retry-After; behind a
// trusted proxy (LOA_TRUSTED_PROXIES) the address is the forwarded one,
// so another client behind the same proxy is not throttled. A revoked
// token uses no budget.
func TestPlaylistListenerThrottle(t *testing.T) {
	for _, first := range []string{"main", "playlist listener"} {
		t.Run("guesses on the "+first, func(t *testing.T) {
			b := setup(t, nil)
			frozen := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
			b.api.Auth.Now = func() time.Time { return frozen }
			proxies, err := throttle.ParseProxies("127.0.0.1, ::1")
			if err != nil {
				t.Fatal(err)
			}
			b.api.Auth.Proxies = proxies
			bases := map[string]string{"main": b.srv.URL, "playlist listener": b.playlists}
			guessAt, otherAt := bases[first], bases["main"]
			if first == "main" {
				otherAt = bases["playlist listener"]
			}
			revoked, err := b.db.CreateToken(t.Context(), b.users[pipeline.RoleOperator].ID, "lost")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.db.RevokeToken(t.Context(), revoked, pipeline.Actor{}); err != nil {
				t.Fatal(err)
			}
			path := "/api/communes/muong-lan/clusters/trung-tam/playlists/2025-03-03.m3u8"
			for i := range 2 * throttle.DefaultAddress.Burst {
				if a := ask(t, guessAt, "GET", path, revoked, "", "X-Forwarded-For", "198.51.100.1"); a.status != 401 {
					t.Fatalf("revoked token, poll %d: %d", i+1, a.status)
				}
			}
			for i := range throttle.DefaultAddress.Burst {
				if a := ask(t, guessAt, "GET", path, "loa_guess"+strconv.Itoa(i), "", "X-Forwarded-For", "203.0.113.9, 198.51.100.1"); a.status != 401 {
					t.Fatalf("guess %d: %d %s", i+1, a.status, a.body)
				}
			}
			for _, base := range []string{guessAt, otherAt} {
				a := ask(t, base, "GET", path, "loa_one-more", "", "X-Forwarded-For", "198.51.100.1")
				if s, err := strconv.Atoi(a.header.Get("Retry-After")); a.status != 429 || err != nil || s < 1 || !strings.Contains(string(a.body), "Too many unknown tokens") {
					t.Fatalf("a guess past the burst at %s: %d Retry-After=%q %s", base, a.status, a.header.Get("Retry-After"), a.body)
				}
				if a := ask(t, base, "GET", path, "loa_elsewhere", "", "X-Forwarded-For", "198.51.100.2"); a.status != 401 {
					t.Fatalf("another client behind the proxy at %s: %d %s, want 401", base, a.status, a.body)
				}
			}
			m := ask(t, b.srv.URL, "GET", path, "loa_again", "", "X-Forwarded-For", "198.51.100.1")
			p := ask(t, b.playlists, "GET", path, "loa_again", "", "X-Forwarded-For", "198.51.100.1")
			sameAnswer(t, m, p)
		})
	}
}

// TestPlaylistListenerShutdown: Shutdown waits for nothing when idle,
// closes kept-alive connections, and Serve then returns nil; a new
// connection is refused.
func TestPlaylistListenerShutdown(t *testing.T) {
	b := setup(t, nil)
	pl, err := b.api.PlaylistListener()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pl.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	if a := ask(t, base, "GET", "/api/communes/muong-lan/clusters/trung-tam/playlists/2025-03-03.m3u8", "", ""); a.status != 401 {
		t.Fatalf("before shutdown: %d", a.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pl.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after Shutdown")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the listener still takes connections after Shutdown")
	}
}

// TestPlaylistListenerKeepsTokensOutOfErrors: a request the playlist
// listener cannot read (a control character in the Authorization value,
// two Content-Length headers, a connection cut mid-headers) is answered
// 400 and logged, but neither the answer nor the log (at debug level,
// where these go) quotes the device's token.
func TestPlaylistListenerKeepsTokensOutOfErrors(t *testing.T) {
	var logs lockedBuffer
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, _ *broadcast.Service, _ *sqlstore.DB) {
		s.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tok := sb.tokens[pipeline.RoleOperator]
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	for _, tc := range []struct{ name, req string }{
		{"NUL in the token", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer " + tok + "\x00\r\n\r\n"},
		{"two lengths", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, sb.playlists, []byte(tc.req))
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), tok) || strings.Contains(string(body), "Bearer") {
				t.Fatalf("%d, body quotes the request: %s", resp.StatusCode, body)
			}
		})
	}
	// A connection cut before the end of its headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(sb.playlists, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer %s\r\n", path, tok)
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "playlist listener") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := logs.String(); !strings.Contains(got, "playlist listener") || strings.Contains(got, tok) || strings.Contains(got, tok[:12]) {
		t.Fatalf("the log has no listener error or quotes the token:\n%s", got)
	}
}
