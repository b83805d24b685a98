package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// inbound is a request as the route gate ([Server.admit]) and a lean
// handler ([Route]'s lean) read it, whichever listener took it: the main
// one (net/http) or the playlist listener (fasthttp). It holds no parsed
// body and no listener's types, so both listeners decide sign-in, roles,
// scope and body limits in the same code.
type inbound interface {
	// header is the first value of the request header name ("" when
	// absent), as http.Header.Get. The value may share the listener's
	// request buffer: it is valid until the answer is written, so a
	// caller that keeps it longer (in a cache, an error, a goroutine)
	// keeps strings.Clone of it.
	header(name string) string
	// pathValue is the value of the route pattern's wildcard name,
	// unescaped, as http.Request.PathValue.
	pathValue(name string) string
	// clientAddr is the client's address by g's trusted proxies
	// ([throttle.Guard.ClientAddrOf]); asked only when it is needed.
	clientAddr(g *throttle.Guard) string
	// target is the request's method and unescaped path, for messages.
	target() (method, path string)
	// announced is the body length the request announces: 0 none, -1
	// a body of unknown length (chunked).
	announced() int64
	// session signs the request in by a browser session when it has no
	// bearer token; ok is false on a listener that takes none.
	session(s *Server) (u pipeline.User, err error, ok bool)
}

// httpInbound is a net/http request as an inbound; a conversion of the
// pointer, so it costs no allocation.
type httpInbound http.Request

func (r *httpInbound) req() *http.Request                  { return (*http.Request)(r) }
func (r *httpInbound) header(name string) string           { return r.Header.Get(name) }
func (r *httpInbound) pathValue(name string) string        { return r.req().PathValue(name) }
func (r *httpInbound) clientAddr(g *throttle.Guard) string { return g.ClientAddr(r.req()) }
func (r *httpInbound) target() (string, string)            { return r.Method, r.URL.Path }
func (r *httpInbound) announced() int64 {
	if r.Body == nil || r.Body == http.NoBody {
		return 0
	}
	return r.ContentLength
}
func (r *httpInbound) session(s *Server) (pipeline.User, error, bool) {
	if s.Session == nil {
		return pipeline.User{}, nil, false
	}
	u, err := s.Session(r.req())
	return u, err, true
}

// admit is the route table's rule for one request to rt (named name in
// logs), the same on every listener: a caller not public signs in
// ([Server.signIn]) and must hold one of rt's Roles; then rt's body
// limit holds. It returns the caller (the zero User on a public route)
// or the refusal to answer; closeConn says the refusal left a body
// unread, so the connection must be closed after the answer instead of
// drained.
func (s *Server) admit(ctx context.Context, rt *Route, name string, in inbound) (u pipeline.User, closeConn bool, err error) {
	// A scraper's metrics token names no user: it passes as if public.
	public := rt.Public || (rt.MetricsToken && s.metricsTokenOK(ctx, in.header("Authorization")))
	if !public {
		if u, err = s.signIn(ctx, in); err != nil {
			err = s.unavailable(err)
			if c := pipeline.ErrorCode(err); c == pipeline.CodeInternal || c == pipeline.CodeUnavailable {
				s.Log.Error("sign-in failed", "route", name, "err", err)
			}
			return pipeline.User{}, false, err
		}
		if !slices.Contains(rt.Roles, u.Role) {
			method, path := in.target()
			return pipeline.User{}, false, pipeline.Errorf(pipeline.CodeForbidden, "Your role (%s) may not do this: %s %s is for %s. Use a token of a user with that role.", u.Role, method, path, roleList(rt.Roles))
		}
	}
	if err := rt.bodyRefusal(in.announced()); err != nil {
		return u, true, err
	}
	return u, false, nil
}

// bodyRefusal is rt's refusal of a request announcing a body of n bytes
// (-1: of unknown length), or nil: a route with noBody takes none at
// all; one with maxBody none over its limit.
func (rt *Route) bodyRefusal(n int64) error {
	if n == 0 {
		return nil
	}
	if rt.noBody {
		return &pipeline.Error{Code: pipeline.CodeTooLarge,
			Message: fmt.Sprintf("%s takes no request body, and this request sends one: send the %s without a body.", rt.Pattern, rt.Method)}
	}
	if rt.maxBody != nil && n > 0 {
		if limit, refusal := rt.maxBody(); limit > 0 && n > limit {
			return refusal(n)
		}
	}
	return nil
}

// signIn is the caller of a request: by its bearer token, or, without an
// Authorization header, by the listener's browser session where it takes
// them.
func (s *Server) signIn(ctx context.Context, in inbound) (pipeline.User, error) {
	h := in.header("Authorization")
	if h == "" {
		if u, err, ok := in.session(s); ok {
			return u, err
		}
	}
	tok, ok := bearerToken(h)
	if !ok {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Sign in first: send an API token as 'Authorization: Bearer <token>' (loa token create --user NAME makes one).")
	}
	// A token is checked by its hash (no bcrypt), so a valid one is never
	// throttled: failures from an address (behind a TLS proxy, every
	// client's) must not lock out the devices that send valid tokens.
	u, err := s.Catalog.UserByToken(ctx, tok)
	if err != nil && pipeline.ErrorCode(err) == pipeline.CodeUnauthorized && !errors.Is(err, pipeline.ErrTokenRevoked) && !errors.Is(err, pipeline.ErrUserDisabled) {
		// A guess; a revoked token (a lost device still polling) is
		// refused without using the address's budget.
		addr := in.clientAddr(s.Auth)
		if wait, ok := s.Auth.Check(throttle.Token, "", addr); !ok {
			s.Log.Warn("token check throttled", "remote", addr, "retry_after", wait.Round(time.Millisecond).String())
			return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeRateLimited, RetryAfter: wait,
				Message: fmt.Sprintf("Too many unknown tokens from your address: wait %s, then try again with a valid token.", wait.Round(time.Second))}
		}
		s.Auth.Failed("", addr)
	}
	return u, err
}

// header is one header of an answer: its canonical name and its values,
// held by whoever made the answer and never written into (so answering
// from a cache allocates nothing).
type header struct {
	name  string
	value []string
}

// errorAnswer is an error's answer as every listener writes it: status,
// headers and the JSON body (wire.ErrorBody).
type errorAnswer struct {
	status  int
	headers []header
	body    []byte
}

// Header values of error answers.
var (
	noStore         = []string{"no-store"}
	bearerChallenge = []string{`Bearer realm="loa"`}
	retryLater      = []string{"30"}
)

// wrongMethod is the answer to method on a path whose routes take only
// the methods allowed (a GET route takes HEAD too): 405 with Allow, the
// same on both listeners.
func wrongMethod(method, path string, allowed []string) errorAnswer {
	var allow []string
	for _, m := range allowed {
		if !slices.Contains(allow, m) {
			allow = append(allow, m)
		}
		if m == http.MethodGet && !slices.Contains(allowed, http.MethodHead) {
			allow = append(allow, http.MethodHead)
		}
	}
	list := strings.Join(allow, ", ")
	a := renderError(pipeline.Errorf(pipeline.CodeInvalid, "%s %s: this path answers only %s.", method, path, list))
	a.status = http.StatusMethodNotAllowed
	a.headers = append(a.headers, header{"Allow", []string{list}})
	return a
}

// renderError is err's answer: its status (StatusOf its code), a JSON
// body with its code, message and details, Retry-After when it is
// unavailable (30 s) or rate-limited (its wait), and a bearer challenge
// when it asks to sign in.
func renderError(err error) errorAnswer {
	var body wire.ErrorBody
	body.Error.Code = pipeline.ErrorCode(err)
	body.Error.Message = pipeline.ErrorMessage(err)
	var e *pipeline.Error
	if errors.As(err, &e) {
		body.Error.Field = e.Field
		body.Error.Findings = e.Findings
		body.Error.Key, body.Error.Args = e.Key, e.Args
	} else {
		e = nil
	}
	a := errorAnswer{status: StatusOf(body.Error.Code)}
	if body.Error.Code == pipeline.CodeUnavailable {
		a.headers = append(a.headers, header{"Retry-After", retryLater})
	}
	if e != nil && e.Code == pipeline.CodeRateLimited {
		a.headers = append(a.headers, header{"Retry-After", []string{RetryAfterSeconds(e.RetryAfter)}})
	}
	if body.Error.Code == pipeline.CodeUnauthorized {
		a.headers = append(a.headers, header{"Www-Authenticate", bearerChallenge})
	}
	a.headers = append(a.headers, header{"Content-Type", jsonType}, header{"Cache-Control", noStore})
	a.body = jsonBody(body)
	return a
}

// jsonBody is v as the API writes JSON: indented by two spaces, with a
// final newline.
func jsonBody(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return buf.Bytes()
}

// write writes the answer to w.
func (a errorAnswer) write(w http.ResponseWriter) {
	h := w.Header()
	for _, f := range a.headers {
		h[f.name] = f.value
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// leanAnswer is a lean route's answer (see [Route]) as both listeners
// write it: a status, up to five headers whose values the handler holds,
// and a body (nil for none, as a 304's). Returned by value, so a cached
// answer costs no allocation.
type leanAnswer struct {
	status  int
	headers [5]header
	n       int // headers used
	body    []byte
}

// add adds a header to the answer.
func (a *leanAnswer) add(name string, value []string) {
	a.headers[a.n] = header{name, value}
	a.n++
}

// writeHTTP writes the answer to a net/http response.
func (a *leanAnswer) writeHTTP(w http.ResponseWriter) error {
	h := w.Header()
	for _, f := range a.headers[:a.n] {
		h[f.name] = f.value
	}
	w.WriteHeader(a.status)
	if a.body == nil {
		return nil
	}
	_, err := w.Write(a.body)
	return err
}

// leanHTTP is a lean handler as a net/http route handler: the main
// listener's way to serve what the playlist listener serves, through the
// same function. The request's time is read here, once.
func leanHTTP(lean func(ctx context.Context, u pipeline.User, in inbound, at time.Time) (leanAnswer, error)) func(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	return func(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
		a, err := lean(r.Context(), u, (*httpInbound)(r), time.Now())
		if err != nil {
			return err
		}
		return a.writeHTTP(w)
	}
}
