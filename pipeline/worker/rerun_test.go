package worker

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// lockedBuffer is a log sink safe for the worker's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countRuns makes b's processor count its ffmpeg and ffprobe runs (every
// step media.Runner observes) and log to the returned buffer.
func countRuns(b *procBundle) (*atomic.Int64, *lockedBuffer) {
	var n atomic.Int64
	b.p.Runner = media.NewRunner(media.Config{Observe: func(string, time.Duration, error) { n.Add(1) }})
	b.p.Background = nil
	logs := &lockedBuffer{}
	b.p.Log = slog.New(slog.NewTextHandler(logs, nil))
	return &n, logs
}

// recordedState is what is recorded of a segment's results: its state,
// step and error, its renditions and variants with their objects' hashes
// and times, and its events.
func recordedState(t *testing.T, b *procBundle, id string) string {
	t.Helper()
	ctx := context.Background()
	seg, err := b.db.Segment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := b.db.Renditions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := b.db.SegmentVariants(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := b.store.List(ctx, "segments/"+id+"/renditions/")
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	rows, err := b.db.SQL().QueryContext(ctx, "SELECT action, detail FROM segment_events WHERE segment_id = ? ORDER BY id", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, d string
		if err := rows.Scan(&a, &d); err != nil {
			t.Fatal(err)
		}
		events = append(events, a+" "+d)
	}
	out, _ := json.Marshal(map[string]any{"state": seg.State, "step": seg.ProcessStep, "error": seg.ProcessError,
		"renditions": rs, "variants": vs, "objects": objs, "events": events})
	return string(out)
}

// TestRerunFindsWorkDone runs each kind of media job, then runs it again
// with the same arguments, as River does when it lost its record of the
// first run's end (the database down as the job ended, or the worker
// killed right after the commit): the second run makes no ffmpeg or
// ffprobe run, changes nothing recorded or stored, and logs that it found
// its work done. A job of the same kind for another input (a new
// submission of the translation) still does its work.
func TestRerunFindsWorkDone(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	// The extras follow in a job of their own, as in a worker: the
	// segment's renditions step stays pending until they are recorded.
	b.p.Enqueue = func(context.Context, *sql.Tx, river.JobArgs) error { return nil }
	tv := b.seed(t, "tv", "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, viSRT, "vi", "blt")
	silent := mediatest.Generate(t, b.dir, "silent.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "5")
	b.seed(t, "quiet", silent, pipeline.KindRadio, "", "vi")
	put := func(key, path, text string) {
		t.Helper()
		var err error
		if path != "" {
			f, ferr := os.Open(path)
			if ferr != nil {
				t.Fatal(ferr)
			}
			defer f.Close()
			_, err = b.store.Put(ctx, key, f, -1, "audio/mpeg")
		} else {
			_, err = b.store.Put(ctx, key, strings.NewReader(text), int64(len(text)), "text/plain")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put("segments/tv/jobs/j1/submission-1-a", "", bltSRT)
	put("segments/tv/jobs/j1/submission-2-b", "", strings.Replace(bltSRT, "00:00:03,500", "00:00:03,600", 1))
	speech := mediatest.SpeechMP3(t, b.dir)
	put("segments/tv/jobs/j2/submission-1-a", speech, "")
	put("segments/tv/jobs/j2/submission-2-b", mediatest.Generate(t, b.dir, "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-ac", "1"), "")

	for _, c := range []struct {
		name, segment string
		run           func() error
		// another runs the job for another input, which must do its work.
		another func() error
	}{
		{name: "process_segment", segment: "tv", run: func() error { return b.p.Process(ctx, tv.ID) }},
		{name: "process_segment failed for good", segment: "quiet", run: func() error {
			err := b.p.Process(ctx, "quiet")
			if err != nil && strings.Contains(err.Error(), ErrPermanent.Error()) {
				return nil // recorded on the segment
			}
			return err
		}},
		{name: "render_extras", segment: "tv", run: func() error { return b.p.RenderExtras(ctx, tv.ID) }},
		{name: "render_subtitles", segment: "tv",
			run: func() error {
				return b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: "tv", Language: "blt", SubtitleKey: "segments/tv/jobs/j1/submission-1-a", JobID: "j1"})
			},
			another: func() error {
				return b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: "tv", Language: "blt", SubtitleKey: "segments/tv/jobs/j1/submission-2-b", JobID: "j1"})
			}},
		{name: "render_voiceover", segment: "tv",
			run: func() error {
				return b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: "tv", Language: "blt", SourceKey: "segments/tv/jobs/j2/submission-1-a", JobID: "j2", ApprovedBy: b.user.ID})
			},
			another: func() error {
				return b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: "tv", Language: "blt", SourceKey: "segments/tv/jobs/j2/submission-2-b", JobID: "j2", ApprovedBy: b.user.ID})
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := runs.Load()
			if err := c.run(); err != nil {
				t.Fatalf("first run: %v", err)
			}
			first := runs.Load() - before
			if first == 0 {
				t.Fatal("the first run made no ffmpeg run")
			}
			recorded := recordedState(t, b, c.segment)
			found := strings.Count(logs.String(), FoundDoneMessage)
			before = runs.Load()
			if err := c.run(); err != nil {
				t.Fatalf("run again: %v", err)
			}
			if n := runs.Load() - before; n != 0 {
				t.Errorf("the run again made %d ffmpeg/ffprobe runs (the first made %d), want none", n, first)
			}
			if again := recordedState(t, b, c.segment); again != recorded {
				t.Errorf("the run again changed what is recorded:\nbefore %s\nafter  %s", recorded, again)
			}
			if strings.Count(logs.String(), FoundDoneMessage) != found+1 {
				t.Errorf("the run again did not log %q:\n%s", FoundDoneMessage, logs)
			}
			if c.another == nil {
				return
			}
			before = runs.Load()
			if err := c.another(); err != nil {
				t.Fatalf("the job for a new submission: %v", err)
			}
			if runs.Load() == before {
				t.Error("the job for a new submission made no ffmpeg run")
			}
			if after := recordedState(t, b, c.segment); after == recorded {
				t.Error("the job for a new submission recorded nothing new")
			}
		})
	}
}

// TestRiverRerunRecordsFoundDone runs a TV segment's processing job and
// the extras job it queues through River, then makes River run both again
// as after a lost record of their end (each job available again, as the
// lease reaper leaves it): the second attempts complete without an
// ffmpeg run, and their River output says they found their work done,
// where the first attempts' said they did it.
func TestRiverRerunRecordsFoundDone(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	b.seed(t, "tv", "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, viSRT, "vi")
	w, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true, Processor: b.p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Client.Insert(ctx, ProcessSegmentArgs{SegmentID: "tv"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	kinds := []string{ProcessSegmentArgs{}.Kind(), RenderExtrasArgs{}.Kind()}
	// finished waits until the job of each kind has completed attempt.
	finished := func(attempt int) map[string]*rivertype.JobRow {
		t.Helper()
		for {
			res, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds(kinds...).First(10))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*rivertype.JobRow{}
			for _, j := range res.Jobs {
				if j.State == rivertype.JobStateDiscarded || j.State == rivertype.JobStateCancelled {
					t.Fatalf("job %s %s: %+v", j.Kind, j.State, j.Errors)
				}
				if j.State == rivertype.JobStateCompleted && j.Attempt == attempt {
					got[j.Kind] = j
				}
			}
			if len(got) == len(kinds) {
				return got
			}
			if dl, ok := t.Deadline(); ok && time.Until(dl) < 10*time.Second {
				t.Fatalf("attempt %d of %v not completed before the test's deadline: %d jobs", attempt, kinds, len(res.Jobs))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	output := func(j *rivertype.JobRow) string {
		var m struct {
			Output Output `json:"output"`
		}
		if err := json.Unmarshal(j.Metadata, &m); err != nil {
			t.Fatalf("metadata %s: %v", j.Metadata, err)
		}
		return m.Output.Work
	}
	first := finished(1)
	for _, k := range kinds {
		if got := output(first[k]); got != WorkDone {
			t.Errorf("%s: first attempt's output %q, want %q (metadata %s)", k, got, WorkDone, first[k].Metadata)
		}
	}
	made := runs.Load()
	recorded := recordedState(t, b, "tv")
	// River's record of each job's end lost: the jobs are available again.
	for _, k := range kinds {
		if _, err := b.db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'available', finalized_at = NULL WHERE id = ?", first[k].ID); err != nil {
			t.Fatal(err)
		}
	}
	second := finished(2)
	for _, k := range kinds {
		if got := output(second[k]); got != WorkFoundDone {
			t.Errorf("%s: second attempt's output %q, want %q (metadata %s)", k, got, WorkFoundDone, second[k].Metadata)
		}
	}
	if n := runs.Load() - made; n != 0 {
		t.Errorf("the second attempts made %d ffmpeg/ffprobe runs (the first %d), want none", n, made)
	}
	if again := recordedState(t, b, "tv"); again != recorded {
		t.Errorf("the second attempts changed what is recorded:\nbefore %s\nafter  %s", recorded, again)
	}
	if n := strings.Count(logs.String(), FoundDoneMessage); n != len(kinds) {
		t.Errorf("%q logged %d times, want %d:\n%s", FoundDoneMessage, n, len(kinds), logs)
	}
}

// flakyCatalog is the catalog with the database dropping the connection
// of the first saves of a processing result: fails of them fail before
// anything is committed, and when committed is true the next one commits
// and then reports the dropped connection (a commit whose answer was
// lost).
type flakyCatalog struct {
	*sqlstore.DB
	mu        sync.Mutex
	fails     int
	committed bool
	saves     int
}

func (c *flakyCatalog) SaveProcessed(ctx context.Context, id string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saves++
	if c.fails > 0 {
		c.fails--
		return fmt.Errorf("save processed %s: begin: %w", id, driver.ErrBadConn)
	}
	if c.committed {
		c.committed = false
		if err := c.DB.SaveProcessed(ctx, id, rs, v, then); err != nil {
			return err
		}
		return fmt.Errorf("save processed %s: commit: %w", id, driver.ErrBadConn)
	}
	return c.DB.SaveProcessed(ctx, id, rs, v, then)
}

// TestResultKeptWhileDatabaseUnreachable: a processing job whose result
// cannot be recorded because the database is unreachable keeps it and
// records it when the database answers again, instead of failing and
// making ffmpeg do the work again in its next attempt; a commit whose
// answer was lost is found recorded and not made twice; a database that
// stays away past Processor.SaveWait fails the attempt with the
// database's error, for River to retry.
func TestResultKeptWhileDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	speech := mediatest.SpeechMP3(t, b.dir)
	for _, c := range []struct {
		name      string
		fails     int
		committed bool
		wait      time.Duration
		wantErr   bool
		wantSaves int
	}{
		{name: "back after two tries", fails: 2, wantSaves: 3},
		{name: "commit answer lost", committed: true, wantSaves: 1},
		{name: "away too long", fails: 1000, wait: 1500 * time.Millisecond, wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := strings.ReplaceAll(c.name, " ", "-")
			b.seed(t, id, speech, pipeline.KindRadio, "", "vi")
			cat := &flakyCatalog{DB: b.db, fails: c.fails, committed: c.committed}
			p := *b.p
			p.Catalog, p.SaveWait = cat, c.wait
			var opened atomic.Int64
			p.OnProcessed = func(context.Context, *sql.Tx, pipeline.Segment) error { opened.Add(1); return nil }
			before := runs.Load()
			err := p.Process(ctx, id)
			if c.wantErr {
				if err == nil || !sqlstore.Unreachable(err) {
					t.Fatalf("Process: %v, want the database's unreachable error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if runs.Load() == before {
				t.Fatal("no ffmpeg run")
			}
			seg, err := b.db.Segment(ctx, id)
			if err != nil || seg.State != pipeline.StateProcessed {
				t.Fatalf("segment %+v (%v), want processed", seg, err)
			}
			if cat.saves != c.wantSaves || opened.Load() != 1 {
				t.Errorf("%d saves and %d runs of OnProcessed, want %d and 1", cat.saves, opened.Load(), c.wantSaves)
			}
			var events int
			if err := b.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM segment_events WHERE segment_id = ? AND action = 'processed'", id).Scan(&events); err != nil || events != 1 {
				t.Errorf("%d processed events (%v), want 1", events, err)
			}
			if !strings.Contains(logs.String(), "result recorded after the database came back") {
				t.Errorf("no log of the late record:\n%s", logs)
			}
		})
	}
}
