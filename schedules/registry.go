package schedules

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// DefaultTimeZone is the zone every Sơn La schedule is built in.
const DefaultTimeZone = localtime.Name

// Registry lists the communes and wards, their loudspeaker clusters and
// the broadcast slots the schedule fills.
type Registry struct {
	// TimeZone names the zone slot times are in; empty means DefaultTimeZone.
	TimeZone string
	Communes []Commune
}

// UnitKind tells a commune (xã) from a ward (phường).
type UnitKind string

// Kinds of commune-level unit.
const (
	Xa     UnitKind = "xa"     // xã, commune
	Phuong UnitKind = "phuong" // phường, ward
)

// Commune is a commune-level unit (xã or phường) with its clusters.
type Commune struct {
	// Code identifies the commune: the statistics office's code where it
	// is known, otherwise a stable slug such as "muong-lan". Unique.
	Code string
	Name string // official name, e.g. "Mường Lạn"
	Kind UnitKind
	// Slots are the broadcast slots of every cluster that has none of its own.
	Slots    []Slot
	Clusters []Cluster
}

// Cluster is a group of loudspeakers that plays one programme.
type Cluster struct {
	ID   string // unique within the commune, e.g. "trung-tam" or "ban-1"
	Name string
	// Languages the cluster plays, most preferred first, e.g. blt then vi.
	Languages []Language
	// Slots, when set, replace the commune's slots for this cluster.
	Slots []Slot
}

// Slot is a daily broadcast window on some weekdays.
type Slot struct {
	Days   Weekdays
	Start  TimeOfDay
	Length time.Duration
	// Reserved is the part at the slot's start that is not ours, such as
	// the national or provincial relay; items begin after it.
	Reserved time.Duration
}

// End returns the time of day the slot ends.
func (s Slot) End() TimeOfDay { return s.Start + TimeOfDay(s.Length/time.Second) }

// String renders the slot as "Mon-Sat 05:30-06:00 (relay 10m0s)".
func (s Slot) String() string {
	out := fmt.Sprintf("%s %s-%s", s.Days, s.Start, s.End())
	if s.Reserved > 0 {
		out += fmt.Sprintf(" (relay %s)", s.Reserved)
	}
	return out
}

// SlotsOf returns the slots a cluster plays in: its own, or else the
// commune's.
func (c *Commune) SlotsOf(cl *Cluster) []Slot {
	if len(cl.Slots) > 0 {
		return cl.Slots
	}
	return c.Slots
}

// Location loads the registry's time zone.
func (r *Registry) Location() (*time.Location, error) {
	name := r.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	return loc, nil
}

// Commune returns the commune with the given code, or nil.
func (r *Registry) Commune(code string) *Commune {
	for i := range r.Communes {
		if r.Communes[i].Code == code {
			return &r.Communes[i]
		}
	}
	return nil
}

// RegistryError is one problem in a registry. Line is set when the
// registry came from a file.
type RegistryError struct {
	Source string // file name, if known
	Line   int    // 1-based line, 0 if unknown
	Where  string // e.g. `commune "muong-lan" cluster "ban-1" slot 2`
	Err    error
}

// Error renders the problem as "file:line: where: what".
func (e *RegistryError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem, for errors.Is.
func (e *RegistryError) Unwrap() error { return e.Err }

// Errors callers can test for with errors.Is.
var (
	ErrUnknownLanguage = errors.New("unknown language")
	ErrDuplicateCode   = errors.New("duplicate code")
	ErrSlotOverlap     = errors.New("slots overlap")
	ErrBadSlot         = errors.New("bad slot")
	ErrMissing         = errors.New("missing value")
)

// issue is a validation problem located by element indices, so a parser
// can turn it into a line number. -1 means "not this level".
type issue struct {
	commune, cluster, slot int // slot indexes the commune's slots when cluster is -1
	err                    error
	zone                   bool // the registry's time zone
}

// ErrTimeZone reports a registry whose time zone is not the one the
// server builds every schedule in (DefaultTimeZone).
var ErrTimeZone = errors.New("wrong time zone")

// Validate checks a registry about to be imported: its time zone
// DefaultTimeZone (or left out), codes and cluster ids present, in their
// canonical form (CheckID) and unique, names present, known languages
// without repeats, slots of positive length that end by midnight, a
// reserved part shorter than its slot, and no two slots of a cluster
// overlapping on a shared weekday. It returns all problems joined.
func (r *Registry) Validate() error {
	return r.joinIssues(r.validate(true), nil)
}

// CommuneProblem is a stored commune a build leaves out, and why.
type CommuneProblem struct {
	Code string
	Err  error // a *RegistryError naming the commune
}

// Buildable splits a stored registry for a build: it returns the
// registry without the communes a build cannot use, and the problem of
// each commune left out (one per commune, its first). It checks what
// Validate checks, but takes an id stored by an older version with
// capitals or diacritics by its file name (SafeName); of two communes
// whose codes share a file name, the one whose code is canonical (else
// the first) is kept. A problem with the registry as a whole (no
// communes, an unknown time zone) is err, and nothing is built.
func (r *Registry) Buildable() (kept *Registry, left []CommuneProblem, err error) {
	bad := map[int]bool{}
	var whole []issue
	for _, is := range r.validate(false) {
		if is.commune < 0 {
			whole = append(whole, is)
			continue
		}
		if !bad[is.commune] {
			left = append(left, CommuneProblem{Code: r.Communes[is.commune].Code, Err: &RegistryError{Where: r.where(is), Err: is.err}})
		}
		bad[is.commune] = true
	}
	if err := r.joinIssues(whole, nil); err != nil {
		return nil, nil, err
	}
	kept = &Registry{TimeZone: r.TimeZone, Communes: make([]Commune, 0, len(r.Communes)-len(bad))}
	for i, c := range r.Communes {
		if !bad[i] {
			kept.Communes = append(kept.Communes, c)
		}
	}
	return kept, left, nil
}

func (r *Registry) joinIssues(issues []issue, lineOf func(issue) int) error {
	var errs []error
	for _, is := range issues {
		e := &RegistryError{Where: r.where(is), Err: is.err}
		if lineOf != nil {
			e.Line = lineOf(is)
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func (r *Registry) where(is issue) string {
	if is.commune < 0 {
		return ""
	}
	c := &r.Communes[is.commune]
	w := fmt.Sprintf("commune %q", c.Code)
	if c.Code == "" {
		w = fmt.Sprintf("commune #%d", is.commune+1)
	}
	if is.cluster >= 0 {
		w += fmt.Sprintf(" cluster %q", c.Clusters[is.cluster].ID)
	}
	if is.slot >= 0 {
		w += fmt.Sprintf(" slot %d", is.slot+1)
	}
	return w
}

// validate finds the problems of the registry: an import's (strict) or
// those a stored registry's build cannot get past (see Buildable).
func (r *Registry) validate(strict bool) []issue {
	var out []issue
	add := func(ci, cj, sk int, format string, args ...any) {
		out = append(out, issue{ci, cj, sk, fmt.Errorf(format, args...), false})
	}
	checkID := CheckID
	if !strict {
		checkID = checkStoredID
	}
	if _, err := r.Location(); err != nil {
		out = append(out, issue{-1, -1, -1, err, true})
	} else if strict && r.TimeZone != "" && r.TimeZone != DefaultTimeZone {
		out = append(out, issue{-1, -1, -1, fmt.Errorf(
			"timezone %q: the server builds every schedule, and shows and plays every slot, in %s; "+
				"write the slot times in %s and the timezone as %s (or leave it out): %w",
			r.TimeZone, DefaultTimeZone, DefaultTimeZone, DefaultTimeZone, ErrTimeZone), true})
	}
	if len(r.Communes) == 0 {
		add(-1, -1, -1, "no communes: %w", ErrMissing)
	}
	// Of codes that share a file name, a canonical one keeps it; the
	// others are the duplicates (only stored registries have others).
	canonical := map[string]int{}
	for i := range r.Communes {
		if code := r.Communes[i].Code; CheckID(code) == nil {
			if _, ok := canonical[code]; !ok {
				canonical[code] = i
			}
		}
	}
	seen := map[string]int{} // by SafeName
	for i := range r.Communes {
		c := &r.Communes[i]
		j, dup := seen[SafeName(c.Code)]
		if k, ok := canonical[SafeName(c.Code)]; ok && !dup && k != i {
			j, dup = k, true
		}
		if c.Code == "" {
			add(i, -1, -1, "code: %w", ErrMissing)
		} else if err := checkID(c.Code); err != nil {
			add(i, -1, -1, "code %w", err)
		} else if dup {
			if other := r.Communes[j].Code; other == c.Code {
				add(i, -1, -1, "code %q already used by commune #%d: %w", c.Code, j+1, ErrDuplicateCode)
			} else {
				add(i, -1, -1, "code %q and commune #%d's %q share the file name %q (codes must differ in more than diacritics or case): %w",
					c.Code, j+1, other, SafeName(c.Code), ErrDuplicateCode)
			}
		} else {
			seen[SafeName(c.Code)] = i
		}
		if strings.TrimSpace(c.Name) == "" {
			add(i, -1, -1, "name: %w", ErrMissing)
		}
		if c.Kind != "" && c.Kind != Xa && c.Kind != Phuong {
			add(i, -1, -1, "kind %q: want xa or phuong", c.Kind)
		}
		if len(c.Clusters) == 0 {
			add(i, -1, -1, "no clusters: %w", ErrMissing)
		}
		for k, s := range c.Slots {
			if err := s.check(); err != nil {
				add(i, -1, k, "%w", err)
			}
		}
		clusterCanonical := map[string]int{}
		for j := range c.Clusters {
			if id := c.Clusters[j].ID; CheckID(id) == nil {
				if _, ok := clusterCanonical[id]; !ok {
					clusterCanonical[id] = j
				}
			}
		}
		clusterSeen := map[string]int{}
		communeOverlapSaid := false
		for j := range c.Clusters {
			cl := &c.Clusters[j]
			k, dup := clusterSeen[SafeName(cl.ID)]
			if m, ok := clusterCanonical[SafeName(cl.ID)]; ok && !dup && m != j {
				k, dup = m, true
			}
			if cl.ID == "" {
				add(i, j, -1, "cluster id: %w", ErrMissing)
			} else if err := checkID(cl.ID); err != nil {
				add(i, j, -1, "cluster id %w", err)
			} else if dup {
				if other := c.Clusters[k].ID; other == cl.ID {
					add(i, j, -1, "cluster id %q already used by cluster #%d: %w", cl.ID, k+1, ErrDuplicateCode)
				} else {
					add(i, j, -1, "cluster id %q and cluster #%d's %q share the file name %q (ids must differ in more than diacritics or case): %w",
						cl.ID, k+1, other, SafeName(cl.ID), ErrDuplicateCode)
				}
			} else {
				clusterSeen[SafeName(cl.ID)] = j
			}
			if len(cl.Languages) == 0 {
				add(i, j, -1, "languages: %w", ErrMissing)
			}
			langSeen := map[Language]bool{}
			for _, l := range cl.Languages {
				if !l.Known() {
					add(i, j, -1, "language %q: %w (want vi, blt or hnj)", l, ErrUnknownLanguage)
				} else if langSeen[l] {
					add(i, j, -1, "language %q listed twice", l)
				}
				langSeen[l] = true
			}
			for k, s := range cl.Slots {
				if err := s.check(); err != nil {
					add(i, j, k, "%w", err)
				}
			}
			slots := c.SlotsOf(cl)
			if len(slots) == 0 {
				add(i, j, -1, "no slots for this cluster or its commune: %w", ErrMissing)
			}
			if a, b, ok := overlapping(slots); ok {
				switch {
				case len(cl.Slots) > 0:
					add(i, j, b, "%s overlaps slot %d (%s): %w", slots[b], a+1, slots[a], ErrSlotOverlap)
				case !communeOverlapSaid: // the commune's slots: say it once
					add(i, -1, b, "%s overlaps slot %d (%s): %w", slots[b], a+1, slots[a], ErrSlotOverlap)
					communeOverlapSaid = true
				}
			}
		}
	}
	return out
}

func (s Slot) check() error {
	switch {
	case s.Days == 0:
		return fmt.Errorf("no weekdays: %w", ErrBadSlot)
	case s.Length <= 0:
		return fmt.Errorf("length %s must be positive: %w", s.Length, ErrBadSlot)
	case s.Start < 0 || s.Start >= 24*3600:
		return fmt.Errorf("start %d s is not a time of day: %w", int(s.Start), ErrBadSlot)
	case s.Start.Duration()+s.Length > 24*time.Hour:
		return fmt.Errorf("%s plus %s runs past midnight: %w", s.Start, s.Length, ErrBadSlot)
	case s.Reserved < 0 || s.Reserved >= s.Length:
		return fmt.Errorf("reserved %s must be at least 0 and shorter than the slot (%s): %w", s.Reserved, s.Length, ErrBadSlot)
	}
	return nil
}

// overlapping returns the first pair of slots (a < b) that share a weekday
// and overlap in time.
func overlapping(slots []Slot) (int, int, bool) {
	idx := make([]int, len(slots))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return slots[idx[x]].Start < slots[idx[y]].Start })
	for x := 0; x < len(idx); x++ {
		for y := x + 1; y < len(idx); y++ {
			a, b := slots[idx[x]], slots[idx[y]]
			if b.Start.Duration() >= a.Start.Duration()+a.Length {
				break
			}
			if a.Days.Overlaps(b.Days) {
				i, j := idx[x], idx[y]
				if i > j {
					i, j = j, i
				}
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// ImportResult says what an import of the commune registry changed.
type ImportResult struct {
	Communes int `json:"communes"`
	Clusters int `json:"clusters"`
	Slots    int `json:"slots"`
	Created  int `json:"created"` // communes that were not known before
	// Removed lists the clusters the import took away: clusters of a
	// commune in the file that the file no longer lists (only with
	// ImportOptions.AllowRemovals; without it such an import is refused).
	Removed []ClusterRef `json:"removed"`
	// RemovedCommunes lists the stored communes the import replaced:
	// codes an older version let in that differ from one in the file
	// only by case or diacritics (only with ImportOptions.AllowRemovals;
	// a dry run lists those it would replace).
	RemovedCommunes []ReplacedCommune `json:"removed_communes"`
	// DryRun is true when nothing was written (ImportOptions.DryRun):
	// Diff says what the import would change, and Removed lists what it
	// would remove (which the real import does only when allowed).
	DryRun bool          `json:"dry_run,omitempty"`
	Diff   *RegistryDiff `json:"diff,omitempty"`
}

// ReplacedCommune is a stored commune an import removed for the file's
// commune whose code it differs from only by case or diacritics.
type ReplacedCommune struct {
	Code       string `json:"code"`
	ReplacedBy string `json:"replaced_by"`
}

// RegistryDiff says what importing a registry file would change in the
// stored registry: communes new or changed, and clusters added, changed
// (name, languages or the slots they play in) and removed. Communes the
// file leaves out are kept as they are, so they do not show.
type RegistryDiff struct {
	NewCommunes []string `json:"new_communes"`
	// ChangedCommunes had their name or kind changed.
	ChangedCommunes []string     `json:"changed_communes"`
	Added           []ClusterRef `json:"added"`
	Changed         []ClusterRef `json:"changed"`
	Removed         []ClusterRef `json:"removed"`
	// Unchanged counts the file's clusters that stay as they are.
	Unchanged int `json:"unchanged"`
}

// DiffRegistry compares next (a file about to be imported) with stored
// (the stored registry's communes that next names; others are ignored):
// pure, so the store's dry run and tests give the same answer.
func DiffRegistry(stored, next *Registry) RegistryDiff {
	d := RegistryDiff{NewCommunes: []string{}, ChangedCommunes: []string{}, Added: []ClusterRef{}, Changed: []ClusterRef{}, Removed: []ClusterRef{}}
	for i := range next.Communes {
		c := &next.Communes[i]
		old := stored.Commune(c.Code)
		if old == nil {
			d.NewCommunes = append(d.NewCommunes, c.Code)
			for _, cl := range c.Clusters {
				d.Added = append(d.Added, ClusterRef{c.Code, cl.ID})
			}
			continue
		}
		if old.Name != c.Name || old.Kind != c.Kind {
			d.ChangedCommunes = append(d.ChangedCommunes, c.Code)
		}
		for j := range c.Clusters {
			cl := &c.Clusters[j]
			k := slices.IndexFunc(old.Clusters, func(o Cluster) bool { return o.ID == cl.ID })
			switch {
			case k < 0:
				d.Added = append(d.Added, ClusterRef{c.Code, cl.ID})
			case old.Clusters[k].Name != cl.Name || !slices.Equal(old.Clusters[k].Languages, cl.Languages) ||
				!slices.Equal(old.SlotsOf(&old.Clusters[k]), c.SlotsOf(cl)):
				d.Changed = append(d.Changed, ClusterRef{c.Code, cl.ID})
			default:
				d.Unchanged++
			}
		}
		for _, o := range old.Clusters {
			if !slices.ContainsFunc(c.Clusters, func(cl Cluster) bool { return cl.ID == o.ID }) {
				d.Removed = append(d.Removed, ClusterRef{c.Code, o.ID})
			}
		}
	}
	return d
}

// ImportOptions says what an import of the commune registry may do.
type ImportOptions struct {
	// AllowRemovals lets the import remove the clusters of a commune in
	// the file that the file no longer lists. Without it such an import
	// is refused and nothing is written: a registry edited by hand can
	// lose a cluster to a typo or a file cut short, and a removed
	// cluster's loudspeakers get no schedule.
	AllowRemovals bool
	// DryRun checks the registry and says what importing it would change
	// (ImportResult.Diff) without writing anything.
	DryRun bool
}

// ClusterRef names one cluster of one commune.
type ClusterRef struct {
	Commune string `json:"commune"`
	Cluster string `json:"cluster"`
}

func (c ClusterRef) String() string { return c.Commune + "/" + c.Cluster }

// ListClusters joins refs as "c/a, c/b, …", at most limit of them, then
// "and N more" (ListClusters(refs, 2) of four: "c/a, c/b and 2 more").
func ListClusters(refs []ClusterRef, limit int) string {
	var b strings.Builder
	for i, r := range refs {
		if i == limit {
			fmt.Fprintf(&b, " and %d more", len(refs)-limit)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}
