package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestDisableRevokesForGood: disabling a user ends their sessions and
// revokes their tokens for good. Once the user is enabled again, no
// token or session issued before the disable signs anyone in, on the
// process that made the change and on another one that had the token in
// its cache; the user signs in again and is given new tokens.
func TestDisableRevokesForGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := replicas(t, 2)
	a, b := dbs[0], dbs[1]
	admin, err := a.CreateUser(ctx, pipeline.NewUser{Name: "so-noi-vu", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	by := pipeline.Actor{ID: admin.ID, Name: admin.Name}
	tok, err := a.CreateToken(ctx, u.ID, "may")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := a.CreateTokenAs(ctx, u.ID, "scraper", pipeline.TokenMetrics, by)
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.SessionPolicy{Idle: 2 * time.Hour, Max: 5 * time.Hour}
	sess, err := a.CreateSession(ctx, u.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range dbs { // the second process holds the token in its cache
		for range 2 {
			if _, err := db.UserByToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}

	if _, err := a.SetUserDisabled(ctx, u.Name, true, by); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetUserDisabled(ctx, u.Name, false, by); err != nil {
		t.Fatal(err)
	}

	if _, err := a.UserByToken(ctx, tok); !errors.Is(err, pipeline.ErrTokenRevoked) {
		t.Errorf("the process that enabled the user: old token %v, want revoked", err)
	}
	took := within(t, time.Second, "old token refused by the other process", func() bool {
		_, err := b.UserByToken(ctx, tok)
		return errors.Is(err, pipeline.ErrTokenRevoked)
	})
	t.Logf("the other process refused the old token after %s", took)
	for i, db := range dbs {
		if _, err := db.UserBySession(ctx, sess, p); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
			t.Errorf("process %d: old session %v, want unauthorized", i, err)
		}
		if err := db.MetricsToken(ctx, metrics); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
			t.Errorf("process %d: old metrics token %v, want unauthorized", i, err)
		}
	}
	infos, err := a.Tokens(ctx, u.Name, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].RevokedAt == nil || infos[1].RevokedAt == nil {
		t.Errorf("the user's tokens after disable and enable: %+v, want both revoked", infos)
	}

	// Signed in again and given a new token, the user works as before.
	if _, err := b.Authenticate(ctx, u.Name, "mat-khau-dai-du"); err != nil {
		t.Fatal(err)
	}
	sess2, err := b.CreateSession(ctx, u.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.UserBySession(ctx, sess2, p); err != nil || got.ID != u.ID {
		t.Errorf("new session: %+v %v", got, err)
	}
	tok2, err := a.CreateTokenBy(ctx, u.ID, "may moi", admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.UserByToken(ctx, tok2); err != nil || got.ID != u.ID {
		t.Errorf("new token: %+v %v", got, err)
	}
}

// TestNoSessionForUserDisabledWhileSigningIn: a user disabled between the
// check of their password and the start of their session gets no
// session, so enabling them again revives none.
func TestNoSessionForUserDisabledWhileSigningIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	u, err := db.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, u.Name, "mat-khau-dai-du"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetUserDisabled(ctx, u.Name, true, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	p := pipeline.SessionPolicy{Idle: 2 * time.Hour, Max: 5 * time.Hour}
	sess, err := db.CreateSession(ctx, u.ID, p)
	if !errors.Is(err, pipeline.ErrUserDisabled) || pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Errorf("a session for a disabled user: %v, want refused as disabled", err)
	}
	if _, err := db.SetUserDisabled(ctx, u.Name, false, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	if sess != "" {
		if _, err := db.UserBySession(ctx, sess, p); err == nil {
			t.Error("a session started while the user was disabled signs them in once enabled")
		}
	}
}
