package pipeline

import "time"

// The change feed: every change other Loa processes (replicas) must hear
// of is recorded with the change itself, and every process follows the
// feed (pipeline/sqlstore keeps it in the database). These are its words.

// ChangeKind says what a change touched.
type ChangeKind string

// The kinds of change the feed carries.
const (
	// ChangeTokens: a token was revoked or a user's tokens changed; key
	// is the user's id, or empty. Every process drops its token cache.
	ChangeTokens ChangeKind = "tokens"
	// ChangeUsers: a user was changed (disabled, role, commune); key is
	// the user's id. Every process drops its token cache.
	ChangeUsers ChangeKind = "users"
	// ChangeSchedule: a commune's schedule head moved; key is the
	// commune's code, note the reason (nightly, rebuild, emergency).
	ChangeSchedule ChangeKind = "schedule"
	// ChangeRegistry: communes, clusters or slots were imported; key is
	// empty. Every process drops its schedule heads.
	ChangeRegistry ChangeKind = "registry"
	// ChangeLost is not stored: Follow hands it to listeners when it may
	// have missed changes (the database could not be read for a while,
	// or rows were swept before it read them), so they refresh
	// everything.
	ChangeLost ChangeKind = "lost"
)

// Change is one row of the change feed.
type Change struct {
	ID   int64
	Kind ChangeKind
	Key  string
	// Note is a short word for people and listeners (a build's reason).
	Note string
	At   time.Time
}
