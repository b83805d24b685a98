// Package api is Loa's HTTP API: JSON over HTTP with bearer tokens, every
// route listing the roles it allows and denying all others.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

// Catalog is what the API reads and writes in the metadata store.
type Catalog interface {
	Ping(ctx context.Context) error
	// UserByToken keeps nothing of token past the call: the playlist
	// listener passes a view of its request buffer.
	UserByToken(ctx context.Context, token string) (pipeline.User, error)
	UserByName(ctx context.Context, name string) (pipeline.User, error)
	Users(ctx context.Context) ([]pipeline.User, error)
	CreateUser(ctx context.Context, n pipeline.NewUser) (pipeline.User, error)
	// CreateTokenBy makes a token for userID; by (the admin) is named in
	// the audit log.
	CreateTokenBy(ctx context.Context, userID int64, label string, by int64) (string, error)
	// CreateTokenAs makes a token of a kind (api, metrics), by an actor.
	CreateTokenAs(ctx context.Context, userID int64, label string, kind pipeline.TokenKind, by pipeline.Actor) (string, error)
	// Tokens lists a user's tokens ("" for all users), never their
	// secrets; revoked ones only when revoked is true.
	Tokens(ctx context.Context, user string, revoked bool) ([]pipeline.TokenInfo, error)
	RevokeTokenID(ctx context.Context, id int64, by pipeline.Actor) error
	SetUserDisabled(ctx context.Context, name string, disabled bool, by pipeline.Actor) (pipeline.User, error)
	SignOutEverywhere(ctx context.Context, userID int64, by pipeline.Actor) (pipeline.SignedOut, error)
	// ChangePassword is a user's change of their own password (current
	// checked), ending their sessions but keepSession.
	ChangePassword(ctx context.Context, userID int64, current, newPassword, keepSession string) (pipeline.SignedOut, error)
	// SetPassword is an administrator's reset of a user's password,
	// ending all their sessions.
	SetPassword(ctx context.Context, name, password string, by pipeline.Actor) (pipeline.User, pipeline.SignedOut, error)
	// MetricsToken accepts a token that may read /metrics.
	MetricsToken(ctx context.Context, token string) error
	Segment(ctx context.Context, id string) (pipeline.Segment, error)
	Segments(ctx context.Context, f pipeline.SegmentFilter) ([]pipeline.Segment, error)
	// SegmentIDsOf lists the ids of every segment of the producer
	// producerID that is not withdrawn.
	SegmentIDsOf(ctx context.Context, producerID int64) ([]string, error)
	WithdrawSegment(ctx context.Context, id string, userID int64, reason string) (pipeline.Segment, error)
	SetPriority(ctx context.Context, id string, userID int64, p pipeline.Priority) (pipeline.Segment, error)
	Renditions(ctx context.Context, segmentID string) ([]pipeline.Rendition, error)
	SegmentVariants(ctx context.Context, segmentID string) ([]pipeline.Variant, error)
}

// Objects is what the API needs from the object store.
type Objects interface {
	Ready(ctx context.Context) error
	// ProbeWrite stores a small object under objects.ProbePrefix.
	ProbeWrite(ctx context.Context) error
	Presign(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)
}

// Server serves the HTTP API.
type Server struct {
	Catalog  Catalog
	Objects  Objects
	Ingester *pipeline.Ingester
	Log      *slog.Logger
	// MaxFormBytes caps the metadata fields of an upload.
	MaxFormBytes int64
	// Broadcast serves communes, schedules, playlists and bundles; nil
	// answers those routes 503.
	Broadcast *broadcast.Service
	// EventPoll is how often a device's event stream checks its commune's
	// head (a backstop: changes made by any process arrive through the
	// Broadcast's change feed) and sends a keep-alive; default 15s.
	EventPoll time.Duration

	// playlists keeps playlists' ETags and renderings by schedule head,
	// cluster, date and format, so a device poll after a change costs one
	// rendering, not one per device (presigning every link is the
	// expensive part), and a conditional poll no hashing, each for
	// playlistTTL; made by Handler. Its clean-up goroutine ends when the
	// Server is no longer reachable (otter), so no Close is needed.
	playlists *otter.Cache[playlistKey, *servedPlaylist]
	// WriteProbeEvery is how long /readyz reuses the result of its last
	// write probe of the object store: at most one small write per
	// period however often a load balancer polls; default 30 s.
	WriteProbeEvery time.Duration
	writeProbe      *otter.Cache[struct{}, probeResult]
	// window is the playlist window of the day of the latest poll.
	window atomic.Pointer[dayWindow]
	// Session, when set, signs in a request that has no bearer token by
	// its browser session cookie, refusing cross-origin requests (CSRF);
	// the web pages call the API this way.
	Session func(r *http.Request) (pipeline.User, error)
	// SessionToken, when set, returns the browser session token a request
	// signed in with through Session ("" for none): a password change
	// keeps that session and ends the user's others.
	SessionToken func(r *http.Request) string
	// Unreachable, when set, says whether a handler's error means the
	// database (or another service the request needed) could not be
	// reached (sqlstore.Unreachable): such a request is answered 503 with
	// Retry-After and a message to try again, not 500.
	Unreachable func(error) bool
	// Jobs serves translation and subtitle jobs (an approval queues its
	// rendition), JobStore the glossaries and notice contacts; nil answers
	// those routes 503.
	Jobs     Jobs
	JobStore JobStore
	// Collectors are registered with /metrics besides the server's own,
	// for example the worker's media.FFmpegMetrics when both run in one process.
	Collectors []prometheus.Collector
	// DevicePolls records operators' and devices' polls for
	// loa_devices_not_polled; when nil, Handler makes one if the Catalog
	// is a [DevicePollStore].
	DevicePolls *DevicePolls
	// Auth throttles failed sign-ins and token checks per account and
	// client address; nil makes one with the default budgets. Share one
	// with the web pages so both count the same failures.
	Auth *throttle.Guard
	// BodyTimeout and BodyMinRate bound how slowly a request body may
	// arrive: it must be in by BodyTimeout plus its length at BodyMinRate
	// (bytes per second), or the request ends with 408 and its connection
	// is closed (a client sending a byte every few seconds holds nothing
	// for long). Defaults 30 s and 2 KiB/s (16 kb/s: a poor 2G link still
	// uploads).
	BodyTimeout time.Duration
	BodyMinRate int64
	// MaxStreamsPerToken and MaxStreamsPerUser cap the event streams
	// (/api/communes/{code}/events) open at once with one token (or
	// browser session) and by one user; past either the answer is 429.
	// Defaults 4 and 16.
	MaxStreamsPerToken int
	MaxStreamsPerUser  int
	// Streams counts the caps above across every replica (the database);
	// nil counts them in this process only.
	Streams StreamCounter
	streams streamCounter

	// PublicURL is the server's address as the public reaches it
	// ("https://loa.sonla.gov.vn", with no trailing slash): the bulletin's
	// feed and page links are built from it, never from the request's
	// Host header (which anyone can forge, and the feed is cached
	// publicly). Empty: links are relative where they can be, and the feed
	// answers 503 saying to set LOA_PUBLIC_URL.
	PublicURL string
	// PlaylistURL is the playlist listener's address as controllers reach
	// it ("http://10.0.0.5:8081", no trailing slash), told to whoever
	// makes a device; empty when there is none.
	PlaylistURL string
	// Now is the clock that decides "today" for playlists, bundles,
	// schedules, reports and feeds; default time.Now. Tests set it so that
	// no result depends on the day they run.
	Now func() time.Time

	// artwork is the bulletin feed's image, drawn at the first request.
	artworkOnce sync.Once
	artwork     []byte
	artworkErr  error

	// closing is closed by CloseStreams: every event stream ends.
	closingOnce sync.Once
	closing     chan struct{}

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	// counts are the routes' request counters by route name, shared by
	// both listeners.
	countsMu sync.Mutex
	counts   map[string]*routeCounts
	ingested *prometheus.CounterVec
	routes   []Route
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Route is one endpoint and the roles allowed to call it. A route with no
// roles is public; there are only a few (health, metrics).
type Route struct {
	Method  string
	Pattern string
	Roles   []pipeline.Role
	Public  bool
	// MetricsToken also lets in a bearer token of kind metrics (a
	// scraper's), besides the roles.
	MetricsToken bool
	// Playlist marks a route the playlist listener (LOA_PLAYLIST_ADDR,
	// [Server.PlaylistListener]) serves too, besides the main address:
	// the playlists third-party loudspeaker controllers poll. There, as
	// here, the route's Roles, Public and body rules hold through the
	// same code ([Server.admit]), and its lean handler answers. A Playlist
	// route has a lean handler and no other.
	Playlist bool
	handler  func(w http.ResponseWriter, r *http.Request, u pipeline.User) error
	// lean, when set, is the route's handler over plain values (an
	// inbound, a leanAnswer): both listeners call it, so a route served
	// on the playlist listener answers the same there as here. handler
	// is then derived from it.
	lean func(ctx context.Context, u pipeline.User, in inbound, at time.Time) (leanAnswer, error)
	// noBody refuses (413) a request that sends any body, before a byte
	// of it is read: a GET a device polls takes none.
	noBody bool
	// maxBody, when set, is the largest body the route takes (bytes; 0:
	// no limit) and the refusal naming the limit: a request whose
	// Content-Length is over it is refused at once, before its body is
	// read.
	maxBody func() (limit int64, refusal func(announced int64) error)
}

// Handler builds the http.Handler with all routes.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.MaxFormBytes == 0 {
		s.MaxFormBytes = 1 << 20
	}
	s.playlists = otter.Must(&otter.Options[playlistKey, *servedPlaylist]{MaximumSize: maxCachedPlaylists,
		ExpiryCalculator: otter.ExpiryWriting[playlistKey, *servedPlaylist](playlistTTL)})
	if s.WriteProbeEvery <= 0 {
		s.WriteProbeEvery = 30 * time.Second
	}
	s.writeProbe = otter.Must(&otter.Options[struct{}, probeResult]{MaximumSize: 1,
		ExpiryCalculator: otter.ExpiryWriting[struct{}, probeResult](s.WriteProbeEvery)})
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loa_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"})
	s.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loa_ingest_total", Help: "Uploads by outcome (created, duplicate, or the refusal code)."}, []string{"outcome"})
	s.registry.MustRegister(s.requests, s.ingested)
	if s.Auth == nil {
		s.Auth = throttle.New(throttle.Budget{}, throttle.Budget{})
	}
	for _, kind := range []throttle.Kind{throttle.SignIn, throttle.Token} {
		s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "loa_auth_throttled_total",
			Help: "Sign-ins and token checks refused with 429 after too many failures.", ConstLabels: prometheus.Labels{"kind": string(kind)}},
			func() float64 { return float64(s.Auth.Throttled(kind)) }))
	}
	if rs, ok := s.Catalog.(ReportStore); ok {
		s.registry.MustRegister(newOpsCollector(rs)) // queue, jobs, silent devices (reports.go)
	}
	if s.DevicePolls == nil {
		if ps, ok := s.Catalog.(DevicePollStore); ok {
			s.DevicePolls = &DevicePolls{Store: ps, Log: s.Log}
		}
	}
	if s.DevicePolls != nil {
		s.registry.MustRegister(s.DevicePolls)
	}
	if hs, ok := s.Catalog.(HeartbeatStore); ok {
		s.registry.MustRegister(newDeviceStates(hs, s.now, s.Log)) // loa_player_devices (heartbeats.go)
	}
	s.registry.MustRegister(s.Collectors...)

	s.counts = map[string]*routeCounts{}
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	var methods []string // every method a route takes
	for _, rt := range s.Routes() {
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A path that routes take with other methods is 405 naming them
		// (as the playlist listener answers), any other 404.
		var allowed []string
		for _, m := range methods {
			if _, pat := mux.Handler(&http.Request{Method: m, URL: r.URL, Host: r.Host}); pat != "" && pat != "/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			wrongMethod(r.Method, r.URL.Path, allowed).write(w)
			return
		}
		writeError(w, pipeline.Errorf(pipeline.CodeNotFound, "No such endpoint: %s %s.", r.Method, r.URL.Path))
	}))
	return mux
}

var (
	allRoles   = pipeline.Roles
	adminOnly  = []pipeline.Role{pipeline.RoleAdmin}
	producers  = []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleProducer}
	publicNone = []pipeline.Role(nil)
)

// Routes lists every endpoint with its allowed roles; the role tests walk
// this list, so a route added here is tested against every role.
func (s *Server) Routes() []Route {
	if s.routes != nil {
		return s.routes
	}
	s.routes = []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, Roles: publicNone, handler: s.healthz},
		{Method: "GET", Pattern: "/readyz", Public: true, Roles: publicNone, handler: s.readyz},
		{Method: "GET", Pattern: "/metrics", Roles: adminOnly, MetricsToken: true, handler: s.metrics},
		{Method: "GET", Pattern: "/api/me", Roles: allRoles, handler: s.me},
		{Method: "GET", Pattern: "/api/topics", Roles: allRoles, handler: s.topics},
		{Method: "GET", Pattern: "/api/users", Roles: adminOnly, handler: s.listUsers},
		{Method: "POST", Pattern: "/api/users", Roles: adminOnly, handler: s.createUser},
		{Method: "POST", Pattern: "/api/users/{name}/tokens", Roles: adminOnly, handler: s.createToken},
		{Method: "POST", Pattern: "/api/users/{name}/disable", Roles: adminOnly, handler: s.setDisabled(true)},
		{Method: "POST", Pattern: "/api/users/{name}/enable", Roles: adminOnly, handler: s.setDisabled(false)},
		{Method: "POST", Pattern: "/api/users/{name}/sign-out-everywhere", Roles: adminOnly, handler: s.signOutUser},
		{Method: "POST", Pattern: "/api/me/sign-out-everywhere", Roles: allRoles, handler: s.signOutMe},
		{Method: "POST", Pattern: "/api/me/password", Roles: allRoles, handler: s.changePassword},
		{Method: "POST", Pattern: "/api/users/{name}/password", Roles: adminOnly, handler: s.resetPassword},
		{Method: "GET", Pattern: "/api/tokens", Roles: adminOnly, handler: s.listTokens},
		{Method: "DELETE", Pattern: "/api/tokens/{id}", Roles: adminOnly, handler: s.revokeToken},
		{Method: "POST", Pattern: "/api/segments", Roles: producers, handler: s.uploadSegment, maxBody: s.maxUpload},
		{Method: "GET", Pattern: "/api/segments", Roles: producers, handler: s.listSegments},
		{Method: "GET", Pattern: "/api/segments/{id}", Roles: producers, handler: s.getSegment},
		{Method: "DELETE", Pattern: "/api/segments/{id}", Roles: producers, handler: s.withdrawSegment},
		{Method: "PUT", Pattern: "/api/segments/{id}/priority", Roles: producers, handler: s.setPriority},
	}
	s.routes = append(s.routes, s.scheduleRoutes()...)
	s.routes = append(s.routes, s.jobRoutes()...)
	s.routes = append(s.routes, s.reportRoutes()...)
	s.routes = append(s.routes, s.heartbeatRoutes()...)
	s.routes = append(s.routes, s.noticeRoutes()...)
	for i, rt := range s.routes {
		if rt.lean != nil {
			s.routes[i].handler = leanHTTP(rt.lean)
		}
	}
	return s.routes
}

// wrap authenticates the caller, checks the route's roles, runs the
// handler and turns its error into a JSON error response.
func (s *Server) wrap(rt Route) http.Handler {
	name := rt.Method + " " + rt.Pattern
	counts := s.routeCounts(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() { counts.inc(sw.code) }()
		user, closeConn, err := s.admit(r.Context(), &rt, name, (*httpInbound)(r))
		if err != nil {
			if closeConn {
				// Not a byte of the body is read: the connection is
				// closed after the answer instead of drained.
				sw.Header().Set("Connection", "close")
			}
			writeError(sw, err)
			return
		}
		body := s.limitBody(sw, r)
		defer body.Done()
		if err := rt.handler(sw, r, user); err != nil {
			if body.TimedOut() {
				err = body.Cut(sw, r, s.Log, name, user.Name)
			}
			err = s.unavailable(err)
			if pipeline.ErrorCode(err) == pipeline.CodeInternal || pipeline.ErrorCode(err) == pipeline.CodeUnavailable {
				s.Log.Error("request failed", "route", name, "user", user.Name, "err", err)
			}
			writeError(sw, err)
		}
	})
}

// unavailable is Unavailable with s.Unreachable.
func (s *Server) unavailable(err error) error { return Unavailable(err, s.Unreachable) }

// Unavailable turns an error that is not yet a pipeline.Error, and that
// unreachable (e.g. sqlstore.Unreachable) recognises, into CodeUnavailable:
// 503 with Retry-After and a message to try again, where it would be 500.
// The pages use it too, so both answer an outage alike. A nil
// unreachable leaves err as it is.
func Unavailable(err error, unreachable func(error) bool) error {
	var e *pipeline.Error
	if unreachable == nil || errors.As(err, &e) || !unreachable(err) {
		return err
	}
	return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
		Message: "The database (or the media store) cannot be reached just now; nothing was changed. Try again in half a minute."}
}

// metricsTokenOK reports whether the Authorization header's value
// carries a live metrics token (or an administrator's API token). Any
// other answer falls to the usual sign-in, which throttles guesses and
// says what is wrong.
func (s *Server) metricsTokenOK(ctx context.Context, authorization string) bool {
	tok, ok := bearerToken(authorization)
	return ok && s.Catalog.MetricsToken(ctx, tok) == nil
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
// The scheme is case-insensitive (RFC 9110, section 11.1).
func bearer(r *http.Request) (string, bool) { return bearerToken(r.Header.Get("Authorization")) }

// bearerToken is bearer of the Authorization header's value.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// authenticate is the caller of r (signIn).
func (s *Server) authenticate(r *http.Request) (pipeline.User, error) {
	return s.signIn(r.Context(), (*httpInbound)(r))
}

// routeCounts is the request counter of the route named name, one per
// route whichever listener answers it.
func (s *Server) routeCounts(name string) *routeCounts {
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	if c, ok := s.counts[name]; ok {
		return c
	}
	c := &routeCounts{vec: s.requests, route: name}
	s.counts[name] = c
	return c
}

// routeCounts counts one route's requests by status in
// loa_http_requests_total, holding the counter of each status it has
// answered, so a request costs a short scan and an atomic add instead of
// a label lookup (and a status formatted) per request. A status appears
// in /metrics once the route has answered it, as with WithLabelValues.
type routeCounts struct {
	vec   *prometheus.CounterVec
	route string
	mu    sync.Mutex // held while a status is added
	held  atomic.Pointer[[]codeCounter]
}

type codeCounter struct {
	code int
	c    prometheus.Counter
}

// inc counts one answer of status code.
func (rc *routeCounts) inc(code int) {
	if held := rc.held.Load(); held != nil {
		for _, h := range *held {
			if h.code == code {
				h.c.Inc()
				return
			}
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var held []codeCounter
	if p := rc.held.Load(); p != nil {
		held = *p
	}
	for _, h := range held {
		if h.code == code {
			h.c.Inc()
			return
		}
	}
	c := rc.vec.WithLabelValues(rc.route, strconv.Itoa(code))
	held = append(slices.Clip(held), codeCounter{code: code, c: c})
	rc.held.Store(&held)
	c.Inc()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// StatusOf maps an error code to its HTTP status.
func StatusOf(code pipeline.Code) int {
	switch code {
	case pipeline.CodeInvalid:
		return http.StatusUnprocessableEntity
	case pipeline.CodeNotFound:
		return http.StatusNotFound
	case pipeline.CodeConflict:
		return http.StatusConflict
	case pipeline.CodeUnauthorized:
		return http.StatusUnauthorized
	case pipeline.CodeForbidden:
		return http.StatusForbidden
	case pipeline.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case pipeline.CodeUnavailable:
		return http.StatusServiceUnavailable
	case pipeline.CodeRateLimited:
		return http.StatusTooManyRequests
	case pipeline.CodeTimeout:
		return http.StatusRequestTimeout
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers err (renderError) on w.
func writeError(w http.ResponseWriter, err error) { renderError(err).write(w) }

// RetryAfterSeconds is a Retry-After header value: whole seconds, at
// least 1.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// probeResult is the outcome of one write probe, kept for
// Server.WriteProbeEvery.
type probeResult struct{ err error }

// objectsWritable reports whether the object store took the last write
// probe, probing when the last result is older than WriteProbeEvery
// (concurrent callers share one probe). The probe has its own 3 s budget,
// not the request's, so a poller that hangs up does not leave a
// "context canceled" behind for the next ones.
func (s *Server) objectsWritable(ctx context.Context) error {
	res, err := s.writeProbe.Get(ctx, struct{}{}, otter.LoaderFunc[struct{}, probeResult](func(ctx context.Context, _ struct{}) (probeResult, error) {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		err := s.Objects.ProbeWrite(pctx)
		if err != nil {
			s.Log.Warn("object store refuses writes", "err", err)
		}
		return probeResult{err: err}, nil
	}))
	if err != nil {
		return err
	}
	return res.err
}

// readyz answers 503 when this replica cannot serve: the database does
// not answer, or the object store cannot be read. A store that reads but
// refuses writes (a full disk, a spent quota) is reported in the body,
// "read ok, write refused: ...", with 200: every replica shares the store,
// so taking them out of the load balancer would stop the playlists and
// media they can still serve while uploads and processing wait (README,
// "Running several replicas").
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "objects": "ok"}
	status := http.StatusOK
	if err := s.Catalog.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if err := s.Objects.Ready(ctx); err != nil {
		checks["objects"], status = err.Error(), http.StatusServiceUnavailable
	} else if err := s.objectsWritable(ctx); err != nil {
		checks["objects"] = "read ok, write refused: " + err.Error()
	}
	if status != http.StatusOK {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, checks)
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) topics(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	writeJSON(w, http.StatusOK, pipeline.Topics)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	users, err := s.Catalog.Users(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, users)
	return nil
}

// NewUserRequest is the body of POST /api/users.
type NewUserRequest struct {
	Name      string        `json:"name"`
	Role      pipeline.Role `json:"role"`
	Password  string        `json:"password"`
	Languages []string      `json:"languages"`
	Commune   string        `json:"commune"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	var req NewUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := s.Catalog.CreateUser(r.Context(), pipeline.NewUser{Name: req.Name, Role: req.Role, Password: req.Password,
		Languages: req.Languages, Commune: req.Commune, CreatedBy: by.ID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// TokenResponse is the body answering POST /api/users/{name}/tokens.
type TokenResponse struct {
	Token string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	u, err := s.Catalog.UserByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	kind := pipeline.TokenKind(r.URL.Query().Get("kind"))
	tok, err := s.Catalog.CreateTokenAs(r.Context(), u.ID, r.URL.Query().Get("label"), kind, pipeline.Actor{ID: by.ID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, TokenResponse{Token: tok})
	return nil
}

// setDisabled disables or enables a user: POST /api/users/{name}/disable
// and /enable answer the user.
func (s *Server) setDisabled(disabled bool) func(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	return func(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
		u, err := s.Catalog.SetUserDisabled(r.Context(), r.PathValue("name"), disabled, pipeline.Actor{ID: by.ID})
		if err != nil {
			return err
		}
		s.Log.Info("user disabled changed", "user", u.Name, "disabled", disabled, "by", by.Name)
		writeJSON(w, http.StatusOK, u)
		return nil
	}
}

// signOutUser ends every session and token of a user (an administrator's
// call); the answer counts them: {"sessions": N, "tokens": M}.
func (s *Server) signOutUser(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	u, err := s.Catalog.UserByName(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return s.signOut(w, r, u, by)
}

// signOutMe ends every session and token of the caller, including the
// one this request came with.
func (s *Server) signOutMe(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	return s.signOut(w, r, u, u)
}

// signOut ends every session and token of u on behalf of by and answers
// with their counts.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, u, by pipeline.User) error {
	out, err := s.Catalog.SignOutEverywhere(r.Context(), u.ID, pipeline.Actor{ID: by.ID})
	if err != nil {
		return err
	}
	s.Log.Info("signed out everywhere", "user", u.Name, "by", by.Name, "sessions", out.Sessions, "tokens", out.Tokens)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listTokens answers GET /api/tokens[?user=NAME]: ids, kinds, labels,
// when made and last used; never the secrets.
// listTokens answers GET /api/tokens[?user=NAME][&revoked=1]: live
// tokens, and revoked ones too with revoked=1 (as loa token list --all).
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	revoked := false
	if v := r.URL.Query().Get("revoked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return pipeline.FieldError("revoked", "revoked=%q is not a yes or no: give revoked=1 to list revoked tokens too, or leave it out.", v)
		}
		revoked = b
	}
	toks, err := s.Catalog.Tokens(r.Context(), r.URL.Query().Get("user"), revoked)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toks)
	return nil
}

// revokeToken answers DELETE /api/tokens/{id} with 204.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return pipeline.Errorf(pipeline.CodeInvalid, "%q is not a token id: GET /api/tokens lists them.", r.PathValue("id"))
	}
	if err := s.Catalog.RevokeTokenID(r.Context(), id, pipeline.Actor{ID: by.ID}); err != nil {
		return err
	}
	s.Log.Info("token revoked", "id", id, "by", by.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxJSONBody caps a JSON request body (1 MiB): every JSON body Loa takes
// is a few fields, far below it.
const maxJSONBody = 1 << 20

// decodeJSON reads r's body into v: a body past maxJSONBody is
// CodeTooLarge (413), one that is not v's JSON (or has unknown fields)
// CodeInvalid.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &pipeline.Error{Code: pipeline.CodeTooLarge, Err: err,
				Message: fmt.Sprintf("The request body is larger than %d KiB, the most a JSON request here may be: send only the fields the request needs.", maxJSONBody>>10)}
		}
		return pipeline.Errorf(pipeline.CodeInvalid, "The request body is not the expected JSON: %v.", err)
	}
	return nil
}

// readBody reads r's body, of at most limit bytes: a longer one is
// CodeTooLarge (413), naming what it is and the limit; one cut short is
// CodeInvalid.
func readBody(r *http.Request, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &pipeline.Error{Code: pipeline.CodeTooLarge, Err: err,
			Message: fmt.Sprintf("The %s is larger than %d KiB, the most it may be: send a smaller one.", what, limit>>10)}
	case err != nil:
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The %s could not be read (cut short?): %v. Send it again.", what, err)
	}
	return data, nil
}

// roleList names roles for a message: "admin", "admin or operator",
// "admin, operator or device".
func roleList(roles []pipeline.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
