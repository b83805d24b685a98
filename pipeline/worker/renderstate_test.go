package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// storeDown is a catalog that cannot be reached: every read of a segment
// fails as a store that is down does.
type storeDown struct{ ProcessCatalog }

func (storeDown) Segment(context.Context, string) (pipeline.Segment, error) {
	return pipeline.Segment{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// holdSegment is a catalog whose first read of a segment waits until
// release is closed, with entered closed when it starts waiting: a render
// job held in River's running state.
type holdSegment struct {
	*sqlstore.DB
	once    *sync.Once
	entered chan struct{}
	release chan struct{}
}

func (c holdSegment) Segment(ctx context.Context, id string) (pipeline.Segment, error) {
	c.once.Do(func() {
		close(c.entered)
		select {
		case <-c.release:
		case <-ctx.Done():
		}
	})
	return c.DB.Segment(ctx, id)
}

// TestRerenderLostRender: an approved voice-over whose River render job
// was discarded after its attempts while the store was down (so no
// render_failed event could be recorded) is rendered again on request,
// through a real River queue on the test's backend: while the first
// render job waits it is a conflict saying it is queued; once River has
// discarded it, the rerender is refused to a translator of the language
// (403) and a reviewer of another language (404; the route refuses
// producers and operators before the desk), accepted
// for the language's reviewer with a rerender event, and a worker renders
// it; asking again while that job waits, while it runs and after it made
// the renditions is a conflict saying which.
func TestRerenderLostRender(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	speech := mediatest.SpeechMP3(t, b.dir)
	seg := b.seed(t, "lost", speech, pipeline.KindRadio, "", "vi", pipeline.LangThai)
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	seg, _ = b.db.Segment(ctx, seg.ID)
	job, keys := approveJob(t, b, seg, pipeline.LangThai, translation.KindVoiceover, "audio/mpeg", speech)
	subs, err := b.db.Submissions(ctx, job.ID)
	if err != nil || len(subs) != 1 || subs[0].Key != keys[0] {
		t.Fatalf("submissions %+v %v", subs, err)
	}
	job, _ = b.db.Job(ctx, job.ID)

	q, err := NewQueue(b.db.SQL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	desk := &translation.Desk{Store: b.db, Objects: b.store, Policy: translation.DefaultPolicy(), Renditions: q,
		Renders: RenderLookup{Queue: q, Catalog: b.db}, Log: slog.New(slog.DiscardHandler)}
	rv := sqlstoretest.User(t, b.db, "rv2-lost", pipeline.RoleReviewer, pipeline.LangThai)
	rerender := func(u pipeline.User, code pipeline.Code, says string) {
		t.Helper()
		_, err := desk.Rerender(ctx, u, job.ID)
		if code == "" {
			if err != nil {
				t.Fatalf("rerender by %s: %v, want accepted", u.Name, err)
			}
			return
		}
		if pipeline.ErrorCode(err) != code || !strings.Contains(fmtErr(err), says) {
			t.Fatalf("rerender by %s: %v (code %q), want %s saying %q", u.Name, err, pipeline.ErrorCode(err), code, says)
		}
	}
	renderJobs := func(states ...rivertype.JobState) []*rivertype.JobRow {
		t.Helper()
		res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(RenderVoiceoverArgs{}.Kind()).States(states...).First(10))
		if err != nil {
			t.Fatal(err)
		}
		return res.Jobs
	}
	waitFor := func(what string, state rivertype.JobState, n int) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); len(renderJobs(state)) < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d render jobs %s after 2 minutes, want %d", what, len(renderJobs(state)), state, n)
			}
		}
	}

	// The approval's render job, queued in its transaction as Approve
	// does; it may be tried once only, so the outage outlasts its attempts.
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.QueueRenditionTx(ctx, tx, job, subs[0], job.ReviewerID); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SQL().ExecContext(ctx, "UPDATE river_job SET max_attempts = 1 WHERE kind = ?", RenderVoiceoverArgs{}.Kind()); err != nil {
		t.Fatal(err)
	}
	rerender(rv, pipeline.CodeConflict, "still queued")

	// A worker whose store is down: River discards the job after its
	// attempt, and no render_failed event is recorded.
	down := &Processor{Catalog: storeDown{b.db}, Objects: b.store, Runner: b.p.Runner, TempDir: b.p.TempDir, FontsDir: b.p.FontsDir}
	w1, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true, Processor: down,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("store down", rivertype.JobStateDiscarded, 1)
	if err := w1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := b.db.JobEvents(ctx, job.ID)
	if err != nil || translation.RenderFailed(evs) {
		t.Fatalf("events %+v %v: want no render_failed (the store was down)", evs, err)
	}
	if n := len(renderJobs(liveStates...)); n != 0 {
		t.Fatalf("%d live render jobs after the discard, want 0", n)
	}

	rerender(sqlstoretest.User(t, b.db, "tr2-lost", pipeline.RoleTranslator, pipeline.LangThai), pipeline.CodeForbidden, "Only an administrator or a reviewer")
	rerender(sqlstoretest.User(t, b.db, "rv-hmong", pipeline.RoleReviewer, pipeline.LangHmong), pipeline.CodeNotFound, "")
	if n := len(renderJobs(liveStates...)); n != 0 {
		t.Fatalf("refused rerenders queued %d render jobs", n)
	}
	if det, err := desk.Get(ctx, rv, job.ID); err != nil || det.Render != translation.RenderLost {
		t.Fatalf("the job's detail says its render is %q (%v), want lost", det.Render, err)
	}
	rerender(rv, "", "")
	evs, _ = b.db.JobEvents(ctx, job.ID)
	if last := evs[len(evs)-1]; last.Action != translation.ActionRerender || last.ActorID != rv.ID {
		t.Fatalf("last event %+v, want the reviewer's rerender", last)
	}
	if n := len(renderJobs(rivertype.JobStateAvailable)); n != 1 {
		t.Fatalf("%d render jobs queued by the rerender, want 1", n)
	}
	rerender(rv, pipeline.CodeConflict, "still queued")

	// A worker with the store back: the render runs (held running while
	// the reviewer asks again), then makes the renditions.
	hold := holdSegment{DB: b.db, once: &sync.Once{}, entered: make(chan struct{}), release: make(chan struct{})}
	up := &Processor{Catalog: hold, Objects: b.store, Runner: b.p.Runner, TempDir: b.p.TempDir, FontsDir: b.p.FontsDir}
	w2, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true, Processor: up,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w2.Stop(context.Background()) })
	select {
	case <-hold.entered:
	case <-time.After(2 * time.Minute):
		t.Fatal("the worker did not start the render in 2 minutes")
	}
	rerender(rv, pipeline.CodeConflict, "rendering it now")
	close(hold.release)
	waitFor("store back", rivertype.JobStateCompleted, 1)
	rerender(rv, pipeline.CodeConflict, "made already")
	if det, err := desk.Get(ctx, rv, job.ID); err != nil || det.Render != translation.RenderMade {
		t.Errorf("the job's detail says its render is %q (%v), want made", det.Render, err)
	}
	rerender(sqlstoretest.User(t, b.db, "ad-lost", pipeline.RoleAdmin), pipeline.CodeConflict, "made already")
	vs, err := b.db.SegmentVariants(ctx, seg.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range vs {
		found = found || v.Language == pipeline.LangThai
	}
	if !found {
		t.Errorf("variants %+v: want the rendered Thái voice-over", vs)
	}
}

// fmtErr is err's text, "" for nil.
func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
