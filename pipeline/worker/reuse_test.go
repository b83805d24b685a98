package worker

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// downCatalog is the catalog with the database unreachable for every
// save of a job's result while down is set.
type downCatalog struct {
	*sqlstore.DB
	down atomic.Bool
	// onDown, when set, runs at each failed save (to end the job's
	// lease while it waits for the database).
	onDown func()
}

func (c *downCatalog) unreachable(what string) error {
	if c.down.Load() {
		if c.onDown != nil {
			c.onDown()
		}
		return fmt.Errorf("save %s: begin: %w", what, driver.ErrBadConn)
	}
	return nil
}

func (c *downCatalog) SaveProcessed(ctx context.Context, id string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	if err := c.unreachable("processed " + id); err != nil {
		return err
	}
	return c.DB.SaveProcessed(ctx, id, rs, v, then)
}

func (c *downCatalog) SaveRenditions(ctx context.Context, id string, rs []pipeline.Rendition, then func(*sql.Tx) error) error {
	if err := c.unreachable("renditions " + id); err != nil {
		return err
	}
	return c.DB.SaveRenditions(ctx, id, rs, then)
}

func (c *downCatalog) SaveTranslated(ctx context.Context, segmentID, lang string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error {
	if err := c.unreachable(lang + " translation " + segmentID); err != nil {
		return err
	}
	return c.DB.SaveTranslated(ctx, segmentID, lang, rs, v, then)
}

// TestStoredOutputsReusedAfterLostSave: each kind of media job whose
// result could not be recorded before it gave up (the database away
// longer than its lease) leaves its outputs stored; its next run records
// them with no ffmpeg run, logging ReusedMessage, and what is recorded
// names the stored objects' real sizes and sums. An output that is not
// what the first run made (cut short, or overwritten by another run) is
// not reused: the next run makes everything again.
func TestStoredOutputsReusedAfterLostSave(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	cat := &downCatalog{DB: b.db}
	b.p.Catalog, b.p.SaveWait = cat, time.Millisecond
	b.p.Enqueue = func(context.Context, *sql.Tx, river.JobArgs) error { return nil }
	speech := mediatest.SpeechMP3(t, b.dir)
	put := func(key, text string) {
		t.Helper()
		if _, err := b.store.Put(ctx, key, strings.NewReader(text), int64(len(text)), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	voice, err := os.ReadFile(speech)
	if err != nil {
		t.Fatal(err)
	}
	// tamper replaces the object at key with its first half (a partial
	// object), or, when whole, with other bytes of the same size.
	tamper := func(key string, whole bool) {
		t.Helper()
		rc, err := b.store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if whole {
			data[len(data)/2] ^= 0xff
		} else {
			data = data[:len(data)/2]
		}
		if _, err := b.store.Put(ctx, key, strings.NewReader(string(data)), int64(len(data)), "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		// setup readies segment id for the job; run runs it.
		setup func(id string)
		run   func(id string) error
		// tampered is the output a tampered case spoils.
		tampered string
	}{
		{name: "process_segment", tampered: "vi/loudspeaker.mp3",
			setup: func(id string) { b.seed(t, id, speech, pipeline.KindRadio, "", "vi") },
			run:   func(id string) error { return b.p.Process(ctx, id) }},
		{name: "render_extras", tampered: "vi/preview.mp4",
			setup: func(id string) {
				b.seed(t, id, "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, viSRT, "vi")
				cat.down.Store(false)
				if err := b.p.Process(ctx, id); err != nil {
					t.Fatal(err)
				}
			},
			run: func(id string) error { return b.p.RenderExtras(ctx, id) }},
		{name: "render_subtitles", tampered: "blt/burned-subtitles.mp4",
			setup: func(id string) {
				b.seed(t, id, "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, viSRT, "vi", "blt")
				cat.down.Store(false)
				if err := b.p.Process(ctx, id); err != nil {
					t.Fatal(err)
				}
				put("segments/"+id+"/jobs/j1/submission-1-a", bltSRT)
			},
			run: func(id string) error {
				return b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: id, Language: "blt", SubtitleKey: "segments/" + id + "/jobs/j1/submission-1-a", JobID: "j1"})
			}},
		{name: "render_voiceover", tampered: "blt/loudspeaker.opus",
			setup: func(id string) {
				b.seed(t, id, speech, pipeline.KindRadio, "", "vi", "blt")
				cat.down.Store(false)
				if err := b.p.Process(ctx, id); err != nil {
					t.Fatal(err)
				}
				put("segments/"+id+"/jobs/j2/submission-1-a", string(voice))
			},
			run: func(id string) error {
				return b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: id, Language: "blt", SourceKey: "segments/" + id + "/jobs/j2/submission-1-a", JobID: "j2", ApprovedBy: b.user.ID})
			}},
	} {
		for _, spoil := range []string{"", "partial", "overwritten"} {
			name := c.name
			if spoil != "" {
				name += " " + spoil
			}
			t.Run(name, func(t *testing.T) {
				id := strings.NewReplacer("_", "-", " ", "-").Replace(name)
				c.setup(id)
				cat.down.Store(true)
				before := runs.Load()
				if err := c.run(id); err == nil || !sqlstore.Unreachable(err) {
					t.Fatalf("run with the database away: %v, want its unreachable error", err)
				}
				if c.name == "process_segment" && spoil == "" {
					// Run again with the database away and the job's lease
					// lost while its save waits (the lease middleware ends
					// the job's context): it gives the save up at once, and
					// reuses what the run before stored.
					lctx, lost := context.WithCancel(ctx)
					var once sync.Once
					p := *b.p
					p.SaveWait, cat.onDown = time.Minute, func() { once.Do(func() { time.AfterFunc(100*time.Millisecond, lost) }) }
					err := func() error { _, err := p.process(lctx, id); return err }()
					cat.onDown = nil
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("run with the lease lost while the database is away: %v, want the lease's end", err)
					}
				}
				if runs.Load() == before {
					t.Fatal("the first run made no ffmpeg run")
				}
				if spoil != "" {
					tamper("segments/"+id+"/renditions/"+c.tampered, spoil == "overwritten")
				}
				cat.down.Store(false)
				reused := strings.Count(logs.String(), ReusedMessage)
				before = runs.Load()
				if err := c.run(id); err != nil {
					t.Fatalf("run again: %v", err)
				}
				made := runs.Load() - before
				if again := strings.Count(logs.String(), ReusedMessage) - reused; spoil == "" && (made != 0 || again != 1) {
					t.Errorf("the run again made %d ffmpeg/ffprobe runs and logged %q %d times, want none and once", made, ReusedMessage, again)
				} else if spoil != "" && (made == 0 || again != 0) {
					t.Errorf("with %s spoilt (%s) the run again made %d ffmpeg/ffprobe runs and logged %q %d times, want some and none", c.tampered, spoil, made, ReusedMessage, again)
				}
				// What is recorded is what is stored.
				rs, err := b.db.Renditions(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range rs {
					if !strings.HasSuffix(c.tampered, "/"+r.Key[strings.LastIndex(r.Key, "/")+1:]) || !strings.HasPrefix(c.tampered, r.Language+"/") {
						continue
					}
					n++
					sum, size, err := b.p.objectSum(ctx, r.Key)
					if err != nil || sum != r.SHA256 || size != r.Size {
						t.Errorf("%s recorded %d bytes, sha256 %s; stored %d bytes, sha256 %s (%v)", r.Key, r.Size, r.SHA256, size, sum, err)
					}
				}
				if n != 1 {
					t.Errorf("%d renditions recorded at %s, want 1: %+v", n, c.tampered, rs)
				}
				// The record of what was made is gone once recorded.
				objs, err := b.store.List(ctx, "segments/"+id+"/renditions/")
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if strings.Contains(o.Key, "/made/") {
						t.Errorf("made record %s left after the outputs were recorded", o.Key)
					}
				}
			})
		}
	}
}
