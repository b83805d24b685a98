package worker

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestMoveWithdrawnFailureWarns: while the object store refuses writes
// (a read-only account on the real MinIO, as a full disk), the move job
// of a withdrawn segment fails and says so at WARN from its first
// attempt, with the segment and the store's error; the links issued
// before still answer meanwhile. Once the store takes writes the next
// attempt moves the objects and warns no more.
func TestMoveWithdrawnFailureWarns(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	cfg := objectstest.Config(t)
	cfg.Bucket = b.store.Bucket()
	ro, err := objects.Open(ctx, objectstest.ReadOnly(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	seg := b.seedProcessed(t, "wwarn")
	links := presignAll(t, b.store, segmentKeys(t, b.db, seg.ID))
	if _, err := b.db.WithdrawSegment(ctx, seg.ID, b.user.ID, "sai số liệu"); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	job := &river.Job[MoveWithdrawnArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 25, CreatedAt: time.Now()},
		Args: MoveWithdrawnArgs{SegmentID: seg.ID}}

	refused := &moveWithdrawnWorker{wd: &Withdrawal{Catalog: b.db, Objects: ro}, log: log}
	if err := refused.Work(ctx, job); err == nil {
		t.Fatal("the move succeeded on a store that refuses writes")
	}
	out := logged.String()
	for _, want := range []string{"level=WARN", "segment=wwarn", "attempt=1", "Access Denied", "links issued before the withdrawal still work"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed move's log lacks %q:\n%s", want, out)
		}
	}
	for _, l := range links {
		if st := linkStatus(t, l); st != http.StatusOK {
			t.Fatalf("with the move pending a link answers %d (want it still working, which is why the warning matters)", st)
		}
	}

	logged.Reset()
	job.Attempt = 2
	if err := (&moveWithdrawnWorker{wd: &Withdrawal{Catalog: b.db, Objects: b.store}, log: log}).Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "level=WARN") {
		t.Errorf("the successful move warned:\n%s", logged.String())
	}
	checkMoved(t, b.db, b.store, seg.ID, links)
}
