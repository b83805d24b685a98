package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// rawAnswers writes req over one new connection to the listener at base
// and reads n answers (pipelined requests), as a device's hand-written
// client would; method is the first request's (a HEAD answer has no
// body).
func rawAnswers(t *testing.T, base string, req string, methods ...string) []answer {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Generous: a server waiting for the rest of a request it already
	// has (the bare-LF hang) answers after its own 10 s read timeout.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = io.WriteString(conn, req) }()
	br := bufio.NewReader(conn)
	var out []answer
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("reading answer %d of %d: %v", len(out)+1, len(methods), err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading answer %d's body: %v", len(out)+1, err)
		}
		out = append(out, answer{status: resp.StatusCode, header: resp.Header, body: body, close: resp.Close})
	}
	return out
}

// TestPlaylistListenerRawParity sends the same bytes to the main address
// and to the playlist listener — line endings, Expect, HEAD, conditional
// headers, odd methods and request lines a controller's own HTTP client
// may send — and compares the answers: status, the compared headers,
// body and whether the connection is closed.
func TestPlaylistListenerRawParity(t *testing.T) {
	sb := setupSchedules(t)
	tok := sb.tokens[pipeline.RoleOperator]
	path := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8"
	tag := ask(t, sb.srv.URL, "GET", path, tok, "").header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	auth := "Authorization: Bearer " + tok
	for _, tc := range []struct {
		name    string
		req     string
		methods []string // the requests' methods, one per answer read
		want    []int    // the main address's statuses, when checked
		// unread: a request HTTP cannot read, refused before any route.
		// Both answer the same status and close the connection, but
		// net/http's answer is its own plain text, the listener's the
		// API's JSON saying what was wrong.
		unread bool
	}{
		{"CRLF", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, []int{200}, false},
		{"bare LF", "GET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\n\n", nil, []int{200}, false},
		{"bare LF after a CRLF request line", "GET " + path + " HTTP/1.1\r\nHost: loa\n" + auth + "\n\n", nil, []int{200}, false},
		{"CRLF headers, bare LF blank line", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\n", nil, []int{200}, false},
		{"bare LF, If-None-Match", "GET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\nIf-None-Match: " + tag + "\n\n", nil, []int{304}, false},
		{"bare LF, HEAD", "HEAD " + path + " HTTP/1.1\nHost: loa\n" + auth + "\n\n", []string{"HEAD"}, []int{200}, false},
		{"bare LF, no token", "GET " + path + " HTTP/1.1\nHost: loa\n\n", nil, []int{401}, false},
		{"bare LF, two requests", "GET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\n\nGET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\nIf-None-Match: " + tag + "\n\n",
			[]string{"GET", "GET"}, []int{200, 304}, false},
		{"HEAD", "HEAD " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", []string{"HEAD"}, []int{200}, false},
		{"HEAD, If-None-Match", "HEAD " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nIf-None-Match: " + tag + "\r\n\r\n", []string{"HEAD"}, []int{304}, false},
		{"Expect 100-continue without a body", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nExpect: 100-continue\r\n\r\n", nil, nil, false},
		{"Expect 100-continue with a body", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", nil, nil, false},
		{"Expect something else", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nExpect: x-later\r\n\r\n", nil, nil, false},
		{"If-Modified-Since", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nIf-Modified-Since: Sat, 01 Jan 2100 00:00:00 GMT\r\n\r\n", nil, nil, false},
		{"If-Match other", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nIf-Match: \"x\"\r\n\r\n", nil, nil, false},
		{"If-Unmodified-Since past", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nIf-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n", nil, nil, false},
		{"Range", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nRange: bytes=0-3\r\n\r\n", nil, nil, false},
		{"Content-Length 0", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nContent-Length: 0\r\n\r\n", nil, nil, false},
		{"POST", "POST " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nContent-Length: 0\r\n\r\n", nil, nil, false},
		{"OPTIONS", "OPTIONS " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: loa\r\n\r\n", nil, nil, false},
		{"TRACE", "TRACE " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"lower-case get", "get " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"made-up method", "FETCH " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"HTTP/1.0", "GET " + path + " HTTP/1.0\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"HTTP/1.0 keep-alive", "GET " + path + " HTTP/1.0\r\nConnection: keep-alive\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"Connection close", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nConnection: close\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"no Host", "GET " + path + " HTTP/1.1\r\n" + auth + "\r\n\r\n", nil, []int{400}, true},
		{"two Hosts", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nHost: other\r\n" + auth + "\r\n\r\n", nil, []int{400}, true},
		{"absolute URI", "GET http://loa" + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, nil, false},
		{"space before the colon", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nAuthorization : Bearer " + tok + "\r\n\r\n", nil, []int{400}, true},
		{"folded header", "GET " + path + " HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer\r\n " + tok + "\r\n\r\n", nil, nil, false},
		{"bare CR in a value", "GET " + path + " HTTP/1.1\r\nHost: loa\r\n" + auth + "\r\nX-A: a\rb\r\n\r\n", nil, []int{400}, true},
		{"bare LF, bare CR in a value", "GET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\nX-A: a\rb\n\n", nil, []int{400}, true},
		{"HTTP/2.0 line", "GET " + path + " HTTP/2.0\r\nHost: loa\r\n" + auth + "\r\n\r\n", nil, []int{505}, true},
		{"chunked, bare LF", "GET " + path + " HTTP/1.1\nHost: loa\n" + auth + "\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			methods := tc.methods
			if methods == nil {
				methods = []string{"GET"}
			}
			main := rawAnswers(t, sb.srv.URL, tc.req, methods...)
			pl := rawAnswers(t, sb.playlists, tc.req, methods...)
			for i := range main {
				if tc.want != nil && main[i].status != tc.want[i] {
					t.Errorf("answer %d on the main address: %d, want %d\n%s", i+1, main[i].status, tc.want[i], main[i].body)
				}
				if tc.unread {
					if main[i].status != pl[i].status || main[i].close != pl[i].close || !pl[i].close {
						t.Errorf("answer %d: main %d close=%v, playlist listener %d close=%v", i+1, main[i].status, main[i].close, pl[i].status, pl[i].close)
					}
					continue
				}
				sameAnswer(t, main[i], pl[i])
			}
		})
	}
}
