package worker

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

type procBundle struct {
	db    *sqlstore.DB
	store *objects.Store
	p     *Processor
	user  pipeline.User
	dir   string
}

func setupProcessor(t *testing.T) *procBundle {
	t.Helper()
	mediatest.Need(t)
	store, _ := objectstest.New(t)
	db := sqlstoretest.New(t)
	u := sqlstoretest.User(t, db, "p", pipeline.RoleProducer)
	fonts := filepath.Join(t.TempDir(), "fonts")
	if err := media.PrepareFonts(fonts); err != nil {
		t.Fatalf("fonts: %v (make deps installs fonts-noto-core)", err)
	}
	tmp := t.TempDir()
	p := &Processor{Catalog: db, Objects: store, Runner: media.NewRunner(media.Config{}), TempDir: tmp, FontsDir: fonts}
	return &procBundle{db: db, store: store, p: p, user: u, dir: t.TempDir()}
}

// seed stores a file as a segment's original (and optional subtitles) and
// records the segment as ingest would.
func (b *procBundle) seed(t *testing.T, id, path string, kind pipeline.Kind, srt string, langs ...string) pipeline.Segment {
	t.Helper()
	return b.seedSegment(t, path, srt, b.segment(id, kind, langs...))
}

// segment is a probed segment of b's producer as ingest records it, on
// air for an hour from now, its original under its usual key.
func (b *procBundle) segment(id string, kind pipeline.Kind, langs ...string) pipeline.Segment {
	now := time.Now().UTC()
	return pipeline.Segment{ID: id, SHA256: id, Title: "Thử " + id, Kind: kind, Topic: "digital", Priority: pipeline.PriorityNormal,
		Languages: langs, State: pipeline.StateProbed, ProducerID: b.user.ID, OriginalKey: "segments/" + id + "/original",
		OriginalName: "x", ContentType: "application/octet-stream", CreatedAt: now, UpdatedAt: now, AirFrom: now, AirUntil: now.Add(time.Hour)}
}

// seedSegment stores the file at path as seg's original (and srt, when
// not empty, as its source subtitles) and records seg.
func (b *procBundle) seedSegment(t *testing.T, path, srt string, seg pipeline.Segment) pipeline.Segment {
	t.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := b.store.Put(ctx, seg.OriginalKey, f, -1, seg.ContentType); err != nil {
		t.Fatal(err)
	}
	if srt != "" {
		seg.SubtitleKey = "segments/" + seg.ID + "/subtitles/vi-source"
		if _, err := b.store.Put(ctx, seg.SubtitleKey, strings.NewReader(srt), int64(len(srt)), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := b.db.InsertSegment(ctx, seg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func renditionNames(t *testing.T, db *sqlstore.DB, id string) map[string]pipeline.Rendition {
	t.Helper()
	rs, err := db.Renditions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pipeline.Rendition{}
	for _, r := range rs {
		out[r.Language+"/"+r.Name] = r
	}
	return out
}

// ffprobeStreams returns "codec:language" of each stream of a stored object.
func ffprobeStreams(t *testing.T, store *objects.Store, key string) string {
	t.Helper()
	url, err := store.InternalURL(context.Background(), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:stream_tags=language", "-of", "csv=p=0", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", key, err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

const viSRT = "1\n00:00:00,500 --> 00:00:03,500\nCải cách hành chính\n\n2\n00:00:03,700 --> 00:00:06,500\nlà nhiệm vụ trọng tâm\n"

// Tai Viet text (Thái) timed like the Vietnamese source.
const bltSRT = "1\n00:00:00,500 --> 00:00:03,500\nꪁꪱꪉ ꪥꪮꪣ ꪀꪱꪉ\n\n2\n00:00:03,700 --> 00:00:06,500\nꪻꪠ ꪋꪱꪙ ꪹꪣꪉ\n"

func TestProcessTVWithSubtitles(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	seg := b.seed(t, "tv1", mediatest.TVMP4(t, b.dir), pipeline.KindTV, viSRT, "vi", "blt")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.db.Segment(ctx, seg.ID)
	if err != nil || got.State != pipeline.StateProcessed || got.Progress != 1 {
		t.Fatalf("after processing: %+v %v", got, err)
	}
	rs := renditionNames(t, b.db, seg.ID)
	for _, name := range []string{"loudspeaker_mp3", "loudspeaker_opus", "poster_jpg", "preview_mp4", "subtitles_vtt", "soft_subtitles_mp4", "burned_subtitles_mp4"} {
		r, ok := rs["vi/"+name]
		if !ok {
			t.Errorf("no vi/%s rendition", name)
			continue
		}
		st, err := b.store.Stat(ctx, r.Key)
		if err != nil || st.Size != r.Size || len(r.SHA256) != 64 {
			t.Errorf("%s: stored %+v (%v), recorded %+v", name, st, err, r)
		}
	}
	var loud media.Loudness
	if err := json.Unmarshal(rs["vi/loudspeaker_mp3"].Facts, &loud); err != nil || loud.OutputI > -15 || loud.OutputI < -17 {
		t.Errorf("loudness facts %s (%v): want output within 1 LU of -16", rs["vi/loudspeaker_mp3"].Facts, err)
	}
	if s := ffprobeStreams(t, b.store, rs["vi/soft_subtitles_mp4"].Key); !strings.Contains(s, "mov_text,vie") {
		t.Errorf("soft-subtitle MP4 streams %q lack a mov_text track tagged vie", s)
	}
	if s := ffprobeStreams(t, b.store, rs["vi/loudspeaker_mp3"].Key); s != "mp3" {
		t.Errorf("loudspeaker rendition streams %q, want one mp3", s)
	}
	vs, _ := b.db.SegmentVariants(ctx, seg.ID)
	if len(vs) != 1 || vs[0].Language != "vi" || vs[0].ApprovedBy != nil || vs[0].DurationMS < 5000 {
		t.Fatalf("variants %+v, want the Vietnamese one only", vs)
	}
	// Running it again changes nothing: same keys, same rows.
	objs, _ := b.store.List(ctx, "")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	again, _ := b.store.List(ctx, "")
	if len(again) != len(objs) || len(renditionNames(t, b.db, seg.ID)) != len(rs) {
		t.Fatalf("a second run changed the object count %d → %d", len(objs), len(again))
	}
	entries, _ := os.ReadDir(b.p.TempDir)
	if len(entries) != 0 {
		t.Fatalf("work folders left: %v", entries)
	}

	// An approved Thái subtitle file and voice-over.
	if _, err := b.store.Put(ctx, "segments/tv1/jobs/j1/blt.srt", strings.NewReader(bltSRT), int64(len(bltSRT)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if err := b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: seg.ID, Language: "blt", SubtitleKey: "segments/tv1/jobs/j1/blt.srt", JobID: "j1"}); err != nil {
		t.Fatal(err)
	}
	vo := mediatest.SpeechMP3(t, b.dir)
	f, _ := os.Open(vo)
	if _, err := b.store.Put(ctx, "segments/tv1/jobs/j2/voiceover", f, -1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	reviewer := int64(b.user.ID)
	if err := b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: seg.ID, Language: "blt", SourceKey: "segments/tv1/jobs/j2/voiceover", JobID: "j2", ApprovedBy: reviewer}); err != nil {
		t.Fatal(err)
	}
	rs = renditionNames(t, b.db, seg.ID)
	for _, name := range []string{"subtitles_vtt", "soft_subtitles_mp4", "burned_subtitles_mp4", "loudspeaker_mp3", "loudspeaker_opus"} {
		if _, ok := rs["blt/"+name]; !ok {
			t.Errorf("no blt/%s rendition", name)
		}
	}
	if s := ffprobeStreams(t, b.store, rs["blt/soft_subtitles_mp4"].Key); !strings.Contains(s, "mov_text,blt") {
		t.Errorf("Thái soft-subtitle MP4 streams %q lack mov_text tagged blt", s)
	}
	vs, _ = b.db.SegmentVariants(ctx, seg.ID)
	if len(vs) != 2 || vs[0].Language != "blt" || vs[0].ApprovedBy == nil || *vs[0].ApprovedBy != reviewer {
		t.Fatalf("variants after the approved voice-over: %+v", vs)
	}
}

func TestProcessRadioAndWithdrawn(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	radio := b.seed(t, "r1", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "blt")
	if err := b.p.Process(ctx, radio.ID); err != nil {
		t.Fatal(err)
	}
	rs := renditionNames(t, b.db, radio.ID)
	if len(rs) != 2 || rs["vi/loudspeaker_mp3"].DurationMS < 5000 {
		t.Fatalf("radio renditions: %v", rs)
	}
	if vs, _ := b.db.SegmentVariants(ctx, radio.ID); len(vs) != 0 {
		t.Fatalf("a segment not aimed at vi got a vi variant: %+v", vs)
	}
	if _, err := b.db.WithdrawSegment(ctx, radio.ID, b.user.ID, "sai"); err != nil {
		t.Fatal(err)
	}
	if err := b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: radio.ID, Language: "blt", SourceKey: radio.OriginalKey, ApprovedBy: b.user.ID}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := b.db.SegmentVariants(ctx, radio.ID); len(vs) != 0 {
		t.Fatalf("a withdrawn segment became ready to air: %+v", vs)
	}
	// Silence cannot be normalized: the segment is marked failed, for good.
	silent := mediatest.Generate(t, b.dir, "silent.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "5")
	s := b.seed(t, "s1", silent, pipeline.KindRadio, "", "vi")
	err := b.p.Process(ctx, s.ID)
	if err == nil || !strings.Contains(err.Error(), ErrPermanent.Error()) {
		t.Fatalf("processing silence: %v, want a permanent failure", err)
	}
	got, _ := b.db.Segment(ctx, s.ID)
	if got.State != pipeline.StateFailed || got.ProcessError == "" {
		t.Fatalf("failed segment: %+v", got)
	}
}

func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	seg := b.seed(t, "r2", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	stray := "segments/gone/renditions/vi/loudspeaker.mp3"
	if _, err := b.store.Put(ctx, stray, strings.NewReader("orphan"), 6, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	if n, err := SweepOrphans(ctx, b.db, b.store, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep inside the grace removed %d (%v)", n, err)
	}
	before, _ := b.store.List(ctx, "")
	if n, err := SweepOrphans(ctx, b.db, b.store, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want the one orphan", n, err)
	}
	after, _ := b.store.List(ctx, "")
	if len(after) != len(before)-1 {
		t.Fatalf("objects %d → %d", len(before), len(after))
	}
	if _, err := b.store.Stat(ctx, stray); err == nil {
		t.Fatal("the orphan is still there")
	}
}

// TestEmergencyProcessedFirst queues two normal segments, a priority one
// and then an emergency one before the worker starts, with one media slot
// and one urgent slot: the emergency is the first to be worked in the
// urgent queue, the priority segment follows it there, and the normal
// ones run in the media queue in the order they were queued.
func TestEmergencyProcessedFirst(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	clip := mediatest.SpeechMP3(t, b.dir)
	w, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Work: true,
		Processor: b.p, MediaWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	queued := []ProcessSegmentArgs{{SegmentID: "n1"}, {SegmentID: "n2"}, {SegmentID: "n3", Priority: pipeline.PriorityPriority},
		{SegmentID: "e1", Priority: pipeline.PriorityEmergency}}
	for _, a := range queued {
		b.seed(t, a.SegmentID, clip, pipeline.KindRadio, "", "vi")
		if _, err := w.Client.Insert(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	var order []string
	byQueue := map[string][]string{}
	for {
		// River's own listing, so the test reads the queue the same way
		// on either backend.
		done, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds("process_segment").
			States(rivertype.JobStateCompleted).First(100))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(done.Jobs, func(a, b *rivertype.JobRow) int {
			if c := a.AttemptedAt.Compare(*b.AttemptedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		order = order[:0]
		clear(byQueue)
		for _, j := range done.Jobs {
			var args struct {
				SegmentID string `json:"segment_id"`
			}
			if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
				t.Fatal(err)
			}
			order = append(order, args.SegmentID)
			byQueue[j.Queue] = append(byQueue[j.Queue], args.SegmentID)
		}
		if len(order) == len(queued) {
			break
		}
		if dl, ok := t.Deadline(); ok && time.Until(dl) < 10*time.Second {
			t.Fatalf("only %v processed before the test's deadline", order)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for queue, want := range map[string][]string{QueueMediaUrgent: {"e1", "n3"}, QueueMedia: {"n1", "n2"}} {
		if !slices.Equal(byQueue[queue], want) {
			t.Errorf("queue %s processed %v, want %v (all: %v)", queue, byQueue[queue], want, order)
		}
	}
}

// TestRadioTranscriptNotRendered: a radio segment sent with a Vietnamese
// subtitle file airs its audio and keeps the file (the transcript its
// voice-over translators read), but no WebVTT is made of it: there is no
// picture to show it on. A render_extras job queued for it before this
// (an older Loa queued one) makes none either.
func TestRadioTranscriptNotRendered(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	seg := b.seed(t, "rs", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, viSRT, "vi", "blt")
	if err := b.p.Process(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.p.RenderExtras(ctx, seg.ID); err != nil {
		t.Fatal(err)
	}
	got, err := b.db.Segment(ctx, seg.ID)
	if err != nil || got.State != pipeline.StateProcessed || got.ProcessStep != "" || got.ProcessError != "" || got.SubtitleKey != seg.SubtitleKey {
		t.Fatalf("after processing: %+v %v (want processed, nothing pending or failed, the transcript kept)", got, err)
	}
	rs := renditionNames(t, b.db, seg.ID)
	if _, ok := rs["vi/subtitles_vtt"]; ok || len(rs) != 2 {
		var names []string
		for n := range rs {
			names = append(names, n)
		}
		t.Errorf("radio renditions %v, want the two loudspeaker ones only", names)
	}
	if _, err := b.store.Stat(ctx, seg.SubtitleKey); err != nil {
		t.Errorf("the transcript is gone: %v", err)
	}
}
