package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	now := time.Date(2025, 7, 1, 5, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	u, err := db.CreateUser(ctx, pipeline.NewUser{Name: "dai-ptth", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.SessionPolicy{Idle: 2 * time.Hour, Max: 5 * time.Hour}
	tok, err := db.CreateSession(ctx, u.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.UserBySession(ctx, tok, p); err != nil || got.ID != u.ID || got.Role != pipeline.RoleProducer {
		t.Fatalf("live session: %+v %v", got, err)
	}
	if _, err := db.UserBySession(ctx, tok+"x", p); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("unknown session: %v", err)
	}
	// Used every 90 minutes it stays alive past the idle limit...
	for range 3 {
		now = now.Add(90 * time.Minute)
		if _, err := db.UserBySession(ctx, tok, p); err != nil {
			t.Fatalf("session used at %s: %v", now, err)
		}
	}
	// ...but not past its hard expiry.
	now = now.Add(31 * time.Minute)
	if _, err := db.UserBySession(ctx, tok, p); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("session past its expiry: %v", err)
	}

	// Idle too long.
	tok2, err := db.CreateSession(ctx, u.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2*time.Hour + time.Minute)
	if _, err := db.UserBySession(ctx, tok2, p); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("idle session: %v", err)
	}

	// Sign-out ends the session; a new session sweeps the expired ones.
	tok3, err := db.CreateSession(ctx, u.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, tok3); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserBySession(ctx, tok3, p); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("signed-out session: %v", err)
	}
	var rows int
	if err := db.sql.QueryRow("SELECT COUNT(*) FROM sessions").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("sessions left: %d %v", rows, err)
	}
}
