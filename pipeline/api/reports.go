package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/bulletin"
	"github.com/sonla-cchc/loa/pipeline/formula"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// ReportStore is what reports, the audit log, the bulletin and the
// operational metrics read; the Catalog provides it when it can
// (sqlstore.DB does), otherwise those routes answer 503.
type ReportStore interface {
	report.Source // reports are built from it (report.Build)
	StoredReports(ctx context.Context) ([]report.StoredReport, error)
	Audit(ctx context.Context, from, until time.Time) ([]pipeline.AuditEntry, error)
	BulletinItems(ctx context.Context, lang string, from, until time.Time) ([]bulletin.Item, error)
	BulletinItem(ctx context.Context, segmentID, lang string) (bulletin.Item, error)
	Ops(ctx context.Context, silentSince time.Time) (pipeline.OpsStats, error)
}

// FeedWeeks is how many weekly issues the podcast feed carries.
const FeedWeeks = 8

// audioLinkTTL is how long the presigned link that a bulletin audio URL
// redirects to stays valid. The feed and the page carry the stable URL on
// Loa (/api/bulletin/LANG/audio/SEGMENT.mp3), so podcast apps keep one
// address per episode, and each play gets a fresh link: it is followed at
// once, so 10 minutes covers a slow start and a resumed download, and a
// withdrawn segment (whose URL on Loa answers 404) stops playing soon.
const audioLinkTTL = 10 * time.Minute

func (s *Server) reportRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/reports", Roles: adminOnly, handler: s.getReport},
		{Method: "GET", Pattern: "/api/reports/stored", Roles: adminOnly, handler: s.storedReports},
		{Method: "GET", Pattern: "/api/audit", Roles: adminOnly, handler: s.audit},
		// The bulletin is public on purpose: it is the province's public
		// CCHC information, meant for the portal and any podcast app
		// (which cannot send a token), and carries approved content only.
		{Method: "GET", Pattern: "/api/bulletin/{lang}", Public: true, Roles: publicNone, handler: s.bulletinPage},
		{Method: "GET", Pattern: "/api/bulletin/{lang}/feed.xml", Public: true, Roles: publicNone, handler: s.bulletinFeed},
		{Method: "GET", Pattern: "/api/bulletin/{lang}/audio/{file}", Public: true, Roles: publicNone, handler: s.bulletinAudio},
		{Method: "GET", Pattern: "/api/bulletin/artwork.png", Public: true, Roles: publicNone, handler: s.bulletinArtwork},
	}
}

func (s *Server) reportStore() (ReportStore, error) {
	if rs, ok := s.Catalog.(ReportStore); ok {
		return rs, nil
	}
	return nil, pipeline.Errorf(pipeline.CodeUnavailable, "Reports are not available on this server (its catalog cannot compute them).")
}

// getReport answers GET /api/reports?period=2025-Q1&format=xlsx[&commune=CODE].
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := report.ParsePeriod(q.Get("period"))
	if err != nil {
		return err
	}
	f := report.JSON
	if v := q.Get("format"); v != "" {
		if f, err = report.ParseFormat(v); err != nil {
			return err
		}
	}
	rep, err := report.Build(r.Context(), rs, p, strings.TrimSpace(q.Get("commune")), s.now())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, rep, f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	if f != report.JSON && f != report.HTML {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rep.FileName(f)))
	}
	_, _ = w.Write(buf.Bytes())
	return nil
}

// StoredReportLink is a stored report with a short-lived download link.
type StoredReportLink struct {
	report.StoredReport
	URL string `json:"url,omitempty"`
}

func (s *Server) storedReports(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	list, err := rs.StoredReports(r.Context())
	if err != nil {
		return err
	}
	out := make([]StoredReportLink, 0, len(list))
	for _, sr := range list {
		l := StoredReportLink{StoredReport: sr}
		if s.Objects != nil {
			name := sr.Key[strings.LastIndexByte(sr.Key, '/')+1:]
			if l.URL, err = s.Objects.Presign(r.Context(), sr.Key, time.Hour, name); err != nil {
				return err
			}
		}
		out = append(out, l)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// audit answers GET /api/audit?period=2025-03[&format=csv]: who did what.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pv := q.Get("period")
	if pv == "" {
		pv = report.PeriodOf(report.Month, s.now()).Name
	}
	p, err := report.ParsePeriod(pv)
	if err != nil {
		return err
	}
	entries, err := rs.Audit(r.Context(), p.From, p.Until)
	if err != nil {
		return err
	}
	switch q.Get("format") {
	case "", "json":
		writeJSON(w, http.StatusOK, entries)
		return nil
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "nhat-ky-"+strings.ReplaceAll(p.Name, "..", "_")+".csv"))
		cw := formula.NewWriter(w) // every cell: actor and subject are names people chose
		_ = cw.Write([]string{"at", "actor", "action", "subject", "detail"})
		for _, e := range entries {
			_ = cw.Write([]string{e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Subject, e.Detail})
		}
		cw.Flush()
		return cw.Error()
	}
	return pipeline.FieldError("format", "Unknown audit format %q: choose json or csv.", q.Get("format"))
}

// csvSafe keeps a spreadsheet from running a cell that came from user
// text as a formula.
func bulletinLanguage(r *http.Request) (string, error) {
	lang := r.PathValue("lang")
	if !slices.Contains(pipeline.KnownLanguages, lang) {
		return "", pipeline.Errorf(pipeline.CodeNotFound, "No bulletin in %q: the bulletin exists in vi, blt (Thái) and hnj (Mông).", lang)
	}
	return lang, nil
}

// issues gathers weeks of bulletin issues from the week starting at from;
// each item's audio is its stable URL under base (see bulletinAudio).
func (s *Server) issues(r *http.Request, lang string, from time.Time, weeks int, base string) ([]bulletin.Issue, error) {
	rs, err := s.reportStore()
	if err != nil {
		return nil, err
	}
	until := from.AddDate(0, 0, 7*weeks)
	items, err := rs.BulletinItems(r.Context(), lang, from, until)
	if err != nil {
		return nil, err
	}
	out := make([]bulletin.Issue, weeks)
	for i := range out {
		out[i] = bulletin.Issue{Language: lang, Week: from.AddDate(0, 0, 7*i)}
	}
	for _, it := range items {
		i := int(report.WeekStart(it.ReadyAt).Sub(from).Hours()) / (24 * 7)
		if i < 0 || i >= weeks {
			continue
		}
		it.AudioURL = base + "/api/bulletin/" + lang + "/audio/" + url.PathEscape(it.SegmentID) + audioExt(it.ContentType)
		out[i].Items = append(out[i].Items, it)
	}
	return out, nil
}

// audioExt is the file extension of an audio type, so podcast apps that
// look at the URL see what it is.
func audioExt(contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])) {
	case "audio/mpeg":
		return ".mp3"
	case "audio/ogg", "audio/opus":
		return ".ogg"
	case "audio/mp4", "audio/aac":
		return ".m4a"
	case "audio/wav", "audio/x-wav":
		return ".wav"
	}
	return ""
}

// bulletinAudio answers GET /api/bulletin/{lang}/audio/{segment}[.ext],
// the stable address of a bulletin item's audio, with a redirect to a
// fresh presigned link to the stored rendition (HEAD is answered here,
// as presigned links are for GET). Withdrawn segments and languages not
// ready are 404.
func (s *Server) bulletinAudio(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	lang, err := bulletinLanguage(r)
	if err != nil {
		return err
	}
	rs, err := s.reportStore()
	if err != nil {
		return err
	}
	if s.Objects == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "The object store is not configured: audio links cannot be made.")
	}
	id := r.PathValue("file")
	if i := strings.LastIndexByte(id, '.'); i > 0 {
		id = id[:i]
	}
	it, err := rs.BulletinItem(r.Context(), id, lang)
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead {
		// A presigned link is signed for GET only; answer HEAD here, with
		// what the feed announces.
		w.Header().Set("Content-Type", it.ContentType)
		w.Header().Set("Content-Length", strconv.FormatInt(it.Size, 10))
		w.WriteHeader(http.StatusOK)
		return nil
	}
	u, err := s.Objects.Presign(r.Context(), it.AudioKey, audioLinkTTL, "")
	if err != nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "The audio cannot be linked now (object store: %v); try again shortly.", err)
	}
	w.Header().Set("Cache-Control", "private, max-age=300")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// bulletinArtwork answers GET /api/bulletin/artwork.png, the feed's
// square artwork (bulletin.Artwork), drawn once per server.
func (s *Server) bulletinArtwork(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	s.artworkOnce.Do(func() { s.artwork, s.artworkErr = bulletin.Artwork() })
	if s.artworkErr != nil {
		return s.artworkErr
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(s.artwork)
	return nil
}

// baseURL is the server's public address (PublicURL), never the
// request's Host header.
func (s *Server) baseURL() (string, error) {
	if s.PublicURL == "" {
		return "", pipeline.Errorf(pipeline.CodeUnavailable, "The server's public address is not set: set LOA_PUBLIC_URL (e.g. https://loa.example.vn) so the feed's links are absolute.")
	}
	return strings.TrimRight(s.PublicURL, "/"), nil
}

// bulletinPage answers GET /api/bulletin/{lang}?week=2025-W03; without a
// week, the last complete week.
func (s *Server) bulletinPage(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	lang, err := bulletinLanguage(r)
	if err != nil {
		return err
	}
	week := report.WeekStart(s.now()).AddDate(0, 0, -7)
	if v := r.URL.Query().Get("week"); v != "" {
		if week, err = bulletin.ParseWeek(v); err != nil {
			return err
		}
	}
	is, err := s.issues(r, lang, week, 1, "")
	if err != nil {
		return err
	}
	is[0].FeedLink = "/api/bulletin/" + lang + "/feed.xml"
	var buf bytes.Buffer
	if err := bulletin.WriteHTML(&buf, is[0]); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// bulletinFeed answers GET /api/bulletin/{lang}/feed.xml: the last
// FeedWeeks weekly issues, the running week included, as RSS 2.0.
func (s *Server) bulletinFeed(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	lang, err := bulletinLanguage(r)
	if err != nil {
		return err
	}
	from := report.WeekStart(s.now()).AddDate(0, 0, -7*(FeedWeeks-1))
	base, err := s.baseURL()
	if err != nil {
		return err
	}
	is, err := s.issues(r, lang, from, FeedWeeks, base)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := bulletin.WriteRSS(&buf, lang, base+"/api/bulletin/"+lang, base+"/api/bulletin/"+lang+"/feed.xml", base+"/api/bulletin/artwork.png", is); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// opsCollector exports the catalog's operational figures at each scrape.
type opsCollector struct {
	store                                 ReportStore
	now                                   func() time.Time
	depth, age, jobs, silent, devices, up *prometheus.Desc
}

func newOpsCollector(rs ReportStore) *opsCollector {
	return &opsCollector{store: rs, now: time.Now,
		depth:   prometheus.NewDesc("loa_queue_jobs", "Background (River) jobs waiting or running, by kind and state.", []string{"kind", "state"}, nil),
		age:     prometheus.NewDesc("loa_queue_oldest_age_seconds", "Age of the oldest job due to run, by kind and state (0 for jobs scheduled in the future).", []string{"kind", "state"}, nil),
		jobs:    prometheus.NewDesc("loa_translation_jobs", "Translation and subtitle jobs by language and state.", []string{"language", "state"}, nil),
		silent:  prometheus.NewDesc("loa_devices_silent", "Loudspeaker devices of a commune that sent no play report in the last 24 hours.", []string{"commune"}, nil),
		devices: prometheus.NewDesc("loa_devices", "Registered loudspeaker devices.", nil, nil),
		up:      prometheus.NewDesc("loa_catalog_scrape_ok", "1 when the catalog figures above could be read.", nil, nil),
	}
}

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.age, c.jobs, c.silent, c.devices, c.up} {
		ch <- d
	}
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := c.now()
	st, err := c.store.Ops(ctx, now.Add(-24*time.Hour))
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, q := range st.Queue {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Count), q.Kind, q.State)
		age := 0.0
		if !q.Oldest.IsZero() && q.Oldest.Before(now) {
			age = now.Sub(q.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, q.Kind, q.State)
	}
	for k, n := range st.Jobs {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for commune, n := range st.SilentDevices {
		ch <- prometheus.MustNewConstMetric(c.silent, prometheus.GaugeValue, float64(n), commune)
	}
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(st.Devices))
}
