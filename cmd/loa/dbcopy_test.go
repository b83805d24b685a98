package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// TestDBCopy runs loa db copy from a SQLite file made by loa user add into
// an empty store (a new PostgreSQL database under LOA_TEST_POSTGRES_URL,
// else another SQLite file): it lists each table with its rows and
// checksum, the copied user is listed from the target, and a second copy
// into the full target is refused. Bad arguments are usage errors.
func TestDBCopy(t *testing.T) {
	src := "sqlite:" + filepath.Join(t.TempDir(), "loa.db")
	dst := pgtest.Location(t, "target.db")
	loa := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		words := append(strings.Fields(args[0]), args[1:]...) // "db copy" is two words
		return run(ctx, env, words), stdout.String(), stderr.String()
	}
	if code, _, errs := loa("mat-khau-dai-du\n", "user add", "--db", src, "--name", "bien-tap", "--role", "producer", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	code, out, errs := loa("", "db copy", "--from", src, "--to", dst)
	if code != 0 {
		t.Fatalf("db copy: %d %s", code, errs)
	}
	for _, w := range []string{"users  ", "schedule_days", "counts and checksums verified"} {
		if !strings.Contains(out, w) {
			t.Errorf("the output does not show %q:\n%s", w, out)
		}
	}
	if code, out, errs := loa("", "user list", "--db", dst); code != 0 || !strings.Contains(out, "bien-tap") {
		t.Fatalf("user list on the target: %d %s %s", code, out, errs)
	}
	if code, _, errs := loa("", "db copy", "--from", src, "--to", dst); code == 0 || !strings.Contains(errs, "not empty") {
		t.Fatalf("a second copy: %d %s, want a refusal saying the target is not empty", code, errs)
	}
	for _, args := range [][]string{
		{"db copy", "--from", src},
		{"db copy", "--from", src, "--to", src},
		{"db copy", "--from", "mysql://x@y/z", "--to", dst},
	} {
		if code, _, errs := loa("", args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2 (usage)", args, code, errs)
		}
	}
}
