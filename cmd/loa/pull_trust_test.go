package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// bundleServer is a Loa server stand-in (or a man in the middle holding
// the province's old signed answers) serving one signed bundle index.
type bundleServer struct {
	t   *testing.T
	key ed25519.PrivateKey
	srv *httptest.Server
	mu  sync.Mutex
	idx wire.BundleIndex
	// refuse, when set, is the error the bundle route answers with (the
	// caller may not read the commune), with its HTTP status.
	refuse       *wire.ErrorBody
	refuseStatus int
}

func newBundleServer(t *testing.T) *bundleServer {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundleServer{t: t, key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/signing-key", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(wire.SigningKey{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), KeyID: schedules.KeyID(pub)})
	})
	mux.HandleFunc("GET /api/communes/{code}/bundle", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.refuse != nil {
			w.WriteHeader(b.refuseStatus)
			json.NewEncoder(w).Encode(b.refuse)
			return
		}
		json.NewEncoder(w).Encode(b.idx)
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

// serve makes the server answer with a bundle signed by the province's
// key for commune, schedule version seq, valid until validUntil, with
// one inline playlist per entry of playlists (none: an empty bundle).
func (b *bundleServer) serve(commune string, seq int64, validUntil time.Time, playlists ...string) {
	b.t.Helper()
	m := &schedules.Manifest{Format: schedules.BundleFormat, Commune: commune, CommuneName: "Mường Lạn", Version: "v", ETag: "e",
		Sequence: seq, From: "2025-03-03", Until: "2025-03-04", ValidUntil: validUntil, KeyID: schedules.KeyID(b.key.Public().(ed25519.PublicKey))}
	inline := map[string]string{}
	for i, body := range playlists {
		path := []string{"2025-03-03_trung-tam.m3u8", "2025-03-04_trung-tam.m3u8"}[i]
		sum := sha256.Sum256([]byte(body))
		m.Files = append(m.Files, schedules.ManifestFile{Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))})
		inline[path] = body
	}
	raw, err := schedules.EncodeManifest(m)
	if err != nil {
		b.t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.idx = wire.BundleIndex{Manifest: string(raw), Signature: string(schedules.SignManifest(b.key, raw)), Inline: inline, Links: map[string]string{}}
}

// pull runs `loa playlist pull` in this process with the given clock.
func (b *bundleServer) pull(t *testing.T, now time.Time, commune, dir string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// Settings are read from the process's environment (settings.go).
	t.Setenv("LOA_SERVER", b.srv.URL)
	t.Setenv("LOA_TOKEN", "loa_test")
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: func() time.Time { return now },
		getenv: os.Getenv}
	code := run(context.Background(), env, []string{"playlist", "pull", "--commune", commune, "--dir", dir})
	return code, stdout.String(), stderr.String()
}

// TestPullRefusesUntrustedBundles is the device's side: a bundle signed
// by the right key is still refused when it is another commune's, older
// than the one installed (a replay that would drop an emergency), or
// expired; each refusal says why and keeps the installed bundle. An empty
// bundle (nothing scheduled) installs.
func TestPullRefusesUntrustedBundles(t *testing.T) {
	now := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	b := newBundleServer(t)
	dir := filepath.Join(t.TempDir(), "muong-lan")
	b.serve("muong-lan", 7, now.Add(48*time.Hour), "#EXTM3U\n#EXTINF:60,Khẩn cấp\nmedia/a.mp3\n")
	if code, out, errOut := b.pull(t, now, "muong-lan", dir); code != 0 || !strings.Contains(errOut, "pinned the server's signing key "+schedules.KeyID(b.key.Public().(ed25519.PublicKey))) {
		t.Fatalf("first pull: exit %d, want the pinned key's fingerprint shown\n%s%s", code, out, errOut)
	}
	installed, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name       string
		commune    string
		seq        int64
		validUntil time.Time
		want       string
	}{
		{"another commune's bundle", "to-hieu", 8, now.Add(48 * time.Hour), `signed for commune "to-hieu", not "muong-lan"`},
		{"an older bundle", "muong-lan", 6, now.Add(48 * time.Hour), "version 6 of muong-lan, older than version 7 installed"},
		{"an expired bundle", "muong-lan", 8, now.Add(-time.Minute), "expired at"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			b.serve(tc.commune, tc.seq, tc.validUntil, "#EXTM3U\n")
			code, out, errOut := b.pull(t, now, "muong-lan", dir)
			if code == 0 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "kept") {
				t.Fatalf("exit %d, want a refusal saying %q and that the bundle is kept\n%s%s", code, tc.want, out, errOut)
			}
			after, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
			if err != nil || !bytes.Equal(after, installed) {
				t.Fatalf("the installed bundle changed (%v)", err)
			}
		})
	}
	t.Run("another commune's bundle into an empty folder", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "new-device")
		b.serve("to-hieu", 9, now.Add(48*time.Hour), "#EXTM3U\n")
		code, out, errOut := b.pull(t, now, "muong-lan", empty)
		if code == 0 || strings.Contains(errOut, "kept") || !strings.Contains(errOut, "Nothing was installed in "+empty) {
			t.Fatalf("exit %d, want a refusal saying nothing was installed (no bundle to keep)\n%s%s", code, out, errOut)
		}
	})
	t.Run("an empty bundle", func(t *testing.T) {
		b.serve("muong-lan", 8, now.Add(48*time.Hour))
		if code, out, errOut := b.pull(t, now, "muong-lan", dir); code != 0 || !strings.Contains(out, "verified") {
			t.Fatalf("empty bundle: exit %d\n%s%s", code, out, errOut)
		}
		var m schedules.Manifest
		data, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
		if err := json.Unmarshal(data, &m); err != nil || m.Sequence != 8 || len(m.Files) != 0 {
			t.Fatalf("installed after the empty bundle: %+v %v", m, err)
		}
	})
}

// TestPullWritesNothingUntilVerified: a pull that is refused — the server
// answers that the caller may not read the commune, the manifest is
// signed by another key, or it is another commune's — writes nothing
// beside the bundle folder: no pinned key, no staging or partial folder.
// The key is pinned by the first pull that installs a bundle.
func TestPullWritesNothingUntilVerified(t *testing.T) {
	now := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	refusal := func(status int, code pipeline.Code, msg string) func(b *bundleServer) {
		return func(b *bundleServer) {
			b.serve("muong-lan", 1, now.Add(48*time.Hour), "#EXTM3U\n")
			var eb wire.ErrorBody
			eb.Error.Code, eb.Error.Message = code, msg
			b.refuse, b.refuseStatus = &eb, status
		}
	}
	tests := []struct {
		name  string
		setup func(b *bundleServer)
		exit  int
		want  string
	}{
		{"a commune the caller may not read", refusal(http.StatusNotFound, pipeline.CodeNotFound, "No commune muong-lan."), 3, "No commune muong-lan"},
		{"a commune the caller is forbidden", refusal(http.StatusForbidden, pipeline.CodeForbidden, "Not allowed."), 4, "Not allowed"},
		{"a manifest signed by another key", func(b *bundleServer) {
			_, other, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			b.serve("muong-lan", 1, now.Add(48*time.Hour), "#EXTM3U\n")
			b.key = other // the index is re-signed below with the wrong key
			b.serve("muong-lan", 1, now.Add(48*time.Hour), "#EXTM3U\n")
		}, 3, "manifest is refused"},
		{"another commune's bundle", func(b *bundleServer) {
			b.serve("to-hieu", 1, now.Add(48*time.Hour), "#EXTM3U\n")
		}, 3, `signed for commune "to-hieu"`},
		{"an expired bundle", func(b *bundleServer) {
			b.serve("muong-lan", 1, now.Add(-time.Hour), "#EXTM3U\n")
		}, 3, "expired at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundleServer(t)
			tc.setup(b)
			parent := t.TempDir()
			code, out, errOut := b.pull(t, now, "muong-lan", filepath.Join(parent, "muong-lan"))
			if code != tc.exit || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want %d saying %q\n%s%s", code, tc.exit, tc.want, out, errOut)
			}
			if strings.Contains(errOut, "pinned") {
				t.Errorf("a refused pull says it pinned a key:\n%s", errOut)
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("a refused pull wrote %s", filepath.Join(parent, e.Name()))
			}
		})
	}
	t.Run("the first installed bundle pins the key", func(t *testing.T) {
		b := newBundleServer(t)
		b.serve("muong-lan", 1, now.Add(48*time.Hour), "#EXTM3U\n")
		parent := t.TempDir()
		dir := filepath.Join(parent, "muong-lan")
		if code, out, errOut := b.pull(t, now, "muong-lan", dir); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		_, _, pinned := pull.Paths(dir)
		key, err := pull.ReadKey(pinned)
		if err != nil || !key.Equal(b.key.Public()) {
			t.Fatalf("pinned key: %v", err)
		}
		var names []string
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") != "muong-lan muong-lan.pub" {
			t.Errorf("after a pull the folder holds %v, want the bundle and its key only", names)
		}
	})
}

// TestPullSaysDaysHeld: a bundle that covers fewer days than --days asks
// (the server has not built the rest) installs, and the pull says how
// many days it holds of those asked; a whole one says its days alone.
func TestPullSaysDaysHeld(t *testing.T) {
	now := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC) // 13:00 on 2025-03-03 in Sơn La
	b := newBundleServer(t)
	b.serve("muong-lan", 7, now.Add(48*time.Hour), "#EXTM3U\n")
	for _, tc := range []struct {
		days, want string
	}{
		{"3", "2025-03-03 to 2025-03-04 (2 of the 3 days asked: the server has not built the later days yet"},
		{"2", "2025-03-03 to 2025-03-04 (2 day(s))"},
	} {
		t.Run("days "+tc.days, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			t.Setenv("LOA_SERVER", b.srv.URL)
			t.Setenv("LOA_TOKEN", "loa_test")
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: func() time.Time { return now }, getenv: os.Getenv}
			dir := filepath.Join(t.TempDir(), "muong-lan")
			code := run(context.Background(), env, []string{"playlist", "pull", "--commune", "muong-lan", "--days", tc.days, "--dir", dir})
			if code != 0 || !strings.Contains(stdout.String(), tc.want) {
				t.Fatalf("exit %d, want %q in the output\n%s%s", code, tc.want, stdout.String(), stderr.String())
			}
		})
	}
}
