package player

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/schedules"
)

// Rules of the plan, in one place.
const (
	// MinPlay is the least time left in an item's window worth starting
	// it for: an item whose window closes sooner is skipped.
	MinPlay = time.Second
	// InterruptWindow is how long after an emergency is raised its
	// "interrupt now" entry is still played when the player learns of it
	// (the server keeps it in the playlists for an hour).
	InterruptWindow = time.Hour
	// InterruptLead lets an interrupt stamped a little ahead of the
	// player's clock (the server's clock runs ahead) play at once.
	InterruptLead = 5 * time.Minute
	// maxEntryLength bounds one entry's length.
	maxEntryLength = 24 * time.Hour
)

// Item is one entry of a cluster's playlist as the player plays it.
type Item struct {
	schedules.Entry
	Cluster string
	Date    string // YYYY-MM-DD of the playlist it came from
	// Slot names the slot the entry belongs to: the entry id up to '#'
	// (e.g. "2025-03-03T05:30"), or the whole id of an interrupt.
	Slot string
	// File is the media's path inside the bundle; empty when the entry
	// cannot be played (see Problem).
	File string
	// Stop is when the item must be silent at the latest: the start of
	// the next entry of its slot, or the slot's end (the end of its last
	// entry). Zero for interrupts, which play to their end.
	Stop time.Time
	// Problem says why a segment entry cannot be played (no audio in the
	// bundle, a file missing from the signed manifest); the player
	// reports it failed at its time with this reason.
	Problem string
	// Skip says why a filler or ident entry without audio is left silent:
	// the player journals it as skipped at its time, with this reason,
	// and reports nothing to the server (spare time is not a broadcast).
	Skip string
}

// Key identifies the item across bundle versions: entry ids are
// positions within a slot and repeat across clusters, so the cluster,
// the start time and the media are part of the key. A finished key is
// never played again.
func (it *Item) Key() string {
	return it.Cluster + "|" + it.ID + "|" + it.Start.UTC().Format(time.RFC3339Nano) + "|" + it.SHA256
}

// Length is the item's planned length.
func (it *Item) Length() time.Duration { return time.Duration(it.DurationMS) * time.Millisecond }

// End is the item's planned end.
func (it *Item) End() time.Time { return it.Start.Add(it.Length()) }

// Emergency reports whether the item is an emergency interrupt.
func (it *Item) Emergency() bool { return it.Kind == schedules.EntryInterrupt }

// Plan is what each cluster of a commune plays, from one verified bundle.
type Plan struct {
	Manifest *schedules.Manifest
	// Programme holds each cluster's scheduled items with media (or a
	// Problem), in start order.
	Programme map[string][]Item
	// Interrupts holds each cluster's emergency interrupts, in start order.
	Interrupts map[string][]Item
	// Cause is why the server built this version as its events stream
	// announced it ("emergency_ended", "withdrawn", ...), for the log and
	// the journal; "" when the bundle came without an announcement (a
	// regular poll, the bundle on disk at start).
	Cause string
}

// Clusters lists the clusters the plan has items for, sorted.
func (p *Plan) Clusters() []string {
	var out []string
	for c := range p.Programme {
		out = append(out, c)
	}
	for c := range p.Interrupts {
		if _, ok := p.Programme[c]; !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Expired reports whether the bundle is past its valid_until at now.
func (p *Plan) Expired(now time.Time) bool {
	return !p.Manifest.ValidUntil.IsZero() && !now.Before(p.Manifest.ValidUntil)
}

// NewPlan reads the JSON playlists of a verified bundle (fsys holds the
// bundle, m its verified manifest). Every media file an entry names
// must be listed in the manifest with the entry's checksum; an entry
// whose file is not is kept with a Problem, never played. A playlist
// that cannot be read is an error: the bundle is then refused whole.
func NewPlan(fsys fs.FS, m *schedules.Manifest) (*Plan, error) {
	p := &Plan{Manifest: m, Programme: map[string][]Item{}, Interrupts: map[string][]Item{}}
	listed := map[string]string{}
	for _, f := range m.Files {
		listed[f.Path] = f.SHA256
	}
	for _, f := range m.Files {
		if path.Dir(f.Path) != "." || !strings.HasSuffix(f.Path, ".json") {
			continue
		}
		data, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			return nil, fmt.Errorf("read playlist %s: %w", f.Path, err)
		}
		items, err := parsePlaylist(f.Path, data, m.Commune, listed)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if it.Emergency() {
				p.Interrupts[it.Cluster] = append(p.Interrupts[it.Cluster], it)
			} else {
				p.Programme[it.Cluster] = append(p.Programme[it.Cluster], it)
			}
		}
	}
	for c, items := range p.Programme {
		p.Programme[c] = slotStops(items)
	}
	for c, items := range p.Interrupts {
		slices.SortStableFunc(items, func(a, b Item) int { return a.Start.Compare(b.Start) })
		p.Interrupts[c] = items
	}
	return p, nil
}

// parsePlaylist reads one bundle playlist (schedules.PlaylistDoc) and
// returns its entries as items, each checked: an id, a start, a length
// from 0 to a day, media listed in the manifest. A filler or ident with
// media plays like a segment; one without gets a Skip. Relay entries
// (no media of their own) are kept for the slot's timing; slotStops
// drops them.
func parsePlaylist(name string, data []byte, commune string, listed map[string]string) ([]Item, error) {
	var doc schedules.PlaylistDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("playlist %s: not a playlist document: %w", name, err)
	}
	if doc.Commune != commune {
		return nil, fmt.Errorf("playlist %s: it is for commune %q, the bundle for %q", name, doc.Commune, commune)
	}
	if doc.Cluster == "" {
		return nil, fmt.Errorf("playlist %s: no cluster", name)
	}
	if _, err := schedules.ParseDate(doc.Date); err != nil {
		return nil, fmt.Errorf("playlist %s: date: %w", name, err)
	}
	out := make([]Item, 0, len(doc.Entries))
	for i, e := range doc.Entries {
		if e.ID == "" || e.Start.IsZero() || e.DurationMS < 0 || time.Duration(e.DurationMS)*time.Millisecond > maxEntryLength {
			return nil, fmt.Errorf("playlist %s: entry %d: needs an id, a start and a length from 0 to 24 h", name, i+1)
		}
		it := Item{Entry: e, Cluster: doc.Cluster, Date: doc.Date, Slot: e.ID}
		if e.Kind != schedules.EntryInterrupt {
			if k, _, ok := strings.Cut(e.ID, "#"); ok {
				it.Slot = k
			}
		}
		switch {
		case e.Playable():
			file := path.Join(path.Dir(name), e.URL)
			if e.URL == "" || path.IsAbs(e.URL) || schedules.CheckBundlePath(file) != nil {
				it.Problem = fmt.Sprintf("its media path %q is not inside the bundle", e.URL)
			} else if sum, ok := listed[file]; !ok {
				it.Problem = fmt.Sprintf("its media %s is not in the signed manifest", file)
			} else if sum != e.SHA256 {
				it.Problem = fmt.Sprintf("its media %s has another checksum in the signed manifest", file)
			} else {
				it.File = file
			}
		case e.Kind == schedules.EntrySegment || e.Kind == schedules.EntryInterrupt:
			it.Problem = "the schedule has no audio for this segment in its language"
		case e.Kind == schedules.EntryFiller || e.Kind == schedules.EntryIdent:
			it.Skip = fmt.Sprintf("%s %q has no audio in the bundle (the server sends none for it): its %s stays silent until the next item",
				e.Kind, e.SegmentID, (time.Duration(e.DurationMS) * time.Millisecond).Round(time.Second))
		}
		out = append(out, it)
	}
	return out, nil
}

// slotStops sorts a cluster's entries by start, sets each one's Stop
// (the next entry's start within its slot, or the slot's end) and keeps
// only the entries the player acts on: those with media, a Problem or a
// Skip.
func slotStops(items []Item) []Item {
	slices.SortStableFunc(items, func(a, b Item) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	ends := map[string]time.Time{}
	for _, it := range items {
		if e := it.End(); e.After(ends[it.Slot]) {
			ends[it.Slot] = e
		}
	}
	out := items[:0]
	for i := range items {
		it := items[i]
		it.Stop = ends[it.Slot]
		for j := i + 1; j < len(items); j++ {
			if items[j].Slot == it.Slot && items[j].Start.After(it.Start) {
				it.Stop = items[j].Start
				break
			}
		}
		if it.File != "" || it.Problem != "" || it.Skip != "" {
			out = append(out, it)
		}
	}
	return out
}

// Step is what a cluster does next: play Item from Offset into its media,
// starting at At (now, or a later planned start).
type Step struct {
	Item   *Item
	At     time.Time
	Offset time.Duration
}

// Next says what cluster plays next at now. done reports the items
// already played or failed (never played again). An emergency interrupt
// not yet done comes first, at once, while within InterruptWindow of its
// start; of several, the newest (latest start) first: a warning raised
// while another sounds is the more recent word, and the older one, cut,
// plays again whole after it. Otherwise the schedule's clock decides: the item whose window
// holds now plays from the offset the clock says (after a restart, a
// late start or an emergency, the slot continues where the schedule
// is); else the next item waits for its start. An item with less than
// MinPlay of its window left is skipped. ok is false when nothing is
// left in the bundle for the cluster.
func (p *Plan) Next(cluster string, now time.Time, done func(*Item) bool) (Step, bool) {
	// The newest warning first: Interrupts is in start order.
	for i := len(p.Interrupts[cluster]) - 1; i >= 0; i-- {
		it := &p.Interrupts[cluster][i]
		if done(it) || now.Before(it.Start.Add(-InterruptLead)) || !now.Before(it.Start.Add(InterruptWindow)) {
			continue
		}
		return Step{Item: it, At: now}, true
	}
	for i := range p.Programme[cluster] {
		it := &p.Programme[cluster][i]
		if done(it) || it.Stop.Sub(now) < MinPlay {
			continue
		}
		if it.Start.After(now) {
			return Step{Item: it, At: it.Start}, true
		}
		off := now.Sub(it.Start)
		if it.File == "" || off >= it.Length() {
			// A problem (or a skip) is journalled once, at its time; an
			// item whose media has ended but whose window has not is over.
			if it.File == "" {
				return Step{Item: it, At: now}, true
			}
			continue
		}
		return Step{Item: it, At: now, Offset: off}, true
	}
	return Step{}, false
}

// NextInterrupt returns the start of the earliest interrupt of cluster
// not yet due at now, if any: a wake-up time for the player.
func (p *Plan) NextInterrupt(cluster string, now time.Time, done func(*Item) bool) (time.Time, bool) {
	for i := range p.Interrupts[cluster] {
		it := &p.Interrupts[cluster][i]
		if at := it.Start.Add(-InterruptLead); !done(it) && at.After(now) {
			return at, true
		}
	}
	return time.Time{}, false
}

// Holds reports whether the plan still has the item it (taken from an
// earlier plan) on the air for its cluster: an interrupt while the plan
// has the interrupt itself; a scheduled item while the plan has its
// entry (same Key) or any entry of its segment for the cluster. Every
// rebuild plans the slot in progress again and may re-time, renumber or
// move what sounds in it; only a segment gone from the cluster's
// schedule (its emergency ended early, the segment withdrawn) is off the
// air. A plan that does not hold the item sounding stops it (see
// Runner).
func (p *Plan) Holds(it *Item) bool {
	held, _ := p.Holding(it)
	return held
}

// Holding is Holds, and also returns the plan's entry that is the same
// broadcast as it under another Key (the same slot, segment and media:
// a rebuild re-timed or renumbered it), or nil: once it is done, that
// entry is done too.
func (p *Plan) Holding(it *Item) (bool, *Item) {
	key := it.Key()
	if it.Emergency() {
		for i := range p.Interrupts[it.Cluster] {
			if p.Interrupts[it.Cluster][i].Key() == key {
				return true, nil
			}
		}
		return false, nil
	}
	held := false
	var same *Item
	for i := range p.Programme[it.Cluster] {
		o := &p.Programme[it.Cluster][i]
		if o.Key() == key {
			return true, nil
		}
		if it.SegmentID != "" && o.SegmentID == it.SegmentID {
			held = true
			if same == nil && o.Slot == it.Slot && o.SHA256 == it.SHA256 {
				same = o
			}
		}
	}
	return held, same
}
