package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// TestDemoTokensReplaced: every run of the demo (each 'make run') mints
// the producer's, administrator's and operator's demo tokens again, and
// revokes the ones the run before made: after five runs three demo tokens
// are live, each run's newest; earlier ones are refused; a token with
// another label stays.
func TestDemoTokensReplaced(t *testing.T) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := schedules.DemoRegistry() // the operator is bound to a commune
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportRegistry(ctx, reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var users []pipeline.User
	for _, name := range []string{"dai-ptth", "admin", "xa-muong-lan"} {
		for _, u := range demoUsers {
			if u.Name == name {
				u.Password = "loa-demo-2025"
				created, err := db.CreateUser(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				users = append(users, created)
			}
		}
	}
	phone, err := db.CreateToken(ctx, users[0].ID, "phone")
	if err != nil {
		t.Fatal(err)
	}
	actor := cliActor(&cliEnv{getenv: os.Getenv})
	var first, last []string
	for run := range 5 {
		last = last[:0]
		for _, u := range users {
			tok, err := replaceDemoToken(ctx, db, u, actor)
			if err != nil {
				t.Fatalf("run %d: %v", run+1, err)
			}
			last = append(last, tok)
		}
		if run == 0 {
			first = append([]string(nil), last...)
		}
	}
	live, err := db.Tokens(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	demo := 0
	for _, tk := range live {
		if tk.Label == demoTokenLabel {
			demo++
			if tk.CreatedBy != actor.Name {
				t.Errorf("demo token %d made by %q, want %q", tk.ID, tk.CreatedBy, actor.Name)
			}
		}
	}
	if demo != 3 || len(live) != 4 {
		t.Fatalf("after five demo runs: %d live demo tokens of %d live, want 3 of 4: %+v", demo, len(live), live)
	}
	for i, u := range users {
		if got, err := db.UserByToken(ctx, last[i]); err != nil || got.ID != u.ID {
			t.Errorf("%s's newest demo token: %v", u.Name, err)
		}
		if _, err := db.UserByToken(ctx, first[i]); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
			t.Errorf("%s's first demo token still signs in (%v)", u.Name, err)
		}
	}
	if _, err := db.UserByToken(ctx, phone); err != nil {
		t.Errorf("the token labelled phone was revoked: %v", err)
	}
}

// TestDemoAgainKeepsThreeTokens runs 'loa demo' (what .ci/run-demo, so
// 'make run', calls) twice against a running server: three demo tokens
// are live after each run, not three more, and the producer token that
// demo.env now holds signs in.
func TestDemoAgainKeepsThreeTokens(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	in.start()
	for run := 1; run <= 2; run++ {
		if out, err := in.loa("", "demo"); err != nil {
			t.Fatalf("demo run %d: %v\n%s", run, err, out)
		}
		out, err := in.loa("", "token", "list", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var toks []pipeline.TokenInfo
		if err := json.Unmarshal([]byte(out), &toks); err != nil {
			t.Fatalf("token list --json: %v\n%s", err, out)
		}
		demo := map[string]int{}
		for _, tk := range toks {
			if tk.Label == demoTokenLabel {
				demo[tk.User]++
			}
		}
		if len(demo) != 3 || demo["dai-ptth"] != 1 || demo["admin"] != 1 || demo["xa-muong-lan"] != 1 {
			t.Fatalf("after demo run %d the live demo tokens per user are %v, want one each for dai-ptth, admin, xa-muong-lan", run, demo)
		}
	}
	envFile, err := os.ReadFile(filepath.Join(in.data, "demo.env"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`LOA_TOKEN=(\S+)`).FindStringSubmatch(string(envFile))
	if m == nil {
		t.Fatalf("demo.env has no token:\n%s", envFile)
	}
	if out := in.must(m[1], "segments", "list"); !strings.Contains(out, "Sơn La đẩy mạnh cải cách hành chính") {
		t.Errorf("segments list with demo.env's token:\n%s", out)
	}
}
