package report

import "time"

// The rows a store pushes into a Builder. They carry only what the report
// needs; a store fills them from its own tables.

// Segment is one uploaded segment.
type Segment struct {
	ID        string
	Title     string
	Kind      string // radio, tv
	Topic     string // a code from pipeline.Topics
	Producer  string
	Priority  string
	CreatedAt time.Time
	Withdrawn bool
}

// Variant is a segment ready to air in one language: the Vietnamese
// rendition once processed, a Thái or Mông voice-over once approved.
type Variant struct {
	SegmentID string
	Language  string
	ReadyAt   time.Time
	Withdrawn bool // the segment was withdrawn later
}

// Job is one translation or subtitle job.
type Job struct {
	ID         string
	SegmentID  string
	Language   string
	Kind       string // subtitle, voiceover
	State      string // the job's state now
	CreatedAt  time.Time
	Deadline   time.Time
	ApprovedAt time.Time // zero when not approved
}

// Scheduled is one entry of the schedule a commune's cluster actually had
// for a day: the entries of the last version built for that day.
type Scheduled struct {
	Commune    string
	Cluster    string
	Date       string // YYYY-MM-DD in Asia/Ho_Chi_Minh
	SlotStart  int    // seconds after midnight
	Kind       string // segment, interrupt, relay, filler, ident
	SegmentID  string
	Language   string
	DurationMS int64
}

// Play is the proof of play of one scheduled entry, merged over the
// reports of the entry: played when any report says so, PlayedMS the
// longest reported play, Started the earliest start.
type Play struct {
	Commune   string
	Cluster   string
	Date      string
	EntryID   string
	SegmentID string
	Language  string // from the schedule entry; empty when the entry is unknown
	Status    string // played, failed
	Started   time.Time
	PlayedMS  int64
}

// Emergency is a segment marked emergency, with when each commune got
// it and when its playlist first changed after that.
type Emergency struct {
	SegmentID string
	Title     string
	// MarkedBy raised it (or confirmed it, when RequestedBy asked for
	// it); MarkedAt is when it first went on air.
	MarkedBy    string
	RequestedBy string
	MarkedAt    time.Time
	// Raised holds, per commune code, when that commune got it (a raise
	// that adds communes gives only them a later time; key "" for the
	// communes of a province-wide one without a time of their own); a
	// commune without one got it at MarkedAt.
	Raised  map[string]time.Time
	Until   time.Time
	Targets []string // commune codes; empty: the whole province
	// Changed holds, per commune code, when the first schedule version
	// carrying the emergency was built.
	Changed map[string]time.Time
}

// Sink takes the rows of a report; Builder is one. A store feeds a Sink
// so that what it reads can also be recorded or counted.
type Sink interface {
	AddSegment(Segment)
	AddVariant(Variant)
	AddJob(Job)
	AddEmergency(Emergency)
	AddScheduled(Scheduled)
	AddPlay(Play)
}
