package pipeline

import (
	"errors"
	"slices"
	"time"
)

// CommuneHead is the little a playlist request needs first: the commune
// and the id and ETag of its current schedule version (empty before the
// first build).
type CommuneHead struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	VersionID string `json:"version,omitempty"`
	ETag      string `json:"etag,omitempty"`
	// Seq is the head version's number among the commune's versions
	// (ScheduleVersion.Seq; 0 before its first build): of two heads read
	// at different times, the higher is the newer.
	Seq int64 `json:"seq,omitempty"`
}

// Answers reports whether an operator bound to the commune code answers
// for c. Only the code counts: commune names are labels and are not
// unique (two communes named "Mường Lạn" is normal).
func (c CommuneHead) Answers(code string) bool {
	return code != "" && code == c.Code
}

// CommuneSummary is one line of the commune list.
type CommuneSummary struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Clusters  int       `json:"clusters"`
	Slots     int       `json:"slots"`
	VersionID string    `json:"version,omitempty"`
	ETag      string    `json:"etag,omitempty"`
	BuiltAt   time.Time `json:"built_at,omitzero"`
}

// ScheduleVersion is one stored schedule of one commune.
type ScheduleVersion struct {
	ID      string `json:"id"`
	Commune string `json:"commune"`
	ETag    string `json:"etag"`
	Start   string `json:"start_date"`
	Days    int    `json:"days"`
	Reason  string `json:"reason"` // nightly, rebuild, emergency
	// Seq numbers the commune's versions 1, 2, 3... as they are stored;
	// it only grows (signed bundles carry it).
	Seq     int64     `json:"seq"`
	BuiltAt time.Time `json:"built_at"`
	Explain string    `json:"-"`
}

// VersionWrite is one commune's new schedule version with its entries,
// as a build hands it to the store. The store sets Version.ID (the head's
// own when the ETag is unchanged) and Changed.
type VersionWrite struct {
	Version ScheduleVersion
	Items   []ScheduleItem
	Changed bool
}

// ScheduledEntry is what a play report of one entry is checked against,
// over every schedule version that covered its date: its longest length,
// the earliest start it had and the latest end of its slot (a rebuild or
// an emergency can move it; the player may start it late, until the next
// entry of its slot starts).
type ScheduledEntry struct {
	DurationMS int64
	Kind       string
	First      time.Time // the earliest start
	Last       time.Time // the latest end of its slot (of itself for an interrupt)
}

// ScheduleItem is one stored entry of a schedule version.
type ScheduleItem struct {
	Cluster    string    `json:"cluster"`
	Date       string    `json:"date"`
	SlotStart  int       `json:"slot_start_s"` // seconds after midnight
	Position   int       `json:"position"`
	EntryID    string    `json:"id"`
	Kind       string    `json:"kind"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
	SegmentID  string    `json:"segment_id,omitempty"`
	Language   string    `json:"language,omitempty"`
	Title      string    `json:"title,omitempty"`
	Topic      string    `json:"topic,omitempty"`
	Priority   string    `json:"priority,omitempty"`
	Why        string    `json:"why,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	AudioKey   string    `json:"-"`
	SHA256     string    `json:"sha256,omitempty"`
	Size       int64     `json:"size_bytes,omitempty"`
}

// AirAudio is the loudspeaker audio of a segment in one language.
type AirAudio struct {
	Key        string
	SHA256     string
	Size       int64
	DurationMS int64
}

// PlayRecord is a stored play report.
type PlayRecord struct {
	ID         string     `json:"id"`
	Commune    string     `json:"commune"`
	Cluster    string     `json:"cluster"`
	EntryID    string     `json:"item"`
	SegmentID  string     `json:"segment_id,omitempty"`
	Status     string     `json:"status"`
	Started    time.Time  `json:"started"`
	Finished   *time.Time `json:"finished,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Date       string     `json:"date"`
	ReportedBy int64      `json:"reported_by"`
	ReceivedAt time.Time  `json:"received_at"`
}

// Emergency is a segment marked emergency for some communes (all when
// Targets is empty) until a time.
type Emergency struct {
	SegmentID string    `json:"segment_id"`
	Targets   []string  `json:"targets"`
	Until     time.Time `json:"until"`
	MarkedBy  int64     `json:"marked_by"`
	MarkedAt  time.Time `json:"marked_at"`
	// Reason is why it was raised, as its author gave it (audit log).
	Reason string `json:"reason,omitempty"`
	// RequestedBy, when not zero, is the producer who asked for a
	// province-wide emergency that MarkedBy (an admin) confirmed.
	RequestedBy int64 `json:"requested_by,omitempty"`
	// Actor, when not zero and not MarkedBy, is who made this change (a
	// producer adding communes to someone else's emergency, which stays
	// MarkedBy's to end or narrow): the audit log names Actor. Not stored.
	Actor int64 `json:"-"`
	// Raised says when each commune got the emergency in force (key ""
	// for every commune of a province-wide one without a key of its
	// own); MarkedAt is its last raise or change. Read it with RaisedAt.
	// The store keeps it across raises (RaisedTimes).
	Raised map[string]time.Time `json:"raised,omitempty"`
}

// RaisedAt is when commune code got emergency e: its own time, the
// province-wide one's, or MarkedAt when neither is known (an emergency
// stored before communes had times of their own).
func (e Emergency) RaisedAt(code string) time.Time {
	if at, ok := e.Raised[code]; ok {
		return at
	}
	if at, ok := e.Raised[""]; ok && len(e.Targets) == 0 {
		return at
	}
	return e.MarkedAt
}

// FirstRaised is when emergency e first went on air: the earliest of its
// communes' times (MarkedAt when it has none).
func (e Emergency) FirstRaised() time.Time {
	first := e.MarkedAt
	for _, at := range e.Raised {
		if at.Before(first) {
			first = at
		}
	}
	return first
}

// Covers reports whether emergency e targets commune code.
func (e Emergency) Covers(code string) bool {
	return len(e.Targets) == 0 || slices.Contains(e.Targets, code)
}

// RaisedTimes works out when each commune of next (a raise at
// next.MarkedAt) got the alert, given old, the segment's emergency in
// force before it (nil when none): a commune old already covered keeps
// old's time, so raising again to add communes does not interrupt the
// communes in force a second time; every other commune gets
// next.MarkedAt. Keys as in Emergency.Raised.
func RaisedTimes(old *Emergency, next Emergency) map[string]time.Time {
	out := map[string]time.Time{}
	at := next.MarkedAt.UTC()
	if len(next.Targets) == 0 {
		out[""] = at
		if old != nil {
			if len(old.Targets) == 0 {
				out[""] = old.RaisedAt("").UTC()
				for c, t := range old.Raised {
					out[c] = t.UTC()
				}
			} else {
				for _, c := range old.Targets {
					out[c] = old.RaisedAt(c).UTC()
				}
			}
		}
		return out
	}
	for _, c := range next.Targets {
		out[c] = at
		if old != nil && old.Covers(c) {
			out[c] = old.RaisedAt(c).UTC()
		}
	}
	return out
}

// EmergencyInForce is a segment's emergency on air now, as the segment
// answer and pages show it.
type EmergencyInForce struct {
	// Communes are the target commune codes; empty when Province.
	Communes []string `json:"communes"`
	Province bool     `json:"province"`
	// Since is when it was last raised or changed; Until when it ends.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Reason is the reason given at its last raise or change.
	Reason string `json:"reason"`
	// RaisedBy is the name of who raised (or confirmed) it: an
	// administrator or that person may end or narrow it.
	RaisedBy   string `json:"raised_by"`
	RaisedByID int64  `json:"raised_by_id"`
	// ChangedBy names who made its last change, when not RaisedBy.
	ChangedBy string `json:"changed_by,omitempty"`
}

// EmergencyRequest is a province-wide emergency a producer asked for,
// waiting for an administrator's confirmation.
type EmergencyRequest struct {
	SegmentID string `json:"segment_id"`
	// Targets are the communes asked for; empty for the whole province.
	Targets     []string  `json:"targets"`
	Until       time.Time `json:"until"`
	Reason      string    `json:"reason"`
	RequestedBy int64     `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	// Expired is true when Until has passed (by the store's clock): the
	// request can no longer be confirmed, only cancelled or asked again.
	Expired bool `json:"expired,omitempty"`
}

// AudioKey is the key of ReadyCatalog's audio map.
func AudioKey(segmentID, language string) string { return segmentID + "/" + language }

// ErrClaimLost reports that a build's claim is no longer held by the
// owner that asked: its lease ran out and another owner took it over (or
// the build was finished by another). The asking owner must stop.
var ErrClaimLost = errors.New("build claim lost")

// BuildClaim is the state of a build's claim as BeginBuild found it.
type BuildClaim struct {
	// Claimed is true when the caller now holds the claim and must build,
	// renew the lease while building (RenewBuild) and end with FinishBuild.
	Claimed bool
	// TakenFrom names the owner whose claim had expired unfinished and was
	// taken over ("" when the key was free).
	TakenFrom string
	// Done is true when the build has already finished.
	Done bool
	// Owner and Until say who holds a live claim, and until when unless
	// renewed, when the caller got neither the claim nor Done.
	Owner string
	Until time.Time
}
