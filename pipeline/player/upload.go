package player

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// Cursor remembers how far the journal has been uploaded: every closing
// record with a sequence number up to Seq has been received by the
// server. It lives in its own small file, replaced atomically.
type Cursor struct {
	path string
	Seq  int64 `json:"uploaded_seq"`
	// Refused counts reports the server refused as invalid; they are
	// logged, never retried (and compacted away like the others).
	Refused int `json:"refused"`
}

// LoadCursor reads the cursor file at path (none yet means nothing
// uploaded). A damaged file counts as nothing uploaded: reports are sent
// again, and the server counts each once.
func LoadCursor(path string) (*Cursor, error) {
	c := &Cursor{path: path}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read upload cursor: %w", err)
	}
	if json.Unmarshal(data, c) != nil || c.Seq < 0 {
		*c = Cursor{path: path}
	}
	return c, nil
}

// Reconcile brings a cursor ahead of the journal back to the journal's
// last record: a journal lost or replaced (a new disk) numbers its
// records from 1 again, and a cursor past them would never upload them.
// It reports whether the cursor moved.
func (c *Cursor) Reconcile(j *Journal) (bool, error) {
	last := j.LastSeq()
	if c.Seq <= last {
		return false, nil
	}
	c.Seq = last
	return true, c.save()
}

func (c *Cursor) save() error {
	data, _ := json.Marshal(c)
	return pull.WriteFileSync(c.path, append(data, '\n'))
}

// Sender posts a batch of play reports; the server stores each id once.
type Sender func(ctx context.Context, reports []schedules.PlayReport) error

// Uploader sends the journal's closing records as play reports in
// batches, oldest first, and moves the cursor after each batch the
// server took.
type Uploader struct {
	Journal *Journal
	Cursor  *Cursor
	Send    Sender
	Log     *slog.Logger
	// Batch is the most reports sent at once (default and at most
	// schedules.MaxPlayReports).
	Batch int
	// Now is the clock that dates records for compaction; default
	// time.Now.
	Now func() time.Time
}

// compact drops the records the server acknowledged and the player no
// longer needs, once the journal has grown (see Journal.Compact). A
// failure is logged: the journal stays whole and grows until the next
// try.
func (u *Uploader) compact() {
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	n, err := u.Journal.Compact(now().Add(-KeepDone), false)
	if u.Log == nil {
		return
	}
	if err != nil {
		u.Log.Warn("journal not compacted; it is whole and is compacted later", "err", err)
	} else if n > 0 {
		u.Log.Info("journal compacted", "dropped_records", n, "bytes", u.Journal.Size())
	}
}

// Flush sends every closing record after the cursor. It returns how many
// reports the server took, and the first error that stopped it (the
// rest waits for the next Flush). A batch refused as invalid is sent
// one report at a time, and a report refused alone is logged and passed
// over, so one bad report never blocks the others.
func (u *Uploader) Flush(ctx context.Context) (int, error) {
	recs := u.Journal.Records(u.Cursor.Seq)
	size := u.Batch
	if size <= 0 || size > schedules.MaxPlayReports {
		size = schedules.MaxPlayReports
	}
	sent := 0
	for len(recs) > 0 {
		var batch []schedules.PlayReport
		end := 0
		for end < len(recs) && len(batch) < size {
			if recs[end].Uploads() {
				batch = append(batch, recs[end].Report())
			}
			end++
		}
		last := recs[end-1].Seq
		if len(batch) > 0 {
			err := u.Send(ctx, batch)
			if pipeline.ErrorCode(err) == pipeline.CodeInvalid && len(batch) > 1 {
				n, err := u.oneByOne(ctx, batch)
				sent += n
				if err != nil {
					return sent, err
				}
			} else if pipeline.ErrorCode(err) == pipeline.CodeInvalid {
				u.refused(batch[0], err)
			} else if err != nil {
				return sent, err
			} else {
				sent += len(batch)
			}
		}
		u.Cursor.Seq = last
		if err := u.Cursor.save(); err != nil {
			return sent, err
		}
		u.Journal.Acknowledge(last)
		recs = recs[end:]
	}
	u.compact()
	return sent, nil
}

func (u *Uploader) oneByOne(ctx context.Context, batch []schedules.PlayReport) (int, error) {
	n := 0
	for _, r := range batch {
		err := u.Send(ctx, []schedules.PlayReport{r})
		switch {
		case pipeline.ErrorCode(err) == pipeline.CodeInvalid:
			u.refused(r, err)
		case err != nil:
			// Those sent already are stored once; the batch is sent again.
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

func (u *Uploader) refused(r schedules.PlayReport, err error) {
	u.Cursor.Refused++
	if u.Log != nil {
		u.Log.Error("the server refused a play report; it stays in the journal", "id", r.ID, "item", r.Entry, "cluster", r.Cluster, "err", err)
	}
}

// Run flushes whenever kick fires and retries failed uploads with a
// growing pause (from 2 s to at most maxWait), until ctx ends.
func (u *Uploader) Run(ctx context.Context, kick <-chan struct{}, maxWait time.Duration) {
	wait := time.Duration(0)
	for {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			case <-kick:
			}
		}
		n, err := u.Flush(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = min(max(2*time.Second, wait*2), maxWait)
			if u.Log != nil {
				u.Log.Warn("play reports not uploaded yet; retrying", "sent", n, "retry_in", wait, "err", err)
			}
			continue
		}
		if n > 0 && u.Log != nil {
			u.Log.Info("play reports uploaded", "reports", n)
		}
		wait = 0
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
	}
}

// PlaysSender posts reports to POST /api/communes/{commune}/plays.
func PlaysSender(c *pull.Client, commune string) Sender {
	return func(ctx context.Context, reports []schedules.PlayReport) error {
		body, err := json.Marshal(reports)
		if err != nil {
			return err
		}
		_, err = c.Do(ctx, "POST", "/api/communes/"+url.PathEscape(commune)+"/plays", bytes.NewReader(body), "application/json", nil, nil)
		return err
	}
}
