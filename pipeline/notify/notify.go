// Package notify tells translators and reviewers what needs them: new
// jobs in their languages, deadlines within a day, submissions to review,
// requests for changes; and administrators of a wide emergency waiting
// for their confirmation. A Notice names its audience (one user, or a role
// in a language); the worker expands it into one Message per person and
// channel and hands each to a Sender through the job queue, so a failed
// delivery is retried and never holds up the job it is about.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Notice is something that happened, addressed to an audience.
type Notice struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"` // one of the Kind constants
	JobID string `json:"job_id,omitempty"`
	// Audience: UserID when not zero, else every user with Role who works
	// in Language.
	UserID    int64     `json:"user_id,omitempty"`
	Role      string    `json:"role,omitempty"`
	Language  string    `json:"language,omitempty"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Notice kinds.
const (
	KindNewJob          = "new_job"           // translators of the language
	KindDeadlineSoon    = "deadline_soon"     // the holder, or translators of the language
	KindSubmitted       = "submitted"         // reviewers of the language
	KindChangesRequired = "changes_requested" // the translator
	KindApproved        = "approved"          // the translator
	KindLeaseExpired    = "lease_expired"     // the translator who held it
	KindCancelled       = "cancelled"         // whoever held it
	KindDigest          = "digest"            // one person's daily summary
	// KindEmergencyRequested: a producer's wide emergency waits for an
	// administrator's confirmation; every administrator is told.
	KindEmergencyRequested = "emergency_requested"
	// KindEmergencyDeclined: an administrator declined a producer's wide
	// emergency request; the producer who asked is told, with the reason.
	KindEmergencyDeclined = "emergency_declined"
)

// Recipient is one person a message goes to.
type Recipient struct {
	UserID    int64    `json:"user_id"`
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	Languages []string `json:"languages,omitempty"`
	Email     string   `json:"email,omitempty"`
}

// Message is one notice for one person.
type Message struct {
	// NoticeID is the Notice it was written from (0 for a digest).
	NoticeID int64     `json:"notice_id,omitempty"`
	To       Recipient `json:"to"`
	Kind     string    `json:"kind"`
	JobID    string    `json:"job_id,omitempty"`
	Subject  string    `json:"subject"`
	Body     string    `json:"body"`
}

// Sender delivers a message through one channel. An error means "try
// again later"; ErrNoAddress means this channel cannot reach the person;
// ErrMaybeSent that it may have reached them (do not send it again).
type Sender interface {
	// Name is the channel's name, stable across restarts ("webhook", "smtp").
	Name() string
	Send(ctx context.Context, m Message) error
}

// ErrMaybeSent reports that a sender handed the whole message over but
// lost the answer: it may or may not have been delivered, and sending it
// again may deliver it twice.
var ErrMaybeSent = errors.New("the message may have been delivered: the server's answer was lost")

// MaybeSent is a message whose delivery is in doubt: its channel took it
// but the answer was lost, or a send began and its end was never
// recorded. It is not sent again (never twice), so an administrator
// should check with the recipient (and the mail server's log).
type MaybeSent struct {
	// Key names the message among all others (a notice's or a digest's;
	// empty for a message queued without one).
	Key     string `json:"key"`
	Channel string `json:"channel"`
	// To is the recipient as the queued message stored it.
	To    Recipient `json:"to"`
	Kind  string    `json:"kind"`
	JobID string    `json:"job_id,omitempty"` // the translation job it is about
	// AttemptedAt is when the last attempt at sending it began (UTC).
	AttemptedAt time.Time `json:"attempted_at"`
	// Warning says what is in doubt.
	Warning string `json:"warning"`
	// QueueJobID is the send's job in the queue (River's river_job.id).
	QueueJobID int64 `json:"queue_job_id"`
}

// ErrNoAddress reports that a sender has no address for the recipient;
// retrying will not help.
var ErrNoAddress = fmt.Errorf("no address for this recipient on this channel")

// Digest writes one person's daily summary: the jobs waiting in their
// languages and their own jobs with deadlines. It returns false when there
// is nothing to say.
func Digest(to Recipient, lines []string, day time.Time) (Message, bool) {
	if len(lines) == 0 {
		return Message{}, false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Chào %s,\n\nLoa, %s — what needs you today:\n\n", to.Name, day.Format("2006-01-02"))
	for _, l := range lines {
		b.WriteString("  - " + l + "\n")
	}
	b.WriteString("\nSee them with: loa jobs list\n")
	return Message{To: to, Kind: KindDigest, Subject: fmt.Sprintf("Loa: %d item(s) for you today", len(lines)), Body: b.String()}, true
}
