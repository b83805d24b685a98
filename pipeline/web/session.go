package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

// sessionCookie holds the session token. HttpOnly keeps scripts from
// reading it; SameSite=Lax keeps other sites' forms from sending it, and
// http.CrossOriginProtection refuses their requests anyway.
const sessionCookie = "loa_session"

// secure reports whether cookies for this request should be Secure:
// always, unless the server was told it runs on plain http (PlainHTTP)
// and the request did not come over https.
func (s *Server) secure(r *http.Request) bool {
	return !s.cfg.PlainHTTP || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sessionUser returns the user of the request's session cookie.
func (s *Server) sessionUser(r *http.Request) (pipeline.User, error) {
	return userBySession(s.cfg.Store, s.cfg.Sessions, r)
}

// SessionStore finds the user of a live session ([Store] is one).
type SessionStore interface {
	UserBySession(ctx context.Context, token string, p pipeline.SessionPolicy) (pipeline.User, error)
}

// userBySession returns the user of r's session cookie, whose session
// lives under policy.
func userBySession(store SessionStore, policy pipeline.SessionPolicy, r *http.Request) (pipeline.User, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Sign in first: send an API token as 'Authorization: Bearer <token>', or sign in on the web pages.")
	}
	return store.UserBySession(r.Context(), ck.Value, policy)
}

// SessionUser signs an API request in by its session cookie, for the
// api.Server's Session field. A non-safe request from another origin is
// refused (CSRF): the pages' own scripts are same-origin.
func (s *Server) SessionUser(r *http.Request) (pipeline.User, error) {
	return sameOriginSession(s.cop, s.cfg.Store, s.cfg.Sessions, r)
}

// SessionUser is [Server.SessionUser] made from the store alone, with
// the pages' session lifetimes (policy's zero fields take the defaults,
// as in Config.Sessions): a process makes it before the API server and
// the pages, which call that API in process with the same cookie.
func SessionUser(store SessionStore, policy pipeline.SessionPolicy) func(r *http.Request) (pipeline.User, error) {
	cop, policy := http.NewCrossOriginProtection(), sessionDefaults(policy)
	return func(r *http.Request) (pipeline.User, error) {
		return sameOriginSession(cop, store, policy, r)
	}
}

// SessionToken is the session token of r's cookie ("" for none), for the
// api.Server's SessionToken field: a password change keeps the session
// it was made in.
func SessionToken(r *http.Request) string {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

func sameOriginSession(cop *http.CrossOriginProtection, store SessionStore, policy pipeline.SessionPolicy, r *http.Request) (pipeline.User, error) {
	if err := cop.Check(r); err != nil {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeForbidden, "Cross-origin requests with a session cookie are refused; use an API token.")
	}
	return userBySession(store, policy, r)
}

type signInData struct {
	Name  string
	Next  string
	Error string
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, c *call) error {
	next := localPath(r.URL.Query().Get("next"), "/")
	if c.signedIn {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	s.render(w, r, c, http.StatusOK, "signin", "title_signin", signInData{Next: next})
	return nil
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, c *call) error {
	// The form is small and public: it must arrive within SignInTimeout.
	// Once it is read the deadline is lifted; when it is not, the deadline
	// stays, so the server's read of the rest fails too and the
	// connection is closed.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.SignInTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		w.Header().Set("Connection", "close")
		return refused("signin_unreadable", "", "The sign-in form could not be read (it came too slowly or is too large).")
	}
	_ = rc.SetReadDeadline(time.Time{})
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	next := localPath(r.PostForm.Get("next"), "/")
	d := signInData{Name: name, Next: next}
	if name == "" || password == "" || !utf8.ValidString(name) || len(name) > 256 || len(password) > 256 {
		d.Error = c.msgs["signin_missing"]
		s.render(w, r, c, http.StatusUnprocessableEntity, "signin", "title_signin", d)
		return nil
	}
	// Throttled before the password is checked: every check costs a
	// bcrypt, and a guess that came too fast must not be tried at all.
	addr := s.cfg.Auth.ClientAddr(r)
	if wait, ok := s.cfg.Auth.Check(throttle.SignIn, name, addr); !ok {
		s.log.Warn("sign-in throttled", "name", name, "remote", addr, "retry_after", wait.Round(time.Millisecond).String())
		d.Error = fmt.Sprintf(c.msgs["signin_throttled"], int(wait.Minutes())+1)
		w.Header().Set("Retry-After", api.RetryAfterSeconds(wait))
		s.render(w, r, c, http.StatusTooManyRequests, "signin", "title_signin", d)
		return nil
	}
	u, err := s.cfg.Store.Authenticate(r.Context(), name, password)
	var tok string
	if err == nil {
		if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
			// A new sign-in replaces the old session on this browser.
			_ = s.cfg.Store.DeleteSession(r.Context(), ck.Value)
		}
		// Refused too when the user was disabled since the password
		// was checked.
		tok, err = s.cfg.Store.CreateSession(r.Context(), u.ID, s.cfg.Sessions)
	}
	if errors.Is(err, pipeline.ErrUserDisabled) {
		// The right password: not a guess, so not counted as a failure.
		s.log.Info("sign-in refused: user disabled", "name", name, "remote", addr)
		d.Error = c.msgs["signin_disabled"]
		s.render(w, r, c, http.StatusForbidden, "signin", "title_signin", d)
		return nil
	}
	if pipeline.ErrorCode(err) == pipeline.CodeUnauthorized {
		s.cfg.Auth.Failed(name, addr)
		s.log.Info("sign-in refused", "name", name, "remote", addr)
		d.Error = c.msgs["signin_wrong"]
		s.render(w, r, c, http.StatusUnauthorized, "signin", "title_signin", d)
		return nil
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", MaxAge: int(s.cfg.Sessions.Max.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r),
	})
	s.log.Info("signed in", "user", u.Name, "role", u.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOutEverywhere ends all of the user's sessions (this one too) and
// revokes their tokens through the API, then goes to the sign-in page.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.callAPI(r, "POST", "/api/me/sign-out-everywhere", nil, nil); err != nil {
		return err
	}
	s.clearSession(w, r)
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	return nil
}

func (s *Server) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r),
	})
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, c *call) error {
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := s.cfg.Store.DeleteSession(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r),
	})
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	return nil
}
