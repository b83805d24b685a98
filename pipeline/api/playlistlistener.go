package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

// Limits of the playlist listener. Its requests are GETs of a few
// headers (a bearer token, an If-None-Match): no body, short headers.
const (
	// PlaylistHeaderBytes is the most a request's line and headers may
	// be; past it the answer is 431.
	PlaylistHeaderBytes = 16 << 10
	// playlistBodyBytes is the most of a request body the listener reads
	// before its route refuses it (no playlist route takes one).
	playlistBodyBytes = 4 << 10
	// PlaylistReadTimeout bounds reading a request, from its first byte
	// (the main server's ReadHeaderTimeout).
	PlaylistReadTimeout = 10 * time.Second
	// PlaylistWriteTimeout bounds writing an answer: a playlist is tens of
	// KiB, a minute over the slowest link.
	PlaylistWriteTimeout = time.Minute
	// PlaylistIdleTimeout is how long a kept-alive connection may wait
	// for its next request (the main server's IdleTimeout).
	PlaylistIdleTimeout = 2 * time.Minute
)

// PlaylistListener answers the routes [Route].Playlist marks, and only
// those, on an address of their own (LOA_PLAYLIST_ADDR), with fasthttp:
// the playlists thousands of loudspeaker controllers poll, at a cost
// net/http cannot reach. Who may ask for what is decided where the main
// listener decides it: the route's Roles, Public and body rules through
// [Server.admit], and its lean handler. Sign-in is by bearer token only
// (no browser sessions here). Every other path is 404 naming the main
// address. Make one with [Server.PlaylistListener].
type PlaylistListener struct {
	s      *Server
	srv    *fasthttp.Server
	routes []*fastRoute
	// base is the requests' context, ended by Shutdown.
	base   context.Context
	cancel context.CancelFunc
	pool   sync.Pool // of *fastInbound
}

// fastRoute is a Playlist route as the playlist listener matches it.
type fastRoute struct {
	rt     *Route
	name   string
	segs   []string // the pattern's segments; a wildcard's is ""
	wild   []string // the wildcard's name at each segment, or ""
	counts *routeCounts
}

// maxWildcards bounds the wildcards of a Playlist route's pattern.
const maxWildcards = 4

// PlaylistListener is the listener of s's Playlist routes; call it after
// Handler (it counts requests in the same metrics). An error means a
// Playlist route the listener cannot serve (a programming error).
func (s *Server) PlaylistListener() (*PlaylistListener, error) {
	if s.requests == nil {
		return nil, errors.New("api: PlaylistListener before Handler")
	}
	p := &PlaylistListener{s: s}
	p.base, p.cancel = context.WithCancel(context.Background())
	p.pool.New = func() any { return &fastInbound{} }
	routes := s.Routes()
	for i := range routes {
		rt := &routes[i]
		if !rt.Playlist {
			continue
		}
		fr, err := compileRoute(rt)
		if err != nil {
			return nil, err
		}
		fr.counts = s.routeCounts(fr.name)
		p.routes = append(p.routes, fr)
	}
	if len(p.routes) == 0 {
		return nil, errors.New("api: no route is marked Playlist")
	}
	p.srv = p.server(p.handle)
	return p, nil
}

// server is the listener's fasthttp server, answering with h.
func (p *PlaylistListener) server(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:      h,
		ErrorHandler: p.refuse,
		Logger:       fastLogger{p.s.Log},
		// The headers a request may send (the line and headers must fit).
		ReadBufferSize:     PlaylistHeaderBytes,
		ReadTimeout:        PlaylistReadTimeout,
		WriteTimeout:       PlaylistWriteTimeout,
		IdleTimeout:        PlaylistIdleTimeout,
		MaxRequestBodySize: playlistBodyBytes,
		// The handler runs once the headers are in, so a body is refused
		// by the route, unread (the connection is then closed).
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		// A 304 carries no Content-Type, as on the main address.
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
		// "Expect: 100-continue" answered as on the main address.
		HeaderReceived: ignoreContinue,
		// Header names stay normalized: a lower-case "authorization"
		// is found as "Authorization" (proxies send either).
		DisableHeaderNamesNormalizing: false,
	}
}

// ignoreContinue drops a request's "Expect: 100-continue" once its
// header is read, so fasthttp runs the handler without first answering
// 100 Continue, as net/http (the main address) does: it sends one only
// when a handler reads the body, and no playlist route does (a body is
// refused unread). Any other expectation stays for handle to refuse (417).
func ignoreContinue(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if v := h.Peek(fasthttp.HeaderExpect); len(v) > 0 && strings.EqualFold(strings.TrimSpace(string(v)), "100-continue") {
		h.Del(fasthttp.HeaderExpect)
	}
	return fasthttp.RequestConfig{}
}

// compileRoute splits rt's pattern into its segments.
func compileRoute(rt *Route) (*fastRoute, error) {
	name := rt.Method + " " + rt.Pattern
	if rt.lean == nil || rt.Method != http.MethodGet || !strings.HasPrefix(rt.Pattern, "/") || strings.HasSuffix(rt.Pattern, "/") {
		return nil, fmt.Errorf("api: route %s is marked Playlist but is not a GET with a lean handler and a plain pattern", name)
	}
	fr := &fastRoute{rt: rt, name: name}
	n := 0
	for seg := range strings.SplitSeq(rt.Pattern[1:], "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			w := seg[1 : len(seg)-1]
			if w == "" || strings.HasSuffix(w, "...") || strings.ContainsAny(w, "{}") {
				return nil, fmt.Errorf("api: route %s: the playlist listener takes only single-segment wildcards", name)
			}
			fr.segs, fr.wild = append(fr.segs, ""), append(fr.wild, w)
			n++
			continue
		}
		if seg == "" || strings.ContainsAny(seg, "{}") {
			return nil, fmt.Errorf("api: route %s: segment %q", name, seg)
		}
		fr.segs, fr.wild = append(fr.segs, seg), append(fr.wild, "")
	}
	if n > maxWildcards {
		return nil, fmt.Errorf("api: route %s has more than %d wildcards", name, maxWildcards)
	}
	return fr, nil
}

// match reports whether the escaped, clean path is fr's, and fills
// values with its wildcards' values, unescaped as net/http's ServeMux
// does (segment by segment: "%2F" stays inside its segment).
func (fr *fastRoute) match(escaped string, values *[maxWildcards]string) bool {
	if escaped == "" || escaped[0] != '/' {
		return false
	}
	rest := escaped[1:]
	w := 0
	for i, lit := range fr.segs {
		last := i == len(fr.segs)-1
		var seg string
		if j := strings.IndexByte(rest, '/'); j < 0 {
			if !last {
				return false // fewer segments than the pattern's
			}
			seg, rest = rest, ""
		} else {
			if last {
				return false // more segments than the pattern's
			}
			seg, rest = rest[:j], rest[j+1:]
		}
		v := segmentUnescape(seg)
		if fr.wild[i] == "" {
			if v != lit {
				return false
			}
			continue
		}
		if seg == "" {
			return false
		}
		values[w] = v
		w++
	}
	return true
}

// segmentUnescape is a path segment unescaped, or as it is when it is not
// validly escaped (as net/http's ServeMux).
func segmentUnescape(seg string) string {
	if strings.IndexByte(seg, '%') < 0 {
		return seg
	}
	v, err := url.PathUnescape(seg)
	if err != nil {
		return seg
	}
	return v
}

// cleanPath is p in canonical form as net/http's ServeMux makes it (a
// path it redirects to when it differs): no "." or ".." segments, no
// doubled slashes, a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	} else if isClean(p) {
		return p // a poll's path: no path.Clean walk
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// isPlaylist reports whether the escaped, clean path p is one of the
// listener's routes.
func (p *PlaylistListener) isPlaylist(path string) bool {
	var values [maxWildcards]string
	for _, r := range p.routes {
		if r.match(path, &values) {
			return true
		}
	}
	return false
}

// isClean reports whether p (starting with "/") has no empty, "." or
// ".." segment but perhaps its last (a trailing slash), so path.Clean
// would give it back as it is (with its trailing slash).
func isClean(p string) bool {
	for i := 1; i < len(p); i++ {
		if p[i-1] != '/' {
			continue
		}
		// p[i] starts a segment.
		switch {
		case p[i] == '/':
			return false
		case p[i] == '.' && (i+1 == len(p) || p[i+1] == '/'):
			return false
		case p[i] == '.' && p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/'):
			return false
		}
	}
	return true
}

// Serve answers the connections ln accepts until Shutdown (then nil).
func (p *PlaylistListener) Serve(ln net.Listener) error {
	err := p.srv.Serve(crlfListener{ln})
	if p.base.Err() != nil {
		return nil
	}
	return err
}

// Shutdown stops taking connections and waits, until ctx ends, for the
// requests in flight; the kept-alive connections are closed.
func (p *PlaylistListener) Shutdown(ctx context.Context) error {
	p.cancel()
	return p.srv.ShutdownWithContext(ctx)
}

// Handler is the listener's request handler, for tests that serve it on
// a listener of their own (fasthttputil.NewInmemoryListener).
func (p *PlaylistListener) Handler() fasthttp.RequestHandler { return p.handle }

// handle answers one request.
func (p *PlaylistListener) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		// fasthttp recovers nothing: a panic would end the process.
		if v := recover(); v != nil {
			p.s.Log.Error("playlist listener: request failed", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			ctx.Response.Reset()
			ctx.SetConnectionClose()
			writeFastError(ctx, renderError(pipeline.Errorf(pipeline.CodeInternal, "The server failed to answer; try again.")))
		}
	}()
	// What net/http answers before any handler: an HTTP version it does
	// not speak, an expectation it cannot meet, the server-wide OPTIONS.
	if proto := ctx.Request.Header.Protocol(); !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		a := renderError(pipeline.Errorf(pipeline.CodeInvalid, "HTTP version %.16q is not one this address speaks: send HTTP/1.1.", proto))
		a.status = http.StatusHTTPVersionNotSupported
		ctx.SetConnectionClose()
		writeFastError(ctx, a)
		return
	}
	if len(ctx.Request.Header.Peek(fasthttp.HeaderExpect)) > 0 {
		ctx.SetConnectionClose()
		ctx.SetStatusCode(http.StatusExpectationFailed)
		return
	}
	if string(ctx.Method()) == http.MethodOptions && string(ctx.RequestURI()) == "*" {
		ctx.SetStatusCode(http.StatusOK)
		return
	}
	raw := ctx.URI().PathOriginal()
	if len(raw) == 0 || raw[0] != '/' {
		p.notHere(ctx)
		return
	}
	// The path over fasthttp's buffer, without a copy: valid until the
	// answer is written, like the headers (see fastInbound).
	escaped := unsafe.String(&raw[0], len(raw))
	if clean := cleanPath(escaped); clean != escaped {
		// As the main address: a path not in canonical form is sent to
		// the one it names, when that is a playlist; any other is not
		// here (this address sends no one elsewhere: "/x/../\evil"
		// would become "/\evil", another site to a browser).
		if !p.isPlaylist(clean) {
			p.notHere(ctx)
			return
		}
		loc := clean
		if q := ctx.URI().QueryString(); len(q) > 0 {
			loc += "?" + string(q)
		}
		ctx.Response.Header.Set("Location", loc)
		ctx.SetStatusCode(http.StatusTemporaryRedirect)
		return
	}
	in := p.pool.Get().(*fastInbound)
	defer func() {
		*in = fastInbound{}
		p.pool.Put(in)
	}()
	var fr *fastRoute
	for _, r := range p.routes {
		if r.match(escaped, &in.values) {
			fr = r
			break
		}
	}
	if fr == nil {
		p.notHere(ctx)
		return
	}
	method := ctx.Method()
	if string(method) != fr.rt.Method && !(fr.rt.Method == http.MethodGet && string(method) == http.MethodHead) {
		writeFastError(ctx, wrongMethod(string(method), segmentUnescapePath(escaped), []string{fr.rt.Method}))
		return
	}
	in.ctx, in.route, in.path = ctx, fr, escaped
	status := p.serveRoute(ctx, fr, in)
	fr.counts.inc(status)
}

// serveRoute runs fr's gate and handler for in and writes the answer,
// returning its status.
func (p *PlaylistListener) serveRoute(ctx *fasthttp.RequestCtx, fr *fastRoute, in *fastInbound) int {
	s := p.s
	u, closeConn, err := s.admit(p.base, fr.rt, fr.name, in)
	if err == nil {
		var a leanAnswer
		if a, err = fr.rt.lean(p.base, u, in, ctx.Time()); err == nil {
			h := &ctx.Response.Header
			for _, f := range a.headers[:a.n] {
				if f.name == "Content-Length" {
					continue // the body's length, set with it
				}
				// A lean answer's names are canonical (TestLeanHeaderNames):
				// no copy and normalization of the name; the value is copied.
				h.SetCanonical(bytesOf(f.name), bytesOf(f.value[0]))
			}
			ctx.SetStatusCode(a.status)
			if a.body != nil {
				ctx.Response.SetBodyRaw(a.body) // held by the cache, never changed
			}
			return a.status
		}
		err = s.unavailable(err)
		if c := pipeline.ErrorCode(err); c == pipeline.CodeInternal || c == pipeline.CodeUnavailable {
			s.Log.Error("request failed", "route", fr.name, "user", u.Name, "err", err)
		}
	}
	if closeConn {
		ctx.SetConnectionClose()
	}
	a := renderError(err)
	writeFastError(ctx, a)
	return a.status
}

// notHere answers a path that is not a playlist: 404 naming the main
// address.
func (p *PlaylistListener) notHere(ctx *fasthttp.RequestCtx) {
	where := "the main address"
	if p.s.PublicURL != "" {
		where += " (" + p.s.PublicURL + ")"
	}
	var pats []string
	for _, r := range p.routes {
		pats = append(pats, r.name)
	}
	writeFastError(ctx, renderError(pipeline.Errorf(pipeline.CodeNotFound,
		"This address serves playlists only (%s); ask %s for %s %s.", strings.Join(pats, ", "), where, ctx.Method(), ctx.URI().PathOriginal())))
}

// refuse answers a request fasthttp could not read: 431 for headers past
// PlaylistHeaderBytes, 408 for one that came too slowly, else 400.
func (p *PlaylistListener) refuse(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	var a errorAnswer
	switch {
	case errors.As(err, &small):
		a = renderError(pipeline.Errorf(pipeline.CodeTooLarge, "The request's line and headers are over %d KiB, the most this address reads: a playlist poll needs only its path, Authorization and If-None-Match.", PlaylistHeaderBytes>>10))
		a.status = http.StatusRequestHeaderFieldsTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		a = renderError(pipeline.Errorf(pipeline.CodeTimeout, "The request came too slowly (over %s): send it again.", PlaylistReadTimeout))
	default:
		// fasthttp's error quotes the request's headers (a device's
		// token among them): it is never echoed.
		a = renderError(pipeline.Errorf(pipeline.CodeInvalid, "The request is not one HTTP/1.1 can read (a malformed request line or header, such as a control character in a value, or two Content-Length headers): send a plain GET: its request line, one header a line (a Host among them), then an empty line."))
		a.status = http.StatusBadRequest
	}
	writeFastError(ctx, a)
}

// writeFastError writes an error's answer on the playlist listener.
func writeFastError(ctx *fasthttp.RequestCtx, a errorAnswer) {
	h := &ctx.Response.Header
	for _, f := range a.headers {
		h.Set(f.name, f.value[0])
	}
	ctx.SetStatusCode(a.status)
	ctx.SetBody(a.body)
}

// fastInbound is a playlist-listener request as an [inbound]: the
// request, its route and the values of the route's wildcards. Pooled:
// it lives for one request. Its path, and so the wildcards' values
// (pathValue), share fasthttp's request buffer as its headers do: valid
// until the answer is written; whoever keeps one longer (a cache key)
// keeps strings.Clone of it.
type fastInbound struct {
	ctx    *fasthttp.RequestCtx
	route  *fastRoute
	path   string // escaped and clean
	values [maxWildcards]string
}

// header is the header's value over fasthttp's request buffer, without
// a copy (the inbound contract: valid until the answer is written). Its
// readers keep nothing of it: the gate hashes the token
// (pipeline.TokenSum) and the playlist compares If-None-Match.
func (in *fastInbound) header(name string) string {
	var v []byte
	if canonicalName(name) {
		// The listener normalizes the names it reads (it does not
		// DisableHeaderNamesNormalizing), so a canonical name is found
		// without a normalized copy of it.
		v = in.ctx.Request.Header.PeekCanonical(bytesOf(name))
	} else {
		v = in.ctx.Request.Header.Peek(name)
	}
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

// canonicalName reports whether name is a header name in the form
// fasthttp normalizes names to (and http.CanonicalHeaderKey gives): each
// word's first letter upper case, the others lower case, words joined by
// '-', as "If-None-Match".
func canonicalName(name string) bool {
	if name == "" {
		return false
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
			if upper {
				return false // an empty word
			}
			upper = true
			continue
		case upper && 'A' <= c && c <= 'Z', !upper && ('a' <= c && c <= 'z' || '0' <= c && c <= '9'):
		default:
			return false
		}
		upper = false
	}
	return !upper
}

// bytesOf is s's bytes without a copy, for fasthttp calls that only read
// them (or copy them).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (in *fastInbound) pathValue(name string) string {
	w := 0
	for _, n := range in.route.wild {
		if n == "" {
			continue
		}
		if n == name {
			return in.values[w]
		}
		w++
	}
	return ""
}

func (in *fastInbound) clientAddr(g *throttle.Guard) string {
	var fwd []string
	for _, v := range in.ctx.Request.Header.PeekAll("X-Forwarded-For") {
		fwd = append(fwd, string(v))
	}
	return g.ClientAddrOf(in.ctx.RemoteAddr().String(), fwd)
}

func (in *fastInbound) target() (string, string) {
	return string(in.ctx.Method()), segmentUnescapePath(in.path)
}

// segmentUnescapePath is an escaped path unescaped (as a net/http
// request's URL.Path), or as it is when it is not validly escaped.
func segmentUnescapePath(p string) string {
	v, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return v
}

func (in *fastInbound) announced() int64 {
	switch n := in.ctx.Request.Header.ContentLength(); {
	case n > 0:
		return int64(n)
	case n == -1: // chunked
		return -1
	default: // none, or -2: no framing, and a GET has no body then
		return 0
	}
}

func (in *fastInbound) session(*Server) (pipeline.User, error, bool) {
	return pipeline.User{}, nil, false
}

// fastLogger is fasthttp's Logger on slog. Its messages are connection
// errors that quote what the client sent (the headers, a device's token
// among them) and that any client can cause at will: they are logged at
// debug level, without the quote (the text from ": buffer size=" or
// "contents" on, and any quoted header value, is cut).
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.log.Debug("playlist listener: " + redactFast(fmt.Sprintf(format, args...)))
}

// redactFast cuts from a fasthttp error message what may quote a
// request: everything from the first quoted header value or buffer dump
// on (the connection's addresses, quoted before the first colon, stay).
func redactFast(msg string) string {
	for _, mark := range []string{"invalid header", "buffer size=", "contents:", "Bearer", "Authorization", "authorization"} {
		if i := strings.Index(msg, mark); i >= 0 {
			msg = msg[:i] + "[request withheld]"
		}
	}
	return msg
}
