package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// TestAccountCLI: on the server's command line an administrator lists a
// user's tokens (id, kind, label, maker; never the secret), revokes one by
// id, disables and enables the user and signs them out everywhere; "users"
// and "tokens" work as well as "user" and "token"; each step is in the
// audit log with the command line's actor, "cli:<unix user>".
func TestAccountCLI(t *testing.T) {
	dbArg := "sqlite:" + filepath.Join(t.TempDir(), "loa.db")
	loa := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		return run(ctx, env, append(args, "--db", dbArg)), stdout.String(), stderr.String()
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := loa(stdin, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errs)
		}
		return out
	}
	must("mat-khau-dai-du\n", "user", "add", "--name", "bien-tap", "--role", "producer", "--password-stdin")
	tok := strings.TrimSpace(must("", "token", "create", "--user", "bien-tap", "--label", "phone"))
	metrics := strings.TrimSpace(must("", "tokens", "create", "--user", "bien-tap", "--label", "prometheus", "--kind", "metrics"))
	if code, _, errs := loa("", "token", "create", "--user", "bien-tap", "--kind", "root"); code != 3 || !strings.Contains(errs, "api or metrics") {
		t.Errorf("an unknown kind: exit %d %s, want 3 naming the kinds", code, errs)
	}

	out := must("", "tokens", "list", "--user", "bien-tap")
	actor := cliActor(&cliEnv{getenv: os.Getenv}).Name
	if strings.Contains(out, tok) || strings.Contains(out, metrics) {
		t.Fatalf("the list shows a secret:\n%s", out)
	}
	for _, w := range []string{"KIND", "phone", "prometheus", "metrics", "api", actor} {
		if !strings.Contains(out, w) {
			t.Errorf("the list does not show %q:\n%s", w, out)
		}
	}
	var toks []pipeline.TokenInfo
	if err := json.Unmarshal([]byte(must("", "token", "list", "--json")), &toks); err != nil || len(toks) != 2 {
		t.Fatalf("token list --json: %v %+v", err, toks)
	}
	var phone int64
	for _, tk := range toks {
		if tk.Label == "phone" {
			phone = tk.ID
		}
	}

	// Each check opens the store afresh: a running server (another
	// process) sees a change made here through the change feed.
	ctx := t.Context()
	signsIn := func(tok string) error {
		t.Helper()
		db, err := sqlstore.Open(ctx, dbArg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_, err = db.UserByToken(ctx, tok)
		return err
	}
	if err := signsIn(tok); err != nil {
		t.Fatalf("the new token: %v", err)
	}

	must("", "token", "revoke", strconv.FormatInt(phone, 10))
	if code, _, errs := loa("", "token", "revoke", strconv.FormatInt(phone, 10)); code != 3 || !strings.Contains(errs, "token list") {
		t.Errorf("revoke it again: exit %d %s, want 3 pointing at token list", code, errs)
	}
	if code, _, _ := loa("", "token", "revoke", "phone"); code != 2 {
		t.Errorf("revoke a label: exit %d, want 2 (usage)", code)
	}
	if out := must("", "token", "list"); strings.Contains(out, "phone") || !strings.Contains(out, "prometheus") {
		t.Errorf("after revoking, the live list:\n%s", out)
	}
	if out := must("", "user", "sign-out-everywhere", "bien-tap"); !strings.Contains(out, "1 tokens revoked") {
		t.Errorf("sign-out-everywhere said %q", out)
	}

	// Disabling revokes the user's tokens for good: enabled again, the
	// user needs a new one.
	laptop := strings.TrimSpace(must("", "token", "create", "--user", "bien-tap", "--label", "laptop"))
	if out := must("", "users", "disable", "bien-tap"); !strings.Contains(out, "tokens revoked for good") || !strings.Contains(out, "loa token create") {
		t.Errorf("disable said %q, want that the tokens are revoked for good and how to make new ones", out)
	}
	if err := signsIn(laptop); err == nil {
		t.Fatal("a disabled user's token still signs in")
	}
	if list := must("", "user", "list"); !regexp.MustCompile(`(?m)^bien-tap\s.*\sDISABLED$`).MatchString(list) {
		t.Errorf("user list does not show bien-tap disabled:\n%s", list)
	}
	if code, _, errs := loa("", "user", "disable", "no-such-user"); code != 3 {
		t.Errorf("disable an unknown user: exit %d %s, want 3", code, errs)
	}
	must("", "user", "enable", "bien-tap")
	if err := signsIn(laptop); !errors.Is(err, pipeline.ErrTokenRevoked) {
		t.Fatalf("enabled again, the token made before the disable: %v, want revoked", err)
	}
	if err := signsIn(strings.TrimSpace(must("", "token", "create", "--user", "bien-tap", "--label", "laptop"))); err != nil {
		t.Fatalf("enabled again, a new token: %v", err)
	}

	db, err := sqlstore.Open(ctx, dbArg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.Audit(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"user.create", "token.create", "user.disable", "user.enable", "token.revoke", "user.sign_out_everywhere"} {
		found := false
		for _, e := range entries {
			if e.Action == action && e.Subject == "bien-tap" {
				found = true
				if e.Actor != actor {
					t.Errorf("%s: actor %q, want %q", action, e.Actor, actor)
				}
			}
		}
		if !found {
			t.Errorf("no %s in the audit log: %+v", action, entries)
		}
	}
}

// TestAccountCommandsNeedTheDatabase: the commands that manage a running
// Loa's accounts (token create too: a new database has no user) refuse a database file that does not exist (a wrong
// LOA_DATA) with what to set, and create nothing; loa user add still makes
// a new database.
func TestAccountCommandsNeedTheDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loa.db")
	loa := func(args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader("mat-khau-dai-du\n"), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		return run(t.Context(), env, append(args, "--db", path)), stderr.String()
	}
	for _, args := range [][]string{
		{"token", "list"}, {"token", "revoke", "5"}, {"token", "create", "--user", "admin"}, {"user", "list"},
		{"user", "disable", "xa-muong-lan"}, {"user", "enable", "xa-muong-lan"}, {"user", "sign-out-everywhere", "xa-muong-lan"},
	} {
		code, errs := loa(args...)
		if code == 0 || !strings.Contains(errs, "No Loa database at "+path) || !strings.Contains(errs, "LOA_DATA") {
			t.Errorf("%v on a missing database: exit %d %s", args, code, errs)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("%v made a database at %s", args, path)
		}
	}
	if code, errs := loa("user", "add", "--name", "quan-tri", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add on a new database: exit %d %s", code, errs)
	}
	if code, errs := loa("user", "list"); code != 0 {
		t.Fatalf("user list once the database exists: exit %d %s", code, errs)
	}
}
