package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNoticesListCLI: 'loa notices list --maybe-sent' asks the API for
// the notices in doubt and prints each with its key, recipient, kind and
// warning; without --maybe-sent it is a usage error and asks nothing; the
// API's refusal (a non-admin's token) is the command's error.
func TestNoticesListCLI(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer admin" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error":{"code":"forbidden","message":"Only an administrator can do this."}}`)
			return
		}
		_, _ = io.WriteString(w, `[{"key":"notice/5/user/41","channel":"smtp","to":{"user_id":41,"name":"hangup-b","role":"reviewer","email":"hangup-b@sonla.example"},
			"kind":"submitted","job_id":"j-1","attempted_at":"2026-11-30T03:04:05Z","warning":"smtp: send to hangup-b@sonla.example: the message may have been delivered: the server's answer was lost: EOF","queue_job_id":7}]`)
	}))
	t.Cleanup(srv.Close)
	loa := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := run(context.Background(), env, append(args, "--server", srv.URL))
		return code, stdout.String(), stderr.String()
	}
	code, out, errs := loa("notices", "list", "--maybe-sent", "--token", "admin")
	if code != 0 || len(got) != 1 || got[0] != "GET /api/notices?limit=50&state=maybe_sent" {
		t.Fatalf("exit %d, requests %q:\n%s%s", code, got, out, errs)
	}
	for _, want := range []string{"notice/5/user/41", "hangup-b <hangup-b@sonla.example>", "submitted", "answer was lost", "check with them"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := loa("notices", "list", "--token", "admin"); code == 0 || !strings.Contains(errs, "--maybe-sent") || len(got) != 1 {
		t.Errorf("without --maybe-sent: exit %d, %d requests, %s", code, len(got), errs)
	}
	if code, _, errs := loa("notices", "list", "--maybe-sent", "--token", "translator"); code == 0 || !strings.Contains(errs, "administrator") {
		t.Errorf("as a non-admin: exit %d %s", code, errs)
	}
}
