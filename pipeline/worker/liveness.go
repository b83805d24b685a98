package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// Default liveness timing: a running job's lease is renewed every
// DefaultLeaseEvery, and a job whose lease is older than DefaultDeadAfter
// is taken back from its worker, so a killed worker's job runs again
// within about a minute, however long a healthy job takes.
const (
	DefaultLeaseEvery = 10 * time.Second
	DefaultDeadAfter  = 45 * time.Second
)

// JobLeases keeps the leases of running jobs (sqlstore.JobLeases).
type JobLeases interface {
	Renew(ctx context.Context, id int64, attempt int) (bool, error)
	ReleaseExpired(ctx context.Context, deadAfter time.Duration, reason string) ([]sqlstore.ExpiredJob, error)
}

// errLeaseLost is the cause of a job's context when its worker can no
// longer prove it is alive: the lease was taken over, or not renewed for
// long enough that another worker may take it.
var errLeaseLost = errors.New("job lease lost")

// leaseMiddleware renews the lease of every job while it runs, and stops
// the job (cancels its context) as soon as the lease is lost: another
// worker has taken the job, or the renewals have failed for so long that
// one may. So no job runs on two workers at once for longer than one
// renewal period.
type leaseMiddleware struct {
	river.MiddlewareDefaults
	leases    JobLeases
	every     time.Duration
	deadAfter time.Duration
	log       *slog.Logger
}

func (m *leaseMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.renew(jctx, job, cancel)
	}()
	err := doInner(jctx)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(jctx); errors.Is(cause, errLeaseLost) && ctx.Err() == nil {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// renew renews job's lease every m.every until ctx ends. When the
// attempt is no longer running, or no renewal has succeeded for
// deadAfter less one period (measured from the start of the last good
// one, so before any other worker can see the lease as lapsed), it
// cancels the job.
func (m *leaseMiddleware) renew(ctx context.Context, job *rivertype.JobRow, cancel context.CancelCauseFunc) {
	lastGood := time.Now()
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		start := time.Now()
		// A renewal may take the time left before the job would be
		// stopped anyway (a new connection to a busy server is slow).
		rctx, rcancel := context.WithTimeout(ctx, max(m.deadAfter-m.every-time.Since(lastGood), m.every))
		ok, err := m.leases.Renew(rctx, job.ID, job.Attempt)
		rcancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && ok:
			lastGood = start
		case err == nil:
			m.log.Warn("job taken over by another worker; stopping it", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt)
			cancel(fmt.Errorf("%w: attempt %d of job %d was taken over by another worker", errLeaseLost, job.Attempt, job.ID))
			return
		default:
			m.log.Warn("renew job lease", "job", job.ID, "kind", job.Kind, "err", err)
			if time.Since(lastGood) >= m.deadAfter-m.every {
				m.log.Error("job lease not renewed in time; stopping the job so no other worker runs it at the same time",
					"job", job.ID, "kind", job.Kind, "since_last_renewal", time.Since(lastGood).Round(time.Millisecond))
				cancel(fmt.Errorf("%w: job %d's lease could not be renewed for %v (%v)", errLeaseLost, job.ID, time.Since(lastGood).Round(time.Second), err))
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reaper takes back the jobs of dead workers every period. After its own
// database calls have failed (PostgreSQL restarting), it waits deadAfter
// before taking anything, so live workers renew their leases first.
type reaper struct {
	leases    JobLeases
	every     time.Duration
	deadAfter time.Duration
	id        string // this worker's River client ID, for the reason
	log       *slog.Logger
	// onDiscarded runs for a job released at its last attempt.
	onDiscarded func(ctx context.Context, j sqlstore.ExpiredJob)
}

func (r *reaper) run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	var failedAt time.Time // the last failed call; zero: none yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		if !failedAt.IsZero() && time.Since(failedAt) < r.deadAfter {
			// Just recovered: let live workers renew first.
			err = r.ping(ctx)
		} else {
			err = r.once(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("release jobs of dead workers", "err", err)
			failedAt = time.Now()
		}
	}
}

// ping checks the database is reachable, with a release that can match
// nothing (no lease is a year old while its worker renews it).
func (r *reaper) ping(ctx context.Context) error {
	_, err := r.leases.ReleaseExpired(ctx, 365*24*time.Hour, "")
	return err
}

// once releases the jobs whose leases lapsed.
func (r *reaper) once(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, max(r.every, 5*time.Second))
	defer cancel()
	got, err := r.leases.ReleaseExpired(cctx, r.deadAfter,
		"its worker stopped renewing the job's lease for "+r.deadAfter.String()+" (killed or cut off); taken back by "+r.id)
	if err != nil {
		return err
	}
	for _, j := range got {
		r.log.Warn("took back a job whose worker died", "job", j.ID, "kind", j.Kind, "attempt", j.Attempt,
			"discarded", j.Discarded, "args", json.RawMessage(j.Args))
		if j.Discarded && r.onDiscarded != nil {
			r.onDiscarded(ctx, j)
		}
	}
	return nil
}

// markDiscarded records on the segment a processing job released at its
// last attempt (its workers kept dying on it), so the segment does not
// stay "processing" for ever.
func markDiscarded(p *Processor) func(ctx context.Context, j sqlstore.ExpiredJob) {
	return func(ctx context.Context, j sqlstore.ExpiredJob) {
		if p == nil || j.Kind != (ProcessSegmentArgs{}).Kind() {
			return
		}
		var a ProcessSegmentArgs
		if err := json.Unmarshal(j.Args, &a); err != nil || a.SegmentID == "" {
			return
		}
		reason := "processing gave up after " + strconv.Itoa(j.Attempt) + " attempts: its worker died during each"
		if err := p.Catalog.MarkProcessFailed(ctx, a.SegmentID, reason); err != nil {
			p.log().Error("record processing given up", "segment", a.SegmentID, "err", err)
		}
	}
}
