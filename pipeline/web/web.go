package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

//go:embed templates/*.html templates/partials/*.html static/* messages/*.json
var files embed.FS

// Store is what the pages need from the metadata store directly: signing
// in and the sessions. Everything else goes through the HTTP API.
type Store interface {
	Authenticate(ctx context.Context, name, password string) (pipeline.User, error)
	CreateSession(ctx context.Context, userID int64, p pipeline.SessionPolicy) (string, error)
	UserBySession(ctx context.Context, token string, p pipeline.SessionPolicy) (pipeline.User, error)
	DeleteSession(ctx context.Context, token string) error
}

// Config is what a Server is built from.
type Config struct {
	Store Store
	// API is Loa's HTTP API handler; pages call it in process with the
	// browser's session. The api.Server's Session must be SessionUser
	// (or Server.SessionUser) for that to work.
	API http.Handler
	Log *slog.Logger
	// PlainHTTP lets the session cookie go without Secure on a plain http
	// request, for a demo on http://localhost (browsers keep a Secure
	// cookie only over https, and on localhost). By default every session
	// cookie is Secure; requests over TLS or with X-Forwarded-Proto: https
	// get Secure cookies even with PlainHTTP.
	PlainHTTP bool
	// Sessions is how long sessions live; zero fields get the defaults
	// (7 days idle, 30 days at most).
	Sessions pipeline.SessionPolicy
	// MaxUploadBytes is the largest upload the API takes; the upload page
	// refuses bigger files before sending them. Zero: no check.
	MaxUploadBytes int64
	// Cron lists the periodic jobs the worker runs with the specs it was
	// started with, for the admin's page of scheduled jobs.
	Cron []CronJob
	// CronRuns reads those jobs' recent runs; nil: the page shows none.
	CronRuns CronRunReader
	// SignInTimeout bounds how long the sign-in form's body may take to
	// arrive (default 10s), so a client sending a byte every few seconds
	// does not hold a connection forever.
	SignInTimeout time.Duration
	// Auth throttles failed sign-ins per account and client address; nil
	// makes one with the default budgets. Give the API server's, so both
	// count the same failures and /metrics shows them.
	Auth *throttle.Guard
	// Unreachable, when set, says whether an error means the database
	// could not be reached (sqlstore.Unreachable): the page then answers
	// 503 and asks to try again, as the API does.
	Unreachable func(error) bool
	// Now is the clock that decides "today" on the pages (the operator's
	// week, the upload form's dates, the report year, late jobs); default
	// time.Now. Tests set it so no page depends on the day they run.
	Now func() time.Time
}

// Server serves the web pages.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pages  []Page
	tmpl   map[string]*template.Template
	cat    catalog
	assets map[string]asset
	cop    *http.CrossOriginProtection
	// zone is where all of Loa's local times are: Asia/Ho_Chi_Minh
	// (UTC+7, no daylight saving).
	zone *time.Location
}

// Page is one page (or form target) and the roles allowed to use it,
// like the API's Route. A page that is not Public denies every role it
// does not list.
type Page struct {
	Method  string
	Pattern string
	Roles   []pipeline.Role
	// Public pages need no sign-in: sign-in itself, the language switch,
	// the style sheet and scripts.
	Public bool
	// Nav is the catalogue key of the page's menu link; pages without it
	// are not in the menu. The menu shows only pages the user may open.
	Nav     string
	handler func(w http.ResponseWriter, r *http.Request, c *call) error
}

// call is one request's context: who asks and in which language.
type call struct {
	user     pipeline.User
	signedIn bool
	lang     string
	msgs     map[string]string
}

// asset is one embedded static file.
type asset struct {
	data    []byte
	ctype   string
	version string
}

// sessionDefaults gives p's zero fields the pages' session lifetimes:
// 7 days idle, 30 days at most.
func sessionDefaults(p pipeline.SessionPolicy) pipeline.SessionPolicy {
	if p.Idle <= 0 {
		p.Idle = 7 * 24 * time.Hour
	}
	if p.Max <= 0 {
		p.Max = 30 * 24 * time.Hour
	}
	return p
}

// New parses the templates and the message catalogue once and returns
// the Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.API == nil {
		return nil, errors.New("web: Store and API are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignInTimeout <= 0 {
		cfg.SignInTimeout = 10 * time.Second
	}
	if cfg.Auth == nil {
		cfg.Auth = throttle.New(throttle.Budget{}, throttle.Budget{})
	}
	s := &Server{cfg: cfg, log: cfg.Log, cop: http.NewCrossOriginProtection(), zone: localtime.Location()}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.cfg.Sessions = sessionDefaults(s.cfg.Sessions)
	var err error
	if s.cat, err = loadCatalog(files); err != nil {
		return nil, err
	}
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.newCall(r)
		s.renderRefusal(w, r, c, http.StatusForbidden, c.msgs["err_cross_origin"], false)
	}))
	s.pages = s.buildPages()
	return s, nil
}

func (s *Server) loadAssets() error {
	s.assets = map[string]asset{}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return fmt.Errorf("web: read assets: %w", err)
	}
	for _, e := range entries {
		data, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return fmt.Errorf("web: read asset %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(data)
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.assets[e.Name()] = asset{data: data, ctype: ct, version: hex.EncodeToString(sum[:6])}
	}
	return nil
}

// assetURL is the URL of an embedded file, versioned by its content so it
// can be cached for good.
func (s *Server) assetURL(name string) (string, error) {
	a, ok := s.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/static/" + name + "?v=" + a.version, nil
}

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"asset": s.assetURL,
		// msg formats a catalogue message with arguments.
		"msg": func(m map[string]string, key string, args ...any) (string, error) {
			f, ok := m[key]
			if !ok {
				return "", fmt.Errorf("no message %q", key)
			}
			if len(args) == 0 {
				return f, nil
			}
			return fmt.Sprintf(f, args...), nil
		},
		"bytes":    func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
		"duration": pipeline.ClockDuration,
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(s.zone).Format("02/01/2006 15:04")
		},
		// lastDay is the last day an air window ending at t airs
		// (pipeline.LastAirDay), as the pages write dates.
		"lastDay": func(t time.Time) string {
			d, err := time.Parse(time.DateOnly, pipeline.LastAirDay(t))
			if err != nil {
				return ""
			}
			return d.Format("02/01/2006")
		},
		"day": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(s.zone).Format("2006-01-02")
		},
		"percent": func(f float64) int { return int(f*100 + 0.5) },
		// jobEvent is a job event's reason in the reader's language.
		"jobEvent": s.eventText,
		// dict makes a map of its key, value pairs, to call a shared
		// template (templates/partials) with named arguments.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: %d arguments, want key, value pairs", len(kv))
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	// The layout and the shared templates every page may call.
	base, err := template.New("layout.html").Option("missingkey=error").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return fmt.Errorf("web: list templates: %w", err)
	}
	s.tmpl = map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, n)
		if err != nil {
			return fmt.Errorf("web: parse %s: %w", name, err)
		}
		s.tmpl[strings.TrimSuffix(name, ".html")] = t
	}
	return nil
}

// Pages lists every page with its allowed roles; the role tests walk this
// list, so a page added here is tested against every role.
func (s *Server) Pages() []Page { return s.pages }

func (s *Server) buildPages() []Page {
	allRoles := pipeline.Roles
	producers := []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleProducer}
	adminOnly := []pipeline.Role{pipeline.RoleAdmin}
	operators := []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleOperator}
	jobReaders := []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer}
	translators := []pipeline.Role{pipeline.RoleTranslator}
	reviewers := []pipeline.Role{pipeline.RoleReviewer}
	rerenderers := []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleReviewer}
	holders := []pipeline.Role{pipeline.RoleTranslator, pipeline.RoleReviewer}
	return []Page{
		{Method: "GET", Pattern: "/static/{name}", Public: true, handler: s.static},
		{Method: "GET", Pattern: "/lang/{lang}", Public: true, handler: s.switchLang},
		{Method: "GET", Pattern: "/sign-in", Public: true, handler: s.signInPage},
		{Method: "POST", Pattern: "/sign-in", Public: true, handler: s.signIn},
		{Method: "POST", Pattern: "/sign-out", Roles: allRoles, handler: s.signOut},
		{Method: "GET", Pattern: "/{$}", Roles: allRoles, handler: s.home},
		{Method: "GET", Pattern: "/account", Roles: allRoles, Nav: "nav_account", handler: s.account},
		{Method: "POST", Pattern: "/account/sign-out-everywhere", Roles: allRoles, handler: s.signOutEverywhere},
		{Method: "POST", Pattern: "/account/password", Roles: allRoles, handler: s.changePassword},

		{Method: "GET", Pattern: "/producer", Roles: producers, Nav: "nav_segments", handler: s.segmentList},
		{Method: "GET", Pattern: "/producer/upload", Roles: producers, Nav: "nav_upload", handler: s.uploadPage},
		{Method: "GET", Pattern: "/producer/segments/{id}", Roles: producers, handler: s.segmentPage},
		{Method: "POST", Pattern: "/producer/segments/{id}/withdraw", Roles: producers, handler: s.withdraw},
		{Method: "POST", Pattern: "/producer/segments/{id}/priority", Roles: producers, handler: s.setPriority},

		{Method: "POST", Pattern: "/producer/segments/{id}/emergency", Roles: producers, handler: s.emergency},
		{Method: "POST", Pattern: "/producer/segments/{id}/emergency/confirm", Roles: adminOnly, handler: s.confirmEmergency},
		{Method: "POST", Pattern: "/producer/segments/{id}/emergency/end", Roles: producers, handler: s.endEmergency},
		{Method: "POST", Pattern: "/producer/segments/{id}/emergency/request/cancel", Roles: producers, handler: s.cancelEmergencyRequest},

		{Method: "GET", Pattern: "/operator", Roles: operators, Nav: "nav_schedule", handler: s.operatorPage},
		{Method: "POST", Pattern: "/operator/plays", Roles: operators, handler: s.reportPlay},

		{Method: "GET", Pattern: "/jobs", Roles: jobReaders, Nav: "nav_jobs", handler: s.jobBoard},
		{Method: "GET", Pattern: "/jobs/{id}", Roles: jobReaders, handler: s.jobDetailPage},
		{Method: "POST", Pattern: "/jobs/{id}/claim", Roles: translators, handler: s.jobAction("claim")},
		{Method: "POST", Pattern: "/jobs/{id}/extend", Roles: translators, handler: s.jobAction("extend")},
		{Method: "POST", Pattern: "/jobs/{id}/release", Roles: holders, handler: s.jobAction("release")},
		{Method: "POST", Pattern: "/jobs/{id}/submit", Roles: translators, handler: s.submitEditor},
		{Method: "POST", Pattern: "/jobs/{id}/upload", Roles: translators, handler: s.uploadJobFile},
		{Method: "POST", Pattern: "/jobs/{id}/review", Roles: reviewers, handler: s.jobAction("review")},
		{Method: "POST", Pattern: "/jobs/{id}/approve", Roles: reviewers, handler: s.approveJob},
		{Method: "POST", Pattern: "/jobs/{id}/request-changes", Roles: reviewers, handler: s.jobAction("request-changes")},
		{Method: "POST", Pattern: "/jobs/{id}/rerender", Roles: rerenderers, handler: s.jobAction("rerender")},
		{Method: "GET", Pattern: "/glossary", Roles: jobReaders, Nav: "nav_glossary", handler: s.glossaryPage},
		{Method: "POST", Pattern: "/glossary", Roles: adminOnly, handler: s.importGlossary},

		{Method: "GET", Pattern: "/admin/users", Roles: adminOnly, Nav: "nav_users", handler: s.usersPage},
		{Method: "POST", Pattern: "/admin/users", Roles: adminOnly, handler: s.createUser},
		{Method: "POST", Pattern: "/admin/users/{name}/tokens", Roles: adminOnly, handler: s.createToken},
		{Method: "POST", Pattern: "/admin/users/{name}/disable", Roles: adminOnly, handler: s.userAction("disable")},
		{Method: "POST", Pattern: "/admin/users/{name}/enable", Roles: adminOnly, handler: s.userAction("enable")},
		{Method: "POST", Pattern: "/admin/users/{name}/sign-out-everywhere", Roles: adminOnly, handler: s.userAction("sign-out-everywhere")},
		{Method: "POST", Pattern: "/admin/users/{name}/password", Roles: adminOnly, handler: s.resetPassword},
		{Method: "POST", Pattern: "/admin/tokens/{id}/revoke", Roles: adminOnly, handler: s.revokeToken},
		{Method: "GET", Pattern: "/admin/communes", Roles: adminOnly, Nav: "nav_communes", handler: s.communesPage},
		{Method: "GET", Pattern: "/admin/communes/{code}", Roles: adminOnly, handler: s.communePage},
		{Method: "POST", Pattern: "/admin/communes", Roles: adminOnly, handler: s.importCommunes},
		{Method: "GET", Pattern: "/admin/reports", Roles: adminOnly, Nav: "nav_reports", handler: s.reportsPage},
		{Method: "GET", Pattern: "/admin/cron", Roles: adminOnly, Nav: "nav_cron", handler: s.cronPage},
	}
}

// Handler returns the pages' handler. Paths it does not know get a "not
// found" page; every non-safe request from another origin is refused.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range s.pages {
		mux.Handle(p.Method+" "+p.Pattern, s.wrap(p))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.newCall(r)
		if u, err := s.sessionUser(r); err == nil {
			c.user, c.signedIn = u, true
		}
		s.renderError(w, r, c, http.StatusNotFound, c.msgs["err_not_found"])
	}))
	return s.cop.Handler(mux)
}

func (s *Server) newCall(r *http.Request) *call {
	lang := langOf(r)
	return &call{lang: lang, msgs: s.cat[lang]}
}

// wrap signs the caller in from the session cookie, checks the page's
// roles and runs the page; an error becomes an error page.
func (s *Server) wrap(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s.newCall(r)
		u, err := s.sessionUser(r)
		switch {
		case err == nil:
			c.user, c.signedIn = u, true
		case p.Public:
		case pipeline.ErrorCode(err) == pipeline.CodeUnauthorized:
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/sign-in?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, c, http.StatusUnauthorized, c.msgs["err_unauthorized"])
			return
		default:
			s.fail(w, r, c, err)
			return
		}
		if !p.Public && !slices.Contains(p.Roles, c.user.Role) {
			s.log.Info("page refused", "page", p.Method+" "+p.Pattern, "user", c.user.Name, "role", c.user.Role)
			s.renderError(w, r, c, http.StatusForbidden, c.msgs["err_forbidden"])
			return
		}
		// Every body must arrive in time (the sign-in form within
		// SignInTimeout): a slow sender is cut off and gets 408.
		timeout := api.DefaultBodyTimeout
		if p.Public {
			timeout = s.cfg.SignInTimeout
		}
		body := api.LimitBody(w, r, timeout, api.DefaultBodyMinRate)
		defer body.Done()
		if err := p.handler(w, r, c); err != nil {
			if body.TimedOut() {
				err = body.Cut(w, r, s.log, p.Method+" "+p.Pattern, c.user.Name)
			}
			s.fail(w, r, c, err)
		}
	})
}

// fail shows an error page for err: a refusal with its message in the
// user's language when the catalogue has one for its code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	err = api.Unavailable(err, s.cfg.Unreachable)
	code := pipeline.ErrorCode(err)
	if code == pipeline.CodeInternal || code == pipeline.CodeUnavailable {
		s.log.Error("page failed", "path", r.URL.Path, "user", c.user.Name, "err", err)
	}
	msg := c.msgs["err_"+string(code)]
	if msg == "" {
		msg = c.msgs["err_internal"]
	}
	if code != pipeline.CodeInternal && c.lang == "en" {
		msg = pipeline.ErrorMessage(err)
	}
	if m := keyedMessage(c.msgs, err); m != "" {
		msg = m
	}
	if code == pipeline.CodeUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	s.renderError(w, r, c, statusOf(code), msg)
}

// keyedMessage is err's own message in the page's language when err names
// one in the catalogue (pipeline.Error.Key), its %s filled from its Args;
// "" when it names none.
func keyedMessage(msgs map[string]string, err error) string {
	var e *pipeline.Error
	if !errors.As(err, &e) || e.Key == "" {
		return ""
	}
	return fillArgs(msgs["err_"+e.Key], e.Args)
}

// findingText is f in the page's language: its catalogue text ("fm_" +
// f.Key), its %s filled from f.Args, then its note's ("fm_" + f.NoteKey,
// from f.NoteArgs) when it has one; "" when f names no text the
// catalogue has.
func findingText(msgs map[string]string, f subtitle.Finding) string {
	if f.Key == "" {
		return ""
	}
	text := fillArgs(msgs["fm_"+f.Key], f.Args)
	if note := fillArgs(msgs["fm_"+f.NoteKey], f.NoteArgs); text != "" && f.NoteKey != "" && note != "" {
		text = strings.TrimRight(text, ". ") + ". " + note
	}
	return text
}

// fillArgs fills the %s of the catalogue text m from args in order (""
// for one args lacks); "" when m is.
func fillArgs(m string, args []string) string {
	if m == "" {
		return ""
	}
	vals := make([]any, strings.Count(m, "%s"))
	for i := range vals {
		vals[i] = ""
		if i < len(args) {
			vals[i] = args[i]
		}
	}
	return fmt.Sprintf(m, vals...)
}

// statusOf is the API's mapping of error codes to HTTP statuses, so a page
// and the API answer the same failure with the same status.
func statusOf(code pipeline.Code) int { return api.StatusOf(code) }

// view is what every template gets.
type view struct {
	M        map[string]string
	Lang     string
	Other    string
	User     pipeline.User
	SignedIn bool
	Title    string
	Nav      []navLink
	Here     string
	Scripts  []string
	JS       map[string]string
	D        any
}

type navLink struct {
	Href, Label string
	Current     bool
}

// render writes a page. title is a catalogue key; scripts are embedded
// script names the page loads.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c *call, status int, name, title string, data any, scripts ...string) {
	t, ok := s.tmpl[name]
	if !ok {
		s.log.Error("no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := view{
		M: c.msgs, Lang: c.lang, Other: otherLang(c.lang), User: c.user, SignedIn: c.signedIn,
		Title: c.msgs[title], Here: r.URL.RequestURI(), Scripts: scripts, D: data,
	}
	if v.Title == "" {
		v.Title = title
	}
	if c.signedIn {
		for _, p := range s.pages {
			if p.Nav != "" && slices.Contains(p.Roles, c.user.Role) {
				v.Nav = append(v.Nav, navLink{Href: p.Pattern, Label: c.msgs[p.Nav], Current: r.URL.Path == p.Pattern})
			}
		}
	}
	if len(scripts) > 0 {
		v.JS = map[string]string{}
		for k, m := range c.msgs {
			if strings.HasPrefix(k, "js_") || strings.HasPrefix(k, "fm_") {
				v.JS[k] = m
			}
		}
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", c.lang)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; media-src 'self' http: https:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// renderError shows a message page with a status: not allowed, not
// found, failed.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, c *call, status int, msg string) {
	s.renderRefusal(w, r, c, status, msg, status == http.StatusForbidden)
}

// renderRefusal is renderError saying, when roleHelp is set, that a
// page refused for the user's role needs another role from an
// administrator (not said of a request refused for coming from another
// site: no role would let it through).
func (s *Server) renderRefusal(w http.ResponseWriter, r *http.Request, c *call, status int, msg string, roleHelp bool) {
	title := "title_error"
	switch status {
	case http.StatusForbidden:
		title = "title_forbidden"
	case http.StatusNotFound:
		title = "title_not_found"
	}
	s.render(w, r, c, status, "error", title, struct {
		Status   int
		Message  string
		Home     string
		RoleHelp bool
	}{status, msg, "/", roleHelp})
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, c *call) error {
	a, ok := s.assets[r.PathValue("name")]
	if !ok {
		return pipeline.Errorf(pipeline.CodeNotFound, "No such file.")
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", `"`+a.version+`"`)
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if inm := r.Header.Get("If-None-Match"); inm == `"`+a.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	_, _ = w.Write(a.data)
	return nil
}

// home sends each role to its main page.
func (s *Server) home(w http.ResponseWriter, r *http.Request, c *call) error {
	to := map[pipeline.Role]string{
		pipeline.RoleAdmin:    "/admin/users",
		pipeline.RoleProducer: "/producer",
		pipeline.RoleOperator: "/operator",
		// Translators and reviewers start at their job board.
		pipeline.RoleTranslator: "/jobs",
		pipeline.RoleReviewer:   "/jobs",
	}[c.user.Role]
	if to == "" {
		to = "/account"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// Site is the whole of Loa's HTTP surface: the API's paths (/api/,
// /healthz, /readyz, /metrics) go to the API handler, every other path
// to the pages.
//
// The split is a prefix test, not a second ServeMux in front of the
// API's: every device poll passes here, and the API's mux (like the
// pages') cleans the path and matches it against its own routes anyway,
// so a path such as /api/../admin is redirected by the mux it reaches to
// the one it names.
func (s *Server) Site() http.Handler {
	api, pages := s.cfg.API, s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}

// apiPath reports whether Site sends path to the API: /api/ and what
// is under it, /healthz, /readyz and /metrics.
func apiPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/")
}

// refused is a form's refusal (CodeInvalid) of field ("" for the whole
// form): english is what the API-style message says, and key names its
// text in the pages' catalogues ("err_" + key), so a page in Vietnamese
// says what was wrong instead of the code's general sentence; args fill
// the catalogue text's %s in order (english is already complete).
func refused(key, field, english string, args ...string) *pipeline.Error {
	return pipeline.FieldError(field, "%s", english).WithKey(key, args...)
}
