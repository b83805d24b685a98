// Package workertest holds helpers for tests that run Loa's River jobs.
package workertest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// WaitCompleted waits until every River job of ids is completed, and fails
// the test if one ends otherwise (discarded or cancelled) or is still
// unfinished when a quarter of the test's remaining time has passed (10
// minutes without a deadline): the wait is for work that must finish, not
// a guess of this machine's speed.
func WaitCompleted(t testing.TB, ctx context.Context, client *river.Client[*sql.Tx], ids ...int64) {
	t.Helper()
	budget := 10 * time.Minute
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok {
			budget = time.Until(end) / 4
		}
	}
	deadline := time.Now().Add(budget)
	for _, id := range ids {
		for ; ; time.Sleep(20 * time.Millisecond) {
			j, err := client.JobGet(ctx, id)
			if err != nil {
				t.Fatalf("read job %d: %v", id, err)
			}
			switch j.State {
			case rivertype.JobStateCompleted:
			case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
				t.Fatalf("job %d (%s) ended %s: %+v", id, j.Kind, j.State, j.Errors)
			default:
				if time.Now().After(deadline) {
					t.Fatalf("job %d (%s) still %s after %s: %+v", id, j.Kind, j.State, budget.Round(time.Second), j.Errors)
				}
				continue
			}
			break
		}
	}
}
