package schedules

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestWriteM3U8(t *testing.T) {
	t.Parallel()
	entries := []Entry{
		{Kind: EntryRelay, DurationMS: 600_000},
		{Kind: EntryInterrupt, Title: "Cháy rừng", DurationMS: 30_500, SHA256: "a", URL: "media/a.mp3"},
		{Kind: EntrySegment, Title: "Dòng một\nDòng hai", DurationMS: 61_234, SHA256: "b", URL: "media/b.mp3"},
	}
	var b bytes.Buffer
	if err := WriteM3U8(&b, "Mường Lạn", entries); err != nil {
		t.Fatal(err)
	}
	want := "#EXTM3U\n#PLAYLIST:Mường Lạn\n#EXTINF:30.500,KHẨN CẤP: Cháy rừng\nmedia/a.mp3\n#EXTINF:61.234,Dòng một Dòng hai\nmedia/b.mp3\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestM3U8EmergencyNotTwiceInARow: an emergency is an interrupt and also
// leads the slots after it; in the list a player plays top to bottom it
// is not heard twice in a row, and a later slot still starts with it.
func TestM3U8EmergencyNotTwiceInARow(t *testing.T) {
	t.Parallel()
	em := func(kind EntryKind, id string) Entry {
		return Entry{ID: id, Kind: kind, SegmentID: "seg-chay", Language: "vi", Title: "Cháy rừng", DurationMS: 30_000, SHA256: "e", URL: "media/e.mp3"}
	}
	seg := func(id, title string) Entry {
		return Entry{ID: id, Kind: EntrySegment, SegmentID: "seg-" + title, Language: "vi", Title: title, DurationMS: 60_000, SHA256: title, URL: "media/" + title + ".mp3"}
	}
	entries := []Entry{
		em(EntryInterrupt, "2025-03-03T100300!seg-chay"),
		em(EntrySegment, "2025-03-03T11:00#0"), seg("2025-03-03T11:00#1", "mot"),
		em(EntrySegment, "2025-03-03T17:00#0"), seg("2025-03-03T17:00#1", "hai"),
	}
	var b bytes.Buffer
	if err := WriteM3U8(&b, "", entries); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, l := range strings.Split(b.String(), "\n") {
		if _, name, ok := strings.Cut(l, ","); ok && strings.HasPrefix(l, "#EXTINF:") {
			titles = append(titles, name)
		}
	}
	want := "KHẨN CẤP: Cháy rừng|mot|Cháy rừng|hai"
	if got := strings.Join(titles, "|"); got != want {
		t.Fatalf("played in order %q, want %q", got, want)
	}
}

func sum(data string) string {
	h := sha256.Sum256([]byte(data))
	return hex.EncodeToString(h[:])
}

func signedBundle(t testing.TB) (fstest.MapFS, ed25519.PublicKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	files := map[string]string{"2025-03-03_trung-tam.m3u8": "#EXTM3U\n", "media/x.mp3": "ID3 audio"}
	m := &Manifest{Format: BundleFormat, Commune: "muong-lan", From: "2025-03-03", Until: "2025-03-04", ValidUntil: time.Now().Add(time.Hour), KeyID: KeyID(pub)}
	fsys := fstest.MapFS{}
	for p, c := range files {
		m.Files = append(m.Files, ManifestFile{Path: p, SHA256: sum(c), Size: int64(len(c))})
		fsys[p] = &fstest.MapFile{Data: []byte(c)}
	}
	raw, err := EncodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	fsys[ManifestName] = &fstest.MapFile{Data: raw}
	fsys[SignatureName] = &fstest.MapFile{Data: SignManifest(priv, raw)}
	return fsys, pub
}

func TestVerifyBundle(t *testing.T) {
	t.Parallel()
	good, pub := signedBundle(t)
	if _, extra, err := VerifyBundle(good, pub); err != nil || len(extra) != 0 {
		t.Fatalf("good bundle: %v %v", extra, err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		change func(fstest.MapFS)
		key    ed25519.PublicKey
		path   string
		is     error
	}{
		{"tampered media", func(f fstest.MapFS) { f["media/x.mp3"] = &fstest.MapFile{Data: []byte("ID3 AUDIO")} }, pub, "media/x.mp3", ErrChecksum},
		{"truncated media", func(f fstest.MapFS) { f["media/x.mp3"] = &fstest.MapFile{Data: []byte("ID3")} }, pub, "media/x.mp3", ErrSize},
		{"missing media", func(f fstest.MapFS) { delete(f, "media/x.mp3") }, pub, "media/x.mp3", ErrMissingFile},
		{"edited manifest", func(f fstest.MapFS) {
			f[ManifestName] = &fstest.MapFile{Data: bytes.Replace(f[ManifestName].Data, []byte("muong-lan"), []byte("to-hieu"), 1)}
		}, pub, ManifestName, ErrBadSignature},
		{"other key", func(fstest.MapFS) {}, otherPub, ManifestName, ErrBadSignature},
		{"garbage signature", func(f fstest.MapFS) { f[SignatureName] = &fstest.MapFile{Data: []byte("not base64!")} }, pub, SignatureName, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys, _ := signedBundle(t)
			// re-sign with the shared key: rebuild from good's manifest
			for k, v := range good {
				fsys[k] = v
			}
			c.change(fsys)
			_, _, err := VerifyBundle(fsys, c.key)
			var be *BundleError
			if !errors.As(err, &be) || be.Path != c.path || !errors.Is(err, c.is) {
				t.Fatalf("got %v, want %v on %s", err, c.is, c.path)
			}
		})
	}
}

func TestParseManifestRefusesHostilePaths(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"../etc/passwd", "/abs", "a/../../b", "media//x", ".hidden", "manifest.json", "a\\b", "ä.mp3", ""} {
		m := `{"format":"loa-bundle/1","from":"2025-03-03","until":"2025-03-03","files":[{"path":` + quote(p) + `,"sha256":"` + strings.Repeat("a", 64) + `","size_bytes":1}]}`
		if _, err := ParseManifest([]byte(m)); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzParseManifest: any bytes are refused or give a manifest whose every
// path is a safe relative path and every checksum 64 hex digits.
func FuzzParseManifest(f *testing.F) {
	fsys, _ := signedBundle(f)
	f.Add(fsys[ManifestName].Data)
	f.Add([]byte(`{"format":"loa-bundle/1","from":"2025-03-03","until":"2025-03-03","files":[{"path":"../x","sha256":"","size_bytes":-1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if CheckBundlePath(file.Path) != nil || len(file.SHA256) != 64 || file.Size < 0 || strings.Contains(file.Path, "..") {
				t.Fatalf("unsafe file accepted: %+v", file)
			}
		}
	})
}

// FuzzParsePlayReports: any body is refused with an error or gives
// reports that pass every check.
func FuzzParsePlayReports(f *testing.F) {
	f.Add([]byte(`{"id":"a1","item":"2025-03-03T05:30#1","cluster":"trung-tam","status":"played","started":"2025-03-03T05:40:00+07:00","finished":"2025-03-03T05:41:00+07:00"}`))
	f.Add([]byte(`[{"id":"a2","item":"x","cluster":"c","status":"failed","reason":"mất điện","started":"2025-03-03T05:40:00Z"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":"a1"} {"id":"a2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParsePlayReports(data)
		if err != nil {
			return
		}
		if len(rs) == 0 || len(rs) > MaxPlayReports {
			t.Fatalf("%d reports accepted", len(rs))
		}
		for _, r := range rs {
			if r.ID == "" || r.Entry == "" || r.Cluster == "" || r.Started.IsZero() || (r.Status != Played && r.Status != Failed) ||
				(r.Status == Failed && r.Reason == "") || (r.Status == Played && r.Finished.Before(r.Started)) {
				t.Fatalf("bad report accepted: %+v", r)
			}
		}
	})
}

func TestParsePlayReports(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		`{"id":"a","item":"x","cluster":"c","status":"played","started":"2025-03-03T05:40:00Z"}`:                                                                                                                    "finished is missing",
		`{"id":"a","item":"x","cluster":"c","status":"played","started":"2025-03-03T05:40:00Z","finished":"2025-03-03T05:00:00Z"}`:                                                                                  "before started",
		`{"id":"a b","item":"x","cluster":"c","status":"failed","reason":"r","started":"2025-03-03T05:40:00Z"}`:                                                                                                     "id must be",
		`{"id":"a","item":"x","cluster":"c","status":"skipped","started":"2025-03-03T05:40:00Z"}`:                                                                                                                   "say played or failed",
		`[{"id":"a","item":"x","cluster":"c","status":"failed","reason":"r","started":"2025-03-03T05:40:00Z"},{"id":"a","item":"x","cluster":"c","status":"failed","reason":"r","started":"2025-03-03T05:40:00Z"}]`: "twice",
		`{"id":"a","item":"x","cluster":"c","status":"failed","reason":"r","started":"2025-03-03T05:40:00Z","extra":1}`:                                                                                             "unknown field",
	}
	for body, want := range bad {
		if _, err := ParsePlayReports([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", body, err, want)
		}
	}
}
