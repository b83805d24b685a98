package schedules

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// bundle is a small scenario: one commune, one cluster, one daily slot.
type bundle struct {
	loc   *time.Location
	reg   *Registry
	opts  Options
	ready time.Time
}

func setup(t *testing.T, langs []Language, slot Slot) *bundle {
	t.Helper()
	reg := &Registry{Communes: []Commune{{
		Code: "muong-lan", Name: "Mường Lạn", Kind: Xa, Slots: []Slot{slot},
		Clusters: []Cluster{{ID: "trung-tam", Languages: langs}},
	}}}
	if err := reg.Validate(); err != nil {
		t.Fatal(err)
	}
	loc := hcm(t)
	opts := DefaultOptions(weekStart)
	opts.Days = 1
	opts.Slack = 0
	return &bundle{loc: loc, reg: reg, opts: opts, ready: weekStart.In(loc).Add(-24 * time.Hour)}
}

// morning is 05:30–05:40 every day with no relay: 600 s to fill.
var morning = Slot{Days: EveryDay, Start: 5*3600 + 30*60, Length: 10 * time.Minute}

// v makes an approved normal variant; age orders freshness (0 is newest).
func (bd *bundle) v(id string, lang Language, dur time.Duration, age int) Variant {
	return Variant{SegmentID: id, Title: "Bài " + id, Topic: TopicProcedures, Kind: Radio, Language: lang,
		Approved: true, Duration: dur, ReadyAt: bd.ready.Add(-time.Duration(age) * time.Hour)}
}

func (bd *bundle) build(t *testing.T, catalog []Variant, history []Aired) *Schedule {
	t.Helper()
	s, err := Build(catalog, bd.reg, history, bd.opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s
}

// aired lists "id/lang" of the segment items of a playlist, in order.
func aired(p Playlist) []string {
	var out []string
	for _, it := range p.Items {
		if it.Kind == ItemSegment {
			out = append(out, it.SegmentID+"/"+string(it.Language))
		}
	}
	return out
}

func leftOut(s *Schedule, id string) []LeftOut {
	var out []LeftOut
	for _, l := range s.LeftOut {
		if l.SegmentID == id {
			out = append(out, l)
		}
	}
	return out
}

func TestBuildEligibility(t *testing.T) {
	t.Parallel()
	min := time.Minute
	tests := []struct {
		name   string
		langs  []Language
		edit   func(bd *bundle) []Variant
		want   []string
		whyNot map[string]ReasonCode // segment -> WhyNot code
	}{
		{
			name:  "first language wins over fallback",
			langs: []Language{Thai, Vietnamese},
			edit: func(bd *bundle) []Variant {
				return []Variant{bd.v("a", Vietnamese, 2*min, 0), bd.v("a", Thai, 2*min, 0)}
			},
			want: []string{"a/blt"},
		},
		{
			name:  "fallback when the first language is missing or unapproved",
			langs: []Language{Thai, Vietnamese},
			edit: func(bd *bundle) []Variant {
				b := bd.v("b", Thai, 2*min, 1)
				b.Approved = false
				return []Variant{bd.v("a", Vietnamese, 2*min, 0), b, bd.v("b", Vietnamese, 2*min, 1)}
			},
			want: []string{"a/vi", "b/vi"},
		},
		{
			name:  "no acceptable language",
			langs: []Language{Hmong},
			edit: func(bd *bundle) []Variant {
				return []Variant{bd.v("a", Vietnamese, 2*min, 0), bd.v("b", Hmong, 2*min, 1)}
			},
			want:   []string{"b/hnj"},
			whyNot: map[string]ReasonCode{"a": LeftNoLanguage, "b": NotLeftOut},
		},
		{
			name:  "unapproved never airs",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				a := bd.v("a", Vietnamese, 2*min, 0)
				a.Approved = false
				return []Variant{a}
			},
			want:   nil,
			whyNot: map[string]ReasonCode{"a": LeftNotApproved},
		},
		{
			name:  "air window must hold the slot",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				slot := weekStart.In(bd.loc).Add(5*time.Hour + 30*time.Minute)
				early := bd.v("early", Vietnamese, 2*min, 0)
				early.AirUntil = slot.Add(5 * time.Minute) // ends inside the slot
				late := bd.v("late", Vietnamese, 2*min, 0)
				late.AirFrom = slot.Add(time.Minute)
				exact := bd.v("exact", Vietnamese, 2*min, 0)
				exact.AirFrom, exact.AirUntil = slot, slot.Add(10*time.Minute)
				gone := bd.v("gone", Vietnamese, 2*min, 0)
				gone.AirUntil = slot.Add(-48 * time.Hour)
				return []Variant{early, late, exact, gone}
			},
			want:   []string{"exact/vi"},
			whyNot: map[string]ReasonCode{"early": LeftOutOfWindow, "late": LeftOutOfWindow, "gone": LeftOutOfWindow},
		},
		{
			name:  "window decides the language",
			langs: []Language{Thai, Vietnamese},
			edit: func(bd *bundle) []Variant {
				th := bd.v("a", Thai, 2*min, 0)
				th.AirFrom = weekStart.In(bd.loc).Add(12 * time.Hour) // Thái only from noon
				return []Variant{th, bd.v("a", Vietnamese, 2*min, 0)}
			},
			want: []string{"a/vi"},
		},
		{
			name:  "too long for the slot",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				return []Variant{bd.v("long", Vietnamese, 11*min, 0), bd.v("ok", Vietnamese, 3*min, 1)}
			},
			want:   []string{"ok/vi"},
			whyNot: map[string]ReasonCode{"long": LeftTooLong},
		},
		{
			name:  "bad catalog entries are reported, not fatal",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				return []Variant{bd.v("zero", Vietnamese, 0, 0), bd.v("fr", "fr", 2*min, 0), bd.v("ok", Vietnamese, 3*min, 1)}
			},
			want:   []string{"ok/vi"},
			whyNot: map[string]ReasonCode{"zero": LeftInvalid, "fr": LeftUnknownLanguage, "nope": LeftInvalid},
		},
		{
			name:  "emergency targets",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				here := bd.v("here", Vietnamese, time.Minute, 5)
				here.Priority, here.Targets = Emergency, []string{"muong-lan"}
				there := bd.v("there", Vietnamese, time.Minute, 5)
				there.Priority, there.Targets = Emergency, []string{"suoi-to"}
				all := bd.v("all", Vietnamese, time.Minute, 6)
				all.Priority = Emergency
				return []Variant{here, there, all}
			},
			want:   []string{"here/vi", "all/vi"},
			whyNot: map[string]ReasonCode{"there": LeftNotTargeted},
		},
		{
			name:  "an emergency leads only the slots that begin once the commune got it",
			langs: []Language{Vietnamese},
			edit: func(bd *bundle) []Variant {
				slot := weekStart.In(bd.loc).Add(5*time.Hour + 30*time.Minute)
				em := func(id string, targets []string, raised map[string]time.Time) Variant {
					v := bd.v(id, Vietnamese, time.Minute, 5)
					v.Priority, v.Targets, v.RaisedAt = Emergency, targets, raised
					return v
				}
				return []Variant{
					em("before", []string{"muong-lan"}, map[string]time.Time{"muong-lan": slot.Add(-time.Minute)}),
					em("at", []string{"muong-lan"}, map[string]time.Time{"muong-lan": slot}),
					em("during", []string{"muong-lan"}, map[string]time.Time{"muong-lan": slot.Add(time.Minute)}),
					em("later-elsewhere", []string{"muong-lan", "suoi-to"}, map[string]time.Time{"muong-lan": slot.Add(-time.Hour), "suoi-to": slot.Add(time.Hour)}),
					em("province-late", nil, map[string]time.Time{"": slot.Add(time.Minute)}),
					em("province-kept", nil, map[string]time.Time{"": slot.Add(time.Minute), "muong-lan": slot.Add(-time.Hour)}),
					em("province-unknown", nil, map[string]time.Time{"suoi-to": slot.Add(time.Hour)}),
				}
			},
			want: []string{"at/vi", "before/vi", "later-elsewhere/vi", "province-kept/vi", "province-unknown/vi"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bd := setup(t, tt.langs, morning)
			s := bd.build(t, tt.edit(bd), nil)
			if len(s.Playlists) != 1 {
				t.Fatalf("playlists = %d, want 1", len(s.Playlists))
			}
			if got := aired(s.Playlists[0]); !slices.Equal(got, tt.want) {
				t.Errorf("aired %v, want %v", got, tt.want)
			}
			for id, code := range tt.whyNot {
				if got := s.WhyNot(id, "muong-lan", "trung-tam"); got.Code != code || got.Text == "" {
					t.Errorf("WhyNot(%s) = %s %q, want %s", id, got.Code, got.Text, code)
				}
			}
		})
	}
}

func TestBuildNoLanguageIsReported(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Hmong}, morning)
	th := bd.v("a", Hmong, time.Minute, 0)
	th.Approved = false
	s := bd.build(t, []Variant{bd.v("a", Vietnamese, time.Minute, 0), th}, nil)
	lo := leftOut(s, "a")
	if len(lo) != 1 || lo[0].Code != LeftNoLanguage || !slices.Equal(lo[0].Languages, []Language{Hmong}) {
		t.Fatalf("left out = %+v, want one no-language report for [hnj]", lo)
	}
	if !strings.Contains(lo[0].Text, "hnj variant awaits approval") {
		t.Errorf("text %q does not mention the pending Mông variant", lo[0].Text)
	}
}

func TestBuildPriorityOrder(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, morning)
	n1 := bd.v("n-fresh", Vietnamese, time.Minute, 0)
	p1 := bd.v("p-old", Vietnamese, time.Minute, 50)
	p1.Priority = Urgent
	e1 := bd.v("e-old", Vietnamese, time.Minute, 90)
	e1.Priority = Emergency
	p2 := bd.v("p-new", Vietnamese, time.Minute, 10)
	p2.Priority = Urgent
	s := bd.build(t, []Variant{n1, p1, e1, p2}, nil)
	want := []string{"e-old/vi", "p-new/vi", "p-old/vi", "n-fresh/vi"}
	if got := aired(s.Playlists[0]); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	its := s.Playlists[0].Items
	if its[0].Why != ChosenEmergency || its[1].Why != ChosenPriority || its[3].Why != ChosenRanked {
		t.Errorf("reasons %s %s %s", its[0].Why, its[1].Why, its[3].Why)
	}
}

func TestBuildPriorityNoRoom(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, morning)
	bd.opts.Days = 3
	var cat []Variant
	for _, id := range []string{"p1", "p2", "p3"} {
		v := bd.v(id, Vietnamese, 4*time.Minute, len(cat))
		v.Priority = Urgent
		cat = append(cat, v)
	}
	s := bd.build(t, cat, nil)
	lo := leftOut(s, "p3")
	if len(lo) != 1 || lo[0].Code != LeftNoRoom || !strings.Contains(lo[0].Text, "3 slots") {
		t.Fatalf("p3 left out = %+v, want one no-room report for 3 slots", lo)
	}
}

func TestBuildSeparation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		sep      int
		history  []Aired
		wantDays []int // days (0-based) on which "a" airs
	}{
		{"off", 0, nil, []int{0, 1, 2, 3, 4, 5}},
		{"every other day", 2, nil, []int{0, 2, 4}},
		{"three days", 3, nil, []int{0, 3}},
		{"history blocks the start", 3, []Aired{{Commune: "muong-lan", SegmentID: "a", Date: weekStart.AddDays(-1)}}, []int{2, 5}},
		{"history elsewhere does not", 3, []Aired{{Commune: "suoi-to", SegmentID: "a", Date: weekStart.AddDays(-1)}}, []int{0, 3}},
		{"history inside the build is replaced", 3, []Aired{{Commune: "muong-lan", SegmentID: "a", Date: weekStart}}, []int{0, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bd := setup(t, []Language{Vietnamese}, morning)
			bd.opts.Days = 6
			bd.opts.SeparationDays = tt.sep
			pr := bd.v("p", Vietnamese, time.Minute, 9)
			pr.Priority = Urgent
			s := bd.build(t, []Variant{bd.v("a", Vietnamese, time.Minute, 0), pr}, tt.history)
			var days []int
			for d, p := range s.Playlists {
				if slices.Contains(aired(p), "a/vi") {
					days = append(days, d)
				}
				if !slices.Contains(aired(p), "p/vi") {
					t.Errorf("day %d: priority item missing; separation must not hold it back", d)
				}
			}
			if !slices.Equal(days, tt.wantDays) {
				t.Errorf("a airs on days %v, want %v", days, tt.wantDays)
			}
		})
	}
}

func TestBuildSeparationSameDay(t *testing.T) {
	t.Parallel()
	twice := []Slot{
		{Days: EveryDay, Start: 5 * 3600, Length: 10 * time.Minute},
		{Days: EveryDay, Start: 17 * 3600, Length: 10 * time.Minute},
	}
	bd := setup(t, []Language{Vietnamese}, morning)
	bd.reg.Communes[0].Slots = twice
	bd.reg.Communes[0].Clusters = append(bd.reg.Communes[0].Clusters, Cluster{ID: "ban", Languages: []Language{Vietnamese}})
	bd.opts.SeparationDays = 1
	s := bd.build(t, []Variant{bd.v("a", Vietnamese, time.Minute, 0)}, nil)
	if len(s.Playlists) != 4 {
		t.Fatalf("playlists = %d, want 4", len(s.Playlists))
	}
	// Each cluster plays "a" once that day (in the morning), both clusters do.
	for _, p := range s.Playlists {
		morningSlot := p.Slot.Start == 5*3600
		if got := slices.Contains(aired(p), "a/vi"); got != morningSlot {
			t.Errorf("%s %s: aired a = %v, want %v", p.Cluster, p.Slot.Start, got, morningSlot)
		}
	}
	if why := s.WhyNot("a", "muong-lan", "ban"); why.Code != NotLeftOut {
		t.Errorf("WhyNot for an aired segment = %s", why.Code)
	}
}

func TestBuildBestFit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		slack time.Duration
		want  []string
	}{
		// 600 s to fill: 6m alone leaves 4m; 5m+5m fills the slot.
		{"tightest fit beats rank", 0, []string{"b/vi", "c/vi"}},
		{"slack keeps the freshest", 5 * time.Minute, []string{"a/vi", "d/vi"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bd := setup(t, []Language{Vietnamese}, morning)
			bd.opts.Slack = tt.slack
			cat := []Variant{
				bd.v("a", Vietnamese, 6*time.Minute, 0), bd.v("b", Vietnamese, 5*time.Minute, 1),
				bd.v("c", Vietnamese, 5*time.Minute, 2), bd.v("d", Vietnamese, 3*time.Minute+30*time.Second, 3),
			}
			s := bd.build(t, cat, nil)
			if got := aired(s.Playlists[0]); !slices.Equal(got, tt.want) {
				t.Errorf("aired %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBuildFillerAndIdent(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Thai, Vietnamese}, Slot{Days: EveryDay, Start: 17 * 3600, Length: 10 * time.Minute, Reserved: 2 * time.Minute})
	bd.opts.Filler = []Clip{
		{ID: "nhac-60", Duration: 60 * time.Second},
		{ID: "nhac-mong", Language: Hmong, Duration: 10 * time.Second},
		{ID: "nhac-25", Duration: 25 * time.Second},
	}
	bd.opts.Ident = Clip{ID: "ident", Duration: 15 * time.Second}
	s := bd.build(t, []Variant{bd.v("a", Thai, 5*time.Minute+500*time.Millisecond, 0)}, nil)
	p := s.Playlists[0]
	var kinds []string
	var end time.Duration
	for _, it := range p.Items {
		kinds = append(kinds, it.SegmentID)
		if it.Offset != end {
			t.Errorf("%s starts at %s, want %s (items must follow one another)", it.SegmentID, it.Offset, end)
		}
		end = it.Offset + it.Duration
	}
	// 8 min after the relay; 5m0.5s of segment leaves 2m59.5s: 15 s ident,
	// then 60+60+25 s of filler, 19.5 s of silence.
	want := []string{"", "a", "nhac-60", "nhac-60", "nhac-25", "ident"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("items %q, want %q", kinds, want)
	}
	if p.Spare != 2*time.Minute+59500*time.Millisecond || p.Silence != 19500*time.Millisecond {
		t.Errorf("spare %s silence %s, want 2m59.5s and 19.5s", p.Spare, p.Silence)
	}
	if end+p.Silence != p.Slot.Length {
		t.Errorf("items end at %s + silence %s, want the slot's %s", end, p.Silence, p.Slot.Length)
	}
}

func TestBuildTopicRotation(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, morning)
	bd.opts.Days = 3
	bd.opts.SeparationDays = 7
	var cat []Variant
	// Topic d has ten fresh items; b and g one older item each.
	for i := 0; i < 10; i++ {
		cat = append(cat, bd.v("d"+string(rune('0'+i)), Vietnamese, 2*time.Minute, i))
	}
	old := bd.v("b-old", Vietnamese, 2*time.Minute, 100)
	old.Topic = TopicIndices
	older := bd.v("g-older", Vietnamese, 2*time.Minute, 200)
	older.Topic = TopicDigital
	s := bd.build(t, append(cat, old, older), nil)
	first := aired(s.Playlists[0])
	// Five 2-minute items fit; rotation (b's turn comes before d's and
	// g's in the first slot) puts the lone b and g items in the first
	// slot, between the freshest d items.
	want := []string{"b-old/vi", "d0/vi", "g-older/vi", "d1/vi", "d2/vi"}
	if !slices.Equal(first, want) {
		t.Errorf("day 1: %v, want %v", first, want)
	}
	if got := aired(s.Playlists[1]); !slices.Equal(got, []string{"d3/vi", "d4/vi", "d5/vi", "d6/vi", "d7/vi"}) {
		t.Errorf("day 2: %v", got)
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, morning)
	bad := bd.opts
	bad.Days = 0
	if _, err := Build(nil, bd.reg, nil, bad); err == nil || !strings.Contains(err.Error(), "days 0") {
		t.Errorf("Days 0: err = %v", err)
	}
	reg := *bd.reg
	reg.Communes = append(slices.Clone(reg.Communes), reg.Communes[0])
	if _, err := Build(nil, &reg, nil, bd.opts); !errors.Is(err, ErrDuplicateCode) {
		t.Errorf("duplicate commune: err = %v", err)
	}
	if _, err := Build(nil, nil, nil, bd.opts); err == nil {
		t.Error("nil registry accepted")
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Thai, Vietnamese}, Slot{Days: EveryDay, Start: 5*3600 + 30*60, Length: 10 * time.Minute, Reserved: 3 * time.Minute})
	s := bd.build(t, []Variant{bd.v("a", Vietnamese, 2*time.Minute, 0), bd.v("m", Hmong, time.Minute, 0)}, nil)
	out := Explain(s, "muong-lan", "")
	for _, want := range []string{
		"Mường Lạn (muong-lan), cluster trung-tam, languages blt, vi",
		"2025-07-07 Mon 05:30-05:40",
		"05:30:00   3:00  relay: reserved for the relay",
		"05:33:00   2:00  a [vi] \"Bài a\": normal: topic d by rotation (count 0), freshness rank 1",
		"choice 2 of the cluster's languages",
		"spare 5m0s after segments, silence 5m0s",
		"m \"Bài m\": no-language: approved only in hnj",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
}

// TestExplainRoundsAsItAdds: lengths and start times are both rounded to
// the second, so an item's start plus its length reads as the next
// item's start (a 3.788 s item is 0:04, not 0:03 as truncation wrote it).
func TestExplainRoundsAsItAdds(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, Slot{Days: EveryDay, Start: 5*3600 + 30*60, Length: 10 * time.Minute, Reserved: 3 * time.Minute})
	s := bd.build(t, []Variant{bd.v("a", Vietnamese, 3788*time.Millisecond, 0), bd.v("b", Vietnamese, 10998*time.Millisecond, 1)}, nil)
	out := Explain(s, "muong-lan", "")
	for _, want := range []string{"05:33:00   0:04  a [vi]", "05:33:04   0:11  b [vi]"} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
}

func TestBuildDemoRegistry(t *testing.T) {
	t.Parallel()
	reg := loadDemo(t)
	loc := hcm(t)
	sc := scenario{reg: reg, catalog: genCatalog(rand.New(rand.NewPCG(3, 4)), 120, loc, 0), opts: DefaultOptions(weekStart)}
	s, err := Build(sc.catalog, reg, nil, sc.opts)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, sc, s)
	// Mon-Sat, two slots: 12 playlists a week; ban-be plays 17:30 daily.
	for _, c := range reg.Communes {
		for _, cl := range c.Clusters {
			want := 12
			if c.Code == "ta-xua" && cl.ID == "ban-be" {
				want = 7
			}
			ps := s.Cluster(c.Code, cl.ID)
			if len(ps) != want {
				t.Errorf("%s/%s: %d playlists, want %d", c.Code, cl.ID, len(ps), want)
			}
			for _, p := range ps {
				if p.Date.Weekday() == time.Sunday && want == 12 {
					t.Errorf("%s/%s plays on Sunday %s", c.Code, cl.ID, p.Date)
				}
				if p.Segments() == 0 {
					t.Errorf("%s/%s %s %s: no segments", c.Code, cl.ID, p.Date, p.Slot.Start)
				}
			}
		}
	}
	if s.Cluster("to-hieu", "trung-tam")[0].Start.Format(time.RFC3339) != "2025-07-07T05:30:00+07:00" {
		t.Errorf("first slot starts %s", s.Cluster("to-hieu", "trung-tam")[0].Start)
	}
	out := Explain(s, "ta-xua", "ban-ta-xua")
	if !strings.Contains(out, "Tà Xùa (ta-xua), cluster ban-ta-xua") || !strings.Contains(out, "no-language") {
		t.Errorf("Explain for a Mông-only cluster:\n%s", out)
	}
}

func TestWhyNotSeparationAndRank(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Vietnamese}, morning)
	hist := []Aired{{Commune: "muong-lan", SegmentID: "yesterday", Date: weekStart.AddDays(-1)}}
	cat := []Variant{
		bd.v("fresh", Vietnamese, 8*time.Minute, 0),
		bd.v("older", Vietnamese, 8*time.Minute, 5),
		bd.v("yesterday", Vietnamese, time.Minute, 1),
	}
	s := bd.build(t, cat, hist)
	if got := aired(s.Playlists[0]); !slices.Equal(got, []string{"fresh/vi"}) {
		t.Fatalf("aired %v, want [fresh/vi]", got)
	}
	if w := s.WhyNot("yesterday", "muong-lan", "trung-tam"); w.Code != LeftSeparation {
		t.Errorf("yesterday: %s %q, want separation", w.Code, w.Text)
	}
	w := s.WhyNot("older", "muong-lan", "trung-tam")
	if w.Code != LeftNotReached || !strings.Contains(w.Text, "freshness rank 3 of 3") {
		t.Errorf("older: %s %q, want not-reached at rank 3 of 3", w.Code, w.Text)
	}
	if w := s.WhyNot("older", "muong-lan", "nope"); w.Code != LeftInvalid {
		t.Errorf("unknown cluster: %s", w.Code)
	}
}

// TestExplainFor: a reader who may see only some segments reads those by
// id and title; another segment that airs is "another producer's
// segment" with its language, length and reason, one that does not is
// only counted.
func TestExplainFor(t *testing.T) {
	t.Parallel()
	bd := setup(t, []Language{Thai, Vietnamese}, Slot{Days: EveryDay, Start: 5*3600 + 30*60, Length: 10 * time.Minute, Reserved: 3 * time.Minute})
	s := bd.build(t, []Variant{bd.v("a", Vietnamese, 2*time.Minute, 0), bd.v("b", Vietnamese, time.Minute, 1), bd.v("m", Hmong, time.Minute, 0)}, nil)
	out := ExplainFor(s, "muong-lan", "", func(id string) bool { return id == "a" })
	for _, want := range []string{
		"a [vi] \"Bài a\": normal: topic d by rotation",
		"  " + OtherSegment + " [vi]: normal: topic d by rotation",
		"    other producers' segments: 1, not shown\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ExplainFor lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"Bài b", "Bài m", " b [", " m \""} {
		if strings.Contains(out, secret) {
			t.Errorf("ExplainFor shows %q:\n%s", secret, out)
		}
	}
	if all := Explain(s, "muong-lan", ""); !strings.Contains(all, "Bài b") || !strings.Contains(all, "Bài m") || strings.Contains(all, OtherSegment) {
		t.Errorf("Explain (every segment shown):\n%s", all)
	}
}
