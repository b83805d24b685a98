package worker

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// openJobs opens seg's translation jobs, as the processing job does
// when it commits, and lists them.
func openJobs(t *testing.T, b *procBundle, seg pipeline.Segment) ([]translation.Job, error) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.db.OpenJobsTx(ctx, tx, seg, sqlstore.JobOptions{}); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return b.db.Jobs(ctx, translation.Filter{SegmentID: seg.ID})
}

// approveJob opens seg's translation jobs, and takes its job of kind in
// lang through claim, submissions of each of files (stored as given, the
// last approved) and approval, as translators and reviewers do. It
// returns the job and the submissions' keys.
func approveJob(t *testing.T, b *procBundle, seg pipeline.Segment, lang string, kind translation.Kind, contentType string, files ...string) (translation.Job, []string) {
	t.Helper()
	ctx := context.Background()
	all, err := openJobs(t, b, seg)
	if err != nil {
		t.Fatal(err)
	}
	var job translation.Job
	for _, j := range all {
		if j.Language == lang && j.Kind == kind {
			job = j
		}
	}
	if job.ID == "" {
		t.Fatalf("no %s %s job among %+v", lang, kind, all)
	}
	tr := sqlstoretest.User(t, b.db, "tr-"+seg.ID, pipeline.RoleTranslator, lang)
	rv := sqlstoretest.User(t, b.db, "rv-"+seg.ID, pipeline.RoleReviewer, lang)
	apply := func(a translation.Action, by pipeline.User, then func(*sql.Tx, translation.Job) error) {
		t.Helper()
		r := translation.Request{Action: a, By: by, Now: time.Now()}
		if a == translation.ActionRequestChanges {
			r.Reason = "Dòng 2: dùng thuật ngữ trong bảng."
		}
		if _, err := b.db.ApplyJob(ctx, job.ID, translation.DefaultPolicy(), r, then); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	apply(translation.ActionClaim, tr, nil)
	var keys []string
	for i, file := range files {
		if i > 0 {
			apply(translation.ActionStartReview, rv, nil)
			apply(translation.ActionRequestChanges, rv, nil)
		}
		key := "segments/" + seg.ID + "/jobs/" + job.ID + "/submission-" + string(rune('1'+i))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Put(ctx, key, strings.NewReader(string(data)), int64(len(data)), contentType); err != nil {
			t.Fatal(err)
		}
		apply(translation.ActionSubmit, tr, func(tx *sql.Tx, nj translation.Job) error {
			return b.db.AddSubmissionTx(ctx, tx, translation.Submission{JobID: job.ID, N: nj.Submissions, Key: key, ContentType: contentType,
				Size: int64(len(data)), SHA256: "x", By: tr.ID, At: time.Now()})
		})
		keys = append(keys, key)
	}
	apply(translation.ActionStartReview, rv, nil)
	apply(translation.ActionApprove, rv, nil)
	return job, keys
}

// makeLegacy rewrites segment id's renditions in lang as renditions were
// recorded before they named their source: facts without "source".
func makeLegacy(t *testing.T, b *procBundle, id, lang string) {
	t.Helper()
	ctx := context.Background()
	rs, err := b.db.Renditions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.Language != lang {
			continue
		}
		var f map[string]any
		if err := json.Unmarshal(r.Facts, &f); err != nil || f[sourceFact] == nil {
			t.Fatalf("rendition %s facts %s (%v): want a source to remove", r.Name, r.Facts, err)
		}
		delete(f, sourceFact)
		facts, _ := json.Marshal(f)
		if _, err := b.db.SQL().ExecContext(ctx, "UPDATE renditions SET facts = ? WHERE segment_id = ? AND language = ? AND name = ?",
			string(facts), id, lang, r.Name); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no %s rendition of %s to make legacy", lang, id)
	}
}

// TestLegacyTranslationRenditionFoundDone: a translation's renditions
// recorded before renditions named their source (facts without
// "source") are recognised as made from the job's approved submission,
// so the render job run again (River lost its record of its end) makes
// no ffmpeg run and logs that it found its work done; the same job naming
// a submission that is not the approved one still renders.
func TestLegacyTranslationRenditionFoundDone(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	runs, logs := countRuns(b)
	srt := func(text string) string {
		path := b.dir + "/" + text + ".srt"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tone := mediatest.Generate(t, b.dir, "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-ac", "1")
	for _, c := range []struct {
		name string
		// run renders the approved submission key, or other, of job.
		run           func(seg pipeline.Segment, job translation.Job, key string) error
		kind          translation.Kind
		segKind       pipeline.Kind
		file          string
		srt, ctype    string
		first, second string
	}{
		{name: "subtitles", kind: translation.KindSubtitle, segKind: pipeline.KindTV, file: "testdata/M-tv-clip-640x360.mp4", srt: viSRT, ctype: "application/x-subrip",
			first: srt(strings.Replace(bltSRT, "00:00:03,500", "00:00:03,600", 1)), second: srt(bltSRT),
			run: func(seg pipeline.Segment, job translation.Job, key string) error {
				return b.p.RenderSubtitles(ctx, RenderSubtitlesArgs{SegmentID: seg.ID, Language: "blt", SubtitleKey: key, JobID: job.ID})
			}},
		{name: "voice-over", kind: translation.KindVoiceover, segKind: pipeline.KindRadio, file: mediatest.SpeechMP3(t, b.dir), ctype: "audio/mpeg",
			first: tone, second: mediatest.SpeechMP3(t, b.dir),
			run: func(seg pipeline.Segment, job translation.Job, key string) error {
				return b.p.RenderVoiceover(ctx, RenderVoiceoverArgs{SegmentID: seg.ID, Language: "blt", SourceKey: key, JobID: job.ID, ApprovedBy: b.user.ID})
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "legacy-" + strings.ReplaceAll(c.name, "-", "")
			seg := b.seed(t, id, c.file, c.segKind, c.srt, "vi", "blt")
			if err := b.p.Process(ctx, seg.ID); err != nil {
				t.Fatal(err)
			}
			seg, _ = b.db.Segment(ctx, seg.ID)
			job, keys := approveJob(t, b, seg, "blt", c.kind, c.ctype, c.first, c.second)
			approved := keys[len(keys)-1]
			if err := c.run(seg, job, approved); err != nil {
				t.Fatalf("render: %v", err)
			}
			makeLegacy(t, b, seg.ID, "blt")
			recorded := recordedState(t, b, seg.ID)
			found := strings.Count(logs.String(), FoundDoneMessage)
			before := runs.Load()
			if err := c.run(seg, job, approved); err != nil {
				t.Fatalf("render again: %v", err)
			}
			if n := runs.Load() - before; n != 0 {
				t.Errorf("the render run again over a legacy rendition made %d ffmpeg/ffprobe runs, want none", n)
			}
			if strings.Count(logs.String(), FoundDoneMessage) != found+1 {
				t.Errorf("the render run again did not log %q", FoundDoneMessage)
			}
			if again := recordedState(t, b, seg.ID); again != recorded {
				t.Errorf("the render run again changed what is recorded:\nbefore %s\nafter  %s", recorded, again)
			}
			// The submission before the approved one is not what the
			// legacy rendition was made from: it is rendered.
			before = runs.Load()
			if err := c.run(seg, job, keys[0]); err != nil {
				t.Fatalf("render the unapproved submission: %v", err)
			}
			if runs.Load() == before {
				t.Error("a render of a submission other than the approved one made no ffmpeg run over a legacy rendition")
			}
		})
	}
}
