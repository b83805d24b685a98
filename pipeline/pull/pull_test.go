package pull

import (
	"cmp"
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
	"github.com/sonla-cchc/loa/pipeline/localtime"
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
	// from and until are the manifest's dates; "" for 2025-03-03 and
	// 2025-03-04.
	from, until string
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
		from, until := cmp.Or(s.from, "2025-03-03"), cmp.Or(s.until, "2025-03-04")
		m := &schedules.Manifest{Format: schedules.BundleFormat, Commune: s.commune, Version: "v", From: from, Until: until,
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
	if err != nil || res.Manifest == nil || res.Fetched != 1 || res.ETag != `W/"1"` || res.Days != 2 || res.DaysAsked != 2 {
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
		{"a signed bundle of far days (2100) is refused", func() { srv.tamper = false; srv.from, srv.until = "2100-01-01", "2100-01-14" }, Options{},
			wantUncovered("2100-01-01", "today (2025-03-03)", "does not start on the first day asked")},
		{"a bundle of yesterday and today is refused for today and tomorrow", func() { srv.from, srv.until = "2025-03-02", "2025-03-03" }, Options{},
			wantUncovered("2025-03-02", "today (2025-03-03)", "does not start on the first day asked")},
		{"a bundle that starts before the day asked is refused", func() { srv.from, srv.until = "2025-03-03", "2025-03-05" }, Options{From: "2025-03-04"},
			wantUncovered("2025-03-03", "2025-03-04 to 2025-03-05", "does not start on the first day asked")},
		{"a bundle from the day asked that skips today is refused", func() { srv.from, srv.until = "2025-03-02", "2025-03-02" }, Options{From: "2025-03-02"},
			wantUncovered("2025-03-02", "2025-03-02 to 2025-03-03", "does not cover 2025-03-03, today on this device")},
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

	// A bundle from today that covers fewer days than asked (the server
	// built only today) is taken, and says how many days it covers.
	srv.mu.Lock()
	srv.from, srv.until, srv.created, srv.etag = "2025-03-03", "2025-03-03", created.Add(time.Hour), `W/"4"`
	srv.mu.Unlock()
	res, err = Bundle(ctx, c, Options{Commune: "muong-lan", Days: 3, Dir: dir, Now: created, NotOlder: created})
	if err != nil || res.Manifest == nil || res.Manifest.Until != "2025-03-03" || res.Days != 1 || res.DaysAsked != 3 {
		t.Fatalf("a short bundle: %+v, %v; want taken, 1 of 3 days", res, err)
	}
}

// wantUncovered checks a pull refused because the manifest's dates do
// not start on the day asked or skip today (why), naming what was sent
// and what was asked.
func wantUncovered(sent, asked, why string) func(Result, error) string {
	return func(r Result, err error) string {
		if pipeline.ErrorCode(err) != pipeline.CodeConflict || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "refused") ||
			!strings.Contains(err.Error(), sent) || !strings.Contains(err.Error(), asked) || r.Manifest != nil {
			return "want refused: the dates do not cover those asked for"
		}
		return ""
	}
}

// TestCovers: a bundle must start on the day asked and reach the
// device's today; it may end before the last day asked (the server signs
// only the days it built). With from left out, a server whose clock is a
// little ahead of the device's (already tomorrow) or behind it (still
// yesterday) is not refused; a day off is.
func TestCovers(t *testing.T) {
	loc := localtime.Location()
	midnight := time.Date(2025, 3, 4, 0, 0, 0, 0, loc)
	for _, tt := range []struct {
		name        string
		now         time.Time
		from        string // asked
		sent, until string
		want        int // days covered; 0 for refused
	}{
		{"device just before midnight, server past it", midnight.Add(-10 * time.Second), "", "2025-03-04", "2025-03-05", 2},
		{"device just past midnight, server before it", midnight.Add(10 * time.Second), "", "2025-03-03", "2025-03-04", 2},
		{"device just past midnight, server before it, skips the device's today", midnight.Add(10 * time.Second), "", "2025-03-03", "2025-03-03", 0},
		{"same day", midnight.Add(8 * time.Hour), "", "2025-03-04", "2025-03-05", 2},
		{"fewer days than asked: today only", midnight.Add(8 * time.Hour), "", "2025-03-04", "2025-03-04", 1},
		{"a day behind at noon", midnight.Add(12 * time.Hour), "", "2025-03-03", "2025-03-04", 0},
		{"a day ahead at noon", midnight.Add(12 * time.Hour), "", "2025-03-05", "2025-03-06", 0},
		{"until before from", midnight.Add(8 * time.Hour), "", "2025-03-04", "2025-03-03", 0},
		{"unreadable dates", midnight.Add(8 * time.Hour), "", "", "", 0},
		{"from given: starts on it, short", midnight.Add(8 * time.Hour), "2025-03-04", "2025-03-04", "2025-03-04", 1},
		{"from given: starts the day before it", midnight.Add(8 * time.Hour), "2025-03-05", "2025-03-04", "2025-03-06", 0},
		{"from given: starts the day after it", midnight.Add(8 * time.Hour), "2025-03-04", "2025-03-05", "2025-03-06", 0},
		{"from tomorrow: covers tomorrow only", midnight.Add(8 * time.Hour), "2025-03-05", "2025-03-05", "2025-03-05", 1},
		{"from yesterday: reaches today", midnight.Add(8 * time.Hour), "2025-03-03", "2025-03-03", "2025-03-04", 2},
		{"from yesterday: skips today", midnight.Add(8 * time.Hour), "2025-03-03", "2025-03-03", "2025-03-03", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Covers(&schedules.Manifest{From: tt.sent, Until: tt.until}, tt.from, 3, tt.now, t.TempDir())
			if n != tt.want || (err == nil) != (tt.want > 0) {
				t.Fatalf("Covers: %d, %v; want %d", n, err, tt.want)
			}
			if err != nil && (pipeline.ErrorCode(err) != pipeline.CodeConflict || !strings.Contains(err.Error(), "refused")) {
				t.Fatalf("Covers: %v, want a conflict that says refused", err)
			}
		})
	}
}
