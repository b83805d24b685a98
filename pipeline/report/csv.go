package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/sonla-cchc/loa/pipeline/formula"
)

// CSVHeader is the header of the CSV form: one figure per line, in long
// ("tidy") form that spreadsheets pivot and scripts filter.
var CSVHeader = []string{"section", "month", "commune", "cluster", "language", "item", "metric", "value"}

// WriteCSV writes the report as CSV: one figure per line, every cell
// formula-safe.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := formula.NewWriter(w)
	put := func(section, month, commune, cluster, lang, item, metric string, v any) {
		var s string
		switch x := v.(type) {
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			s = fmt.Sprint(x)
		}
		_ = cw.Write([]string{section, month, commune, cluster, lang, item, metric, s})
	}
	_ = cw.Write(CSVHeader)
	p := r.Period
	put("report", "", r.Commune, "", "", p.Name, "from", p.From.Format("2006-01-02"))
	put("report", "", r.Commune, "", "", p.Name, "until", p.Until.AddDate(0, 0, -1).Format("2006-01-02"))
	put("report", "", r.Commune, "", "", p.Name, "generated_at", r.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z"))
	put("report", "", r.Commune, "", "", p.Name, "partial", r.Partial)
	s := r.Summary
	for _, kv := range []struct {
		k string
		v any
	}{
		{"segments", s.Segments}, {"radio", s.Radio}, {"tv", s.TV}, {"withdrawn", s.Withdrawn},
		{"jobs_opened", s.JobsOpened}, {"jobs_approved", s.JobsApproved}, {"jobs_overdue", s.JobsOverdue},
		{"minutes_scheduled", Minutes(s.ScheduledMS)}, {"minutes_played", Minutes(s.PlayedMS)},
		{"slots_expected", s.SlotsExpected}, {"slots_scheduled", s.SlotsScheduled}, {"slots_underfilled", s.SlotsUnderfilled},
		{"communes", s.Communes}, {"communes_with_gaps", s.CommunesWithGaps}, {"emergencies", s.Emergencies},
		{"months_all_targets_met", s.MonthsAllMet},
	} {
		put("summary", "", r.Commune, "", "", "", kv.k, kv.v)
	}
	for _, m := range r.Months {
		put("month", m.Month, "", "", "", "", "segments", m.Segments)
		put("month", m.Month, "", "", "", "", "portal_items", m.PortalItems)
		put("month", m.Month, "", "", "", "", "bulletin_issues", m.BulletinIssues)
		put("month", m.Month, "", "", "blt", "", "items_ready", m.ThaiItems)
		put("month", m.Month, "", "", "hnj", "", "items_ready", m.HmongItems)
		put("month", m.Month, r.Commune, "", "", "", "minutes_scheduled", Minutes(m.ScheduledMS))
		put("month", m.Month, r.Commune, "", "", "", "minutes_played", Minutes(m.PlayedMS))
		put("target", m.Month, "", "", "", "portal_items>=2", "met", m.PortalMet)
		put("target", m.Month, "", "", "", "bulletin_issues>=4", "met", m.BulletinMet)
		put("target", m.Month, "", "", "", "thai_and_hmong", "met", m.LanguagesMet)
	}
	for _, t := range r.Topics {
		put("topic", "", "", "", "", t.Code, "radio", t.Radio)
		put("topic", "", "", "", "", t.Code, "tv", t.TV)
		put("topic", "", "", "", "", t.Code, "total", t.Total)
	}
	for _, pr := range r.Producers {
		put("producer", "", "", "", "", pr.Producer, "radio", pr.Radio)
		put("producer", "", "", "", "", pr.Producer, "tv", pr.TV)
		put("producer", "", "", "", "", pr.Producer, "total", pr.Total)
		put("producer", "", "", "", "", pr.Producer, "withdrawn", pr.Withdrawn)
	}
	for _, l := range r.Translation {
		put("translation", "", "", "", l.Language, "", "opened", l.Opened)
		put("translation", "", "", "", l.Language, "", "approved", l.Approved)
		put("translation", "", "", "", l.Language, "", "median_hours", Hours(l.MedianMS))
		put("translation", "", "", "", l.Language, "", "p90_hours", Hours(l.P90MS))
		put("translation", "", "", "", l.Language, "", "overdue", l.Overdue)
		put("translation", "", "", "", l.Language, "", "open", l.Open)
	}
	for _, b := range r.Broadcast {
		put("broadcast", "", b.Commune, b.Cluster, b.Language, "", "minutes_scheduled", Minutes(b.ScheduledMS))
		put("broadcast", "", b.Commune, b.Cluster, b.Language, "", "minutes_played", Minutes(b.PlayedMS))
		put("broadcast", "", b.Commune, b.Cluster, b.Language, "", "entries_scheduled", b.Entries)
		put("broadcast", "", b.Commune, b.Cluster, b.Language, "", "entries_played", b.Played)
	}
	for _, c := range r.Communes {
		put("commune", "", c.Commune, "", "", "", "minutes_scheduled", Minutes(c.ScheduledMS))
		put("commune", "", c.Commune, "", "", "", "minutes_played", Minutes(c.PlayedMS))
		put("commune", "", c.Commune, "", "", "", "slots_expected", c.SlotsExpected)
		put("commune", "", c.Commune, "", "", "", "slots_scheduled", c.SlotsScheduled)
		put("commune", "", c.Commune, "", "", "", "slots_underfilled", c.SlotsUnderfilled)
	}
	for _, g := range r.Gaps {
		put("gap", "", g.Commune, g.Cluster, g.Language, "", "no_content", true)
	}
	for _, e := range r.Emergencies {
		put("emergency", "", "", "", "", e.SegmentID, "marked_at", e.MarkedAt.UTC().Format("2006-01-02T15:04:05Z"))
		put("emergency", "", "", "", "", e.SegmentID, "marked_by", e.MarkedBy)
		if e.RequestedBy != "" {
			put("emergency", "", "", "", "", e.SegmentID, "requested_by", e.RequestedBy)
		}
		for _, t := range e.Targets {
			changed, played := "", ""
			if !t.ChangedAt.IsZero() {
				changed = t.ChangedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			if !t.FirstPlayed.IsZero() {
				played = t.FirstPlayed.UTC().Format("2006-01-02T15:04:05Z")
			}
			put("emergency", "", t.Commune, "", "", e.SegmentID, "raised_at", t.RaisedAt.UTC().Format("2006-01-02T15:04:05Z"))
			put("emergency", "", t.Commune, "", "", e.SegmentID, "playlist_changed_at", changed)
			put("emergency", "", t.Commune, "", "", e.SegmentID, "first_played_at", played)
		}
	}
	cw.Flush()
	return cw.Error()
}
