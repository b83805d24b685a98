package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/web"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

const oldPassword = "mat-khau-dai-du" // every test user's (serve)

// passwordSetup is a server whose pages' sessions sign API calls in, and
// whose account sign-in budget is 3 failures refilled once an hour, so a
// test reaches the throttle at once.
func passwordSetup(t *testing.T) (*bundle, pipeline.SessionPolicy) {
	t.Helper()
	db := sqlstoretest.New(t)
	store := objectstest.NewMemory(t)
	policy := pipeline.SessionPolicy{Idle: time.Hour, Max: 24 * time.Hour}
	s := &api.Server{Catalog: db, Objects: store,
		Auth:    throttle.New(throttle.Budget{Every: time.Hour, Burst: 3}, throttle.Budget{}),
		Session: web.SessionUser(db, policy), SessionToken: web.SessionToken}
	return serve(t, db, store, s), policy
}

// withSession calls the API with a browser session cookie, as the pages
// do (same origin), and answers the status and the body.
func (b *bundle) withSession(t *testing.T, method, path, session, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "loa_session", Value: session})
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func changeBody(current, new string) string {
	data, _ := json.Marshal(api.PasswordChangeRequest{Current: current, New: new})
	return string(data)
}

func errorOf(t *testing.T, raw string) wire.ErrorBody {
	t.Helper()
	var eb wire.ErrorBody
	if err := json.Unmarshal([]byte(raw), &eb); err != nil {
		t.Fatalf("not an error body: %s", raw)
	}
	return eb
}

// auditHas reports whether the audit log since from has action on
// subject by actor.
func auditHas(t *testing.T, b *bundle, from time.Time, action, subject, actor string) bool {
	t.Helper()
	entries, err := b.db.Audit(context.Background(), from, b.db.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == action && e.Subject == subject && e.Actor == actor {
			return true
		}
	}
	t.Logf("audit: %+v", entries)
	return false
}

// TestChangeOwnPassword: a signed-in user changes their password with
// POST /api/me/password. The current password is required; a wrong one is
// refused and spends the sign-in budget, so guessing through this route
// is throttled like sign-in; a new password breaking the rules is a 422
// naming the limits; a change ends the user's other sessions, keeps the
// one it was made in and the API tokens, refuses the old password at
// sign-in and accepts the new; it is in the audit log.
func TestChangeOwnPassword(t *testing.T) {
	b, policy := passwordSetup(t)
	ctx := context.Background()
	before := b.db.Now().Add(-time.Second)

	t.Run("refusals", func(t *testing.T) {
		tok := b.tokens[pipeline.RoleTranslator]
		for _, tc := range []struct {
			name, body, field, says string
		}{
			{"no current", changeBody("", "mot-mat-khau-moi"), "current", "current password"},
			{"too short", changeBody(oldPassword, "ngan"), "new", "at least 10"},
			{"too long in Vietnamese", changeBody(oldPassword, strings.Repeat("ệ", 25)), "new", "Vietnamese letters"},
			{"not JSON", "current=x", "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, raw := b.do(t, "POST", "/api/me/password", tok, strings.NewReader(tc.body), "application/json")
				if resp.StatusCode/100 != 4 || resp.StatusCode == 401 || resp.StatusCode == 429 {
					t.Fatalf("%d %s, want a 4xx refusal", resp.StatusCode, raw)
				}
				if tc.field == "" {
					return
				}
				eb := errorOf(t, string(raw))
				if resp.StatusCode != http.StatusUnprocessableEntity || eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.says) {
					t.Fatalf("%d %+v, want 422 on %s saying %q", resp.StatusCode, eb.Error, tc.field, tc.says)
				}
			})
		}
		if _, err := b.db.Authenticate(ctx, "u-translator", oldPassword); err != nil {
			t.Fatalf("a refused change changed the password: %v", err)
		}
	})

	t.Run("wrong current is throttled", func(t *testing.T) {
		tok := b.tokens[pipeline.RoleProducer]
		for i := range 3 {
			resp, raw := b.do(t, "POST", "/api/me/password", tok, strings.NewReader(changeBody("doan-mo-sai-"+string(rune('a'+i)), "mot-mat-khau-moi")), "application/json")
			if eb := errorOf(t, string(raw)); resp.StatusCode != 422 || eb.Error.Field != "current" {
				t.Fatalf("wrong current #%d: %d %s, want 422 on current", i+1, resp.StatusCode, raw)
			}
		}
		// The budget is spent: even the right password waits, as at sign-in.
		resp, raw := b.do(t, "POST", "/api/me/password", tok, strings.NewReader(changeBody(oldPassword, "mot-mat-khau-moi")), "application/json")
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("after 3 wrong passwords: %d %s, want 429 with Retry-After", resp.StatusCode, raw)
		}
		if _, ok := b.api.Auth.Check(throttle.SignIn, "u-producer", "127.0.0.1"); ok {
			t.Fatal("the wrong passwords did not count against the sign-in throttle")
		}
		if _, err := b.db.Authenticate(ctx, "u-producer", oldPassword); err != nil {
			t.Fatalf("the password changed: %v", err)
		}
	})

	t.Run("success", func(t *testing.T) {
		u := b.users[pipeline.RoleReviewer]
		here, err := b.db.CreateSession(ctx, u.ID, policy)
		if err != nil {
			t.Fatal(err)
		}
		there, err := b.db.CreateSession(ctx, u.ID, policy)
		if err != nil {
			t.Fatal(err)
		}
		code, raw := b.withSession(t, "POST", "/api/me/password", here, changeBody(oldPassword, "Mật-khẩu mới 2026"))
		var pr api.PasswordResponse
		if err := json.Unmarshal([]byte(raw), &pr); code != 200 || err != nil || pr.SessionsEnded != 1 {
			t.Fatalf("change: %d %s, want 200 with 1 session ended", code, raw)
		}
		if code, _ := b.withSession(t, "GET", "/api/me", here, ""); code != 200 {
			t.Errorf("the session making the change: %d, want 200 (kept)", code)
		}
		if code, _ := b.withSession(t, "GET", "/api/me", there, ""); code != 401 {
			t.Errorf("another session: %d, want 401 (ended)", code)
		}
		if resp, _ := b.do(t, "GET", "/api/me", b.tokens[pipeline.RoleReviewer], nil, ""); resp.StatusCode != 200 {
			t.Errorf("the API token after a change: %d, want 200 (tokens are left alone)", resp.StatusCode)
		}
		if _, err := b.db.Authenticate(ctx, u.Name, oldPassword); err == nil {
			t.Error("the old password still signs in")
		}
		if _, err := b.db.Authenticate(ctx, u.Name, "Mật-khẩu mới 2026"); err != nil {
			t.Errorf("the new password does not sign in: %v", err)
		}
		if !auditHas(t, b, before, "user.password_change", u.Name, u.Name) {
			t.Error("no user.password_change in the audit log")
		}
	})
}

// TestResetPassword: an administrator sets another user's password with
// POST /api/users/{name}/password; other roles are refused (403), an
// unknown user is 404, a bad password 422; a reset ends every session of
// the user, leaves their tokens, and is audited with the administrator.
func TestResetPassword(t *testing.T) {
	b, policy := passwordSetup(t)
	ctx := context.Background()
	before := b.db.Now().Add(-time.Second)
	body := `{"password":"dat-lai-mat-khau"}`
	b.call(t, pipeline.RoleProducer, "POST", "/api/users/u-operator/password", body, "application/json", 403, nil)
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/no-such-user/password", body, "application/json", 404, nil)
	raw := b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-operator/password", `{"password":"ngan"}`, "application/json", 422, nil)
	if eb := errorOf(t, raw); eb.Error.Field != "password" {
		t.Fatalf("short password: %+v", eb.Error)
	}

	u := b.users[pipeline.RoleOperator]
	sess, err := b.db.CreateSession(ctx, u.ID, policy)
	if err != nil {
		t.Fatal(err)
	}
	var pr api.PasswordResponse
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-operator/password", body, "application/json", 200, &pr)
	if pr.User != u.Name || pr.SessionsEnded != 1 {
		t.Fatalf("reset answered %+v", pr)
	}
	if code, _ := b.withSession(t, "GET", "/api/me", sess, ""); code != 401 {
		t.Errorf("the user's session after a reset: %d, want 401", code)
	}
	if resp, _ := b.do(t, "GET", "/api/me", b.tokens[pipeline.RoleOperator], nil, ""); resp.StatusCode != 200 {
		t.Errorf("the user's API token after a reset: %d, want 200", resp.StatusCode)
	}
	if _, err := b.db.Authenticate(ctx, u.Name, oldPassword); err == nil {
		t.Error("the old password still signs in")
	}
	if _, err := b.db.Authenticate(ctx, u.Name, "dat-lai-mat-khau"); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
	if !auditHas(t, b, before, "user.password_reset", u.Name, b.users[pipeline.RoleAdmin].Name) {
		t.Error("no user.password_reset by the admin in the audit log")
	}
}
