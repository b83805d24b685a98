// Package bulletin renders Loa's weekly CCHC bulletin: per language, the
// segments that became ready to air in a week (Monday to Sunday,
// Asia/Ho_Chi_Minh), as an HTML page for the provincial portal and as an
// RSS 2.0 podcast feed whose enclosures are the loudspeaker renditions.
// Four issues a month is what the province's plan asks (§II.1 i). The
// package is pure: the caller passes the items with their audio links.
package bulletin

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// Item is one segment ready to air in a language: an item of the weekly
// bulletin and its podcast feed. The store gives it with AudioKey, the
// audio's object; the server sets AudioURL, the stable link pages and
// feeds carry.
type Item struct {
	SegmentID   string    `json:"segment_id"`
	Language    string    `json:"language"`
	Title       string    `json:"title"`
	Topic       string    `json:"topic"`
	Kind        string    `json:"kind"`
	ReadyAt     time.Time `json:"ready_at"`
	AudioKey    string    `json:"-"`
	AudioURL    string    `json:"audio_url,omitempty"`
	ContentType string    `json:"content_type"`
	DurationMS  int64     `json:"duration_ms"`
	Size        int64     `json:"size_bytes"`
}

// Issue is one week's bulletin in one language.
type Issue struct {
	Language string
	Week     time.Time // Monday 00:00, Asia/Ho_Chi_Minh
	Items    []Item
	// Link is the issue page's absolute URL, FeedLink the feed's.
	Link, FeedLink string
}

// WeekName names the ISO week of the issue, such as 2025-W03.
func (i Issue) WeekName() string { return WeekName(i.Week) }

// WeekName names t's ISO week, such as 2025-W03.
func WeekName(t time.Time) string {
	y, w := t.In(report.Location()).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// ParseWeek reads an ISO week such as 2025-W03 and returns its Monday
// 00:00 in Asia/Ho_Chi_Minh.
func ParseWeek(s string) (time.Time, error) {
	bad := pipeline.FieldError("week", "Week %q is not an ISO week: write it like 2025-W03.", strings.ToValidUTF8(s[:min(len(s), 20)], "?"))
	y, w, ok := strings.Cut(strings.ToUpper(strings.TrimSpace(s)), "-W")
	if !ok || len(y) != 4 || len(w) < 1 || len(w) > 2 {
		return time.Time{}, bad
	}
	year, err1 := strconv.Atoi(y)
	week, err2 := strconv.Atoi(w)
	if err1 != nil || err2 != nil || year < 2000 || year > 2100 || week < 1 || week > 53 {
		return time.Time{}, bad
	}
	// ISO week 1 holds January 4th.
	jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, report.Location())
	monday := report.WeekStart(jan4).AddDate(0, 0, 7*(week-1))
	if yy, ww := monday.ISOWeek(); yy != year || ww != week {
		return time.Time{}, bad
	}
	return monday, nil
}

// Language names for feeds; RSS takes ISO 639 codes as they are.
func languageTitle(code string) string { return report.LanguageName(code) }

func topicName(code string) string {
	if t, ok := pipeline.TopicByCode(code); ok {
		return t.Name
	}
	return code
}

type rss struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Itunes  string   `xml:"xmlns:itunes,attr"`
	Atom    string   `xml:"xmlns:atom,attr"`
	Channel channel  `xml:"channel"`
}

type channel struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	AtomLink    atomLink `xml:"atom:link"`
	Description string   `xml:"description"`
	Language    string   `xml:"language"`
	PubDate     string   `xml:"pubDate,omitempty"`
	Generator   string   `xml:"generator"`
	Author      string   `xml:"itunes:author"`
	Category    category `xml:"itunes:category"`
	Explicit    string   `xml:"itunes:explicit"`
	ItunesImage href     `xml:"itunes:image"`
	Image       rssImage `xml:"image"`
	Items       []item   `xml:"item"`
}

type href struct {
	Href string `xml:"href,attr"`
}

// rssImage is RSS 2.0's channel image: its URL, and the channel's title and
// link, which it must repeat.
type rssImage struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type category struct {
	Text string `xml:"text,attr"`
}

type item struct {
	Title       string    `xml:"title"`
	Description string    `xml:"description"`
	GUID        guid      `xml:"guid"`
	PubDate     string    `xml:"pubDate"`
	Category    string    `xml:"category"`
	Enclosure   enclosure `xml:"enclosure"`
	Duration    string    `xml:"itunes:duration"`
}

type guid struct {
	Value     string `xml:",chardata"`
	Permalink string `xml:"isPermaLink,attr"`
}

type enclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

// WriteRSS writes an RSS 2.0 podcast feed of the issues, newest item
// first: link is the bulletin page, feedLink the feed itself and artwork
// the square image (PNG or JPEG) shown as itunes:image and <image>, all
// absolute URLs. Each item's enclosure is its Item's AudioURL, Size and
// ContentType.
func WriteRSS(w io.Writer, lang, link, feedLink, artwork string, issues []Issue) error {
	title := "Bản tin CCHC Sơn La — " + languageTitle(lang)
	ch := channel{
		Title:       title,
		ItunesImage: href{Href: artwork},
		Image:       rssImage{URL: artwork, Title: title, Link: link},
		Link:        link,
		AtomLink:    atomLink{Href: feedLink, Rel: "self", Type: "application/rss+xml"},
		Description: "Bản tin điện tử cải cách hành chính tỉnh Sơn La, mỗi tuần một số: các tin, bài đã duyệt phát trên hệ thống loa truyền thanh cơ sở.",
		Language:    lang,
		Generator:   "Loa",
		Author:      "UBND tỉnh Sơn La",
		Category:    category{Text: "Government"},
		Explicit:    "false",
	}
	for i := len(issues) - 1; i >= 0; i-- {
		is := issues[i]
		for j := len(is.Items) - 1; j >= 0; j-- {
			it := is.Items[j]
			if ch.PubDate == "" {
				ch.PubDate = it.ReadyAt.Format(time.RFC1123Z)
			}
			ch.Items = append(ch.Items, item{
				Title:       it.Title,
				Description: fmt.Sprintf("%s (%s) — số %s", topicName(it.Topic), it.Kind, is.WeekName()),
				GUID:        guid{Value: "loa:" + it.SegmentID + ":" + it.Language, Permalink: "false"},
				PubDate:     it.ReadyAt.Format(time.RFC1123Z),
				Category:    topicName(it.Topic),
				Enclosure:   enclosure{URL: it.AudioURL, Length: it.Size, Type: it.ContentType},
				Duration:    pipeline.ClockDuration(it.DurationMS),
			})
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(rss{Version: "2.0", Itunes: "http://www.itunes.com/dtds/podcast-1.0.dtd", Atom: "http://www.w3.org/2005/Atom", Channel: ch}); err != nil {
		return fmt.Errorf("write feed: %w", err)
	}
	return enc.Close()
}

var page = template.Must(template.New("bulletin").Funcs(template.FuncMap{
	"topic": topicName, "lang": languageTitle,
	"local":   func(t time.Time) string { return t.In(report.Location()).Format("02/01/2006 15:04") },
	"minutes": pipeline.ClockDuration,
	"sunday":  func(t time.Time) string { return t.AddDate(0, 0, 6).Format("02/01/2006") },
}).Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bản tin CCHC Sơn La {{.WeekName}} — {{lang .Language}}</title>
<link rel="alternate" type="application/rss+xml" href="{{.FeedLink}}" title="RSS">
<style>body{font-family:"Noto Sans","Noto Sans Tai Viet",system-ui,sans-serif;margin:1.5rem;max-width:48rem}li{margin:0 0 1rem}audio{width:100%}.m{color:#555;font-size:.85rem}</style>
</head><body>
<h1>Bản tin CCHC Sơn La — số {{.WeekName}}</h1>
<p>{{lang .Language}} · tuần từ {{.Week.Format "02/01/2006"}} đến {{sunday .Week}} · <a href="{{.FeedLink}}">RSS (podcast)</a></p>
<ol>
{{range .Items}}<li><strong>{{.Title}}</strong><br><span class="m">{{topic .Topic}} · {{.Kind}} · {{minutes .DurationMS}} · {{local .ReadyAt}}</span><br>
<audio controls preload="none" src="{{.AudioURL}}"></audio></li>
{{else}}<li>Tuần {{.Week.Format "02/01/2006"}}–{{sunday .Week}} không có tin, bài nào được duyệt bằng {{lang .Language}}.</li>
{{end}}</ol>
</body></html>
`))

// WriteHTML writes the issue as a page the provincial portal can link to
// or embed.
func WriteHTML(w io.Writer, is Issue) error {
	if err := page.Execute(w, is); err != nil {
		return fmt.Errorf("bulletin page: %w", err)
	}
	return nil
}
