package pull

import (
	"context"
	"crypto/ed25519"
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
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// bundleServer serves a signed bundle index the way the API does: the
// signing key, the index with an ETag (304 on If-None-Match), and the
// media by link.
type bundleServer struct {
	mu      sync.Mutex
	key     ed25519.PrivateKey
	commune string
	created time.Time
	media   string
	etag    string
	tamper  bool // sign, then change the manifest
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.URL.Path == "/api/signing-key":
		json.NewEncoder(w).Encode(wire.SigningKey{PublicKey: base64.StdEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey))})
	case r.URL.Path == "/media":
		w.Write([]byte(s.media))
	case strings.HasSuffix(r.URL.Path, "/bundle"):
		w.Header().Set("ETag", s.etag)
		if r.Header.Get("If-None-Match") == s.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		sum := sha256.Sum256([]byte(s.media))
		sha := hex.EncodeToString(sum[:])
		playlist := `{"commune":"` + s.commune + `"}`
		psum := sha256.Sum256([]byte(playlist))
		m := &schedules.Manifest{Format: schedules.BundleFormat, Commune: s.commune, Version: "v", From: "2025-03-03", Until: "2025-03-04",
			CreatedAt: s.created, ValidUntil: s.created.Add(48 * time.Hour), Files: []schedules.ManifestFile{
				{Path: "media/" + sha + ".mp3", SHA256: sha, Size: int64(len(s.media))},
				{Path: "2025-03-03_a.json", SHA256: hex.EncodeToString(psum[:]), Size: int64(len(playlist))},
			}}
		raw, _ := schedules.EncodeManifest(m)
		sig := schedules.SignManifest(s.key, raw)
		if s.tamper {
			raw = []byte(strings.Replace(string(raw), `"v"`, `"w"`, 1))
		}
		json.NewEncoder(w).Encode(wire.BundleIndex{Manifest: string(raw), Signature: string(sig),
			Inline: map[string]string{"2025-03-03_a.json": playlist},
			Links:  map[string]string{"media/" + sha + ".mp3": "http://" + r.Host + "/media"}})
	default:
		http.NotFound(w, r)
	}
}

func TestBundle(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	created := time.Date(2025, 3, 3, 0, 30, 0, 0, time.UTC)
	srv := &bundleServer{key: key, commune: "muong-lan", created: created, media: "sound", etag: `W/"1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := &Client{Server: ts.URL, Token: "tok"}
	dir := filepath.Join(t.TempDir(), "bundle")
	ctx := context.Background()
	res, err := Bundle(ctx, c, Options{Commune: "muong-lan", Days: 2, Dir: dir, Now: created})
	if err != nil || res.Manifest == nil || res.Fetched != 1 || res.ETag != `W/"1"` {
		t.Fatalf("first pull: %+v %v", res, err)
	}
	if _, _, err := schedules.VerifyBundle(os.DirFS(dir), key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("the pulled bundle does not verify: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))

	tests := []struct {
		name   string
		change func()
		o      Options
		check  func(Result, error) string
	}{
		{"unchanged: 304 by ETag", func() {}, Options{ETag: `W/"1"`}, func(r Result, err error) string {
			if err != nil || !r.NotModified || r.Manifest != nil {
				return "want a 304"
			}
			return ""
		}},
		{"same manifest: up to date", func() { srv.etag = `W/"2"` }, Options{ETag: `W/"1"`}, func(r Result, err error) string {
			if err != nil || !r.UpToDate || r.Fetched != 0 {
				return "want up to date, nothing fetched"
			}
			return ""
		}},
		{"an older bundle is refused", func() { srv.created = created.Add(-time.Hour); srv.etag = `W/"3"` }, Options{NotOlder: created},
			func(r Result, err error) string {
				if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(err.Error(), "older") {
					return "want refused as older"
				}
				return ""
			}},
		{"another commune's bundle is refused", func() { srv.created = created; srv.commune = "to-hieu" }, Options{},
			func(r Result, err error) string {
				if pipeline.ErrorCode(err) != pipeline.CodeConflict || !strings.Contains(err.Error(), "to-hieu") {
					return "want refused as another commune's"
				}
				return ""
			}},
		{"a changed manifest is refused", func() { srv.commune = "muong-lan"; srv.tamper = true }, Options{},
			func(r Result, err error) string {
				if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(err.Error(), "refused") {
					return "want refused by signature"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.mu.Lock()
			tt.change()
			srv.mu.Unlock()
			o := tt.o
			o.Commune, o.Days, o.Dir, o.Now = "muong-lan", 2, dir, created
			res, err := Bundle(ctx, c, o)
			if msg := tt.check(res, err); msg != "" {
				t.Fatalf("%s: got %+v, %v", msg, res, err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
			if string(after) != string(before) {
				t.Fatal("the bundle folder changed")
			}
			if _, err := os.Stat(dir + ".staging"); !os.IsNotExist(err) {
				t.Fatal("staging folder left behind")
			}
		})
	}
}
