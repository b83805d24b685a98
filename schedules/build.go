package schedules

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune Build. DefaultOptions gives sensible values.
type Options struct {
	Start Date // first date to schedule
	Days  int  // number of dates, at least 1
	// SeparationDays keeps a normal segment that aired in a commune on day
	// D off that commune's playlists until day D+SeparationDays; with 1 or
	// more it also airs at most once a day per cluster. Priority and
	// emergency segments are exempt. 0 turns the rule off.
	SeparationDays int
	// Slack lets the fill give up this much of the tightest possible fill
	// to keep fresher, higher-ranked items. 0 asks for the tightest fill.
	Slack time.Duration
	// Filler clips cover spare time, longest first, repeating as needed;
	// a clip with a Language plays only in clusters taking that language.
	Filler []Clip
	// Ident, when its Duration is positive, closes every slot it fits in.
	Ident Clip
	// Candidates bounds how many normal segments the fill weighs per slot;
	// 0 means 16.
	Candidates int
	// Workers bounds the goroutines used; 0 means GOMAXPROCS.
	Workers int
}

// Clip is a filler or station ident recording.
type Clip struct {
	ID       string
	Title    string
	Language Language // empty: any cluster
	Duration time.Duration
}

// DefaultOptions returns options for a week from start: separation of 3
// days, 30 seconds of slack, 16 candidates per slot.
func DefaultOptions(start Date) Options {
	return Options{Start: start, Days: 7, SeparationDays: 3, Slack: 30 * time.Second, Candidates: 16}
}

func (o *Options) check() error {
	var errs []error
	if o.Start.IsZero() {
		errs = append(errs, errors.New("start date not set"))
	} else if s, err := ParseDate(o.Start.String()); err != nil || s != o.Start {
		errs = append(errs, fmt.Errorf("start date %s is not a calendar date", o.Start))
	}
	if o.Days < 1 || o.Days > 366 {
		errs = append(errs, fmt.Errorf("days %d: want 1 to 366", o.Days))
	}
	if o.SeparationDays < 0 {
		errs = append(errs, fmt.Errorf("separation days %d: want 0 or more", o.SeparationDays))
	}
	if o.Slack < 0 {
		errs = append(errs, fmt.Errorf("slack %s: want 0 or more", o.Slack))
	}
	if o.Candidates < 0 || o.Candidates > 64 {
		errs = append(errs, fmt.Errorf("candidates %d: want 0 to 64", o.Candidates))
	}
	for _, c := range append(slices.Clip(o.Filler), o.Ident) {
		if c.Duration < 0 || (c.Duration > 0 && c.ID == "") {
			errs = append(errs, fmt.Errorf("clip %q: want an id and a duration of 0 or more", c.ID))
		}
		if c.Language != "" && !c.Language.Known() {
			errs = append(errs, fmt.Errorf("clip %q: language %q: %w", c.ID, c.Language, ErrUnknownLanguage))
		}
	}
	return errors.Join(errs...)
}

// variantInfo is a usable variant reduced to what the builder compares.
type variantInfo struct {
	dur         time.Duration
	secs        int   // duration rounded up to whole seconds
	from, until int64 // air window, Unix seconds (inclusive)
	ready       int64
}

// segment gathers a segment's variants.
type segment struct {
	id, title string
	topic     Topic
	topicIx   int
	prio      Priority
	targets   []string
	raised    map[string]int64 // emergency: when each commune got it (Variant.RaisedAt, Unix seconds)
	vars      [3]int32         // best approved variant per language index, -1 if none
	pending   [3]bool          // a variant exists in that language but is not approved
	problem   ReasonCode
	problemTx string
}

// raisedIn is when commune code got the segment's emergency (Unix
// seconds; the time for the whole province when it has none of its own,
// or the earliest possible when neither is known).
func (seg *segment) raisedIn(code string) int64 {
	if at, ok := seg.raised[code]; ok {
		return at
	}
	if at, ok := seg.raised[""]; ok {
		return at
	}
	return math.MinInt64
}

// cand is a segment as one day's pool for one language list sees it.
type cand struct {
	seg  int32
	rank int32    // 0-based place among the day's normal candidates
	vars [3]int32 // variant per position in the language list, -1 if none
}

type dayPool struct {
	mandatory []cand   // emergency, then priority; newest first
	topics    [][]cand // normal, per topic, freshest first
}

// built is everything Build derived from its input. A Schedule keeps it
// to answer WhyNot.
type built struct {
	reg      *Registry
	opts     Options
	loc      *time.Location
	vars     []variantInfo
	segs     []segment
	segIndex map[string]int
	topics   []Topic
	lists    [][]int     // language lists, as language indices
	listOf   [][]int     // [commune][cluster] -> list
	pools    [][]dayPool // [list][day]
	dayStart []int64     // Unix second of each date's midnight
	filler   []Clip      // longest first
	history  map[string][]Aired
}

// Build makes the playlists for every cluster, date and slot of the
// registry from the catalog of ready variants and the history of what was
// scheduled before. The rules, in order:
//
//  1. An item airs only as an approved variant, in a language the cluster
//     takes (falling back along the cluster's list), inside its air window
//     (the whole free part of the slot must lie in the window).
//  2. Emergencies first, then priority items, in every slot; then normal
//     items by topic rotation (the plan's topics take turns slot by slot,
//     least aired first) and freshness (newest ReadyAt first).
//  3. A normal segment does not return to a commune within
//     Options.SeparationDays.
//  4. Items never overrun the slot: the normal items are a best fit of the
//     free seconds (see Options.Slack); spare time goes to filler and the
//     ident, and what stays empty is reported as Silence.
//
// The result depends only on the input (not on catalog order, map order or
// the number of goroutines). Catalog problems do not fail the build; they
// are reported in Schedule.LeftOut. An invalid registry or options do
// (a registry as stored by an older version is valid; Registry.Buildable
// leaves out the communes that would fail a build).
func Build(catalog []Variant, reg *Registry, history []Aired, opts Options) (*Schedule, error) {
	if reg == nil {
		return nil, errors.New("build schedule: no registry")
	}
	if opts.Candidates == 0 {
		opts.Candidates = 16
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("build schedule: options: %w", err)
	}
	if err := reg.joinIssues(reg.validate(false), nil); err != nil {
		return nil, fmt.Errorf("build schedule: registry: %w", err)
	}
	loc, err := reg.Location()
	if err != nil {
		return nil, fmt.Errorf("build schedule: %w", err)
	}
	b := &built{reg: reg, opts: opts, loc: loc}
	for d := 0; d < opts.Days; d++ {
		b.dayStart = append(b.dayStart, opts.Start.AddDays(d).In(loc).Unix())
	}
	b.filler = slices.Clone(opts.Filler)
	slices.SortStableFunc(b.filler, func(x, y Clip) int {
		return cmp.Or(cmp.Compare(y.Duration, x.Duration), cmp.Compare(x.ID, y.ID))
	})
	b.history = map[string][]Aired{}
	for _, h := range history {
		b.history[h.Commune] = append(b.history[h.Commune], h)
	}

	s := &Schedule{Start: opts.Start, Days: opts.Days, Location: loc, in: b, history: b.history}
	s.LeftOut = b.indexCatalog(catalog)
	s.LeftOut = append(s.LeftOut, b.indexLists()...)
	b.buildPools()

	// Communes are independent: workers take them in turn and write
	// results by index, so the output does not depend on scheduling.
	results := make([]communeResult, len(reg.Communes))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(reg.Communes))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(b)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reg.Communes) {
					return
				}
				results[i] = w.commune(i)
			}
		}()
	}
	wg.Wait()

	total := 0
	for _, r := range results {
		total += len(r.playlists)
	}
	s.Playlists = make([]Playlist, 0, total)
	s.ranges = make(map[string][2]int, len(reg.Communes))
	for i, r := range results {
		a := len(s.Playlists)
		s.Playlists = append(s.Playlists, r.playlists...)
		s.ranges[reg.Communes[i].Code] = [2]int{a, len(s.Playlists)}
		s.LeftOut = append(s.LeftOut, r.leftOut...)
	}
	return s, nil
}

// indexCatalog groups variants by segment, keeps the usable ones and
// reports the rest.
func (b *built) indexCatalog(catalog []Variant) []LeftOut {
	var out []LeftOut
	order := make([]int, len(catalog))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		a, c := &catalog[order[x]], &catalog[order[y]]
		return cmp.Or(cmp.Compare(a.SegmentID, c.SegmentID), cmp.Compare(a.Language.index(), c.Language.index())) < 0
	})
	buildFrom, buildUntil := b.dayStart[0], b.dayStart[len(b.dayStart)-1]+86400
	topicIx := map[Topic]int{}
	for _, t := range Topics {
		topicIx[t] = len(b.topics)
		b.topics = append(b.topics, t)
	}
	var extra []Topic
	b.segIndex = map[string]int{}
	for start := 0; start < len(order); {
		end := start
		for end < len(order) && catalog[order[end]].SegmentID == catalog[order[start]].SegmentID {
			end++
		}
		group := order[start:end]
		start = end
		first := &catalog[group[0]]
		if first.SegmentID == "" {
			for _, ci := range group {
				out = append(out, LeftOut{Title: catalog[ci].Title, Code: LeftInvalid,
					Text: fmt.Sprintf("catalog entry %d (%q) has no segment id", ci+1, catalog[ci].Title)})
			}
			continue
		}
		seg := segment{id: first.SegmentID, title: first.Title, topic: first.Topic, vars: [3]int32{-1, -1, -1}}
		targets := map[string]bool{}
		usable, approved, inBuild := 0, 0, 0
		for _, ci := range group {
			v := &catalog[ci]
			li := v.Language.index()
			switch {
			case li < 0:
				out = append(out, LeftOut{SegmentID: v.SegmentID, Title: v.Title, Code: LeftUnknownLanguage,
					Text: fmt.Sprintf("variant in %q, a language Loa does not know (vi, blt, hnj)", v.Language)})
				continue
			case v.Duration <= 0:
				out = append(out, LeftOut{SegmentID: v.SegmentID, Title: v.Title, Code: LeftInvalid,
					Text: fmt.Sprintf("%s variant has duration %s; a segment needs a positive duration", v.Language, v.Duration)})
				continue
			case !v.AirFrom.IsZero() && !v.AirUntil.IsZero() && v.AirUntil.Before(v.AirFrom):
				out = append(out, LeftOut{SegmentID: v.SegmentID, Title: v.Title, Code: LeftInvalid,
					Text: fmt.Sprintf("%s variant's air window ends (%s) before it starts (%s)", v.Language, v.AirUntil.Format(time.RFC3339), v.AirFrom.Format(time.RFC3339))})
				continue
			}
			usable++
			if !v.Approved {
				seg.pending[li] = true
				continue
			}
			approved++
			info := variantInfo{dur: v.Duration, secs: int((v.Duration + time.Second - 1) / time.Second),
				from: math.MinInt64, until: math.MaxInt64, ready: v.ReadyAt.Unix()}
			if !v.AirFrom.IsZero() {
				info.from = v.AirFrom.Unix()
			}
			if !v.AirUntil.IsZero() {
				info.until = v.AirUntil.Unix()
			}
			if info.from < buildUntil && info.until >= buildFrom {
				inBuild++
			}
			seg.prio = max(seg.prio, v.Priority)
			if v.Priority == Emergency {
				for _, t := range v.Targets {
					targets[t] = true
				}
				for c, at := range v.RaisedAt {
					if seg.raised == nil {
						seg.raised = map[string]int64{}
					}
					if cur, ok := seg.raised[c]; !ok || at.Unix() < cur {
						seg.raised[c] = at.Unix()
					}
				}
			}
			// Keep the freshest approved variant per language.
			if cur := seg.vars[li]; cur < 0 || info.ready > b.vars[cur].ready {
				seg.vars[li] = int32(len(b.vars))
			}
			b.vars = append(b.vars, info)
		}
		if usable == 0 {
			continue // every variant reported above
		}
		for _, l := range Languages {
			if seg.vars[l.index()] >= 0 {
				seg.pending[l.index()] = false
			}
		}
		switch {
		case approved == 0:
			seg.problem, seg.problemTx = LeftNotApproved, "no variant is approved yet; a reviewer must approve one first"
		case inBuild == 0:
			seg.problem, seg.problemTx = LeftOutOfWindow, fmt.Sprintf("air window lies outside %s to %s", b.opts.Start, b.opts.Start.AddDays(b.opts.Days-1))
		}
		if seg.problem != "" {
			out = append(out, LeftOut{SegmentID: seg.id, Title: seg.title, Code: seg.problem, Text: seg.problemTx})
		}
		for t := range targets {
			seg.targets = append(seg.targets, t)
		}
		slices.Sort(seg.targets)
		ix, ok := topicIx[seg.topic]
		if !ok {
			ix = -1
			extra = append(extra, seg.topic)
		}
		seg.topicIx = ix
		b.segIndex[seg.id] = len(b.segs)
		b.segs = append(b.segs, seg)
	}
	// Topics outside the plan's list follow it, in sorted order.
	slices.Sort(extra)
	extra = slices.Compact(extra)
	for _, t := range extra {
		topicIx[t] = len(b.topics)
		b.topics = append(b.topics, t)
	}
	for i := range b.segs {
		if b.segs[i].topicIx < 0 {
			b.segs[i].topicIx = topicIx[b.segs[i].topic]
		}
	}
	return out
}

// indexLists gives each distinct cluster language list an id and reports
// segments that no language of a list can carry.
func (b *built) indexLists() []LeftOut {
	var out []LeftOut
	ids := map[string]int{}
	b.listOf = make([][]int, len(b.reg.Communes))
	for i := range b.reg.Communes {
		c := &b.reg.Communes[i]
		b.listOf[i] = make([]int, len(c.Clusters))
		for j := range c.Clusters {
			key := joinLanguages(c.Clusters[j].Languages)
			id, ok := ids[key]
			if !ok {
				id = len(b.lists)
				ids[key] = id
				var l []int
				for _, lang := range c.Clusters[j].Languages {
					l = append(l, lang.index())
				}
				b.lists = append(b.lists, l)
			}
			b.listOf[i][j] = id
		}
	}
	for _, l := range b.lists {
		for si := range b.segs {
			seg := &b.segs[si]
			if seg.problem != "" || seg.hasAny(l) {
				continue
			}
			out = append(out, LeftOut{SegmentID: seg.id, Title: seg.title, Languages: languagesOf(l),
				Code: LeftNoLanguage, Text: seg.noLanguageText(l)})
		}
	}
	return out
}

func (seg *segment) hasAny(list []int) bool {
	for _, li := range list {
		if seg.vars[li] >= 0 {
			return true
		}
	}
	return false
}

func (seg *segment) noLanguageText(list []int) string {
	var have, pend []Language
	for _, l := range Languages {
		if seg.vars[l.index()] >= 0 {
			have = append(have, l)
		}
	}
	for _, li := range list {
		if seg.pending[li] {
			pend = append(pend, Languages[li])
		}
	}
	text := fmt.Sprintf("approved only in %s; clusters taking %s cannot play it", joinLanguages(have), joinLanguages(languagesOf(list)))
	if len(pend) > 0 {
		text += fmt.Sprintf(" (a %s variant awaits approval)", joinLanguages(pend))
	}
	return text
}

func languagesOf(list []int) []Language {
	out := make([]Language, len(list))
	for i, li := range list {
		out[i] = Languages[li]
	}
	return out
}

// buildPools ranks, for each language list and date, the segments the
// list can carry that day. A segment's freshness for a list is the ready
// time of its approved variant in the list's most preferred language.
func (b *built) buildPools() {
	b.pools = make([][]dayPool, len(b.lists))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	for l := range b.lists {
		b.pools[l] = make([]dayPool, b.opts.Days)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			order := b.ranked(b.lists[l])
			for d := range b.opts.Days {
				b.pools[l][d] = b.pool(order, b.lists[l], d)
			}
			<-sem
		}()
	}
	wg.Wait()
}

// ranked returns the segments a language list can carry: priorities
// first (emergency, then priority), then by freshness, newest first.
func (b *built) ranked(list []int) []int32 {
	ready := make([]int64, len(b.segs))
	var order []int32
	for si := range b.segs {
		seg := &b.segs[si]
		if seg.problem != "" {
			continue
		}
		for _, li := range list {
			if v := seg.vars[li]; v >= 0 {
				ready[si] = b.vars[v].ready
				order = append(order, int32(si))
				break
			}
		}
	}
	// Segments are numbered in id order, so ties fall back to the id.
	slices.SortFunc(order, func(x, y int32) int {
		return cmp.Or(cmp.Compare(b.segs[y].prio, b.segs[x].prio), cmp.Compare(ready[y], ready[x]), cmp.Compare(x, y))
	})
	return order
}

// pool keeps the ranked segments with a variant airing on day d.
func (b *built) pool(order []int32, list []int, d int) dayPool {
	from, until := b.dayStart[d], b.dayStart[d]+86399
	p := dayPool{topics: make([][]cand, len(b.topics))}
	rank := int32(0)
	for _, si := range order {
		seg := &b.segs[si]
		c := cand{seg: si, vars: [3]int32{-1, -1, -1}}
		found := false
		for k, li := range list {
			v := seg.vars[li]
			if v < 0 || b.vars[v].from > until || b.vars[v].until < from {
				continue
			}
			c.vars[k] = v
			found = true
		}
		if !found {
			continue
		}
		if seg.prio != Normal {
			p.mandatory = append(p.mandatory, c)
			continue
		}
		c.rank = rank
		rank++
		p.topics[seg.topicIx] = append(p.topics[seg.topicIx], c)
	}
	return p
}

// pickVariant returns the first variant of c, in the cluster's order of
// languages, whose window holds [from, until]; -1 if none.
func (b *built) pickVariant(c *cand, n int, from, until int64) (int32, int) {
	for k := 0; k < n; k++ {
		v := c.vars[k]
		if v >= 0 && b.vars[v].from <= from && b.vars[v].until >= until {
			return v, k
		}
	}
	return -1, -1
}

type communeResult struct {
	playlists []Playlist
	leftOut   []LeftOut
}

// worker builds communes one at a time, reusing its scratch memory.
type worker struct {
	b       *built
	fit     fitter
	lastDay []int32 // day number of a segment's last airing in the commune
	stamp   []int32 // lastDay is valid when stamp == gen
	gen     int32
	items   []Item // the playlist being built
	chunk   []Item // storage for finished playlists' items

	cursor  []int
	eff     []int
	headV   []int32
	headK   []int
	picks   []pickT
	secs    []int
	take    []bool
	pending []int32
	misses  []miss // this commune's priority items that found no room
}

type miss struct {
	seg   int32
	at, n int
	why   string
}

const itemChunk = 4096

type pickT struct {
	c          *cand
	v          int32
	k          int
	topicAired int
}

func newWorker(b *built) *worker {
	return &worker{
		b:       b,
		lastDay: make([]int32, len(b.segs)),
		stamp:   make([]int32, len(b.segs)),
		cursor:  make([]int, len(b.topics)),
		eff:     make([]int, len(b.topics)),
		headV:   make([]int32, len(b.topics)),
		headK:   make([]int, len(b.topics)),
	}
}

// clusterState is what a worker tracks for one cluster over the build.
type clusterState struct {
	slots      []Slot  // sorted by start
	topicCount []int   // airings per topic in the week before the build
	turn       int     // slots filled so far: whose turn it is in the rotation
	today      []int32 // segments aired today
	list       []int
	langs      []Language
	next       int // next playlist position
}

func (w *worker) commune(ci int) communeResult {
	b := w.b
	c := &b.reg.Communes[ci]
	w.gen++
	w.misses = w.misses[:0]
	sep := int32(b.opts.SeparationDays)
	start := int32(b.opts.Start.dayNumber())

	clusters := make([]clusterState, len(c.Clusters))
	pos := 0
	for j := range c.Clusters {
		cs := &clusters[j]
		cs.slots = slices.Clone(c.SlotsOf(&c.Clusters[j]))
		slices.SortFunc(cs.slots, func(x, y Slot) int { return cmp.Compare(x.Start, y.Start) })
		cs.topicCount = make([]int, len(b.topics))
		cs.list = b.lists[b.listOf[ci][j]]
		cs.langs = c.Clusters[j].Languages
		cs.next = pos
		for d := range b.opts.Days {
			wd := b.opts.Start.AddDays(d).Weekday()
			for _, s := range cs.slots {
				if s.Days.Has(wd) {
					pos++
				}
			}
		}
	}
	res := communeResult{playlists: make([]Playlist, pos)}

	// History: the last airing of each segment before the build, and a
	// week of topics for rotation.
	for _, h := range b.history[c.Code] {
		si, ok := b.segIndex[h.SegmentID]
		if !ok {
			continue
		}
		day := int32(h.Date.dayNumber())
		if day >= start {
			continue // a former plan for these very days: replaced
		}
		if w.stamp[si] != w.gen || day > w.lastDay[si] {
			w.stamp[si], w.lastDay[si] = w.gen, day
		}
		if start-day <= 7 && b.segs[si].prio == Normal {
			for j := range clusters {
				clusters[j].topicCount[b.segs[si].topicIx]++
			}
		}
	}

	for d := range b.opts.Days {
		date := b.opts.Start.AddDays(d)
		day := start + int32(d)
		wd := date.Weekday()
		w.pending = w.pending[:0]
		for j := range clusters {
			cs := &clusters[j]
			cs.today = cs.today[:0]
			pool := &b.pools[b.listOf[ci][j]][d]
			for _, s := range cs.slots {
				if !s.Days.Has(wd) {
					continue
				}
				p := &res.playlists[cs.next]
				cs.next++
				*p = Playlist{Commune: c.Code, Cluster: c.Clusters[j].ID, Languages: cs.langs, Date: date, Slot: s,
					Start: time.Unix(b.dayStart[d]+int64(s.Start), 0).In(b.loc)}
				res.leftOut = w.fill(p, c, cs, pool, day, sep, res.leftOut)
			}
		}
		for _, si := range w.pending {
			w.stamp[si], w.lastDay[si] = w.gen, day
		}
	}
	return res
}

// fill builds one playlist.
func (w *worker) fill(p *Playlist, c *Commune, cs *clusterState, pool *dayPool, day, sep int32, left []LeftOut) []LeftOut {
	b := w.b
	s := p.Slot
	usable := s.Length - s.Reserved
	from := p.Start.Unix() + int64(s.Reserved/time.Second)
	until := p.Start.Unix() + int64(s.Length/time.Second)
	capSecs := int(usable / time.Second)
	nlang := len(cs.list)
	w.items = w.items[:0]
	first := 0
	if s.Reserved > 0 {
		w.items = append(w.items, Item{Kind: ItemRelay, Duration: s.Reserved, Why: ChosenRelay})
	}

	// Emergencies, then priority items, while they fit.
	for i := range pool.mandatory {
		cd := &pool.mandatory[i]
		seg := &b.segs[cd.seg]
		if seg.prio == Emergency && len(seg.targets) > 0 {
			if _, ok := slices.BinarySearch(seg.targets, c.Code); !ok {
				continue
			}
		}
		if seg.prio == Emergency && seg.raised != nil && p.Start.Unix() < seg.raisedIn(c.Code) {
			continue // the slot began before this commune got the alert
		}
		v, k := b.pickVariant(cd, nlang, from, until)
		if v < 0 {
			continue
		}
		if b.vars[v].secs > capSecs {
			left = w.missed(left, cd.seg, c, p, b.vars[v].dur > usable)
			continue
		}
		capSecs -= b.vars[v].secs
		why := ChosenPriority
		if seg.prio == Emergency {
			why = ChosenEmergency
		}
		w.items = append(w.items, w.segmentItem(seg, v, k, cs, why, 0, 0))
	}

	// Normal items: gather candidates by topic rotation, then fit.
	w.gather(cs, pool, nlang, from, until, capSecs, day, sep)
	cs.turn++
	w.secs = w.secs[:0]
	for _, pk := range w.picks {
		w.secs = append(w.secs, b.vars[pk.v].secs)
	}
	if cap(w.take) < len(w.picks) {
		w.take = make([]bool, len(w.picks))
	}
	w.take = w.take[:len(w.picks)]
	w.fit.choose(w.secs, capSecs, int(b.opts.Slack/time.Second), w.take)
	for i, pk := range w.picks {
		if !w.take[i] {
			continue
		}
		seg := &b.segs[pk.c.seg]
		w.items = append(w.items, w.segmentItem(seg, pk.v, pk.k, cs, ChosenRanked, int(pk.c.rank)+1, pk.topicAired))
		cs.today = append(cs.today, pk.c.seg)
		w.pending = append(w.pending, pk.c.seg)
	}

	// Offsets, then filler and ident in the spare time.
	var off time.Duration
	for i := first; i < len(w.items); i++ {
		w.items[i].Offset = off
		off += w.items[i].Duration
	}
	p.Spare = s.Length - off
	room := p.Spare
	ident := b.opts.Ident
	identFits := ident.Duration > 0 && ident.Duration <= room && takes(cs.langs, ident.Language)
	if identFits {
		room -= ident.Duration
	}
	for n := 0; n < 256; n++ {
		found := false
		for _, f := range b.filler {
			if f.Duration > 0 && f.Duration <= room && takes(cs.langs, f.Language) {
				w.items = append(w.items, Item{Kind: ItemFiller, Offset: off, Duration: f.Duration, SegmentID: f.ID,
					Title: f.Title, Language: f.Language, Why: ChosenFiller})
				off += f.Duration
				room -= f.Duration
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	if identFits {
		w.items = append(w.items, Item{Kind: ItemIdent, Offset: off, Duration: ident.Duration, SegmentID: ident.ID,
			Title: ident.Title, Language: ident.Language, Why: ChosenIdent})
	}
	p.Silence = room
	// Playlists share big chunks of items rather than one slice each.
	if n := len(w.items); len(w.chunk)+n > cap(w.chunk) {
		w.chunk = make([]Item, 0, max(itemChunk, n))
	}
	at := len(w.chunk)
	w.chunk = append(w.chunk, w.items...)
	p.Items = w.chunk[at:len(w.chunk):len(w.chunk)]
	return left
}

// gather fills w.picks with up to Options.Candidates normal candidates in
// order of preference. Topics take turns: each next pick comes from the
// topic with the fewest airings (in the week of history before the build,
// plus picks already made for this slot); among equals, the topic whose
// turn it is, the turn moving on by one topic each slot. Within a topic
// the freshest eligible segment comes first. The turn depends only on
// the slot's place in the week, not on earlier picks, which keeps the
// schedule stable when a segment is added.
func (w *worker) gather(cs *clusterState, pool *dayPool, nlang int, from, until int64, capSecs int, day, sep int32) {
	b := w.b
	w.picks = w.picks[:0]
	for t := range pool.topics {
		w.cursor[t] = 0
		w.eff[t] = cs.topicCount[t]
		w.headV[t] = -2 // not looked at yet
	}
	nt := len(pool.topics)
	turnOf := func(t int) int { return (t - cs.turn%nt + nt) % nt }
	for len(w.picks) < b.opts.Candidates {
		best := -1
		for t := range pool.topics {
			if w.headV[t] == -2 {
				w.advance(t, pool, nlang, from, until, capSecs, day, sep, cs)
			}
			if w.headV[t] < 0 {
				continue
			}
			if best < 0 || w.eff[t] < w.eff[best] || (w.eff[t] == w.eff[best] && turnOf(t) < turnOf(best)) {
				best = t
			}
		}
		if best < 0 {
			return
		}
		w.picks = append(w.picks, pickT{c: &pool.topics[best][w.cursor[best]], v: w.headV[best], k: w.headK[best], topicAired: w.eff[best]})
		w.eff[best]++
		w.cursor[best]++
		w.headV[best] = -2
	}
}

// advance moves topic t's cursor to its next eligible candidate and
// records that candidate's variant in headV (-1 when the topic is spent).
func (w *worker) advance(t int, pool *dayPool, nlang int, from, until int64, capSecs int, day, sep int32, cs *clusterState) {
	b := w.b
	list := pool.topics[t]
	for i := w.cursor[t]; i < len(list); i++ {
		cd := &list[i]
		si := cd.seg
		if sep > 0 {
			if w.stamp[si] == w.gen && day-w.lastDay[si] < sep {
				continue
			}
			if slices.Contains(cs.today, si) {
				continue
			}
		}
		v, k := b.pickVariant(cd, nlang, from, until)
		if v < 0 || b.vars[v].secs > capSecs {
			continue
		}
		w.cursor[t], w.headV[t], w.headK[t] = i, v, k
		return
	}
	w.cursor[t], w.headV[t] = len(list), -1
}

// missed reports a priority or emergency item that found no room. It
// reports once per segment and cluster, at the first slot, and counts the
// slots it missed in the text.
func (w *worker) missed(left []LeftOut, si int32, c *Commune, p *Playlist, tooLong bool) []LeftOut {
	seg := &w.b.segs[si]
	for i := range w.misses {
		m := &w.misses[i]
		if m.seg == si && left[m.at].Cluster == p.Cluster {
			m.n++
			left[m.at].Text = fmt.Sprintf("%s item did not fit in %d slots from %s %s on: %s", seg.prio, m.n, left[m.at].Date, left[m.at].Slot, m.why)
			return left
		}
	}
	code, why := LeftNoRoom, "emergency and priority items before it took the time"
	if tooLong {
		code, why = LeftTooLong, "longer than the slot's free time"
	}
	w.misses = append(w.misses, miss{seg: si, at: len(left), n: 1, why: why})
	return append(left, LeftOut{SegmentID: seg.id, Title: seg.title, Commune: c.Code, Cluster: p.Cluster,
		Date: p.Date, Slot: p.Slot.Start, Code: code,
		Text: fmt.Sprintf("%s item did not fit in 1 slot from %s %s on: %s", seg.prio, p.Date, p.Slot.Start, why)})
}

func (w *worker) segmentItem(seg *segment, v int32, k int, cs *clusterState, why ReasonCode, rank, aired int) Item {
	return Item{Kind: ItemSegment, Duration: w.b.vars[v].dur, SegmentID: seg.id, Title: seg.title, Topic: seg.topic,
		Language: cs.langs[k], Priority: seg.prio, Why: why, Rank: rank, TopicAired: aired, Fallback: k}
}

func takes(langs []Language, l Language) bool {
	return l == "" || slices.Contains(langs, l)
}
