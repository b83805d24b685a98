package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

// PasswordChangeRequest is the body of POST /api/me/password.
type PasswordChangeRequest struct {
	// Current is the caller's password now; required.
	Current string `json:"current"`
	// New is the password to set: at least pipeline.MinPasswordLen
	// characters, at most pipeline.MaxPasswordBytes bytes of UTF-8.
	New string `json:"new"`
}

// PasswordResetRequest is the body of POST /api/users/{name}/password.
type PasswordResetRequest struct {
	Password string `json:"password"`
}

// PasswordResponse answers a password change or reset: how many of the
// user's browser sessions it ended. API tokens are never touched.
type PasswordResponse struct {
	User string `json:"user"`
	// SessionsEnded counts the sessions ended (for a change, the session
	// making it is kept and not counted).
	SessionsEnded int64 `json:"sessions_ended"`
}

// changePassword answers POST /api/me/password: the caller changes their
// own password, proving it with the current one. A wrong current
// password spends the caller's sign-in budget (throttle) from this
// address, as a failed sign-in does, so the route cannot be used to
// guess; past the budget it is 429 before any check. The caller's other
// browser sessions end; the session making the change (if any) stays.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	var req PasswordChangeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Current == "" {
		return pipeline.FieldError("current", "Give your current password: it proves the change is yours.").WithKey("current_missing")
	}
	// Throttled before the password is checked: every check costs a
	// bcrypt, and a guess that came too fast must not be tried at all.
	addr := s.Auth.ClientAddr(r)
	if wait, ok := s.Auth.Check(throttle.SignIn, u.Name, addr); !ok {
		s.Log.Warn("password change throttled", "user", u.Name, "remote", addr, "retry_after", wait.Round(time.Millisecond).String())
		return &pipeline.Error{Code: pipeline.CodeRateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("Too many wrong passwords for %s from your address: wait %s, then try again.", u.Name, wait.Round(time.Second)),
			Key:     "password_throttled", Args: []string{strconv.Itoa(int(wait.Minutes()) + 1)}}
	}
	keep := ""
	if r.Header.Get("Authorization") == "" && s.SessionToken != nil {
		keep = s.SessionToken(r)
	}
	out, err := s.Catalog.ChangePassword(r.Context(), u.ID, req.Current, req.New, keep)
	if errors.Is(err, pipeline.ErrWrongPassword) {
		s.Auth.Failed(u.Name, addr)
		s.Log.Info("password change refused: wrong current password", "user", u.Name, "remote", addr)
		return err
	}
	if err != nil {
		return err
	}
	s.Log.Info("password changed", "user", u.Name, "sessions_ended", out.Sessions)
	writeJSON(w, http.StatusOK, PasswordResponse{User: u.Name, SessionsEnded: out.Sessions})
	return nil
}

// resetPassword answers POST /api/users/{name}/password: an
// administrator sets a user's password without the current one; all of
// that user's browser sessions end (the administrator's own too, when
// they reset their own). Unknown user: 404.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, by pipeline.User) error {
	var req PasswordResetRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, out, err := s.Catalog.SetPassword(r.Context(), r.PathValue("name"), req.Password, pipeline.Actor{ID: by.ID})
	if err != nil {
		return err
	}
	s.Log.Info("password reset", "user", u.Name, "by", by.Name, "sessions_ended", out.Sessions)
	writeJSON(w, http.StatusOK, PasswordResponse{User: u.Name, SessionsEnded: out.Sessions})
	return nil
}
