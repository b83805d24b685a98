package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// segmentKeys lists every object key the rows of segment id name.
func segmentKeys(t *testing.T, db *sqlstore.DB, id string) []string {
	t.Helper()
	ctx := context.Background()
	seg, err := db.Segment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{seg.OriginalKey}
	if seg.SubtitleKey != "" {
		keys = append(keys, seg.SubtitleKey)
	}
	rs, err := db.Renditions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		keys = append(keys, r.Key)
	}
	vs, err := db.SegmentVariants(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		keys = append(keys, v.AudioKey)
	}
	return keys
}

// presignAll issues a one-hour link to each key, as the segment page does.
func presignAll(t *testing.T, store *objects.Store, keys []string) []string {
	t.Helper()
	var links []string
	for _, k := range keys {
		u, err := store.Presign(context.Background(), k, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, u)
	}
	return links
}

// linkStatus fetches a presigned link and returns its HTTP status.
func linkStatus(t *testing.T, link string) int {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkMoved asserts the end state of a withdrawal: nothing of segment id
// is left under its old keys, every row names an object that exists under
// WithdrawnPrefix, every object kept there is named by a row (no orphan),
// and every link issued before answers 403 or 404.
func checkMoved(t *testing.T, db *sqlstore.DB, store *objects.Store, id string, links []string) {
	t.Helper()
	ctx := context.Background()
	left, err := store.List(ctx, "segments/"+id+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("objects left under the old keys: %+v", left)
	}
	named := map[string]bool{}
	for _, k := range segmentKeys(t, db, id) {
		named[k] = true
		if !strings.HasPrefix(k, WithdrawnPrefix+"segments/"+id+"/") {
			t.Errorf("a row still names %s", k)
			continue
		}
		if _, err := store.Stat(ctx, k); err != nil {
			t.Errorf("a row names %s, which is not stored: %v", k, err)
		}
	}
	kept, err := store.List(ctx, WithdrawnPrefix+"segments/"+id+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range kept {
		if !named[o.Key] {
			t.Errorf("orphan: %s is kept but no row names it", o.Key)
		}
	}
	if len(kept) == 0 {
		t.Error("nothing kept: the withdrawn segment's objects are gone, not moved")
	}
	for _, l := range links {
		if st := linkStatus(t, l); st != http.StatusNotFound && st != http.StatusForbidden {
			t.Errorf("a link issued before the withdrawal answers %d: %s", st, l)
		}
	}
}

// TestWithdrawalMovesObjectsOutOfReach processes a TV segment with
// subtitles (loudspeaker MP3 and Opus, poster, preview, subtitle
// renditions), issues a link to every object, withdraws it through the
// catalog with the worker running: the move job queued in the withdrawal
// leaves every old link answering 404, nothing under the old keys and no
// object that no row names.
func TestWithdrawalMovesObjectsOutOfReach(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	seg := b.seed(t, "tvw", mediatest.TVMP4(t, b.dir), pipeline.KindTV, viSRT, "vi")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	keys := segmentKeys(t, b.db, seg.ID)
	names := map[string]bool{}
	rs, _ := b.db.Renditions(ctx, seg.ID)
	for _, r := range rs {
		names[r.Name] = true
	}
	for _, want := range []string{"loudspeaker_mp3", "poster_jpg", "preview_mp4"} {
		if !names[want] {
			t.Fatalf("processing made %v, no %s to withdraw", names, want)
		}
	}
	links := presignAll(t, b.store, keys)
	for _, l := range links {
		if st := linkStatus(t, l); st != http.StatusOK {
			t.Fatalf("a fresh link answers %d", st)
		}
	}
	w, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true,
		Withdrawal: &Withdrawal{Catalog: b.db, Objects: b.store}})
	if err != nil {
		t.Fatal(err)
	}
	b.db.WithdrawnTx = w.EnqueueWithdrawnTx
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	if _, err := b.db.WithdrawSegment(ctx, seg.ID, b.user.ID, "sai số liệu"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		done, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds(MoveWithdrawnArgs{}.Kind()).
			States(rivertype.JobStateCompleted).First(10))
		if err != nil {
			t.Fatal(err)
		}
		if len(done.Jobs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the move job queued by the withdrawal did not complete in a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkMoved(t, b.db, b.store, seg.ID, links)
}

// withdrawWhileSaving withdraws the segment just before its processing
// result is recorded, as a producer who withdraws while ffmpeg runs.
type withdrawWhileSaving struct {
	ProcessCatalog
	db   *sqlstore.DB
	user int64
}

func (c withdrawWhileSaving) SaveProcessed(ctx context.Context, id string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	if _, err := c.db.WithdrawSegment(ctx, id, c.user, "rút khi đang xử lý"); err != nil {
		return err
	}
	return c.ProcessCatalog.SaveProcessed(ctx, id, rs, v, then)
}

// TestWithdrawnWhileProcessing withdraws a segment while its loudspeaker
// renditions are made: the catalog refuses them, and the job removes what
// it stored under the old keys and moves the original at once (no link
// reaches it, nothing waits for the nightly sweep).
func TestWithdrawnWhileProcessing(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	seg := b.seed(t, "rw", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi")
	links := presignAll(t, b.store, []string{seg.OriginalKey, renditionKey(seg.ID, "vi", "loudspeaker.mp3")})
	b.p.Catalog = withdrawWhileSaving{ProcessCatalog: b.db, db: b.db, user: b.user.ID}
	b.p.Withdrawal = &Withdrawal{Catalog: b.db, Objects: b.store}
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.db.Segment(ctx, seg.ID); got.State != pipeline.StateWithdrawn {
		t.Fatalf("state %s, want withdrawn", got.State)
	}
	checkMoved(t, b.db, b.store, seg.ID, links)
}

// seedProcessed records a processed segment with an original, a
// subtitle file, three renditions and a variant, all stored (small
// stand-ins: no ffmpeg).
func (b *procBundle) seedProcessed(t *testing.T, id string) pipeline.Segment {
	t.Helper()
	ctx := context.Background()
	seg := b.seed(t, id, mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, viSRT, "vi")
	var rs []pipeline.Rendition
	for _, name := range []string{"loudspeaker.mp3", "loudspeaker.opus", "subtitles.vtt"} {
		key := renditionKey(id, "vi", name)
		if _, err := b.store.Put(ctx, key, strings.NewReader(name), int64(len(name)), "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, pipeline.Rendition{SegmentID: id, Language: "vi", Name: strings.ReplaceAll(name, ".", "_"), Key: key,
			ContentType: "application/octet-stream", Size: int64(len(name)), SHA256: name})
	}
	v := &pipeline.Variant{SegmentID: id, Language: "vi", AudioKey: rs[0].Key, DurationMS: 1000, SHA256: "x", Size: 1}
	if err := b.db.SaveProcessed(ctx, id, rs, v, nil); err != nil {
		t.Fatal(err)
	}
	return seg
}

// TestWithdrawnBacklogMoved: segments withdrawn before withdrawals moved
// objects (no move job was queued) are moved by the backlog job, their
// old links dead; a segment on air is left alone.
func TestWithdrawnBacklogMoved(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	var links [][]string
	for _, id := range []string{"old1", "old2"} {
		b.seedProcessed(t, id)
		links = append(links, presignAll(t, b.store, segmentKeys(t, b.db, id)))
		if _, err := b.db.WithdrawSegment(ctx, id, b.user.ID, "rút trước khi có việc dời"); err != nil {
			t.Fatal(err)
		}
	}
	b.seedProcessed(t, "live")
	liveKeys := segmentKeys(t, b.db, "live")
	wd := &Withdrawal{Catalog: b.db, Objects: b.store}
	if n, err := wd.MoveBacklog(ctx); err != nil || n != 2 {
		t.Fatalf("backlog moved %d segments (%v), want 2", n, err)
	}
	for i, id := range []string{"old1", "old2"} {
		checkMoved(t, b.db, b.store, id, links[i])
	}
	if n, err := wd.MoveBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("a second backlog run moved %d (%v), want 0", n, err)
	}
	if got := segmentKeys(t, b.db, "live"); strings.Join(got, ",") != strings.Join(liveKeys, ",") {
		t.Fatalf("a segment on air was moved: %v → %v", liveKeys, got)
	}
	for _, l := range presignAll(t, b.store, liveKeys) {
		if st := linkStatus(t, l); st != http.StatusOK {
			t.Fatalf("a link of the segment on air answers %d", st)
		}
	}
}

// flaky fails the n-th of the calls that change something (a copy, a
// removal, a catalog move), as a worker killed at that point would stop.
type flaky struct {
	WithdrawnCatalog
	WithdrawnObjects
	n, calls int
}

var errKilled = errors.New("killed here")

func (f *flaky) step() error {
	f.calls++
	if f.calls == f.n {
		return errKilled
	}
	return nil
}

func (f *flaky) Copy(ctx context.Context, src, dst string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.WithdrawnObjects.Copy(ctx, src, dst)
}

func (f *flaky) Remove(ctx context.Context, key string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.WithdrawnObjects.Remove(ctx, key)
}

func (f *flaky) MoveSegmentKey(ctx context.Context, id, from, to string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.WithdrawnCatalog.MoveSegmentKey(ctx, id, from, to)
}

// TestWithdrawalMoveCompletesAfterAnyFailure stops a move at each of its
// steps in turn (after every copy, catalog change and removal): the
// stopped move leaves every row naming an object that exists, and the
// retry completes it with nothing under the old keys, no orphan, and the
// old links dead. A leftover object no row names is removed too.
func TestWithdrawalMoveCompletesAfterAnyFailure(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	real := &Withdrawal{Catalog: b.db, Objects: b.store}
	for n := 1; ; n++ {
		id := fmt.Sprintf("f%d", n)
		seg := b.seedProcessed(t, id)
		// A leftover no row names, as a render refused after the withdrawal leaves.
		stray := renditionKey(id, "vi", "poster.jpg")
		if _, err := b.store.Put(ctx, stray, strings.NewReader("x"), 1, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		links := presignAll(t, b.store, append(segmentKeys(t, b.db, id), stray))
		if _, err := b.db.WithdrawSegment(ctx, seg.ID, b.user.ID, "sai"); err != nil {
			t.Fatal(err)
		}
		f := &flaky{WithdrawnCatalog: b.db, WithdrawnObjects: b.store, n: n}
		_, _, err := (&Withdrawal{Catalog: f, Objects: f}).Move(ctx, id)
		if err == nil {
			if n < 3 {
				t.Fatalf("a move of 5 objects made only %d steps", f.calls)
			}
			checkMoved(t, b.db, b.store, id, links)
			return // every step has been stopped once
		}
		if !errors.Is(err, errKilled) {
			t.Fatalf("step %d: %v", n, err)
		}
		for _, k := range segmentKeys(t, b.db, id) {
			if _, err := b.store.Stat(ctx, k); err != nil {
				t.Fatalf("stopped at step %d: a row names %s, which is gone: %v", n, k, err)
			}
		}
		if _, _, err := real.Move(ctx, id); err != nil {
			t.Fatalf("retry after step %d: %v", n, err)
		}
		checkMoved(t, b.db, b.store, id, links)
		if moved, removed, err := real.Move(ctx, id); err != nil || moved+removed != 0 {
			t.Fatalf("a move repeated once done moved %d, removed %d (%v)", moved, removed, err)
		}
	}
}
