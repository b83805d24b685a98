package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// TestPasswordCLI: 'loa user password --name NAME' sets a user's password
// on the server's command line from piped stdin (the rule's refusals are
// exit 3 saying the limit; an unknown user exit 3; no --name exit 2),
// ending the user's sessions and keeping their tokens, audited with the
// command line's actor; 'loa password' changes one's own password
// through the API (current, then new, one a line), refusing a wrong
// current password.
func TestPasswordCLI(t *testing.T) {
	dbArg := "sqlite:" + filepath.Join(t.TempDir(), "loa.db")
	loa := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		return run(ctx, env, args), stdout.String(), stderr.String()
	}
	if code, _, errs := loa("mat-khau-dai-du\n", "user", "add", "--name", "duyet", "--role", "producer", "--password-stdin", "--db", dbArg); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	if code, _, errs := loa("mat-khau-khac-nua\n", "user", "add", "--name", "duyet", "--role", "producer", "--password-stdin", "--db", dbArg); code != 3 || !strings.Contains(errs, "loa user password --name duyet") {
		t.Errorf("adding an existing user: exit %d %s, want 3 pointing to loa user password", code, errs)
	}
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, dbArg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, err := db.UserByName(ctx, "duyet")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateToken(ctx, u.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	policy := pipeline.SessionPolicy{Idle: time.Hour, Max: time.Hour}
	sess, err := db.CreateSession(ctx, u.ID, policy)
	if err != nil {
		t.Fatal(err)
	}
	before := db.Now().Add(-time.Second)

	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		says        string
	}{
		{"no name", "mat-khau-moi-dai\n", nil, 2, "--name"},
		{"nothing piped", "", []string{"--name", "duyet"}, 2, "no new password"},
		{"too short", "ngan\n", []string{"--name", "duyet"}, 3, "at least 10"},
		{"too long", strings.Repeat("ữ", 30) + "\n", []string{"--name", "duyet"}, 3, "Vietnamese"},
		{"unknown user", "mat-khau-moi-dai\n", []string{"--name", "khong-co"}, 3, "No user named"},
		{"piped twice, differing", "mat-khau-moi-dai\nmat-khau-moi-dau\n", []string{"--name", "duyet"}, 2, "differ: nothing was changed"},
		{"more lines than read", "mat-khau-moi-dai\nmat-khau-moi-dai\nthua\n", []string{"--name", "duyet"}, 2, "2 more lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := loa(tc.stdin, append([]string{"user", "password", "--db", dbArg}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.says) {
				t.Fatalf("exit %d %s, want %d saying %q", code, errs, tc.code, tc.says)
			}
		})
	}
	if _, err := db.Authenticate(ctx, "duyet", "mat-khau-dai-du"); err != nil {
		t.Fatalf("a refused reset changed the password: %v", err)
	}

	code, out, errs := loa("mat-khau-moi-dai\nmat-khau-moi-dai\n", "user", "password", "--name", "duyet", "--db", dbArg)
	if code != 0 || !strings.Contains(out, "1 browser sessions ended") {
		t.Fatalf("user password: exit %d %s %s", code, out, errs)
	}
	if _, err := db.Authenticate(ctx, "duyet", "mat-khau-dai-du"); err == nil {
		t.Error("the old password still signs in after the reset")
	}
	if _, err := db.Authenticate(ctx, "duyet", "mat-khau-moi-dai"); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
	if _, err := db.UserBySession(ctx, sess, policy); err == nil {
		t.Error("the user's session survived the reset")
	}
	if _, err := db.UserByToken(ctx, tok); err != nil {
		t.Errorf("the user's token was ended by the reset: %v", err)
	}
	entries, err := db.Audit(ctx, before, db.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	actor, found := cliActor(&cliEnv{getenv: os.Getenv}).Name, false
	for _, e := range entries {
		found = found || (e.Action == "user.password_reset" && e.Subject == "duyet" && e.Actor == actor)
	}
	if !found {
		t.Errorf("no user.password_reset by %s in the audit log: %+v", actor, entries)
	}

	// loa password: through a running server's API, with the user's token.
	s := &api.Server{Catalog: db, Objects: objectstest.NewMemory(t), Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	self := []string{"password", "--server", srv.URL, "--token", tok}
	if code, _, errs := loa("doan-sai-roi-nhe\nmat-khau-thu-ba\n", self...); code != 3 || !strings.Contains(errs, "current password is wrong") {
		t.Errorf("wrong current password: exit %d %s, want 3 saying so", code, errs)
	}
	if code, _, errs := loa("mat-khau-moi-dai\n", self...); code != 2 || !strings.Contains(errs, "no new password") {
		t.Errorf("no new password piped: exit %d %s, want 2", code, errs)
	}
	if code, out, errs := loa("mat-khau-moi-dai\nmat-khau-thu-ba\n", self...); code != 0 || !strings.Contains(out, "password of duyet changed") {
		t.Fatalf("loa password: exit %d %s %s", code, out, errs)
	}
	if _, err := db.Authenticate(ctx, "duyet", "mat-khau-thu-ba"); err != nil {
		t.Errorf("the changed password does not sign in: %v", err)
	}
	if _, err := db.UserByToken(ctx, tok); err != nil {
		t.Errorf("the token making the change stopped working: %v", err)
	}
}
