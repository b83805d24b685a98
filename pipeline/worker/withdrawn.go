package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
)

// WithdrawnPrefix is where a withdrawn segment's objects are kept: key K
// of the segment becomes WithdrawnPrefix + K. No link is ever presigned
// for a key there (a withdrawn segment gets no links), so moving the
// objects puts them out of reach of every link issued before the
// withdrawal, which S3 cannot revoke. The orphan sweep does not look
// there; the rows name the new keys.
const WithdrawnPrefix = "withdrawn/"

// WithdrawnKey is where object key of a withdrawn segment is moved.
func WithdrawnKey(key string) string { return WithdrawnPrefix + key }

// WithdrawnCatalog is what moving a withdrawn segment's objects needs
// from the metadata store (sqlstore.DB has it).
type WithdrawnCatalog interface {
	Segment(ctx context.Context, id string) (pipeline.Segment, error)
	// WithdrawnUnmoved lists withdrawn segments whose objects are still
	// under their old keys.
	WithdrawnUnmoved(ctx context.Context) ([]string, error)
	// SegmentKeyReferenced reports whether a row of the segment names key.
	SegmentKeyReferenced(ctx context.Context, segmentID, key string) (bool, error)
	// MoveSegmentKey makes the segment's rows that name from name to.
	MoveSegmentKey(ctx context.Context, segmentID, from, to string) error
}

// WithdrawnObjects is what moving a withdrawn segment's objects needs
// from the object store (*objects.Store has it: Copy is server-side).
type WithdrawnObjects interface {
	List(ctx context.Context, prefix string) ([]objects.Object, error)
	Copy(ctx context.Context, src, dst string) error
	Remove(ctx context.Context, key string) error
}

// Withdrawal moves the objects of withdrawn segments out of reach of the
// links issued before (see WithdrawnPrefix).
type Withdrawal struct {
	Catalog WithdrawnCatalog
	Objects WithdrawnObjects
}

// Move takes every object under segment id's prefix (segments/ID/: its
// original, subtitle file, renditions, posters, previews and the
// translations submitted to its jobs) out of the old keys: an object a
// row of the segment names is copied to WithdrawnKey, the rows are made
// to name the copy, then the old key is removed; an object no row names
// (a render that finished after the withdrawal, or the old key of a move
// a crash interrupted after the rows changed) is removed. Each step is
// safe to repeat, so a Move that fails half-way is completed by the next
// one, with no object left under the old keys and none that no row
// names. A segment that is not withdrawn is left alone. It returns how
// many objects were moved and how many were removed.
func (wd *Withdrawal) Move(ctx context.Context, id string) (moved, removed int, err error) {
	seg, err := wd.Catalog.Segment(ctx, id)
	if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
	}
	if seg.State != pipeline.StateWithdrawn {
		return 0, 0, nil
	}
	list, err := wd.Objects.List(ctx, "segments/"+id+"/")
	if err != nil {
		return 0, 0, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
	}
	for _, o := range list {
		known, err := wd.Catalog.SegmentKeyReferenced(ctx, id, o.Key)
		if err != nil {
			return moved, removed, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
		}
		if known {
			to := WithdrawnKey(o.Key)
			if err := wd.Objects.Copy(ctx, o.Key, to); err != nil {
				return moved, removed, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
			}
			if err := wd.Catalog.MoveSegmentKey(ctx, id, o.Key, to); err != nil {
				return moved, removed, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
			}
		}
		if err := wd.Objects.Remove(ctx, o.Key); err != nil {
			return moved, removed, fmt.Errorf("move objects of withdrawn segment %s: %w", id, err)
		}
		if known {
			moved++
		} else {
			removed++
		}
	}
	return moved, removed, nil
}

// MoveBacklog moves the objects of every withdrawn segment still under
// its old keys: those withdrawn before withdrawals moved objects (links
// issued then may live up to 7 days), or whose move job gave up. It runs
// at start-up and nightly; it returns how many segments it moved.
func (wd *Withdrawal) MoveBacklog(ctx context.Context) (int, error) {
	ids, err := wd.Catalog.WithdrawnUnmoved(ctx)
	if err != nil {
		return 0, fmt.Errorf("move withdrawn objects: %w", err)
	}
	for i, id := range ids {
		if _, _, err := wd.Move(ctx, id); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// MoveWithdrawnBacklogArgs is the periodic job that runs
// Withdrawal.MoveBacklog.
type MoveWithdrawnBacklogArgs struct{}

// Kind names the job kind.
func (MoveWithdrawnBacklogArgs) Kind() string { return "move_withdrawn_backlog" }

type moveBacklogWorker struct {
	river.WorkerDefaults[MoveWithdrawnBacklogArgs]
	wd  *Withdrawal
	log *slog.Logger
}

func (w *moveBacklogWorker) Work(ctx context.Context, job *river.Job[MoveWithdrawnBacklogArgs]) error {
	n, err := w.wd.MoveBacklog(ctx)
	if n > 0 {
		w.log.Info("objects of earlier withdrawn segments moved out of reach of issued links", "segments", n)
	}
	return err
}

// MoveWithdrawnArgs is the job that moves a withdrawn segment's objects
// (Withdrawal.Move); it is queued in the withdrawing transaction and
// retried, with River's backoff, until it completes.
type MoveWithdrawnArgs struct {
	SegmentID string `json:"segment_id"`
}

// Kind names the job kind.
func (MoveWithdrawnArgs) Kind() string { return "move_withdrawn" }

type moveWithdrawnWorker struct {
	river.WorkerDefaults[MoveWithdrawnArgs]
	wd  *Withdrawal
	log *slog.Logger
}

func (w *moveWithdrawnWorker) Work(ctx context.Context, job *river.Job[MoveWithdrawnArgs]) error {
	if w.wd == nil {
		return errors.New("move withdrawn objects: this worker has no object store for it (worker.Config.Withdrawal)")
	}
	moved, removed, err := w.wd.Move(ctx, job.Args.SegmentID)
	if moved+removed > 0 {
		w.log.Info("withdrawn segment's objects moved out of reach of issued links", "segment", job.Args.SegmentID,
			"moved", moved, "removed", removed)
	}
	if err != nil {
		// Until the move is done, links issued before the withdrawal
		// still answer: every failed attempt is worth a look (a store
		// refusing writes fails them all), not only the last one.
		w.log.Warn("withdrawn segment's objects not moved yet: links issued before the withdrawal still work; the move is retried",
			"segment", job.Args.SegmentID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "queued_at", job.CreatedAt, "err", err)
	}
	return err
}

// EnqueueWithdrawnTx queues the move of segment id's objects inside the
// withdrawing transaction; set it as sqlstore.DB.WithdrawnTx.
func (q *Queue) EnqueueWithdrawnTx(ctx context.Context, tx *sql.Tx, id string) error {
	return q.EnqueueTx(ctx, tx, MoveWithdrawnArgs{SegmentID: id})
}

// withdrawnMeanwhile runs after the catalog refused a result because the
// segment was withdrawn while it was made: the objects just stored under
// the old keys are removed at once (links issued before the withdrawal
// name those keys), not left to the nightly sweep.
func (p *Processor) withdrawnMeanwhile(ctx context.Context, id string) error {
	if p.Withdrawal == nil {
		return nil
	}
	if _, _, err := p.Withdrawal.Move(ctx, id); err != nil {
		return err
	}
	return nil
}
