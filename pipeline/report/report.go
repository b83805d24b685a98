package report

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// The plan's monthly targets (Kế hoạch tuyên truyền CCHC 2025, §II.1 i, k).
const (
	TargetPortalItems    = 2 // at least 2 CCHC items a month on the provincial portal
	TargetBulletinIssues = 4 // an electronic CCHC bulletin, 4 issues a month
)

// DefaultUnderfill is the share of a slot's room (its length after the
// relay) that CCHC segments must fill for the slot not to count as
// under-filled.
const DefaultUnderfill = 0.8

// Options say what a report covers.
type Options struct {
	Period Period
	// Commune, when set, limits the broadcast and emergency figures to one
	// commune (by code); segments, translation and targets stay
	// province-wide.
	Commune string
	// Registry lists the communes, clusters, languages and slots.
	Registry *schedules.Registry
	// Now is when the report is built: days after it are not yet due, so
	// their slots are not counted as missing.
	Now time.Time
	// Underfill overrides DefaultUnderfill (0–1).
	Underfill float64
}

// Report is the computed report. Durations are in milliseconds; the
// renderers show minutes.
type Report struct {
	Period      Period    `json:"period"`
	Commune     string    `json:"commune,omitempty"`
	CommuneName string    `json:"commune_name,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	// Partial is true when the period had not ended when the report was built.
	Partial   bool    `json:"partial"`
	Underfill float64 `json:"underfill"`

	Summary     Summary         `json:"summary"`
	Months      []MonthRow      `json:"months"`
	Topics      []TopicRow      `json:"topics"`
	Producers   []ProducerRow   `json:"producers"`
	Translation []LanguageRow   `json:"translation"`
	Broadcast   []BroadcastRow  `json:"broadcast"`
	Communes    []CommuneRow    `json:"communes"`
	Gaps        []Gap           `json:"gaps"`
	Emergencies []EmergencyRow  `json:"emergencies"`
	Languages   []LanguageTotal `json:"languages"`
}

// Summary holds the headline figures.
type Summary struct {
	Segments         int   `json:"segments"`
	Radio            int   `json:"radio"`
	TV               int   `json:"tv"`
	Withdrawn        int   `json:"withdrawn"`
	JobsOpened       int   `json:"jobs_opened"`
	JobsApproved     int   `json:"jobs_approved"`
	JobsOverdue      int   `json:"jobs_overdue"`
	ScheduledMS      int64 `json:"scheduled_ms"`
	PlayedMS         int64 `json:"played_ms"`
	SlotsExpected    int   `json:"slots_expected"`
	SlotsScheduled   int   `json:"slots_scheduled"`
	SlotsUnderfilled int   `json:"slots_underfilled"`
	Communes         int   `json:"communes"`
	CommunesWithGaps int   `json:"communes_with_gaps"`
	Emergencies      int   `json:"emergencies"`
	MonthsAllMet     int   `json:"months_all_targets_met"`
}

// MonthRow is one calendar month: what was produced and aired, and
// whether the plan's targets were met.
type MonthRow struct {
	Month          string `json:"month"` // 2025-01
	Segments       int    `json:"segments"`
	PortalItems    int    `json:"portal_items"`    // segments first ready to air this month
	BulletinIssues int    `json:"bulletin_issues"` // weeks starting this month, ended, with an item
	ThaiItems      int    `json:"thai_items"`      // segments ready in Thái this month
	HmongItems     int    `json:"hmong_items"`     // segments ready in Mông this month
	ScheduledMS    int64  `json:"scheduled_ms"`
	PlayedMS       int64  `json:"played_ms"`
	PortalMet      bool   `json:"portal_met"`
	BulletinMet    bool   `json:"bulletin_met"`
	LanguagesMet   bool   `json:"languages_met"`
}

// AllMet reports whether every target of the month was met.
func (m MonthRow) AllMet() bool { return m.PortalMet && m.BulletinMet && m.LanguagesMet }

// TopicRow counts the segments produced on one topic of the plan.
type TopicRow struct {
	Code   string `json:"code"`
	Letter string `json:"letter"`
	Name   string `json:"name"`
	Radio  int    `json:"radio"`
	TV     int    `json:"tv"`
	Total  int    `json:"total"`
}

// ProducerRow counts the segments of one producer.
type ProducerRow struct {
	Producer  string `json:"producer"`
	Radio     int    `json:"radio"`
	TV        int    `json:"tv"`
	Total     int    `json:"total"`
	Withdrawn int    `json:"withdrawn"`
}

// LanguageRow is translation in one language.
type LanguageRow struct {
	Language string `json:"language"`
	Name     string `json:"name"`
	Opened   int    `json:"opened"`   // jobs opened in the period
	Approved int    `json:"approved"` // jobs approved in the period
	// MedianMS and P90MS are the turnaround (opened to approved) of the
	// jobs approved in the period; 0 when none was.
	MedianMS int64 `json:"median_ms"`
	P90MS    int64 `json:"p90_ms"`
	// Overdue counts the jobs whose deadline fell in the period (up to
	// the report's time) and that were not approved by then.
	Overdue int `json:"overdue"`
	// Open counts jobs still neither approved nor cancelled.
	Open int `json:"open"`
}

// BroadcastRow is one commune cluster's airtime in one language.
type BroadcastRow struct {
	Commune     string `json:"commune"`
	CommuneName string `json:"commune_name"`
	Cluster     string `json:"cluster"`
	Language    string `json:"language"`
	Entries     int    `json:"entries"`
	Played      int    `json:"played"`
	ScheduledMS int64  `json:"scheduled_ms"`
	PlayedMS    int64  `json:"played_ms"`
}

// CommuneRow sums one commune.
type CommuneRow struct {
	Commune          string   `json:"commune"`
	Name             string   `json:"name"`
	Clusters         int      `json:"clusters"`
	ScheduledMS      int64    `json:"scheduled_ms"`
	PlayedMS         int64    `json:"played_ms"`
	SlotsExpected    int      `json:"slots_expected"`
	SlotsScheduled   int      `json:"slots_scheduled"`
	SlotsUnderfilled int      `json:"slots_underfilled"`
	MissingLanguages []string `json:"missing_languages,omitempty"`
}

// Gap is a cluster that lists a language and got no content in it.
type Gap struct {
	Commune     string `json:"commune"`
	CommuneName string `json:"commune_name"`
	Cluster     string `json:"cluster"`
	Language    string `json:"language"`
}

// EmergencyRow is one emergency and how fast it reached each commune.
type EmergencyRow struct {
	SegmentID string `json:"segment_id"`
	Title     string `json:"title"`
	// MarkedBy raised it, or confirmed it when RequestedBy (a producer)
	// asked for it; MarkedAt is when it first went on air (the first
	// raise).
	MarkedBy    string            `json:"marked_by"`
	RequestedBy string            `json:"requested_by,omitempty"`
	MarkedAt    time.Time         `json:"marked_at"`
	Until       time.Time         `json:"until"`
	Province    bool              `json:"whole_province"`
	Targets     []EmergencyTarget `json:"targets"`
}

// EmergencyTarget is one commune an emergency was sent to.
type EmergencyTarget struct {
	Commune string `json:"commune"`
	Name    string `json:"name"`
	// RaisedAt is when this commune got the emergency: the first raise,
	// or the later raise that added it.
	RaisedAt    time.Time `json:"raised_at"`
	ChangedAt   time.Time `json:"changed_at,omitzero"`
	FirstPlayed time.Time `json:"first_played,omitzero"`
}

// LanguageTotal is the province's (or the commune's) airtime in one
// language.
type LanguageTotal struct {
	Language    string `json:"language"`
	ScheduledMS int64  `json:"scheduled_ms"`
	PlayedMS    int64  `json:"played_ms"`
}

// Builder accumulates rows and computes the report. Rows may come in any
// order, with two rules: AddEmergency before any AddPlay (first plays are
// matched as they stream), and the Scheduled rows of one slot
// (commune, cluster, date, slot) one after another, so slots are summed
// as they stream without holding a year of entries.
type Builder struct {
	opt  Options
	loc  *time.Location
	last time.Time // the end of what is due: min(Until, Now)

	rep         Report
	months      map[string]*MonthRow
	topics      map[string]*TopicRow
	producers   map[string]*ProducerRow
	firstReady  map[string]time.Time           // segment → first variant ready
	readyIn     map[[2]string]bool             // month, segment+lang seen
	weeks       map[time.Time]bool             // bulletin weeks with an item
	langs       map[string]*langAcc            // translation
	cells       map[[3]string]*BroadcastRow    // commune, cluster, language
	communes    map[string]*CommuneRow         // by code
	slotRoom    map[slotKey][]slotRoom         // commune, cluster, start → rooms by weekday
	ems         []*EmergencyRow                // in order of AddEmergency
	emByPair    map[[2]string]*EmergencyTarget // commune, segment
	totals      map[string]*LanguageTotal
	cur         slotAcc
	communeName map[string]string
}

type langAcc struct {
	row         LanguageRow
	turnarounds []int64
}

type slotKey struct {
	commune, cluster string
	start            int
}

type slotRoom struct {
	days schedules.Weekdays
	room int64
}

type slotAcc struct {
	key     slotKey
	date    string
	filled  int64
	started bool
}

// NewBuilder starts a report.
func NewBuilder(opt Options) *Builder {
	if opt.Underfill <= 0 || opt.Underfill > 1 {
		opt.Underfill = DefaultUnderfill
	}
	if opt.Registry == nil {
		opt.Registry = &schedules.Registry{}
	}
	if opt.Now.IsZero() {
		opt.Now = opt.Period.Until
	}
	b := &Builder{
		opt: opt, loc: Location(),
		months: map[string]*MonthRow{}, topics: map[string]*TopicRow{}, producers: map[string]*ProducerRow{},
		firstReady: map[string]time.Time{}, readyIn: map[[2]string]bool{}, weeks: map[time.Time]bool{},
		langs: map[string]*langAcc{}, cells: map[[3]string]*BroadcastRow{}, communes: map[string]*CommuneRow{},
		slotRoom: map[slotKey][]slotRoom{}, emByPair: map[[2]string]*EmergencyTarget{}, totals: map[string]*LanguageTotal{},
		communeName: map[string]string{},
	}
	b.last = opt.Period.Until
	if opt.Now.Before(b.last) {
		b.last = opt.Now
	}
	b.rep = Report{Period: opt.Period, Commune: opt.Commune, GeneratedAt: opt.Now, Partial: !opt.Period.Closed(opt.Now), Underfill: opt.Underfill}
	for _, m := range opt.Period.Months() {
		b.months[m] = &MonthRow{Month: m}
	}
	for _, t := range pipeline.Topics {
		b.topics[t.Code] = &TopicRow{Code: t.Code, Letter: t.Letter, Name: t.Name}
	}
	for _, l := range []string{pipeline.LangThai, pipeline.LangHmong} {
		b.langs[l] = &langAcc{row: LanguageRow{Language: l, Name: LanguageName(l)}}
	}
	for i := range opt.Registry.Communes {
		c := &opt.Registry.Communes[i]
		b.communeName[c.Code] = c.Name
		if !b.inScope(c.Code) {
			continue
		}
		if c.Code == opt.Commune {
			b.rep.CommuneName = c.Name
		}
		b.communes[c.Code] = &CommuneRow{Commune: c.Code, Name: c.Name, Clusters: len(c.Clusters)}
		for j := range c.Clusters {
			cl := &c.Clusters[j]
			for _, l := range cl.Languages {
				b.cell(c.Code, cl.ID, string(l))
			}
			for _, s := range c.SlotsOf(cl) {
				k := slotKey{c.Code, cl.ID, int(s.Start)}
				b.slotRoom[k] = append(b.slotRoom[k], slotRoom{days: s.Days, room: (s.Length - s.Reserved).Milliseconds()})
				b.communes[c.Code].SlotsExpected += b.occurrences(s.Days)
			}
		}
	}
	return b
}

// occurrences counts the days in the period, up to the report's time,
// that fall on one of days.
func (b *Builder) occurrences(days schedules.Weekdays) int {
	n := 0
	for d := b.opt.Period.From; d.Before(b.last); d = d.AddDate(0, 0, 1) {
		if days.Has(d.Weekday()) {
			n++
		}
	}
	return n
}

func (b *Builder) inScope(commune string) bool {
	return b.opt.Commune == "" || commune == b.opt.Commune
}

func (b *Builder) month(t time.Time) *MonthRow { return b.months[t.In(b.loc).Format("2006-01")] }

func (b *Builder) cell(commune, cluster, lang string) *BroadcastRow {
	k := [3]string{commune, cluster, lang}
	c := b.cells[k]
	if c == nil {
		c = &BroadcastRow{Commune: commune, CommuneName: b.communeName[commune], Cluster: cluster, Language: lang}
		b.cells[k] = c
	}
	return c
}

func (b *Builder) total(lang string) *LanguageTotal {
	t := b.totals[lang]
	if t == nil {
		t = &LanguageTotal{Language: lang}
		b.totals[lang] = t
	}
	return t
}

// AddSegment counts a segment uploaded in the period (others are ignored).
func (b *Builder) AddSegment(s Segment) {
	if !b.opt.Period.Contains(s.CreatedAt) {
		return
	}
	p := b.producers[s.Producer]
	if p == nil {
		p = &ProducerRow{Producer: s.Producer}
		b.producers[s.Producer] = p
	}
	if s.Withdrawn {
		b.rep.Summary.Withdrawn++
		p.Withdrawn++
		return
	}
	b.rep.Summary.Segments++
	if m := b.month(s.CreatedAt); m != nil {
		m.Segments++
	}
	t := b.topics[s.Topic]
	if t == nil { // a topic no longer in the plan's list
		t = &TopicRow{Code: s.Topic, Name: s.Topic}
		b.topics[s.Topic] = t
	}
	p.Total++
	t.Total++
	if s.Kind == string(pipeline.KindTV) {
		b.rep.Summary.TV++
		p.TV++
		t.TV++
	} else {
		b.rep.Summary.Radio++
		p.Radio++
		t.Radio++
	}
}

// AddVariant counts a segment becoming ready to air in a language, for
// the portal, bulletin and language targets.
func (b *Builder) AddVariant(v Variant) {
	if v.Withdrawn {
		return
	}
	if f, ok := b.firstReady[v.SegmentID]; !ok || v.ReadyAt.Before(f) {
		b.firstReady[v.SegmentID] = v.ReadyAt
	}
	if !b.opt.Period.Contains(v.ReadyAt) {
		return
	}
	b.weeks[weekStart(v.ReadyAt.In(b.loc))] = true
	m := b.month(v.ReadyAt)
	if m == nil {
		return
	}
	k := [2]string{m.Month, v.SegmentID + "/" + v.Language}
	if b.readyIn[k] {
		return
	}
	b.readyIn[k] = true
	switch v.Language {
	case pipeline.LangThai:
		m.ThaiItems++
	case pipeline.LangHmong:
		m.HmongItems++
	}
}

// AddJob counts a translation job.
func (b *Builder) AddJob(j Job) {
	a := b.langs[j.Language]
	if a == nil {
		a = &langAcc{row: LanguageRow{Language: j.Language, Name: LanguageName(j.Language)}}
		b.langs[j.Language] = a
	}
	p := b.opt.Period
	if p.Contains(j.CreatedAt) {
		a.row.Opened++
	}
	approved := !j.ApprovedAt.IsZero()
	if approved && p.Contains(j.ApprovedAt) {
		a.row.Approved++
		a.turnarounds = append(a.turnarounds, j.ApprovedAt.Sub(j.CreatedAt).Milliseconds())
	}
	if j.State != "cancelled" && !j.Deadline.Before(p.From) && j.Deadline.Before(b.last) {
		if !approved || j.ApprovedAt.After(j.Deadline) {
			a.row.Overdue++
		}
	}
	if j.CreatedAt.Before(p.Until) && !approved && j.State != "cancelled" {
		a.row.Open++
	}
}

// AddScheduled counts one entry of a commune's effective schedule.
func (b *Builder) AddScheduled(s Scheduled) {
	if !b.inScope(s.Commune) {
		return
	}
	d, err := time.ParseInLocation(time.DateOnly, s.Date, b.loc)
	if err != nil || !b.opt.Period.Contains(d) {
		return
	}
	k := slotKey{s.Commune, s.Cluster, s.SlotStart}
	if s.Kind != string(schedules.EntryInterrupt) && (!b.cur.started || b.cur.key != k || b.cur.date != s.Date) {
		b.closeSlot()
		b.cur = slotAcc{key: k, date: s.Date, started: true}
	}
	content := s.Kind == string(schedules.EntrySegment) || s.Kind == string(schedules.EntryInterrupt)
	if !content {
		return
	}
	if s.Kind == string(schedules.EntrySegment) {
		b.cur.filled += s.DurationMS
	}
	c := b.cell(s.Commune, s.Cluster, s.Language)
	c.Entries++
	c.ScheduledMS += s.DurationMS
	b.total(s.Language).ScheduledMS += s.DurationMS
	if m := b.months[s.Date[:7]]; m != nil {
		m.ScheduledMS += s.DurationMS
	}
}

// closeSlot ends the slot being summed: scheduled, and under-filled when
// its segments fill less than the threshold of its room.
func (b *Builder) closeSlot() {
	if !b.cur.started {
		return
	}
	defer func() { b.cur = slotAcc{} }()
	cr := b.communes[b.cur.key.commune]
	if cr == nil {
		return
	}
	rooms := b.slotRoom[b.cur.key]
	if len(rooms) == 0 {
		return // not a registry slot (the registry changed since)
	}
	d, _ := time.ParseInLocation(time.DateOnly, b.cur.date, b.loc)
	room := int64(-1)
	for _, r := range rooms {
		if r.days.Has(d.Weekday()) {
			room = r.room
			break
		}
	}
	if room < 0 {
		return
	}
	cr.SlotsScheduled++
	if float64(b.cur.filled) < b.opt.Underfill*float64(room) {
		cr.SlotsUnderfilled++
	}
}

// AddEmergency records an emergency marked in the period (others are
// ignored). Call it before AddPlay.
func (b *Builder) AddEmergency(e Emergency) {
	if !b.opt.Period.Contains(e.MarkedAt) {
		return
	}
	row := &EmergencyRow{SegmentID: e.SegmentID, Title: e.Title, MarkedBy: e.MarkedBy, RequestedBy: e.RequestedBy, MarkedAt: e.MarkedAt, Until: e.Until, Province: len(e.Targets) == 0}
	targets := e.Targets
	if len(targets) == 0 {
		for _, c := range b.opt.Registry.Communes {
			targets = append(targets, c.Code)
		}
	}
	for _, c := range targets {
		if !b.inScope(c) {
			continue
		}
		raised, ok := e.Raised[c]
		if !ok {
			if raised, ok = e.Raised[""]; !ok || len(e.Targets) > 0 {
				raised = e.MarkedAt
			}
		}
		row.Targets = append(row.Targets, EmergencyTarget{Commune: c, Name: b.communeName[c], RaisedAt: raised, ChangedAt: e.Changed[c]})
	}
	if b.opt.Commune != "" && len(row.Targets) == 0 {
		return
	}
	b.ems = append(b.ems, row)
	for i := range row.Targets {
		b.emByPair[[2]string{row.Targets[i].Commune, e.SegmentID}] = &row.Targets[i]
	}
}

// AddPlay counts the proof of play of one entry.
func (b *Builder) AddPlay(p Play) {
	if !b.inScope(p.Commune) || p.Status != string(schedules.Played) {
		return
	}
	if t := b.emByPair[[2]string{p.Commune, p.SegmentID}]; t != nil && p.SegmentID != "" {
		if !p.Started.Before(t.RaisedAt.Add(-time.Minute)) {
			if t.FirstPlayed.IsZero() || p.Started.Before(t.FirstPlayed) {
				t.FirstPlayed = p.Started
			}
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, p.Date, b.loc)
	if err != nil || !b.opt.Period.Contains(d) {
		return
	}
	lang := p.Language
	if lang == "" {
		lang = "?"
	}
	c := b.cell(p.Commune, p.Cluster, lang)
	c.Played++
	c.PlayedMS += p.PlayedMS
	b.total(lang).PlayedMS += p.PlayedMS
	if m := b.months[p.Date[:7]]; m != nil {
		m.PlayedMS += p.PlayedMS
	}
}

// Report finishes the computation. The Builder must not be used after.
func (b *Builder) Report() *Report {
	b.closeSlot()
	r := &b.rep
	// Targets per month.
	for _, at := range b.firstReady {
		if b.opt.Period.Contains(at) {
			if m := b.month(at); m != nil {
				m.PortalItems++
			}
		}
	}
	for w := range b.weeks {
		// An issue is out when its week has ended.
		if !w.AddDate(0, 0, 7).After(b.opt.Now) {
			if m := b.months[w.Format("2006-01")]; m != nil {
				m.BulletinIssues++
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b.months)) {
		m := b.months[k]
		m.PortalMet = m.PortalItems >= TargetPortalItems
		m.BulletinMet = m.BulletinIssues >= TargetBulletinIssues
		m.LanguagesMet = m.ThaiItems > 0 && m.HmongItems > 0
		if m.AllMet() {
			r.Summary.MonthsAllMet++
		}
		r.Months = append(r.Months, *m)
	}
	for _, t := range pipeline.Topics {
		r.Topics = append(r.Topics, *b.topics[t.Code])
		delete(b.topics, t.Code)
	}
	for _, k := range slices.Sorted(maps.Keys(b.topics)) {
		r.Topics = append(r.Topics, *b.topics[k])
	}
	for _, k := range slices.Sorted(maps.Keys(b.producers)) {
		r.Producers = append(r.Producers, *b.producers[k])
	}
	for _, k := range slices.Sorted(maps.Keys(b.langs)) {
		a := b.langs[k]
		a.row.MedianMS, a.row.P90MS = Median(a.turnarounds), Percentile(a.turnarounds, 90)
		r.Summary.JobsOpened += a.row.Opened
		r.Summary.JobsApproved += a.row.Approved
		r.Summary.JobsOverdue += a.row.Overdue
		r.Translation = append(r.Translation, a.row)
	}
	cells := slices.Collect(maps.Values(b.cells))
	slices.SortFunc(cells, func(x, y *BroadcastRow) int {
		return cmp.Or(cmp.Compare(b.position(x.Commune), b.position(y.Commune)), cmp.Compare(x.Commune, y.Commune),
			cmp.Compare(x.Cluster, y.Cluster), cmp.Compare(langOrder(x.Language), langOrder(y.Language)), cmp.Compare(x.Language, y.Language))
	})
	for _, c := range cells {
		r.Broadcast = append(r.Broadcast, *c)
		if cr := b.communes[c.Commune]; cr != nil {
			cr.ScheduledMS += c.ScheduledMS
			cr.PlayedMS += c.PlayedMS
		}
		r.Summary.ScheduledMS += c.ScheduledMS
		r.Summary.PlayedMS += c.PlayedMS
	}
	// Gaps: a cluster's language with nothing scheduled in it.
	for _, c := range b.opt.Registry.Communes {
		cr := b.communes[c.Code]
		if cr == nil {
			continue
		}
		for _, cl := range c.Clusters {
			for _, l := range cl.Languages {
				if b.cells[[3]string{c.Code, cl.ID, string(l)}].ScheduledMS == 0 {
					r.Gaps = append(r.Gaps, Gap{Commune: c.Code, CommuneName: c.Name, Cluster: cl.ID, Language: string(l)})
					if !slices.Contains(cr.MissingLanguages, string(l)) {
						cr.MissingLanguages = append(cr.MissingLanguages, string(l))
					}
				}
			}
		}
		if len(cr.MissingLanguages) > 0 {
			r.Summary.CommunesWithGaps++
		}
		r.Summary.Communes++
		r.Summary.SlotsExpected += cr.SlotsExpected
		r.Summary.SlotsScheduled += cr.SlotsScheduled
		r.Summary.SlotsUnderfilled += cr.SlotsUnderfilled
		r.Communes = append(r.Communes, *cr)
	}
	for _, e := range b.ems {
		r.Emergencies = append(r.Emergencies, *e)
	}
	slices.SortStableFunc(r.Emergencies, func(x, y EmergencyRow) int { return x.MarkedAt.Compare(y.MarkedAt) })
	r.Summary.Emergencies = len(r.Emergencies)
	for _, k := range slices.SortedFunc(maps.Keys(b.totals), func(x, y string) int { return cmp.Or(cmp.Compare(langOrder(x), langOrder(y)), cmp.Compare(x, y)) }) {
		r.Languages = append(r.Languages, *b.totals[k])
	}
	if r.Producers == nil {
		r.Producers = []ProducerRow{}
	}
	return r
}

func (b *Builder) position(commune string) int {
	for i, c := range b.opt.Registry.Communes {
		if c.Code == commune {
			return i
		}
	}
	return math.MaxInt
}

// Median returns the median of the values (the mean of the two middle
// ones for an even count), 0 for none.
func Median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile returns the p-th percentile by the nearest-rank method: the
// smallest value with at least p % of the values at or below it.
func Percentile(v []int64, p float64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// weekStart returns the Monday 00:00 of t's week, in t's location.
func weekStart(t time.Time) time.Time {
	d := (int(t.Weekday()) + 6) % 7
	y, m, day := t.Date()
	return time.Date(y, m, day-d, 0, 0, 0, 0, t.Location())
}

// WeekStart returns the Monday 00:00 (Asia/Ho_Chi_Minh) of t's week: the
// bulletin's week.
func WeekStart(t time.Time) time.Time { return weekStart(t.In(Location())) }

// LanguageName names a language code for people.
func LanguageName(code string) string {
	switch code {
	case pipeline.LangVietnamese:
		return "Tiếng Việt"
	case pipeline.LangThai:
		return "Tiếng Thái"
	case pipeline.LangHmong:
		return "Tiếng Mông"
	case "?":
		return "không rõ"
	}
	return code
}

func langOrder(l string) int {
	if i := slices.Index(pipeline.KnownLanguages, l); i >= 0 {
		return i
	}
	return len(pipeline.KnownLanguages)
}
