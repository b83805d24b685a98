package pipeline

import "time"

// CronRun is one run of a periodic job as the job queue (River's
// river_job table) records it. River keeps completed and cancelled runs
// for 24 hours and runs that gave up after errors for 7 days.
type CronRun struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// State is River's job state: available, scheduled, pending,
	// running, retryable, completed, discarded or cancelled.
	State   string `json:"state"`
	Attempt int    `json:"attempt"`
	// AttemptedAt is when the last attempt started (zero: not yet);
	// FinalizedAt when the run ended for good (zero: not yet).
	AttemptedAt time.Time `json:"attempted_at,omitzero"`
	FinalizedAt time.Time `json:"finalized_at,omitzero"`
	// Error is the last attempt's error, if it failed.
	Error string `json:"error,omitempty"`
}
