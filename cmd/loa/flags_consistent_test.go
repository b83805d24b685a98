package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestPlaylistVerifyDirFlag: 'loa playlist verify' takes the bundle
// folder as --dir, as 'loa playlist pull' does, and still as its
// argument; two different folders, or none, are a usage error (exit 2)
// that says to give --dir. A copied bundle with no key pinned beside it
// says to give the key with --public-key.
func TestPlaylistVerifyDirFlag(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "muong-lan")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := []byte("#EXTM3U\n")
	sum := sha256.Sum256(body)
	m := &schedules.Manifest{Format: schedules.BundleFormat, Commune: "muong-lan", CommuneName: "Mường Lạn", Version: "v1", From: "2025-03-03", Until: "2025-03-04",
		ValidUntil: time.Now().Add(48 * time.Hour), KeyID: schedules.KeyID(pub),
		Files: []schedules.ManifestFile{{Path: "2025-03-03_trung-tam.m3u8", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}}}
	raw, err := schedules.EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		filepath.Join(dir, schedules.ManifestName):  raw,
		filepath.Join(dir, schedules.SignatureName): schedules.SignManifest(key, raw),
		filepath.Join(dir, m.Files[0].Path):         body,
		dir + ".pub":                                []byte(base64.StdEncoding.EncodeToString(pub) + "\n"),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The bundle copied elsewhere (to a USB stick): its key is not beside it.
	copied := filepath.Join(t.TempDir(), "usb", "muong-lan")
	if err := os.CopyFS(copied, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"--dir, as pull takes it", []string{"--dir", dir}, 0, "OK: Mường Lạn"},
		{"the argument, as before", []string{dir}, 0, "OK: Mường Lạn"},
		{"both, the same folder", []string{dir, "--dir", dir + "/"}, 0, "OK: Mường Lạn"},
		{"two folders", []string{"--dir", dir, dir + "-other"}, 2, "two bundle folders given"},
		{"none", nil, 2, "--dir DIR"},
		{"a copy with no key pinned beside it", []string{"--dir", copied}, 3, "Give the province's public key with --public-key FILE"},
		{"a copy with the key given", []string{"--dir", copied, "--public-key", dir + ".pub"}, 0, "OK: Mường Lạn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			code := run(context.Background(), env, append([]string{"playlist", "verify"}, tc.args...))
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Fatalf("exit %d, want %d saying %q:\n%s%s", code, tc.code, tc.want, stdout.String(), stderr.String())
			}
		})
	}
}

// TestWithdrawNeedsYes: 'loa segments withdraw' follows the rule of
// 'loa segments emergency': without --yes nothing is withdrawn, it says
// what would happen to which segment and exits 3; with --yes it is done.
func TestWithdrawNeedsYes(t *testing.T) {
	f := producerCLI(t, "Bản tin sai")
	db, seg, loa := f.db, f.seg, f.loa
	ctx := context.Background()
	code, _, errs := loa("segments", "withdraw", seg, "--reason", "sai số liệu")
	if code != 3 || !strings.Contains(errs, "Nothing was withdrawn") || !strings.Contains(errs, "Bản tin sai") || !strings.Contains(errs, "--yes") {
		t.Fatalf("without --yes: exit %d %s, want 3 naming the segment and saying to add --yes", code, errs)
	}
	if got, err := db.Segment(ctx, seg); err != nil || got.State == pipeline.StateWithdrawn {
		t.Fatalf("the segment after a withdrawal without --yes: %v %v", got.State, err)
	}
	if code, _, errs := loa("segments", "withdraw", "no-such-segment"); code != 3 || !strings.Contains(strings.ToLower(errs), "not found") && !strings.Contains(errs, "No segment") {
		t.Errorf("an unknown segment without --yes: exit %d %s, want 3 saying it is not there", code, errs)
	}
	if code, out, errs := loa("segments", "withdraw", seg, "--reason", "sai số liệu", "--yes"); code != 0 || !strings.Contains(out, "withdrawn") {
		t.Fatalf("with --yes: exit %d %s %s", code, out, errs)
	}
	if got, err := db.Segment(ctx, seg); err != nil || got.State != pipeline.StateWithdrawn {
		t.Fatalf("the segment after withdraw --yes: %v %v", got.State, err)
	}
	// Shown, it is withdrawn, not "ready to air".
	if code, out, errs := loa("segments", "show", seg); code != 0 || strings.Contains(out, "ready to air") || !strings.Contains(out, "on no loudspeaker") {
		t.Errorf("segments show of a withdrawn segment: exit %d\n%s%s", code, out, errs)
	}
	// Asked again without --yes, it says the segment is withdrawn already,
	// not what withdrawing would do.
	if code, _, errs := loa("segments", "withdraw", seg); code == 0 || !strings.Contains(errs, "already withdrawn") || strings.Contains(errs, "Nothing was withdrawn") {
		t.Errorf("an already withdrawn segment without --yes: exit %d %s", code, errs)
	}
}

// TestJobsRerenderCLI: 'loa jobs rerender ID' posts to the API's
// rerender route and says the render is queued again.
func TestJobsRerenderCLI(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"j1","state":"approved"}`)
	}))
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(context.Background(), env, []string{"jobs", "rerender", "j1", "--server", srv.URL, "--token", "t"})
	if code != 0 || got != "POST /api/jobs/j1/rerender" || !strings.Contains(stdout.String(), "queued again") {
		t.Fatalf("exit %d, request %q:\n%s%s", code, got, stdout.String(), stderr.String())
	}
}

// TestJobsSubmitRetriesUnavailable: 'loa jobs submit' sends the file again,
// whole, when the server answers 503 (its store is down for now), as
// 'loa upload' does, instead of giving up at once; a refusal is not
// retried.
func TestJobsSubmitRetriesUnavailable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "blt.srt")
	body := "1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		answers  []int // status of each attempt, in turn
		code     int
		attempts int
	}{
		{"503, then taken", []int{http.StatusServiceUnavailable, http.StatusOK}, 0, 2},
		{"refused: not retried", []int{http.StatusUnprocessableEntity}, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = append(got, string(b))
				w.Header().Set("Content-Type", "application/json")
				switch status := tc.answers[len(got)-1]; status {
				case http.StatusOK:
					_, _ = io.WriteString(w, `{"job":{"id":"j1","state":"submitted"},"submission":{"n":1,"size_bytes":10,"sha256":"0123456789abcdef0123"}}`)
				case http.StatusUnprocessableEntity:
					w.WriteHeader(status)
					_, _ = io.WriteString(w, `{"error":{"code":"invalid","message":"cue 1 is not translated"}}`)
				default:
					w.WriteHeader(status)
				}
			}))
			t.Cleanup(srv.Close)
			var stdout, stderr bytes.Buffer
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			code := run(context.Background(), env, []string{"jobs", "submit", "j1", file, "--quiet", "--server", srv.URL, "--token", "t"})
			if code != tc.code || len(got) != tc.attempts {
				t.Fatalf("exit %d after %d attempts, want %d after %d:\n%s%s", code, len(got), tc.code, tc.attempts, stdout.String(), stderr.String())
			}
			for i, b := range got {
				if b != body {
					t.Errorf("attempt %d sent %q, want the whole file", i+1, b)
				}
			}
			if tc.attempts > 1 && (!strings.Contains(stderr.String(), "retrying in 2s") || !strings.Contains(stdout.String(), "submitted: job j1")) {
				t.Errorf("want a retry note and the submission:\n%s%s", stdout.String(), stderr.String())
			}
		})
	}
}
