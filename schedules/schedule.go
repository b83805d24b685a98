package schedules

import (
	"fmt"
	"strings"
	"time"
)

// ReasonCode says in one word why an item was chosen or a segment left out.
type ReasonCode string

// Why an item is in a playlist.
const (
	ChosenRelay     ReasonCode = "relay"     // the reserved part of the slot, not ours
	ChosenEmergency ReasonCode = "emergency" // emergencies go first, in every slot
	ChosenPriority  ReasonCode = "priority"  // priority items follow emergencies
	ChosenRanked    ReasonCode = "ranked"    // normal item, by freshness and topic rotation
	ChosenFiller    ReasonCode = "filler"    // configured filler for spare time
	ChosenIdent     ReasonCode = "ident"     // station ident at the end
)

// Why a segment is not in a playlist.
const (
	LeftInvalid         ReasonCode = "invalid"          // variant data unusable (no id, no duration, window backwards)
	LeftUnknownLanguage ReasonCode = "unknown-language" // variant in a language Loa does not know
	LeftNotApproved     ReasonCode = "not-approved"     // no approved variant at all
	LeftOutOfWindow     ReasonCode = "out-of-window"    // air window misses the slot or the whole build
	LeftNoLanguage      ReasonCode = "no-language"      // no approved variant in a language the cluster takes
	LeftNotTargeted     ReasonCode = "not-targeted"     // emergency meant for other communes
	LeftTooLong         ReasonCode = "too-long"         // longer than the slot's free time
	LeftSeparation      ReasonCode = "separation"       // aired in the commune too recently
	LeftNoRoom          ReasonCode = "no-room"          // priority/emergency did not fit after items before it
	LeftNotReached      ReasonCode = "not-reached"      // eligible, but fresher or better-fitting items filled the slots
	NotLeftOut          ReasonCode = "aired"            // the segment is in this cluster's playlists
)

// ItemKind tells segments from the relay, filler and ident.
type ItemKind uint8

// Kinds of playlist item.
const (
	ItemSegment ItemKind = iota
	ItemRelay
	ItemFiller
	ItemIdent
)

// String returns "segment", "relay", "filler" or "ident".
func (k ItemKind) String() string {
	switch k {
	case ItemSegment:
		return "segment"
	case ItemRelay:
		return "relay"
	case ItemFiller:
		return "filler"
	case ItemIdent:
		return "ident"
	}
	return fmt.Sprintf("ItemKind(%d)", int(k))
}

// Item is one entry of a playlist. Offset counts from the slot's start,
// relay included.
type Item struct {
	Kind      ItemKind
	Offset    time.Duration
	Duration  time.Duration
	SegmentID string // segment id, or the filler/ident clip id
	Title     string
	Topic     Topic
	Language  Language
	Priority  Priority
	Why       ReasonCode
	// Rank is the segment's place (1 = freshest) among the day's normal
	// segments in the cluster's languages; 0 for other items.
	Rank int
	// TopicAired counts the airings of the item's topic in the commune's
	// week of history before the build plus the picks made before it for
	// this slot; topic rotation prefers low counts, then the topic whose
	// turn it is.
	TopicAired int
	// Fallback is the position of Language in the cluster's language list:
	// 0 when the first choice was played.
	Fallback int
}

// Reason renders why the item is in the playlist, in plain words.
func (it *Item) Reason() string {
	lang := ""
	if it.Fallback > 0 {
		lang = fmt.Sprintf("; in %s, choice %d of the cluster's languages (no approved variant in the earlier ones for this slot)", it.Language, it.Fallback+1)
	}
	switch it.Why {
	case ChosenRelay:
		return "reserved for the relay at the slot's start; not ours to fill"
	case ChosenEmergency:
		return "emergency: played first in every slot while its air window lasts" + lang
	case ChosenPriority:
		return "priority: played right after emergencies, in every slot while its air window lasts" + lang
	case ChosenRanked:
		return fmt.Sprintf("normal: topic %s by rotation (count %d), freshness rank %d", it.Topic, it.TopicAired, it.Rank) + lang
	case ChosenFiller:
		return "filler for time no segment fitted"
	case ChosenIdent:
		return "station ident closing the slot"
	}
	return string(it.Why)
}

// Playlist is what one cluster plays in one slot on one date.
type Playlist struct {
	Commune   string // commune code
	Cluster   string // cluster id
	Languages []Language
	Date      Date
	Slot      Slot
	Start     time.Time // the slot's start instant
	Items     []Item
	// Spare is the time after the relay that segments did not fill.
	Spare time.Duration
	// Silence is the part of Spare that neither filler nor ident filled.
	Silence time.Duration
}

// End returns the slot's end instant.
func (p *Playlist) End() time.Time { return p.Start.Add(p.Slot.Length) }

// Segments returns the number of segment items.
func (p *Playlist) Segments() int {
	n := 0
	for i := range p.Items {
		if p.Items[i].Kind == ItemSegment {
			n++
		}
	}
	return n
}

// LeftOut reports a segment the schedule did not use, and why. Empty
// Commune means every commune (for NoLanguage: every cluster whose
// language list is Languages); a zero Date means the whole build.
type LeftOut struct {
	SegmentID string
	Title     string
	Commune   string
	Cluster   string
	Languages []Language // the cluster language list, for LeftNoLanguage
	Date      Date
	Slot      TimeOfDay // the slot's start, when Date is set
	Code      ReasonCode
	Text      string
}

// Schedule is the result of Build.
type Schedule struct {
	Start    Date
	Days     int
	Location *time.Location
	// Playlists in registry order of communes, then clusters, dates and
	// slot starts.
	Playlists []Playlist
	// LeftOut lists the reports made while building: catalog problems,
	// segments without a language some clusters take, and priority or
	// emergency items that found no room. WhyNot answers for any other
	// segment and cluster.
	LeftOut []LeftOut

	in      *built
	ranges  map[string][2]int // commune code -> Playlists[a:b]
	history map[string][]Aired
}

// Commune returns the playlists of one commune (nil if it has none).
func (s *Schedule) Commune(code string) []Playlist {
	r, ok := s.ranges[code]
	if !ok {
		return nil
	}
	return s.Playlists[r[0]:r[1]]
}

// Cluster returns the playlists of one cluster, by date and slot.
func (s *Schedule) Cluster(commune, cluster string) []Playlist {
	var out []Playlist
	for _, p := range s.Commune(commune) {
		if p.Cluster == cluster {
			out = append(out, p)
		}
	}
	return out
}

func joinLanguages(ls []Language) string {
	return strings.Join(languageStrings(ls), ", ")
}
