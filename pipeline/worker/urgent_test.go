package worker

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestMediaJobQueues inserts each media job kind and checks its queue:
// only a priority or emergency segment's process_segment job goes to the
// urgent queue; a normal segment's and every extras job stay in the
// media queue.
func TestMediaJobQueues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *", Processor: &Processor{Catalog: db}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args      river.JobArgs
		queue     string
		priority  int
		noteWhich string
	}{
		{ProcessSegmentArgs{SegmentID: "e", Priority: pipeline.PriorityEmergency}, QueueMediaUrgent, 1, "emergency audio"},
		{ProcessSegmentArgs{SegmentID: "p", Priority: pipeline.PriorityPriority}, QueueMediaUrgent, 2, "priority audio"},
		{ProcessSegmentArgs{SegmentID: "n", Priority: pipeline.PriorityNormal}, QueueMedia, 3, "normal audio"},
		{ProcessSegmentArgs{SegmentID: "z"}, QueueMedia, 3, "audio without a priority"},
		{RenderExtrasArgs{SegmentID: "e"}, QueueMedia, extrasPriority, "extras of an emergency"},
		{RenderSubtitlesArgs{SegmentID: "e", Language: "tai"}, QueueMedia, 1, "subtitles"},
		{RenderVoiceoverArgs{SegmentID: "e", Language: "tai"}, QueueMedia, 1, "voice-over"},
	} {
		res, err := w.Client.Insert(ctx, c.args, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.noteWhich, err)
		}
		if res.Job.Queue != c.queue || res.Job.Priority != c.priority {
			t.Errorf("%s: queued in %q at priority %d, want %q at %d", c.noteWhich, res.Job.Queue, res.Job.Priority, c.queue, c.priority)
		}
	}
}

// heldObjects is a ProcessObjects whose Get reports the segment of each
// key asked for and then holds it until that segment is freed (or the
// job's context ends), then fails: a processing job that stays running
// as long as the test wants.
type heldObjects struct {
	asked   chan string
	mu      sync.Mutex
	release map[string]chan struct{}
}

func newHeldObjects(segments ...string) *heldObjects {
	h := &heldObjects{asked: make(chan string, 64), release: map[string]chan struct{}{}}
	for _, s := range segments {
		h.release[s] = make(chan struct{})
	}
	return h
}

// segmentOf is the segment ID of key "segments/<id>/...".
func segmentOf(key string) string {
	if parts := strings.Split(key, "/"); len(parts) > 1 {
		return parts[1]
	}
	return key
}

func (h *heldObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	seg := segmentOf(key)
	h.mu.Lock()
	ch, ok := h.release[seg]
	h.mu.Unlock()
	if !ok {
		return nil, errors.New("test object store: unknown segment " + seg)
	}
	select {
	case h.asked <- seg:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-ch:
		return nil, errors.New("test object store: released without content")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *heldObjects) Put(context.Context, string, io.Reader, int64, string) (int64, error) {
	return 0, errors.New("test object store: no writes")
}

// free lets the held jobs of the segments (all when none is named) end.
func (h *heldObjects) free(segments ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(segments) == 0 {
		for s := range h.release {
			segments = append(segments, s)
		}
	}
	for _, s := range segments {
		select {
		case <-h.release[s]:
		default:
			close(h.release[s])
		}
	}
}

// TestUrgentJobRunsBesideBusyMediaSlot holds a normal TV segment's
// processing job running in the only media slot (its download does not
// end until the test says) and then queues a normal and an emergency
// segment: the emergency's job starts in its own slot while the TV job
// still runs, and the normal one waits in the media queue; when the
// urgent slot is free again the normal job still does not take it (a
// priority segment queued then does). Ordering only: the test waits for
// events, never for a time.
func TestUrgentJobRunsBesideBusyMediaSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	u := sqlstoretest.User(t, db, "p", pipeline.RoleProducer)
	objs := newHeldObjects("tv", "later", "sos", "raised")
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *", Work: true,
		Processor: &Processor{Catalog: db, Objects: objs, TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	segs := []struct {
		id   string
		kind pipeline.Kind
		p    pipeline.Priority
	}{
		{"tv", pipeline.KindTV, pipeline.PriorityNormal},
		{"later", pipeline.KindRadio, pipeline.PriorityNormal},
		{"sos", pipeline.KindRadio, pipeline.PriorityEmergency},
		{"raised", pipeline.KindRadio, pipeline.PriorityPriority},
	}
	for _, s := range segs {
		now := time.Now().UTC()
		seg := pipeline.Segment{ID: s.id, SHA256: s.id, Title: "Thử " + s.id, Kind: s.kind, Topic: "digital",
			Priority: s.p, Languages: []string{"vi"}, State: pipeline.StateProbed, ProducerID: u.ID,
			OriginalKey: "segments/" + s.id + "/original", OriginalName: "x", ContentType: "audio/mpeg",
			CreatedAt: now, UpdatedAt: now, AirFrom: now, AirUntil: now.Add(time.Hour)}
		if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		objs.free()
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = w.Stop(sctx)
	})
	// A failure deadline only: no assertion below depends on how long
	// anything takes.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	next := func() string {
		t.Helper()
		select {
		case seg := <-objs.asked:
			return seg
		case <-wctx.Done():
			t.Fatalf("no processing job started: %v", wctx.Err())
			return ""
		}
	}
	insert := func(id string, p pipeline.Priority) int64 {
		t.Helper()
		res, err := w.Client.Insert(ctx, ProcessSegmentArgs{SegmentID: id, DurationMS: 1000, Priority: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Job.ID
	}
	tv := insert("tv", pipeline.PriorityNormal)
	if got := next(); got != "tv" {
		t.Fatalf("first job to start was %q's, want tv's", got)
	}
	later := insert("later", pipeline.PriorityNormal)
	sos := insert("sos", pipeline.PriorityEmergency)
	if got := next(); got != "sos" {
		t.Fatalf("with the media slot busy, %q's job started, want the emergency's", got)
	}
	for _, c := range []struct {
		id    int64
		name  string
		state rivertype.JobState
		queue string
	}{
		{tv, "tv", rivertype.JobStateRunning, QueueMedia},
		{sos, "sos", rivertype.JobStateRunning, QueueMediaUrgent},
		{later, "later", rivertype.JobStateAvailable, QueueMedia},
	} {
		j, err := w.Client.JobGet(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != c.state || j.Queue != c.queue {
			t.Errorf("job of %s: %s in %q, want %s in %q", c.name, j.State, j.Queue, c.state, c.queue)
		}
	}
	// Both slots' jobs are under the lease middleware: each running job's
	// lease is written (so a dead worker's job in either queue is taken
	// back by the reaper, which looks at every running job).
	for _, c := range []struct {
		id   int64
		name string
	}{{tv, "tv"}, {sos, "sos"}} {
		for {
			j, err := w.Client.JobGet(wctx, c.id)
			if err != nil {
				t.Fatalf("job of %s never got a lease: %v", c.name, err)
			}
			if strings.Contains(string(j.Metadata), sqlstore.LeaseKey) {
				break
			}
			time.Sleep(20 * time.Millisecond) // polling the row, not a deadline
		}
	}
	// Free the urgent slot only: the emergency's attempt fails and waits
	// for its retry; the media slot stays busy.
	objs.free("sos")
	for {
		j, err := w.Client.JobGet(wctx, sos)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateRunning {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the row, not a deadline
	}
	raised := insert("raised", pipeline.PriorityPriority)
	for {
		got := next()
		if got == "raised" {
			break
		}
		if got != "sos" { // the emergency's retry may come first
			t.Fatalf("with the media slot busy and the urgent slot free, %q's job started, want the priority segment's", got)
		}
	}
	for _, c := range []struct {
		id    int64
		name  string
		state rivertype.JobState
	}{{tv, "tv", rivertype.JobStateRunning}, {later, "later", rivertype.JobStateAvailable}, {raised, "raised", rivertype.JobStateRunning}} {
		j, err := w.Client.JobGet(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != c.state {
			t.Errorf("after the urgent slot freed: job of %s is %s, want %s", c.name, j.State, c.state)
		}
	}
	// Free every slot: the normal job then runs, in the media queue.
	objs.free()
	for next() != "later" {
	}
	j, err := w.Client.JobGet(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if j.Queue != QueueMedia {
		t.Errorf("normal job ran in %q, want %q", j.Queue, QueueMedia)
	}
}
