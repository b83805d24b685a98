package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// TestAccountControl: an administrator lists a user's tokens (never the
// secret), revokes one by id, disables and enables the user, and signs a
// user out everywhere; each takes effect on the very next request (the
// token cache is dropped), and each is in the audit log with the admin.
func TestAccountControl(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t), nil)
	ctx := context.Background()
	admin := b.users[pipeline.RoleAdmin]
	policy := pipeline.SessionPolicy{Idle: time.Hour, Max: 24 * time.Hour}
	status := func(tok string) int {
		t.Helper()
		resp, _ := b.do(t, "GET", "/api/me", tok, nil, "")
		return resp.StatusCode
	}

	// A second token for the translator, made through the API.
	var made struct{ Token string }
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-translator/tokens?label=laptop", "", "", 201, &made)
	laptop := made.Token
	if got := status(laptop); got != 200 {
		t.Fatalf("new token: %d, want 200", got)
	}
	var toks []pipeline.TokenInfo
	raw := b.call(t, pipeline.RoleAdmin, "GET", "/api/tokens?user=u-translator", "", "", 200, &toks)
	if strings.Contains(raw, laptop) || strings.Contains(raw, pipeline.HashToken(laptop)) {
		t.Fatalf("the token list shows a secret: %s", raw)
	}
	var laptopID int64
	for _, tk := range toks {
		if tk.User != "u-translator" || tk.Kind != pipeline.TokenAPI {
			t.Errorf("listed %+v", tk)
		}
		if tk.Label == "laptop" {
			laptopID = tk.ID
			if tk.CreatedBy != admin.Name || tk.LastUsedAt == nil {
				t.Errorf("laptop token: made by %q, last used %v; want %s and a time", tk.CreatedBy, tk.LastUsedAt, admin.Name)
			}
		}
	}
	if len(toks) != 2 || laptopID == 0 {
		t.Fatalf("listed %d tokens (%+v), want the test's and laptop", len(toks), toks)
	}
	b.call(t, pipeline.RoleAdmin, "GET", "/api/tokens?user=no-such-user", "", "", 404, nil)

	// Revoked by id: refused at once, though the token was cached.
	b.call(t, pipeline.RoleAdmin, "DELETE", fmt.Sprintf("/api/tokens/%d", laptopID), "", "", 204, nil)
	if got := status(laptop); got != 401 {
		t.Fatalf("revoked token: %d, want 401", got)
	}
	b.call(t, pipeline.RoleAdmin, "DELETE", fmt.Sprintf("/api/tokens/%d", laptopID), "", "", 404, nil)
	if got := status(b.tokens[pipeline.RoleTranslator]); got != 200 {
		t.Fatalf("the translator's other token: %d, want 200", got)
	}

	// Disabled: token and session refused at once, sign-in refused;
	// enabled: neither the revoked token nor the ended session comes
	// back; a new token works.
	sess, err := b.db.CreateSession(ctx, b.users[pipeline.RoleTranslator].ID, policy)
	if err != nil {
		t.Fatal(err)
	}
	var u pipeline.User
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-translator/disable", "", "", 200, &u)
	if !u.Disabled {
		t.Fatalf("disable answered %+v", u)
	}
	if got := status(b.tokens[pipeline.RoleTranslator]); got != 401 {
		t.Fatalf("disabled user's token: %d, want 401", got)
	}
	if _, err := b.db.UserBySession(ctx, sess, policy); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("disabled user's session: %v, want unauthorized", err)
	}
	if _, err := b.db.Authenticate(ctx, "u-translator", "mat-khau-dai-du"); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized || !strings.Contains(pipeline.ErrorMessage(err), "disabled") {
		t.Fatalf("disabled user's sign-in: %v, want 'disabled'", err)
	}
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-admin/disable", "", "", 409, nil)
	u = pipeline.User{}
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-translator/enable", "", "", 200, &u)
	if u.Disabled || status(b.tokens[pipeline.RoleTranslator]) != 401 {
		t.Fatalf("enabled again: %+v, the token revoked by disabling answers %d, want 401", u, status(b.tokens[pipeline.RoleTranslator]))
	}
	if _, err := b.db.UserBySession(ctx, sess, policy); err == nil {
		t.Fatal("the session ended by disabling came back")
	}
	if b.tokens[pipeline.RoleTranslator], err = b.db.CreateToken(ctx, b.users[pipeline.RoleTranslator].ID, "new"); err != nil {
		t.Fatal(err)
	}
	if got := status(b.tokens[pipeline.RoleTranslator]); got != 200 {
		t.Fatalf("a token made after enabling: %d, want 200", got)
	}

	// Sign out everywhere, by the user themselves and by an admin.
	if _, err := b.db.CreateSession(ctx, b.users[pipeline.RoleProducer].ID, policy); err != nil {
		t.Fatal(err)
	}
	var out pipeline.SignedOut
	b.call(t, pipeline.RoleProducer, "POST", "/api/me/sign-out-everywhere", "", "", 200, &out)
	if out.Sessions != 1 || out.Tokens != 1 {
		t.Fatalf("signed out %+v, want 1 session and 1 token", out)
	}
	if got := status(b.tokens[pipeline.RoleProducer]); got != 401 {
		t.Fatalf("token after sign-out everywhere: %d, want 401", got)
	}
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-reviewer/sign-out-everywhere", "", "", 200, &out)
	if got := status(b.tokens[pipeline.RoleReviewer]); out.Tokens != 1 || got != 401 {
		t.Fatalf("reviewer signed out by the admin: %+v, token %d", out, got)
	}

	// All of it in the audit log, with who did it.
	var entries []pipeline.AuditEntry
	b.call(t, pipeline.RoleAdmin, "GET", "/api/audit?period="+report.PeriodOf(report.Month, b.db.Now()).Name, "", "", 200, &entries)
	want := []struct{ action, subject, actor string }{
		{"token.create", "u-translator", admin.Name},
		{"token.revoke", "u-translator", admin.Name},
		{"user.disable", "u-translator", admin.Name},
		{"user.enable", "u-translator", admin.Name},
		{"user.sign_out_everywhere", "u-producer", "u-producer"},
		{"token.revoke", "u-producer", "u-producer"},
		{"user.sign_out_everywhere", "u-reviewer", admin.Name},
	}
	for _, w := range want {
		found := false
		for _, e := range entries {
			found = found || (e.Action == w.action && e.Subject == w.subject && e.Actor == w.actor)
		}
		if !found {
			t.Errorf("no %s of %s by %s in the audit log", w.action, w.subject, w.actor)
		}
	}
}

// TestTokenListHidesRevoked: GET /api/tokens leaves revoked tokens out,
// as loa token list does, and lists them with ?revoked=1 (loa token list
// --all); a revoked value that is not a yes or no is refused.
func TestTokenListHidesRevoked(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t), nil)
	var made struct{ Token string }
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/u-translator/tokens?label=lost-phone", "", "", 201, &made)
	if err := b.db.RevokeToken(context.Background(), made.Token, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	labels := func(path string) map[string]bool {
		t.Helper()
		var toks []pipeline.TokenInfo
		b.call(t, pipeline.RoleAdmin, "GET", path, "", "", 200, &toks)
		out := map[string]bool{}
		for _, tk := range toks {
			out[tk.Label] = tk.RevokedAt != nil
		}
		return out
	}
	for _, path := range []string{"/api/tokens?user=u-translator", "/api/tokens", "/api/tokens?revoked=0"} {
		if got := labels(path); len(got) == 0 || func() bool { _, ok := got["lost-phone"]; return ok }() {
			t.Errorf("%s lists %v: the revoked token is shown, or nothing is", path, got)
		}
	}
	for _, path := range []string{"/api/tokens?user=u-translator&revoked=1", "/api/tokens?revoked=true"} {
		if got := labels(path); !got["lost-phone"] {
			t.Errorf("%s lists %v, want the revoked lost-phone marked revoked", path, got)
		}
	}
	b.call(t, pipeline.RoleAdmin, "GET", "/api/tokens?revoked=maybe", "", "", 422, nil)
}
