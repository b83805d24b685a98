package sqlstore

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sonla-cchc/loa/pipeline/report"
)

// expect computes, from the seeded rows and with plain loops, the figures
// a report of period p built at now must show.
type expected struct {
	segments, radio, tv, withdrawn int
	topics                         map[string]int
	producers                      map[string]int
	opened, approved, overdue      map[string]int
	open                           map[string]int
	median, p90                    map[string]int64
	scheduled, played              map[[3]string]int64
	slotsExpected, slotsScheduled  map[string]int
	underfilled                    map[string]int
	gaps                           int
	portal, bulletin, thai, hmong  map[string]int
}

func (m *seedModel) expect(p report.Period, now time.Time) expected {
	in := func(t time.Time) bool { return !t.Before(p.From) && t.Before(p.Until) }
	last := p.Until
	if now.Before(last) {
		last = now
	}
	e := expected{topics: map[string]int{}, producers: map[string]int{}, opened: map[string]int{}, approved: map[string]int{},
		overdue: map[string]int{}, open: map[string]int{}, median: map[string]int64{}, p90: map[string]int64{},
		scheduled: map[[3]string]int64{}, played: map[[3]string]int64{}, slotsExpected: map[string]int{}, slotsScheduled: map[string]int{},
		underfilled: map[string]int{}, portal: map[string]int{}, bulletin: map[string]int{}, thai: map[string]int{}, hmong: map[string]int{}}
	withdrawn := map[string]bool{}
	for _, s := range m.segs {
		withdrawn[s.id] = s.withdrawn
		if !in(s.created) {
			continue
		}
		if s.withdrawn {
			e.withdrawn++
			continue
		}
		e.segments++
		e.topics[s.topic]++
		e.producers[s.producer]++
		if s.kind == "tv" {
			e.tv++
		} else {
			e.radio++
		}
	}
	turn := map[string][]int64{}
	for _, j := range m.jobs {
		if in(j.created) {
			e.opened[j.lang]++
		}
		if !j.approved.IsZero() && in(j.approved) {
			e.approved[j.lang]++
			turn[j.lang] = append(turn[j.lang], j.approved.Sub(j.created).Milliseconds())
		}
		if j.state != "cancelled" && !j.deadline.Before(p.From) && j.deadline.Before(last) && (j.approved.IsZero() || j.approved.After(j.deadline)) {
			e.overdue[j.lang]++
		}
		if j.created.Before(p.Until) && j.approved.IsZero() && j.state != "cancelled" {
			e.open[j.lang]++
		}
	}
	for lang, v := range turn {
		sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })
		if len(v)%2 == 1 {
			e.median[lang] = v[len(v)/2]
		} else {
			e.median[lang] = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		for _, c := range v { // the smallest value with at least 90 % at or below it
			n := 0
			for _, x := range v {
				if x <= c {
					n++
				}
			}
			if n*10 >= len(v)*9 {
				e.p90[lang] = c
				break
			}
		}
	}
	// The last version built for each commune and day is what aired.
	lastBuilt := map[[2]string]time.Time{}
	for _, it := range m.items {
		k := [2]string{it.commune, it.date}
		if it.built.After(lastBuilt[k]) {
			lastBuilt[k] = it.built
		}
	}
	dayIn := func(date string) bool {
		d, _ := time.ParseInLocation(time.DateOnly, date, report.Location())
		return in(d)
	}
	lang := map[[4]string]string{}
	type slotK struct {
		commune, cluster, date string
		slot                   int
	}
	fill := map[slotK]int64{}
	for _, it := range m.items {
		if !it.built.Equal(lastBuilt[[2]string{it.commune, it.date}]) || !dayIn(it.date) {
			continue
		}
		lang[[4]string{it.commune, it.cluster, it.date, it.entry}] = it.lang
		if it.kind == "segment" || it.kind == "interrupt" {
			e.scheduled[[3]string{it.commune, it.cluster, it.lang}] += it.dur
		}
		if it.kind != "interrupt" {
			fill[slotK{it.commune, it.cluster, it.date, it.slot}] += map[bool]int64{true: it.dur}[it.kind == "segment"]
		}
	}
	for _, c := range m.reg.Communes {
		for _, cl := range c.Clusters {
			for _, sl := range c.SlotsOf(&cl) {
				for d := p.From; d.Before(last); d = d.AddDate(0, 0, 1) {
					if sl.Days.Has(d.Weekday()) {
						e.slotsExpected[c.Code]++
					}
				}
				room := (sl.Length - sl.Reserved).Milliseconds()
				for k, f := range fill {
					d, _ := time.ParseInLocation(time.DateOnly, k.date, report.Location())
					if k.commune == c.Code && k.cluster == cl.ID && k.slot == int(sl.Start) && sl.Days.Has(d.Weekday()) {
						e.slotsScheduled[c.Code]++
						if float64(f) < 0.8*float64(room) {
							e.underfilled[c.Code]++
						}
					}
				}
			}
			for _, l := range cl.Languages {
				if e.scheduled[[3]string{c.Code, cl.ID, string(l)}] == 0 {
					e.gaps++
				}
			}
		}
	}
	best := map[[4]string]int64{}
	playedAny := map[[4]string]bool{}
	for _, pl := range m.plays {
		k := [4]string{pl.commune, pl.cluster, pl.date, pl.entry}
		if pl.status != "played" || !dayIn(pl.date) {
			continue
		}
		playedAny[k] = true
		best[k] = max(best[k], pl.finished.Sub(pl.started).Milliseconds())
	}
	for k := range playedAny {
		l, ok := lang[k]
		if !ok {
			l = "?"
		}
		e.played[[3]string{k[0], k[1], l}] += best[k]
	}
	// Targets.
	firstReady := map[string]time.Time{}
	weeks := map[string]bool{}
	seen := map[string]bool{}
	for _, v := range m.vars {
		if withdrawn[v.seg] {
			continue
		}
		if f, ok := firstReady[v.seg]; !ok || v.ready.Before(f) {
			firstReady[v.seg] = v.ready
		}
		if !in(v.ready) {
			continue
		}
		local := v.ready.In(report.Location())
		monday := local.AddDate(0, 0, -((int(local.Weekday()) + 6) % 7))
		monday = time.Date(monday.Year(), monday.Month(), monday.Day(), 0, 0, 0, 0, report.Location())
		if !monday.AddDate(0, 0, 7).After(now) {
			weeks[monday.Format("2006-01-02")] = true
		}
		month := local.Format("2006-01")
		if seen[month+v.seg+v.lang] {
			continue
		}
		seen[month+v.seg+v.lang] = true
		switch v.lang {
		case "blt":
			e.thai[month]++
		case "hnj":
			e.hmong[month]++
		}
	}
	for _, t := range firstReady {
		if in(t) {
			e.portal[t.In(report.Location()).Format("2006-01")]++
		}
	}
	for w := range weeks {
		e.bulletin[w[:7]]++
	}
	return e
}

func TestReportFromSeededCatalog(t *testing.T) {
	t.Parallel()
	db := setup(t)
	loc := report.Location()
	m := seedReport(t, db, seedConfig{communes: 3, clusters: 2, from: time.Date(2025, 1, 1, 0, 0, 0, 0, loc), to: time.Date(2025, 3, 31, 0, 0, 0, 0, loc),
		cover: 2, segments: 80, seed: 1})
	for _, tc := range []struct {
		period string
		now    time.Time
	}{
		{"2025-Q1", time.Date(2025, 4, 2, 9, 0, 0, 0, loc)},
		{"2025-Q1", time.Date(2025, 2, 15, 12, 0, 0, 0, loc)}, // while the quarter runs
		{"2025-02", time.Date(2025, 4, 2, 9, 0, 0, 0, loc)},
		{"2025-01-10..2025-03-05", time.Date(2025, 4, 2, 9, 0, 0, 0, loc)},
	} {
		t.Run(tc.period+" at "+tc.now.Format("01-02"), func(t *testing.T) {
			p, err := report.ParsePeriod(tc.period)
			if err != nil {
				t.Fatal(err)
			}
			r, err := report.Build(context.Background(), db, p, "", tc.now)
			if err != nil {
				t.Fatal(err)
			}
			e := m.expect(p, tc.now)
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			s := r.Summary
			check("segments", s.Segments, e.segments)
			check("radio", s.Radio, e.radio)
			check("tv", s.TV, e.tv)
			check("withdrawn", s.Withdrawn, e.withdrawn)
			check("partial", r.Partial, !p.Closed(tc.now))
			if e.segments == 0 {
				t.Fatal("the seed put no segment in the period: the test proves nothing")
			}
			for _, tp := range r.Topics {
				check("topic "+tp.Code, tp.Total, e.topics[tp.Code])
			}
			for _, pr := range r.Producers {
				check("producer "+pr.Producer, pr.Total, e.producers[pr.Producer])
			}
			for _, l := range r.Translation {
				check("opened "+l.Language, l.Opened, e.opened[l.Language])
				check("approved "+l.Language, l.Approved, e.approved[l.Language])
				check("median "+l.Language, l.MedianMS, e.median[l.Language])
				check("p90 "+l.Language, l.P90MS, e.p90[l.Language])
				check("overdue "+l.Language, l.Overdue, e.overdue[l.Language])
				check("open "+l.Language, l.Open, e.open[l.Language])
			}
			var wantSched, wantPlayed int64
			for _, v := range e.scheduled {
				wantSched += v
			}
			for _, v := range e.played {
				wantPlayed += v
			}
			check("scheduled ms", s.ScheduledMS, wantSched)
			check("played ms", s.PlayedMS, wantPlayed)
			if wantPlayed == 0 || wantSched == 0 {
				t.Fatal("no airtime in the seed")
			}
			for _, b := range r.Broadcast {
				k := [3]string{b.Commune, b.Cluster, b.Language}
				check("scheduled "+strings.Join(k[:], "/"), b.ScheduledMS, e.scheduled[k])
				check("played "+strings.Join(k[:], "/"), b.PlayedMS, e.played[k])
			}
			for _, c := range r.Communes {
				check("slots expected "+c.Commune, c.SlotsExpected, e.slotsExpected[c.Commune])
				check("slots scheduled "+c.Commune, c.SlotsScheduled, e.slotsScheduled[c.Commune])
				check("underfilled "+c.Commune, c.SlotsUnderfilled, e.underfilled[c.Commune])
			}
			check("gaps", len(r.Gaps), e.gaps)
			for _, mo := range r.Months {
				check("portal "+mo.Month, mo.PortalItems, e.portal[mo.Month])
				check("bulletin "+mo.Month, mo.BulletinIssues, e.bulletin[mo.Month])
				check("thai "+mo.Month, mo.ThaiItems, e.thai[mo.Month])
				check("hmong "+mo.Month, mo.HmongItems, e.hmong[mo.Month])
				check("portal met "+mo.Month, mo.PortalMet, e.portal[mo.Month] >= 2)
				check("bulletin met "+mo.Month, mo.BulletinMet, e.bulletin[mo.Month] >= 4)
			}
			check("months", len(r.Months), len(p.Months()))
			// The emergency of the seed falls in the quarter.
			if p.Name == "2025-Q1" {
				if len(r.Emergencies) != 1 || len(r.Emergencies[0].Targets) != 1 {
					t.Fatalf("emergencies = %+v", r.Emergencies)
				}
				em, tg := r.Emergencies[0], r.Emergencies[0].Targets[0]
				check("emergency changed after", tg.ChangedAt.Sub(em.MarkedAt), 2*time.Minute)
				check("emergency first played after", tg.FirstPlayed.Sub(em.MarkedAt), 5*time.Minute)
			}
			checkRenderings(t, r)
		})
	}
	t.Run("one commune", func(t *testing.T) {
		p, _ := report.ParsePeriod("2025-Q1")
		r, err := report.Build(context.Background(), db, p, "xa-01", time.Date(2025, 4, 2, 0, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		e := m.expect(p, time.Date(2025, 4, 2, 0, 0, 0, 0, loc))
		var want int64
		for k, v := range e.scheduled {
			if k[0] == "xa-01" {
				want += v
			}
		}
		if r.Summary.ScheduledMS != want || len(r.Communes) != 1 || r.CommuneName != "Xã 01" {
			t.Fatalf("commune report: scheduled %d want %d, communes %d, name %q", r.Summary.ScheduledMS, want, len(r.Communes), r.CommuneName)
		}
		if len(r.Emergencies) != 0 {
			t.Fatalf("the emergency of xa-00 shows in xa-01's report")
		}
		if _, err := report.Build(context.Background(), db, p, "no-such", time.Now()); err == nil || !strings.Contains(err.Error(), "loa communes list") {
			t.Fatalf("unknown commune: %v", err)
		}
	})
}

// An empty catalog, or a period with nothing in it, gives an empty but
// valid report in every format.
func TestReportEmptyPeriod(t *testing.T) {
	t.Parallel()
	db := setup(t)
	for _, name := range []string{"2024", "2025-H2", "2031-Q4"} {
		p, err := report.ParsePeriod(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := report.Build(context.Background(), db, p, "", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Summary != (report.Summary{}) {
			t.Fatalf("%s: summary %+v, want zeros", name, r.Summary)
		}
		if len(r.Months) != len(p.Months()) || len(r.Topics) != 10 {
			t.Fatalf("%s: %d months, %d topics", name, len(r.Months), len(r.Topics))
		}
		checkRenderings(t, r)
	}
}

// checkRenderings renders the report in every format and reads each
// back: the XLSX with excelize (sheets, figures and a chart), the CSV with
// encoding/csv, the HTML for its inline SVG.
func checkRenderings(t *testing.T, r *report.Report) {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Render(&buf, r, report.XLSX); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("open xlsx: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, "|") != strings.Join(report.Sheets, "|") {
		t.Fatalf("sheets %v, want %v", got, report.Sheets)
	}
	rows, err := f.GetRows(report.SheetMonths)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Months)+1 {
		t.Fatalf("month sheet has %d rows, want %d", len(rows), len(r.Months)+1)
	}
	for i, m := range r.Months {
		if rows[i+1][0] != m.Month || rows[i+1][2] != itoa(m.PortalItems) || rows[i+1][3] != itoa(m.BulletinIssues) {
			t.Fatalf("month row %v, want %+v", rows[i+1], m)
		}
	}
	brows, _ := f.GetRows(report.SheetBroadcast)
	if len(brows) != len(r.Broadcast)+1 {
		t.Fatalf("broadcast sheet has %d rows, want %d", len(brows), len(r.Broadcast)+1)
	}
	seg, _ := f.GetCellValue(report.SheetSummary, "B10")
	if seg != itoa(r.Summary.Segments) {
		t.Fatalf("summary B10 = %q, want the segment count %d", seg, r.Summary.Segments)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	charts := 0
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			charts++
		}
	}
	if len(r.Months) > 0 && charts < 1 {
		t.Fatalf("the workbook has no chart")
	}

	buf.Reset()
	if err := report.Render(&buf, r, report.CSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	found := false
	for _, rec := range recs[1:] {
		if rec[0] == "summary" && rec[6] == "segments" {
			found = rec[7] == itoa(r.Summary.Segments)
		}
	}
	if !found {
		t.Fatalf("csv has no summary/segments line with %d", r.Summary.Segments)
	}

	buf.Reset()
	if err := report.Render(&buf, r, report.HTML); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "<svg"); n != 4 {
		t.Fatalf("html has %d inline charts, want 4", n)
	}
	if strings.Contains(buf.String(), "http://") && !strings.Contains(buf.String(), `xmlns="http://www.w3.org/2000/svg"`) {
		t.Fatalf("html refers to an outside resource")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
