package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// TestReportsAuditAndBulletin: an admin downloads a report as XLSX and
// CSV and the audit log as CSV; anyone reads the weekly bulletin's RSS
// feed, well-formed, whose enclosures are presigned links that the real
// object store serves.
func TestReportsAuditAndBulletin(t *testing.T) {
	// A Wednesday: the bulletin's week (Monday to Sunday in
	// Asia/Ho_Chi_Minh) does not turn while the test runs.
	store, _ := objectstest.New(t)
	b := setupAt(t, store, nil, broadcasttest.Clock(broadcasttest.Monday.AddDate(0, 0, 2).Add(6*time.Hour)))
	ctx := context.Background()
	db := b.db.SQL()
	now := b.db.Now().UTC()
	audio := bytes.Repeat([]byte("ID3loa"), 500)
	for i, lang := range []string{"vi", "blt"} {
		key := "segments/seg-feed/renditions/" + lang + "/loudspeaker.mp3"
		if _, err := b.store.Put(ctx, key, bytes.NewReader(audio), int64(len(audio)), "audio/mpeg"); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := db.ExecContext(ctx, `INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
				original_key, original_name, content_type, size_bytes, probe, created_at, updated_at) VALUES ('seg-feed', 'abc', 'Nộp hồ sơ trực tuyến <&>', 'radio', 'procedures', 'normal', ?, ?, 'vi,blt', 'processed', ?, 'o', 'a.mp3', 'audio/mpeg', 1, '{}', ?, ?)`,
				now, now.Add(time.Hour), b.users["producer"].ID, now.Add(-time.Hour), now); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO segment_events (segment_id, at, user_id, action, detail) VALUES ('seg-feed', ?, ?, 'upload', '=cmd()')`, now.Add(-time.Hour), b.users["producer"].ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, ready_at) VALUES ('seg-feed', ?, ?, 65600, 'x', ?, ?)`,
			lang, key, len(audio), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("feed", func(t *testing.T) {
		resp, body := b.do(t, "GET", "/api/bulletin/blt/feed.xml", "", nil, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") {
			t.Fatalf("feed: %d %s", resp.StatusCode, body)
		}
		var feed struct {
			XMLName xml.Name `xml:"rss"`
			Version string   `xml:"version,attr"`
			Channel struct {
				Title    string `xml:"title"`
				Language string `xml:"language"`
				Items    []struct {
					Title     string `xml:"title"`
					GUID      string `xml:"guid"`
					PubDate   string `xml:"pubDate"`
					Duration  string `xml:"duration"`
					Enclosure struct {
						URL    string `xml:"url,attr"`
						Length int64  `xml:"length,attr"`
						Type   string `xml:"type,attr"`
					} `xml:"enclosure"`
				} `xml:"item"`
			} `xml:"channel"`
		}
		if err := xml.Unmarshal(body, &feed); err != nil {
			t.Fatalf("feed is not well-formed XML: %v\n%s", err, body)
		}
		if feed.Version != "2.0" || feed.Channel.Language != "blt" || len(feed.Channel.Items) != 1 {
			t.Fatalf("feed %+v", feed)
		}
		it := feed.Channel.Items[0]
		// 65.6 s is 1:06 as a clock rounds it (it read 00:01:05, cut).
		if it.Title != "Nộp hồ sơ trực tuyến <&>" || it.Enclosure.Type != "audio/mpeg" || it.Enclosure.Length != int64(len(audio)) || it.Duration != "1:06" {
			t.Fatalf("item %+v", it)
		}
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
			t.Fatalf("pubDate %q: %v", it.PubDate, err)
		}
		got, err := http.Get(it.Enclosure.URL)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if got.StatusCode != 200 || !bytes.Equal(data, audio) {
			t.Fatalf("enclosure %s: %d, %d bytes", it.Enclosure.URL, got.StatusCode, len(data))
		}
		if resp, _ := b.do(t, "GET", "/api/bulletin/fr/feed.xml", "", nil, ""); resp.StatusCode != 404 {
			t.Fatalf("unknown language: %d", resp.StatusCode)
		}
		week := report.WeekStart(now)
		y, w := week.ISOWeek()
		resp, body = b.do(t, "GET", fmt.Sprintf("/api/bulletin/vi?week=%d-W%02d", y, w), "", nil, "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Nộp hồ sơ trực tuyến &lt;&amp;&gt;") || !strings.Contains(string(body), "<audio") {
			t.Fatalf("bulletin page %d: %s", resp.StatusCode, body)
		}
		// Without a week the page is the last complete one, here empty:
		// it names that week's days, not "this week".
		last := week.AddDate(0, 0, -7)
		resp, body = b.do(t, "GET", "/api/bulletin/vi", "", nil, "")
		if empty := "Tuần " + last.Format("02/01/2006") + "–" + last.AddDate(0, 0, 6).Format("02/01/2006") + " không có tin"; resp.StatusCode != 200 || !strings.Contains(string(body), empty) || strings.Contains(string(body), "Tuần này") {
			t.Fatalf("the last complete week's page %d, want %q: %s", resp.StatusCode, empty, body)
		}
	})

	t.Run("report", func(t *testing.T) {
		period := report.PeriodOf(report.Quarter, now).Name
		resp, body := b.do(t, "GET", "/api/reports?period="+period+"&format=xlsx", b.tokens["admin"], nil, "")
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "bao-cao-cchc-"+period+".xlsx") {
			t.Fatalf("xlsx: %d %s", resp.StatusCode, body)
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if v, _ := f.GetCellValue(report.SheetSummary, "B10"); v != "1" {
			t.Fatalf("segments in the quarter: %q", v)
		}
		resp, body = b.do(t, "GET", "/api/reports?period=2019&format=csv", b.tokens["admin"], nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("empty year: %d %s", resp.StatusCode, body)
		}
		if _, err := csv.NewReader(bytes.NewReader(body)).ReadAll(); err != nil {
			t.Fatal(err)
		}
		resp, body = b.do(t, "GET", "/api/reports?period=2025-Q5", b.tokens["admin"], nil, "")
		if resp.StatusCode != 422 || !strings.Contains(string(body), "2025-Q1") {
			t.Fatalf("bad period: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("audit", func(t *testing.T) {
		resp, body := b.do(t, "GET", "/api/audit?format=csv&period="+report.PeriodOf(report.Month, now).Name, b.tokens["admin"], nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("audit: %d %s", resp.StatusCode, body)
		}
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var upload, userCreate bool
		for _, r := range recs {
			upload = upload || (r[2] == "segment.upload" && r[1] == "u-producer" && r[4] == "'=cmd()")
			userCreate = userCreate || (r[2] == "user.create" && r[3] == "u-admin")
		}
		if !upload || !userCreate {
			t.Fatalf("audit lacks the upload (formula-escaped) or the user creation:\n%s", body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, body := b.do(t, "GET", "/metrics", b.tokens["admin"], nil, "")
		if !strings.Contains(string(body), "loa_catalog_scrape_ok 1") || !strings.Contains(string(body), "loa_devices 0") {
			t.Fatalf("metrics lack the catalog figures:\n%s", body)
		}
	})
}
