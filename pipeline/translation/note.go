package translation

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// Note is why the system changed a job, as a message key and its
// arguments, so each reader sees it in their language: the pages render
// it from their catalogues ("jev_" + Key), while Event.Reason keeps the
// English line the API, the CLI and the audit log show.
type Note struct {
	Key  NoteKey   `json:"key"`
	Args []NoteArg `json:"args,omitempty"`
}

// NoteKey names a kind of system note.
type NoteKey string

// The system notes; each lists its arguments' kinds in order.
const (
	NoteOpened           NoteKey = "opened"            // duration, priority
	NoteRetimed          NoteKey = "retimed"           // priority, duration, time (the deadline before)
	NoteLeaseRanOut      NoteKey = "lease_ran_out"     // time
	NoteDeadlinePassed   NoteKey = "deadline_passed"   // time
	NoteWithdrawn        NoteKey = "withdrawn"         // (none)
	NoteWithdrawnBecause NoteKey = "withdrawn_because" // text (the producer's reason)
)

// ArgKind says how a note's argument is written in a language.
type ArgKind string

// Kinds of note argument.
const (
	ArgDuration ArgKind = "duration" // Value: whole seconds; said as "3 days", "72 giờ"
	ArgPriority ArgKind = "priority" // Value: a pipeline.Priority; said by its name in the language
	ArgTime     ArgKind = "time"     // Value: RFC 3339 in UTC; shown in the reader's zone
	ArgText     ArgKind = "text"     // Value: shown as written (a person's words)
)

// NoteArg is one argument of a Note.
type NoteArg struct {
	Kind  ArgKind `json:"kind"`
	Value string  `json:"value"`
}

func durationArg(d time.Duration) NoteArg {
	return NoteArg{ArgDuration, strconv.FormatInt(int64(d/time.Second), 10)}
}

func timeArg(t time.Time) NoteArg { return NoteArg{ArgTime, t.UTC().Format(time.RFC3339)} }

// OpenedNote: the segment was processed and the job is due in due, by
// priority p.
func OpenedNote(due time.Duration, p pipeline.Priority) *Note {
	return &Note{NoteOpened, []NoteArg{durationArg(due), {ArgPriority, string(p)}}}
}

// RetimedNote: the segment is now priority p, so the job is due in due;
// its deadline was was.
func RetimedNote(p pipeline.Priority, due time.Duration, was time.Time) *Note {
	return &Note{NoteRetimed, []NoteArg{{ArgPriority, string(p)}, durationArg(due), timeArg(was)}}
}

// WithdrawnNote: the segment was withdrawn, for reason (may be empty).
func WithdrawnNote(reason string) *Note {
	if reason == "" {
		return &Note{Key: NoteWithdrawn}
	}
	return &Note{NoteWithdrawnBecause, []NoteArg{{ArgText, reason}}}
}

// englishNotes are the English lines of the notes, for Event.Reason.
var englishNotes = map[NoteKey]string{
	NoteOpened:           "segment processed; due in %s (%s)",
	NoteRetimed:          "segment now %s: due in %s (was %s)",
	NoteLeaseRanOut:      "lease ran out at %s",
	NoteDeadlinePassed:   "deadline %s passed",
	NoteWithdrawn:        "segment withdrawn",
	NoteWithdrawnBecause: "segment withdrawn: %s",
}

// English is the note's line in English, as Event.Reason stores it:
// durations as people say them ("3 days"), times in RFC 3339 UTC.
func (n Note) English() string {
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		args[i] = a.Value
		if a.Kind == ArgDuration {
			if s, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
				args[i] = pipeline.SpokenDuration(time.Duration(s)*time.Second, "en")
			}
		}
	}
	f, ok := englishNotes[n.Key]
	if !ok {
		return fmt.Sprintf("%s %v", n.Key, args)
	}
	return fmt.Sprintf(f, args...)
}

// WithNote returns e with note n, its Reason the note's English line.
func (e Event) WithNote(n *Note) Event {
	e.Note, e.Reason = n, n.English()
	return e
}
