package worker

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// Queue puts jobs in the queue (inside the caller's catalog transaction
// where one is given) and runs none. A process makes its Queue right after
// the database and gives it to every part that asks for work — ingest,
// the processing hooks, schedule changes, approvals, priority changes —
// before the Worker that runs the jobs exists, so those parts and the
// Worker need not know each other. A Worker is a Queue too.
type Queue struct {
	client *river.Client[*sql.Tx]
	clock  func() time.Time // nil: time.Now in UTC
}

// NewQueue makes a Queue on db (the catalog's database, which holds the
// queue's tables); now is the clock that places debounced rebuilds in
// their window (nil: time.Now).
func NewQueue(db *sql.DB, now func() time.Time) (*Queue, error) {
	// A client without workers only inserts, and inserts any job kind:
	// the kinds are the Worker's to know.
	client, err := river.NewClient(sqlstore.RiverDriver(db), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Queue{client: client, clock: now}, nil
}
