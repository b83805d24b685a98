package schedules

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WhyNot says why a segment is not in a cluster's playlists. It answers
// NotLeftOut when the segment did air there. The answer names the rule
// that stopped the segment in the slots where it came closest to airing.
func (s *Schedule) WhyNot(segmentID, commune, cluster string) LeftOut {
	b := s.in
	lo := LeftOut{SegmentID: segmentID, Commune: commune, Cluster: cluster}
	if _, ok := b.segIndex[segmentID]; !ok {
		for _, l := range s.LeftOut {
			if l.SegmentID == segmentID && l.Commune == "" && l.Languages == nil {
				lo.Title, lo.Code, lo.Text = l.Title, l.Code, l.Text
				return lo
			}
		}
		lo.Code, lo.Text = LeftInvalid, "not in the catalog"
		return lo
	}
	ci := slices.IndexFunc(b.reg.Communes, func(c Commune) bool { return c.Code == commune })
	if ci < 0 {
		if seg := &b.segs[b.segIndex[segmentID]]; seg.problem != "" {
			lo.Title, lo.Code, lo.Text = seg.title, seg.problem, seg.problemTx
			return lo
		}
		lo.Title = b.segs[b.segIndex[segmentID]].title
		lo.Code, lo.Text = LeftInvalid, fmt.Sprintf("no commune %q in the registry", commune)
		return lo
	}
	c := &b.reg.Communes[ci]
	cj := slices.IndexFunc(c.Clusters, func(cl Cluster) bool { return cl.ID == cluster })
	if cj < 0 {
		if seg := &b.segs[b.segIndex[segmentID]]; seg.problem != "" {
			lo.Title, lo.Code, lo.Text = seg.title, seg.problem, seg.problemTx
			return lo
		}
		lo.Title = b.segs[b.segIndex[segmentID]].title
		lo.Code, lo.Text = LeftInvalid, fmt.Sprintf("no cluster %q in commune %q", cluster, commune)
		return lo
	}
	return s.whyNot(s.viewOf(ci, cj), segmentID)
}

// clusterView is what answering WhyNot for one cluster needs about the
// build, gathered once so that explaining every segment of a cluster
// costs one pass over its playlists, not one per segment.
type clusterView struct {
	ci, cj  int
	commune string
	cluster string
	mine    []Playlist
	// airs counts each segment's airings in the cluster, with the first.
	airs map[string]clusterAirs
	// days are the day numbers each segment aired anywhere in the
	// commune: history before the build and the build itself.
	days map[string][]int
}

type clusterAirs struct {
	n     int
	first *Playlist
}

func (s *Schedule) viewOf(ci, cj int) *clusterView {
	c := &s.in.reg.Communes[ci]
	v := &clusterView{ci: ci, cj: cj, commune: c.Code, cluster: c.Clusters[cj].ID,
		mine: s.Cluster(c.Code, c.Clusters[cj].ID), airs: map[string]clusterAirs{}, days: map[string][]int{}}
	for i := range v.mine {
		for _, it := range v.mine[i].Items {
			if it.Kind == ItemSegment {
				a := v.airs[it.SegmentID]
				if a.n == 0 {
					a.first = &v.mine[i]
				}
				a.n++
				v.airs[it.SegmentID] = a
			}
		}
	}
	for _, h := range s.history[c.Code] {
		if h.Date.Before(s.Start) {
			v.days[h.SegmentID] = append(v.days[h.SegmentID], h.Date.dayNumber())
		}
	}
	for _, p := range s.Commune(c.Code) {
		for _, it := range p.Items {
			if it.Kind == ItemSegment {
				v.days[it.SegmentID] = append(v.days[it.SegmentID], p.Date.dayNumber())
			}
		}
	}
	return v
}

// whyNot answers WhyNot for a segment in the catalog's index.
func (s *Schedule) whyNot(v *clusterView, segmentID string) LeftOut {
	b := s.in
	lo := LeftOut{SegmentID: segmentID, Commune: v.commune, Cluster: v.cluster}
	si := b.segIndex[segmentID]
	seg := &b.segs[si]
	lo.Title = seg.title
	if seg.problem != "" {
		lo.Code, lo.Text = seg.problem, seg.problemTx
		return lo
	}
	commune, mine := v.commune, v.mine
	if a := v.airs[segmentID]; a.n > 0 {
		lo.Code = NotLeftOut
		lo.Text = fmt.Sprintf("aired %d times, first on %s at %s", a.n, a.first.Date, a.first.Slot.Start)
		return lo
	}
	if seg.prio == Emergency && len(seg.targets) > 0 {
		if _, ok := slices.BinarySearch(seg.targets, commune); !ok {
			lo.Code, lo.Text = LeftNotTargeted, fmt.Sprintf("emergency meant for %s only", strings.Join(seg.targets, ", "))
			return lo
		}
	}
	lid := b.listOf[v.ci][v.cj]
	list := b.lists[lid]
	if !seg.hasAny(list) {
		lo.Code, lo.Text = LeftNoLanguage, seg.noLanguageText(list)
		return lo
	}
	if len(mine) == 0 {
		lo.Code, lo.Text = LeftNotReached, "the cluster has no slots in the days built"
		return lo
	}
	airedDays := v.days[segmentID]
	sep := b.opts.SeparationDays

	// Grade each slot by how far the segment got.
	stages := []ReasonCode{LeftOutOfWindow, LeftTooLong, LeftSeparation, LeftNotReached}
	if seg.prio != Normal {
		stages[3] = LeftNoRoom
	}
	count := make([]int, len(stages))
	var bestRank, bestOf int
	var bestDate Date
	top := -1
	c0 := cand{vars: [3]int32{-1, -1, -1}}
	for k, li := range list {
		c0.vars[k] = seg.vars[li]
	}
	for i := range mine {
		p := &mine[i]
		from := p.Start.Unix() + int64(p.Slot.Reserved/time.Second)
		until := p.Start.Unix() + int64(p.Slot.Length/time.Second)
		v, _ := b.pickVariant(&c0, len(list), from, until)
		stage := 3
		switch {
		case v < 0:
			stage = 0
		case b.vars[v].dur > p.Slot.Length-p.Slot.Reserved:
			stage = 1
		case seg.prio == Normal && sep > 0 && slices.ContainsFunc(airedDays, func(a int) bool {
			d := p.Date.dayNumber()
			return a < d && d-a < sep
		}):
			stage = 2
		}
		count[stage]++
		if stage > top {
			top = stage
		}
		if stage == 3 && seg.prio == Normal && bestOf == 0 {
			d := p.Date.DaysSince(s.Start)
			pool := &b.pools[lid][d]
			n := 0
			for _, tl := range pool.topics {
				n += len(tl)
			}
			for _, cd := range pool.topics[seg.topicIx] {
				if int(cd.seg) == si {
					bestRank, bestOf, bestDate = int(cd.rank)+1, n, p.Date
				}
			}
		}
	}
	lo.Code = stages[top]
	var text string
	switch lo.Code {
	case LeftOutOfWindow:
		text = "its air window covers none of the cluster's slots"
	case LeftTooLong:
		text = "longer than the free time of every slot it could air in"
	case LeftSeparation:
		text = fmt.Sprintf("aired in the commune within the last %d days each time it could have aired", sep)
	case LeftNoRoom:
		text = "emergency and priority items before it filled the slots"
	case LeftNotReached:
		text = "eligible, but fresher items, items of less-aired topics or a better fit filled the slots"
		if bestOf > 0 {
			text += fmt.Sprintf(" (freshness rank %d of %d on %s)", bestRank, bestOf, bestDate)
		}
	}
	var others []string
	for i := range stages {
		if count[i] > 0 && i != top {
			others = append(others, fmt.Sprintf("%s in %d", stages[i], count[i]))
		}
	}
	text += fmt.Sprintf("; %d of %d slots", count[top], len(mine))
	if len(others) > 0 {
		text += " (" + strings.Join(others, ", ") + ")"
	}
	lo.Text = text
	return lo
}

// Explain renders a plain-text account of the schedule of one cluster:
// every playlist with each item's offset, length and reason, the spare
// time, and then every catalog segment that did not air there with the
// reason. An empty cluster means every cluster of the commune; an empty
// commune, every commune (long for a whole province).
func Explain(s *Schedule, commune, cluster string) string {
	return ExplainFor(s, commune, cluster, nil)
}

// OtherSegment is how ExplainFor names a segment the reader may not see.
const OtherSegment = "another producer's segment"

// ExplainFor is Explain for a reader who may see only some segments:
// shown says whether a segment id is one of them (nil: every one). A
// segment the reader may not see is named neither by id nor by title:
// where it airs, its line says OtherSegment with its language, length
// and reason (emergency, priority, or normal with its topic and rank:
// what a reader needs to see why their own segment was placed where it
// was, or found no room); where it does not air, it is only counted.
func ExplainFor(s *Schedule, commune, cluster string, shown func(segmentID string) bool) string {
	var sb strings.Builder
	b := s.in
	fmt.Fprintf(&sb, "Schedule %s to %s (%s)\n", s.Start, s.Start.AddDays(s.Days-1), s.Location)
	for ci := range b.reg.Communes {
		c := &b.reg.Communes[ci]
		if commune != "" && c.Code != commune {
			continue
		}
		for cj := range c.Clusters {
			if cluster != "" && c.Clusters[cj].ID != cluster {
				continue
			}
			explainCluster(&sb, s, s.viewOf(ci, cj), shown)
		}
	}
	return sb.String()
}

func explainCluster(sb *strings.Builder, s *Schedule, view *clusterView, shown func(string) bool) {
	hidden := func(id string) bool { return id != "" && shown != nil && !shown(id) }
	b := s.in
	c, cl := &b.reg.Communes[view.ci], &b.reg.Communes[view.ci].Clusters[view.cj]
	fmt.Fprintf(sb, "\n%s (%s), cluster %s", c.Name, c.Code, cl.ID)
	if cl.Name != "" {
		fmt.Fprintf(sb, " %q", cl.Name)
	}
	fmt.Fprintf(sb, ", languages %s\n", joinLanguages(cl.Languages))
	aired := map[string]bool{}
	for _, p := range view.mine {
		fmt.Fprintf(sb, "  %s %s %s-%s\n", p.Date, p.Date.Weekday().String()[:3], p.Slot.Start, p.Slot.End())
		for i := range p.Items {
			it := &p.Items[i]
			at := p.Start.Add(it.Offset).Round(time.Second).Format(time.TimeOnly)
			name := it.Kind.String()
			if it.SegmentID != "" {
				name = it.SegmentID
			}
			if hidden(it.SegmentID) {
				name = OtherSegment
			}
			if it.Language != "" {
				name += " [" + string(it.Language) + "]"
			}
			if it.Title != "" && !hidden(it.SegmentID) {
				name += fmt.Sprintf(" %q", it.Title)
			}
			fmt.Fprintf(sb, "    %s %6s  %s: %s\n", at, clock(it.Duration), name, it.Reason())
			if it.Kind == ItemSegment {
				aired[it.SegmentID] = true
			}
		}
		if p.Spare > 0 {
			fmt.Fprintf(sb, "    spare %s after segments, silence %s\n", p.Spare, p.Silence)
		}
	}
	var left []string
	others := 0
	for _, seg := range b.segs {
		if aired[seg.id] {
			continue
		}
		if hidden(seg.id) {
			others++
			continue
		}
		lo := s.whyNot(view, seg.id)
		left = append(left, fmt.Sprintf("    %s %q: %s: %s\n", seg.id, seg.title, lo.Code, lo.Text))
	}
	for _, lo := range s.LeftOut {
		if lo.Commune == "" && lo.Languages == nil {
			if _, indexed := b.segIndex[lo.SegmentID]; !indexed || lo.Code == LeftUnknownLanguage || lo.Code == LeftInvalid {
				if hidden(lo.SegmentID) {
					others++
					continue
				}
				left = append(left, fmt.Sprintf("    %s %q: %s: %s\n", lo.SegmentID, lo.Title, lo.Code, lo.Text))
			}
		}
	}
	if others > 0 {
		left = append(left, fmt.Sprintf("    other producers' segments: %d, not shown\n", others))
	}
	if len(left) > 0 {
		sb.WriteString("  left out:\n")
		for _, l := range left {
			sb.WriteString(l)
		}
	}
}

// clock renders a duration as m:ss, rounded to the second as the start
// times are (so a start plus its length reads as the next start, give or
// take a second).
func clock(d time.Duration) string {
	sec := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}
