package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/pipeline/web"
)

// bundle is one test's site: the pages and the API on a real database
// and a real bucket, with a user of every role.
type bundle struct {
	srv   *httptest.Server
	db    *sqlstore.DB
	store objects.Backend
	pages *web.Server
	// advance moves every clock of the set-up (store, service, servers)
	// ahead by d: a play report must start before the server's now.
	advance func(d time.Duration)
	users   map[pipeline.Role]pipeline.User
	// segs are the ids of the ready segments, in the schedules.
	segs []string
	// desk is the translators' desk behind the API.
	desk *translation.Desk
	// auth is the sign-in throttle shared by the API and the pages.
	auth *throttle.Guard
}

func setup(t *testing.T) *bundle {
	t.Helper()
	store, _ := objectstest.New(t)
	return setupOn(t, store)
}

// setupOn is setup on a given object store. On the in-memory one
// (objectstest.Memory) the ready segments have no audio, so the tests
// need neither MinIO nor ffmpeg.
func setupOn(t *testing.T, store objects.Backend) *bundle {
	t.Helper()
	ctx := context.Background()
	_, memory := store.(*objectstest.Memory)
	db := sqlstoretest.New(t)
	// Every clock starts on a Monday: the demo registry airs Monday to
	// Saturday, and the operator's page shows today's items.
	var ahead atomic.Int64
	base := broadcasttest.Clock(broadcasttest.Monday)
	clock := func() time.Time { return base().Add(time.Duration(ahead.Load())) }
	db.Now = clock
	in := &pipeline.Ingester{
		Store: db, Objects: store, Inspector: media.Inspector{Limits: media.Limits{MaxDuration: 10 * time.Minute}},
		CheckSubtitle: pipeline.CheckSourceSubtitles, MaxBytes: 64 << 20, MaxSubtitleBytes: 256 << 10,
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	svc := &broadcast.Service{Store: db, Objects: store, Key: key, Log: slog.New(slog.DiscardHandler), Now: clock}
	desk := &translation.Desk{Store: db, Objects: store, Policy: translation.DefaultPolicy(), Renditions: noQueue{}, Log: slog.New(slog.DiscardHandler)}
	// Wired as loa serve wires it: the API signs a request without a
	// token in by the pages' cookie, through web.SessionUser made from the
	// store before either server.
	// The sign-in throttle's clock stands still: a budget spent by a test
	// is not refilled however slowly a loaded machine runs it.
	auth := throttle.New(throttle.Budget{}, throttle.Budget{})
	auth.Now = func() time.Time { return broadcasttest.Monday }
	a := &api.Server{Catalog: db, Objects: store, Ingester: in, Broadcast: svc, Jobs: desk, JobStore: db, Log: slog.New(slog.DiscardHandler), Now: clock,
		Session: web.SessionUser(db, pipeline.SessionPolicy{}), SessionToken: web.SessionToken, Auth: auth}
	pages, err := web.New(web.Config{Store: db, API: a.Handler(), MaxUploadBytes: 64 << 20, Log: slog.New(slog.DiscardHandler),
		Cron: testCronJobs(), CronRuns: db, Now: clock, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{db: db, store: store, pages: pages, users: map[pipeline.Role]pipeline.User{}, desk: desk, auth: auth,
		advance: func(d time.Duration) { ahead.Add(int64(d)) }}
	b.srv = httptest.NewServer(pages.Site())
	t.Cleanup(b.srv.Close)
	// The Sơn La demo registry, one user per role (the operator answers
	// for muong-lan), and two segments ready to air, scheduled.
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	for _, role := range pipeline.Roles {
		u, err := db.CreateUser(ctx, pipeline.NewUser{Name: "u-" + string(role), Role: role, Password: "mat-khau-dai-du", Languages: []string{"blt"}, Commune: "muong-lan"})
		if err != nil {
			t.Fatal(err)
		}
		b.users[role] = u
	}
	clip := ""
	if !memory {
		clip = mediatest.SpeechMP3(t, t.TempDir())
	}
	for i, langs := range [][]string{{"vi"}, {"vi", "blt"}} {
		id := broadcasttest.AddReady(t, db, store, b.users[pipeline.RoleProducer], broadcasttest.Segment{
			Title: fmt.Sprintf("Bản tin CCHC số %d", i+1), Languages: langs, Audio: clip, AirFrom: clock().Add(-48 * time.Hour)})
		b.segs = append(b.segs, id)
	}
	if _, err := svc.Build(ctx, clock(), nil, "test"); err != nil {
		t.Fatal(err)
	}
	return b
}

// noQueue stands in for the worker's queue: an approval's rendition is
// not made in these tests.
type noQueue struct{}

func (noQueue) QueueRenditionTx(context.Context, *sql.Tx, translation.Job, translation.Submission, int64) error {
	return nil
}

// session signs a user of the role in and returns the session cookie.
func (b *bundle) session(t *testing.T, role pipeline.Role) *http.Cookie {
	t.Helper()
	tok, err := b.db.CreateSession(context.Background(), b.users[role].ID, pipeline.SessionPolicy{Idle: time.Hour, Max: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: "loa_session", Value: tok}
}

// do sends a request as a same-origin browser would and does not follow
// redirects.
func (b *bundle) do(t *testing.T, method, path string, ck *http.Cookie, form url.Values, site string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	if ck != nil {
		req.AddCookie(ck)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// fill puts sample values into a page pattern's wildcards.
func fill(pattern string) string {
	r := strings.NewReplacer("{$}", "", "{id}", "no-such-segment", "{name}", "u-producer", "{lang}", "en", "{code}", "muong-lan")
	p := r.Replace(pattern)
	if strings.HasPrefix(pattern, "/static/") {
		p = "/static/loa.css"
	}
	return p
}

// TestEveryPageAsEveryRole walks every page as every role and as nobody:
// a role the page does not list gets the "not allowed" page, a listed
// role never does, and nobody is sent to sign in. It runs on the
// in-memory object store (everywhere) and on MinIO.
func TestEveryPageAsEveryRole(t *testing.T) {
	objectstest.Each(t, func(t *testing.T, store objects.Backend) { testEveryPageAsEveryRole(t, setupOn(t, store)) })
}

func testEveryPageAsEveryRole(t *testing.T, b *bundle) {
	for _, p := range b.pages.Pages() {
		path := fill(p.Pattern)
		var form url.Values
		if p.Method == "POST" {
			form = url.Values{}
		}
		t.Run(p.Method+" "+p.Pattern, func(t *testing.T) {
			resp, body := b.do(t, p.Method, path, nil, form, "same-origin")
			switch {
			case p.Public:
				if resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
					t.Errorf("anonymous on a public page: %d\n%s", resp.StatusCode, body)
				}
			case p.Method == "GET":
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
					t.Errorf("anonymous: %d Location=%q, want 303 to /sign-in", resp.StatusCode, loc)
				}
			default:
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("anonymous: %d, want 401", resp.StatusCode)
				}
			}
			for _, role := range pipeline.Roles {
				// The previous call may have disabled this user (POST
				// /admin/users/u-producer/disable): enable them again.
				if _, err := b.db.SetUserDisabled(context.Background(), b.users[role].Name, false, pipeline.Actor{}); err != nil {
					t.Fatal(err)
				}
				resp, body := b.do(t, p.Method, path, b.session(t, role), form, "same-origin")
				allowed := p.Public || slices.Contains(p.Roles, role)
				switch {
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Errorf("%s: %d, want 403", role, resp.StatusCode)
				case !allowed && !strings.Contains(body, `id="error-message"`):
					t.Errorf("%s: the 403 is not the not-allowed page:\n%s", role, body)
				case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode >= 500):
					t.Errorf("%s: %d on a page the role may use\n%s", role, resp.StatusCode, body)
				}
			}
		})
	}
}

// TestCrossOriginRefused checks CSRF protection: a form posted from
// another site is refused by the pages, and the API refuses a session
// cookie on a cross-origin request while a same-origin one works; on
// the in-memory object store and on MinIO.
func TestCrossOriginRefused(t *testing.T) {
	objectstest.Each(t, func(t *testing.T, store objects.Backend) { testCrossOriginRefused(t, setupOn(t, store)) })
}

func testCrossOriginRefused(t *testing.T, b *bundle) {
	admin := b.session(t, pipeline.RoleAdmin)
	form := url.Values{"name": {"ke-xau"}, "role": {"admin"}, "password": {"mat-khau-dai-du"}}
	resp, _ := b.do(t, "POST", "/admin/users", admin, form, "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site form: %d, want 403", resp.StatusCode)
	}
	if _, err := b.db.UserByName(context.Background(), "ke-xau"); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		t.Fatalf("the cross-site form created a user: %v", err)
	}
	resp, body := b.do(t, "DELETE", "/api/segments/x", b.session(t, pipeline.RoleProducer), nil, "cross-site")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"forbidden"`) {
		t.Fatalf("cross-site API call with a session: %d %s", resp.StatusCode, body)
	}
	resp, body = b.do(t, "GET", "/api/me", b.session(t, pipeline.RoleProducer), nil, "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"u-producer"`) {
		t.Fatalf("same-origin API call with a session: %d %s", resp.StatusCode, body)
	}
	resp, body = b.do(t, "POST", "/admin/users", admin, form, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin form: %d\n%s", resp.StatusCode, body)
	}
}

// TestSignInAndOut signs in with a password, checks the cookie's
// attributes, signs out and checks the session no longer works; on the
// in-memory object store and on MinIO.
func TestSignInAndOut(t *testing.T) {
	objectstest.Each(t, func(t *testing.T, store objects.Backend) { testSignInAndOut(t, setupOn(t, store)) })
}

func testSignInAndOut(t *testing.T, b *bundle) {
	resp, body := b.do(t, "POST", "/sign-in", nil, url.Values{"name": {"u-producer"}, "password": {"sai-mat-khau-roi"}}, "same-origin")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sai tên người dùng hoặc mật khẩu") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.do(t, "POST", "/sign-in", nil, url.Values{"name": {"u-producer"}, "password": {"mat-khau-dai-du"}, "next": {"https://evil.example/"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d Location=%q, want 303 to / (never to another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "loa_session" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || !ck.Secure {
		t.Fatalf("session cookie: %+v; want HttpOnly, SameSite=Lax, Secure (the default, even over plain http)", ck)
	}
	resp, _ = b.do(t, "GET", "/", ck, nil, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/producer" {
		t.Fatalf("home of a producer: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = b.do(t, "GET", "/producer", ck, nil, "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Bản tin của tôi — Loa</title>") {
		t.Fatalf("producer page: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.do(t, "POST", "/sign-out", ck, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	resp, _ = b.do(t, "GET", "/producer", ck, nil, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/sign-in") {
		t.Fatalf("after sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Behind an https proxy the cookie is Secure.
	req, _ := http.NewRequest("POST", b.srv.URL+"/sign-in", strings.NewReader("name=u-admin&password=mat-khau-dai-du"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r2, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if cs := r2.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("cookie behind https: %+v, want Secure", cs)
	}
}

// TestLanguageSwitch checks Vietnamese is the default and the switch
// keeps English in a cookie and returns to the same page. No media is
// involved: the in-memory object store lets it run everywhere.
func TestLanguageSwitch(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	resp, body := b.do(t, "GET", "/sign-in", nil, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, "Đăng nhập") {
		t.Fatalf("default page: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.do(t, "GET", "/lang/en?next=/sign-in", nil, nil, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sign-in" {
		t.Fatalf("switch: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()[0]
	_, body = b.do(t, "GET", "/sign-in", ck, nil, "")
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "<title>Sign in — Loa</title>") {
		t.Fatalf("English page:\n%s", body)
	}
	// Every way of naming another site ends on the home page: what the
	// browser makes of the Location (a backslash read as a slash) stays
	// on this site.
	for _, next := range []string{"//evil.example/", "/./%5Cevil.example", "/x/../%5Cevil.example", "/%5C%5Cevil.example", "%5C%5Cevil.example",
		"/%2F/evil.example", "https://evil.example/", "/%09/evil.example", "javascript:alert(1)"} {
		resp, _ = b.do(t, "GET", "/lang/en?next="+next, nil, nil, "")
		loc := resp.Header.Get("Location")
		u, err := url.Parse("http://loa.example/sign-in")
		if err != nil {
			t.Fatal(err)
		}
		to, err := u.Parse(strings.ReplaceAll(loc, "\\", "/"))
		if resp.StatusCode != http.StatusSeeOther || err != nil || to.Host != "loa.example" {
			t.Errorf("next=%s: %d, Location %q (a browser goes to %v)", next, resp.StatusCode, loc, to)
		}
	}
}
