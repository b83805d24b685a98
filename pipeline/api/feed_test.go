package api_test

import (
	"bytes"
	"image"
	_ "image/png" // DecodeConfig of the artwork
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/sonla-cchc/loa/pipeline/api"
)

// TestBulletinFeedForPodcastApps reads the weekly bulletin's feed with a
// real feed parser (gofeed), as podcast apps do: it has artwork
// (itunes:image and <image>) that Loa serves as a square PNG, and each
// enclosure is a stable URL on Loa, the same on every fetch, that
// redirects to the stored rendition, whose bytes match the length and
// type the feed announces. A withdrawn segment's audio is gone.
func TestBulletinFeedForPodcastApps(t *testing.T) {
	b := setup(t, nil)
	ctx := t.Context()
	db := b.db.SQL()
	now := time.Date(2025, 3, 5, 9, 0, 0, 0, time.UTC) // a Wednesday
	b.api.Now = func() time.Time { return now }
	audio := bytes.Repeat([]byte("ID3loa"), 700)
	key := "segments/seg-pod/thai/loudspeaker.mp3"
	if _, err := b.store.Put(ctx, key, bytes.NewReader(audio), int64(len(audio)), "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
		original_key, original_name, content_type, size_bytes, probe, created_at, updated_at) VALUES ('seg-pod', 'abc', 'Dịch vụ công trực tuyến', 'radio', 'digital', 'normal', ?, ?, 'vi,blt', 'processed', ?, 'o', 'a.mp3', 'audio/mpeg', 1, '{}', ?, ?)`,
		now.Add(-48*time.Hour), now.Add(240*time.Hour), b.users["producer"].ID, now.Add(-48*time.Hour), now.Add(-48*time.Hour))
	exec(`INSERT INTO renditions (segment_id, language, name, object_key, content_type, size_bytes, sha256, duration_ms, created_at)
		VALUES ('seg-pod', 'blt', 'loudspeaker_mp3', ?, 'audio/mpeg', ?, 'x', 65000, ?)`, key, len(audio), now.Add(-time.Hour))
	exec(`INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, ready_at) VALUES ('seg-pod', 'blt', ?, 65000, 'x', ?, ?)`,
		key, len(audio), now.Add(-time.Hour))

	fetch := func() *gofeed.Feed {
		t.Helper()
		resp, body := b.do(t, "GET", "/api/bulletin/blt/feed.xml", "", nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("feed: %d %s", resp.StatusCode, body)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gofeed cannot read the feed: %v\n%s", err, body)
		}
		return feed
	}
	feed := fetch()
	artwork := b.srv.URL + "/api/bulletin/artwork.png"
	if feed.Image == nil || feed.Image.URL != artwork || feed.ITunesExt == nil || feed.ITunesExt.Image != artwork {
		t.Fatalf("artwork: image %+v, itunes %+v", feed.Image, feed.ITunesExt)
	}
	if len(feed.Items) != 1 || len(feed.Items[0].Enclosures) != 1 {
		t.Fatalf("items: %+v", feed.Items)
	}
	enc := feed.Items[0].Enclosures[0]
	if !strings.HasPrefix(enc.URL, b.srv.URL+"/api/bulletin/blt/audio/seg-pod") || enc.Type != "audio/mpeg" || enc.Length != "4200" {
		t.Fatalf("enclosure %+v: want a URL on Loa, audio/mpeg, 4200 bytes", enc)
	}
	// M:SS under an hour (podcast apps read H:MM:SS, MM:SS and M:SS).
	if d := feed.Items[0].ITunesExt; d == nil || d.Duration != "1:05" {
		t.Fatalf("itunes duration: %+v", d)
	}
	// A forged Host header changes no link: the feed is cached publicly.
	req, err := http.NewRequest("GET", b.srv.URL+"/api/bulletin/blt/feed.xml", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(forged), "evil.example") || !strings.Contains(string(forged), enc.URL) {
		t.Fatalf("feed asked for with Host: evil.example: %d\n%s", resp.StatusCode, forged)
	}
	// Without a public address the feed says what to set, and links nothing.
	rec := httptest.NewRecorder()
	(&api.Server{Catalog: b.db, Objects: b.store, Now: b.api.Now}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/bulletin/blt/feed.xml", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "LOA_PUBLIC_URL") {
		t.Fatalf("feed without a public address: %d %s, want 503 naming LOA_PUBLIC_URL", rec.Code, rec.Body)
	}

	now = now.Add(26 * time.Hour) // a day later, within the same feed
	if again := fetch(); len(again.Items) != 1 || again.Items[0].Enclosures[0].URL != enc.URL {
		t.Fatalf("the enclosure URL changed between fetches: %v", again.Items)
	}

	// HEAD is answered by Loa (a presigned link is for GET only), GET is
	// redirected to the object store; both say what the feed says.
	loaHost := strings.TrimPrefix(b.srv.URL, "http://")
	for _, method := range []string{"HEAD", "GET"} {
		req, _ := http.NewRequestWithContext(ctx, method, enc.URL, nil)
		resp, err := http.DefaultClient.Do(req) // follows the redirect
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		servedByLoa := resp.Request.URL.Host == loaHost
		if resp.StatusCode != 200 || servedByLoa != (method == "HEAD") ||
			resp.Header.Get("Content-Type") != enc.Type || resp.ContentLength != int64(len(audio)) {
			t.Fatalf("%s enclosure: %d from %s, %s, %d bytes", method, resp.StatusCode, resp.Request.URL.Host, resp.Header.Get("Content-Type"), resp.ContentLength)
		}
		if method == "GET" && !bytes.Equal(data, audio) {
			t.Fatalf("enclosure body: %d bytes, not the rendition", len(data))
		}
	}

	resp, err = http.Get(artwork)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(resp.Body)
	resp.Body.Close()
	if err != nil || format != "png" || resp.Header.Get("Content-Type") != "image/png" || cfg.Width != cfg.Height || cfg.Width < 1400 || cfg.Width > 3000 {
		t.Fatalf("artwork: %v %s %s %dx%d", err, format, resp.Header.Get("Content-Type"), cfg.Width, cfg.Height)
	}

	exec(`UPDATE segments SET state = 'withdrawn' WHERE id = 'seg-pod'`)
	for _, path := range []string{"/api/bulletin/blt/audio/seg-pod.mp3", "/api/bulletin/vi/audio/seg-pod.mp3", "/api/bulletin/blt/audio/nothing.mp3"} {
		if resp, body := b.do(t, "GET", path, "", nil, ""); resp.StatusCode != 404 {
			t.Fatalf("%s: %d %s, want 404", path, resp.StatusCode, body)
		}
	}
}
