package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// rendition is one QueueRenditionTx call.
type rendition struct {
	job        translation.Job
	sub        translation.Submission
	approvedBy int64
}

// recorder is a translation.Renditions that keeps what it was asked to queue,
// checking that it is called inside a live transaction; fail makes it
// refuse.
type recorder struct {
	mu   sync.Mutex
	args []rendition
	fail bool
}

func (r *recorder) QueueRenditionTx(ctx context.Context, tx *sql.Tx, j translation.Job, sub translation.Submission, approvedBy int64) error {
	var one int
	if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("not in a live transaction: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("queue is down")
	}
	r.args = append(r.args, rendition{j, sub, approvedBy})
	return nil
}

func (r *recorder) setFail(fail bool) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func (r *recorder) queued() []rendition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rendition(nil), r.args...)
}

const viSource = `1
00:00:00,500 --> 00:00:03,500
Cải cách hành chính
là nhiệm vụ trọng tâm.

2
00:00:03,700 --> 00:00:07,000
Nộp hồ sơ tại bộ phận một cửa.
`

// Test-only glossary: placeholder translations, never shipped.
const testGlossary = "term,translation,note\ncải cách hành chính,ꪼꪕ ꪼꪕ꫁,test\nmột cửa,ꪀꪱꪉ ꪁꪾ,test\n"

// jobsSetup is the API bundle with the job desk wired, and a processed TV
// segment whose original and Vietnamese subtitles are in the bucket.
func jobsSetup(t *testing.T) (*bundle, *recorder, pipeline.Segment) {
	t.Helper()
	mediatest.Need(t)
	ctx := context.Background()
	b := setup(t, nil)
	rec := &recorder{}
	b.api.Jobs = &translation.Desk{Store: b.db, Objects: b.store, Policy: translation.DefaultPolicy(), VoiceoverSlack: 0.2, VoiceoverMinSlack: 2 * time.Second, Renditions: rec}
	b.api.JobStore = b.db
	return b, rec, b.tvSegment(t, ctx, "Một cửa liên thông", viSource)
}

func (b *bundle) tvSegment(t *testing.T, ctx context.Context, title, subs string) pipeline.Segment {
	t.Helper()
	dir := t.TempDir()
	clip := mediatest.SpeechMP3(t, dir)
	info, err := media.Probe(ctx, clip)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	id := fmt.Sprintf("seg-%d", now.UnixNano())
	seg := pipeline.Segment{ID: id, SHA256: id, Title: title, Kind: pipeline.KindTV, Topic: "procedures",
		Priority: pipeline.PriorityPriority, AirFrom: now, AirUntil: now.Add(240 * time.Hour), Languages: []string{"vi", "blt", "hnj"},
		State: pipeline.StateProbed, ProducerID: b.users[pipeline.RoleProducer].ID, OriginalKey: "segments/" + id + "/original",
		OriginalName: "tv.mp4", ContentType: "video/mp4", Size: 1, Probe: pipeline.ProbeFacts{DurationMS: info.Duration.Milliseconds()},
		SubtitleKey: "segments/" + id + "/subtitles/vi-source", CreatedAt: now, UpdatedAt: now}
	f, _ := os.Open(clip)
	defer f.Close()
	if _, err := b.store.Put(ctx, seg.OriginalKey, f, -1, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Put(ctx, seg.SubtitleKey, strings.NewReader(subs), int64(len(subs)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	// The web preview processing makes (here the same bytes, under its key).
	preview := pipeline.Rendition{SegmentID: id, Language: "vi", Name: "preview_mp4", Key: "segments/" + id + "/renditions/vi/preview.mp4",
		ContentType: "video/mp4", Size: 1, SHA256: id}
	f2, _ := os.Open(clip)
	defer f2.Close()
	if _, err := b.store.Put(ctx, preview.Key, f2, -1, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if err := b.db.SaveProcessed(ctx, id, []pipeline.Rendition{preview}, nil, func(tx *sql.Tx) error { return b.db.OpenJobsTx(ctx, tx, seg, sqlstore.JobOptions{}) }); err != nil {
		t.Fatal(err)
	}
	return seg
}

// call sends a JSON-answering request and decodes the answer into out
// when the status is the one wanted; otherwise it fails with the body.
func (b *bundle) call(t *testing.T, role pipeline.Role, method, path, body, ct string, want int, out any) string {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	resp, raw := b.do(t, method, path, b.tokens[role], r, ct)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, role, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return string(raw)
}

func jobOf(t *testing.T, list []translation.Job, seg string, kind translation.Kind) translation.Job {
	t.Helper()
	for _, j := range list {
		if j.SegmentID == seg && j.Kind == kind {
			return j
		}
	}
	t.Fatalf("no %s job of %s in %+v", kind, seg, list)
	return translation.Job{}
}

// TestSubtitleJobEndToEnd takes a Thái subtitle job from open to approved
// through the HTTP API on the real database and MinIO: visibility by
// language, the glossary, refusals with line numbers, a request for
// changes, approval queuing the rendition, and the memory pre-filling the
// next segment's job.
func TestSubtitleJobEndToEnd(t *testing.T) {
	ctx := context.Background()
	b, rec, seg := jobsSetup(t)
	tr, rv, ad := pipeline.RoleTranslator, pipeline.RoleReviewer, pipeline.RoleAdmin

	b.call(t, ad, "PUT", "/api/glossary/blt", testGlossary, "text/csv", 200, nil)
	csv := b.call(t, tr, "GET", "/api/glossary/blt?format=csv", "", "", 200, nil)
	if !strings.Contains(csv, "một cửa,ꪀꪱꪉ ꪁꪾ,test") {
		t.Fatalf("glossary export:\n%s", csv)
	}
	b.call(t, tr, "GET", "/api/glossary/hnj", "", "", 404, nil)

	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs?state=open", "", "", 200, &list)
	if len(list) != 2 {
		t.Fatalf("a Thái translator sees %d jobs, want the 2 Thái ones: %+v", len(list), list)
	}
	for _, j := range list {
		if j.Language != "blt" {
			t.Fatalf("a Thái translator sees a %s job", j.Language)
		}
	}
	var all []translation.Job
	b.call(t, ad, "GET", "/api/jobs", "", "", 200, &all)
	if len(all) != 4 {
		t.Fatalf("admin sees %d jobs, want 4", len(all))
	}
	for _, j := range all {
		if j.Language == "hnj" {
			b.call(t, tr, "GET", "/api/jobs/"+j.ID, "", "", 404, nil)
			b.call(t, tr, "POST", "/api/jobs/"+j.ID+"/claim", "", "", 404, nil)
		}
	}
	job := jobOf(t, list, seg.ID, translation.KindSubtitle)
	path := "/api/jobs/" + job.ID

	b.call(t, tr, "POST", path+"/submit?name=a.srt", viSource, "application/x-subrip", 409, nil)
	b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)
	b.call(t, tr, "POST", path+"/extend", "", "", 200, nil)
	var det api.JobDetailView
	b.call(t, tr, "GET", path, "", "", 200, &det)
	if det.Links["original"] == "" || det.Links["subtitles_vi"] == "" || det.Links["prefill"] == "" || len(det.Glossary) != 2 || det.Prefill == nil || det.Prefill.Exact != 0 {
		t.Fatalf("detail %+v", det)
	}
	prefill := b.call(t, tr, "GET", path+"/prefill", "", "", 200, nil)
	if !strings.Contains(prefill, "Nộp hồ sơ tại bộ phận một cửa.") {
		t.Fatalf("prefill without memory should hold the Vietnamese:\n%s", prefill)
	}

	bad := strings.Replace(viSource, "Nộp hồ sơ tại bộ phận một cửa.", "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ", 1)
	msg := b.call(t, tr, "POST", path+"/submit?name=bad.srt", bad, "application/x-subrip", 422, nil)
	for _, want := range []string{"line 1, cue 1: error untranslated", "line 8, cue 2: error line-too-long"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q:\n%s", want, msg)
		}
	}
	// The same findings travel as structured details on the error body.
	var eb wire.ErrorBody
	if err := json.Unmarshal([]byte(msg), &eb); err != nil {
		t.Fatalf("refusal body: %v\n%s", err, msg)
	}
	wantFindings := []subtitle.Finding{
		{Line: 1, Cue: 1, Code: subtitle.CodeUntranslated, Severity: subtitle.Error},
		{Line: 8, Cue: 2, Code: subtitle.CodeLineTooLong, Severity: subtitle.Error},
	}
	for _, w := range wantFindings {
		if !slices.ContainsFunc(eb.Error.Findings, func(f subtitle.Finding) bool {
			return f.Line == w.Line && f.Cue == w.Cue && f.Code == w.Code && f.Severity == w.Severity && f.Message != ""
		}) {
			t.Errorf("error.findings lacks line %d cue %d %s: %+v", w.Line, w.Cue, w.Code, eb.Error.Findings)
		}
	}
	if !strings.Contains(msg, `"severity": "error"`) {
		t.Errorf("error.findings not written as words: %s", msg)
	}
	b.call(t, tr, "POST", path+"/submit?name=legacy.srt", "1\n00:00:00,500 --> 00:00:03,500\nC\xb8i c\xb8ch\n", "application/x-subrip", 422, nil)

	good := "1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ\n\n2\n00:00:03,700 --> 00:00:07,000\nꪶꪎꪙ ꪹꪕꪉ\n"
	var res translation.SubmitResult
	b.call(t, tr, "POST", path+"/submit?name=blt.srt", good, "application/x-subrip", 200, &res)
	if res.Job.State != translation.StateSubmitted || res.Submission.N != 1 || !strings.HasPrefix(res.Submission.Key, "segments/"+seg.ID+"/jobs/"+job.ID+"/submission-1") {
		t.Fatalf("submit result %+v", res)
	}
	if len(res.Submission.Findings) != 1 || res.Submission.Findings[0].Code != translation.CodeGlossary {
		t.Fatalf("want one glossary warning kept: %+v", res.Submission.Findings)
	}
	if objs, _ := b.store.List(ctx, "segments/"+seg.ID+"/jobs/"); len(objs) != 1 {
		t.Fatalf("refused submissions left objects: %+v", objs)
	}

	b.call(t, tr, "POST", path+"/review", "", "", 403, nil)
	b.call(t, rv, "POST", path+"/approve", "", "", 409, nil)
	b.call(t, rv, "POST", path+"/review", "", "", 200, nil)
	b.call(t, rv, "POST", path+"/request-changes", `{"reason": ""}`, "application/json", 422, nil)
	b.call(t, rv, "POST", path+"/request-changes", `{"reason": "Cue 2: dùng thuật ngữ một cửa trong bảng."}`, "application/json", 200, nil)
	fixed := strings.Replace(good, "ꪶꪎꪙ ꪹꪕꪉ\n", "ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ\n", 1)
	b.call(t, tr, "POST", path+"/submit?name=blt-2.vtt", fixed, "application/x-subrip", 200, &res)
	if res.Submission.N != 2 || len(res.Submission.Findings) != 0 {
		t.Fatalf("second submission %+v", res.Submission)
	}
	b.call(t, rv, "POST", path+"/review", "", "", 200, nil)

	rec.setFail(true)
	b.call(t, rv, "POST", path+"/approve", "", "", 500, nil)
	var still translation.Detail
	b.call(t, rv, "GET", path, "", "", 200, &still)
	if still.Job.State != translation.StateInReview || len(rec.queued()) != 0 {
		t.Fatalf("a failed enqueue approved the job: %s", still.Job.State)
	}
	rec.setFail(false)
	var approved translation.Job
	b.call(t, rv, "POST", path+"/approve", "", "", 200, &approved)
	q := rec.queued()
	if approved.State != translation.StateApproved || len(q) != 1 {
		t.Fatalf("approve: %+v, queued %v", approved, q)
	}
	if a := q[0]; a.job.Kind != translation.KindSubtitle || a.sub.Key != res.Submission.Key || a.job.Language != "blt" || a.job.SegmentID != seg.ID || a.approvedBy != b.users[rv].ID {
		t.Fatalf("queued %#v", q[0])
	}
	b.call(t, rv, "GET", path, "", "", 200, &det)
	actions := []string{}
	for _, e := range det.Events {
		actions = append(actions, string(e.Action)+":"+e.Actor)
	}
	if got := strings.Join(actions, " "); got != "open: claim:u-translator extend:u-translator submit:u-translator start_review:u-reviewer request_changes:u-reviewer submit:u-translator start_review:u-reviewer approve:u-reviewer" {
		t.Fatalf("history: %s", got)
	}

	// The next segment repeats cue 1 and changes cue 2 a little: the
	// memory fills cue 1 and offers cue 2 as a close match.
	next := b.tvSegment(t, ctx, "Một cửa (2)", strings.Replace(viSource, "Nộp hồ sơ tại bộ phận một cửa.", "Nộp hồ sơ tại bộ phận một cửa liên thông.", 1))
	b.call(t, tr, "GET", "/api/jobs?state=open&kind=subtitle", "", "", 200, &list)
	nj := jobOf(t, list, next.ID, translation.KindSubtitle)
	b.call(t, tr, "GET", "/api/jobs/"+nj.ID, "", "", 200, &det)
	if play := det.Links["play"]; !strings.Contains(play, "/renditions/vi/preview.mp4") {
		t.Fatalf("the job links %q to play, want the web preview", play)
	}
	if det.Prefill.Exact != 1 || len(det.Prefill.Fuzzy) != 1 || det.Prefill.Fuzzy[0].Target != "ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ" {
		t.Fatalf("prefill %+v", det.Prefill)
	}
	prefill = b.call(t, tr, "GET", "/api/jobs/"+nj.ID+"/prefill", "", "", 200, nil)
	if !strings.Contains(prefill, "ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ") || !strings.Contains(prefill, "liên thông") {
		t.Fatalf("prefill:\n%s", prefill)
	}

	// Withdrawing the segment cancels its open jobs.
	b.call(t, pipeline.RoleProducer, "DELETE", "/api/segments/"+next.ID+"?confirm="+next.ID+"&reason=trùng", "", "", 200, nil)
	b.call(t, ad, "GET", "/api/jobs?segment="+next.ID, "", "", 200, &list)
	if len(list) != 0 {
		t.Fatalf("cancelled jobs listed without all=1: %+v", list)
	}
	b.call(t, ad, "GET", "/api/jobs?all=1&segment="+next.ID, "", "", 200, &list)
	if len(list) != 4 {
		t.Fatalf("all=1 lists %d jobs of the withdrawn segment, want 4", len(list))
	}
	for _, j := range list {
		if j.State != translation.StateCancelled {
			t.Fatalf("job %s of a withdrawn segment is %s", j.ID, j.State)
		}
	}
}

// TestVoiceoverJob submits voice-overs probed by the real ffprobe: too
// short, not audio, then right; approval queues the voice-over rendition.
func TestVoiceoverJob(t *testing.T) {
	b, rec, seg := jobsSetup(t)
	tr, rv := pipeline.RoleTranslator, pipeline.RoleReviewer
	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs?kind=voiceover", "", "", 200, &list)
	job := jobOf(t, list, seg.ID, translation.KindVoiceover)
	path := "/api/jobs/" + job.ID
	b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)
	dir := t.TempDir()
	short := mediatest.Generate(t, dir, "short.mp3", "-f", "lavfi", "-i", "anoisesrc=d=1:c=pink:r=22050:a=0.3", "-ac", "1", "-b:a", "32k")
	msg := b.call(t, tr, "POST", path+"/submit?name=short.mp3", string(readFile(t, short)), "audio/mpeg", 422, nil)
	if !strings.Contains(msg, "duration") || !strings.Contains(msg, "segment lasts") {
		t.Fatalf("short voice-over: %s", msg)
	}
	b.call(t, tr, "POST", path+"/submit?name=x.mp3", "this is not audio at all", "audio/mpeg", 422, nil)
	b.call(t, tr, "POST", path+"/submit?name=empty.mp3", "", "audio/mpeg", 422, nil)
	var res translation.SubmitResult
	b.call(t, tr, "POST", path+"/submit?name=doc.mp3", string(readFile(t, mediatest.SpeechMP3(t, dir))), "audio/mpeg", 200, &res)
	if res.Submission.DurationMS == 0 || res.Submission.SHA256 == "" || res.Submission.ContentType != "audio/mpeg" {
		t.Fatalf("submission %+v", res.Submission)
	}
	if objs, _ := b.store.List(context.Background(), "segments/"+seg.ID+"/jobs/"); len(objs) != 1 {
		t.Fatalf("objects after 3 refusals and 1 acceptance: %+v", objs)
	}
	if left, _ := b.db.StaleUploads(context.Background(), time.Now().Add(time.Hour)); len(left) != 0 {
		t.Fatalf("upload rows left: %v", left)
	}
	b.call(t, rv, "POST", path+"/review", "", "", 200, nil)
	b.call(t, rv, "POST", path+"/approve", "", "", 200, nil)
	if q := rec.queued(); len(q) != 1 {
		t.Fatalf("queued %#v", q)
	} else if a := q[0]; a.job.Kind != translation.KindVoiceover || a.sub.Key != res.Submission.Key || a.approvedBy != b.users[rv].ID {
		t.Fatalf("queued %#v", q)
	}
	if r, _ := b.do(t, "POST", path+"/claim", b.tokens[tr], nil, ""); r.StatusCode != http.StatusConflict {
		t.Fatalf("claim after approval: %d", r.StatusCode)
	}
}

// TestVoiceoverUnairableRefused submits voice-overs of the right length
// that loudspeakers could never play: each is refused at submission with
// the reason a producer's upload gets, and leaves no object or upload row.
func TestVoiceoverUnairableRefused(t *testing.T) {
	b, _, seg := jobsSetup(t)
	tr := pipeline.RoleTranslator
	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs?kind=voiceover", "", "", 200, &list)
	job := jobOf(t, list, seg.ID, translation.KindVoiceover)
	path := "/api/jobs/" + job.ID
	b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)
	dir := t.TempDir()
	speech := mediatest.SpeechWAV(t, dir)
	secs := fmt.Sprintf("%.3f", float64(seg.Probe.DurationMS)/1000)
	cases := []struct {
		name, file, code, reason string
	}{
		{"phase-inverted stereo", mediatest.Generate(t, dir, "inverted.wav", "-i", speech, "-filter_complex",
			"[0]asplit=2[l][r];[r]volume=-1[ri];[l][ri]join=inputs=2:channel_layout=stereo", "-ar", "48000"),
			"channels_cancel", "the two channels cancel when mixed to mono"},
		{"silent", mediatest.Generate(t, dir, "silent.wav", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", secs),
			"silent", "the audio is silent"},
		{"silent stereo", mediatest.Generate(t, dir, "silent2.wav", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", secs),
			"silent", "the audio is silent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := b.call(t, tr, "POST", path+"/submit?name=vo.wav", string(readFile(t, c.file)), "audio/wav", 422, nil)
			if !strings.Contains(msg, c.code) || !strings.Contains(msg, c.reason) {
				t.Fatalf("refusal of %s: %s (want code %s and %q)", c.name, msg, c.code, c.reason)
			}
		})
	}
	if objs, _ := b.store.List(context.Background(), "segments/"+seg.ID+"/jobs/"); len(objs) != 0 {
		t.Fatalf("objects after refusals: %+v", objs)
	}
	if left, _ := b.db.StaleUploads(context.Background(), time.Now().Add(time.Hour)); len(left) != 0 {
		t.Fatalf("upload rows left: %v", left)
	}
	var got translation.Detail
	b.call(t, tr, "GET", path, "", "", 200, &got)
	if got.Job.Submissions != 0 || got.Job.State != translation.StateClaimed {
		t.Fatalf("job after refusals: %+v", got.Job)
	}
}

// TestSubtitleSubmissionPastMediaEnd checks a translator's file against
// the segment's media length through the API: a source accepted before the
// upload checked it has a cue after the end, so the faithful translation
// is accepted with a warning that names the cue, its time and the media's
// end and points at the producer; the translation moved further past the
// end than the source is refused, and nothing is kept.
func TestSubtitleSubmissionPastMediaEnd(t *testing.T) {
	ctx := context.Background()
	b, _, _ := jobsSetup(t)
	probe := b.tvSegment(t, ctx, "Đo độ dài", viSource)
	end := time.Duration(probe.Probe.DurationMS) * time.Millisecond
	ts := func(d time.Duration) string { return subtitle.FormatTimestamp(d) }
	src := fmt.Sprintf("1\n00:00:00,500 --> 00:00:01,500\nCải cách hành chính.\n\n2\n%s --> %s\nCảm ơn bà con.\n", ts(end-800*time.Millisecond), ts(end+300*time.Millisecond))
	seg := b.tvSegment(t, ctx, "Phụ đề quá dài", src)
	tr := pipeline.RoleTranslator
	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs?state=open&kind=subtitle", "", "", 200, &list)
	path := "/api/jobs/" + jobOf(t, list, seg.ID, translation.KindSubtitle).ID
	b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)

	moved := fmt.Sprintf("1\n00:00:00,500 --> 00:00:01,500\nꪼꪕ ꪼꪕ꫁.\n\n2\n%s --> %s\nꪶꪎꪙ ꪹꪕꪉ.\n", ts(end-800*time.Millisecond), ts(end+700*time.Millisecond))
	var eb wire.ErrorBody
	json.Unmarshal([]byte(b.call(t, tr, "POST", path+"/submit?name=blt.srt", moved, "application/x-subrip", 422, nil)), &eb)
	if want := fmt.Sprintf("line 5, cue 2: error past-end: cue 2 runs %s --> %s, 700 ms past the end of the media at %s", ts(end-800*time.Millisecond), ts(end+700*time.Millisecond), ts(end)); !strings.Contains(eb.Error.Message, want) {
		t.Errorf("refusal lacks %q:\n%s", want, eb.Error.Message)
	}
	if objs, _ := b.store.List(ctx, "segments/"+seg.ID+"/jobs/"); len(objs) != 0 {
		t.Fatalf("the refused submission left objects: %+v", objs)
	}
	faithful := strings.Replace(moved, ts(end+700*time.Millisecond), ts(end+300*time.Millisecond), 1)
	var res translation.SubmitResult
	b.call(t, tr, "POST", path+"/submit?name=blt.srt", faithful, "application/x-subrip", 200, &res)
	if !slices.ContainsFunc(res.Submission.Findings, func(f subtitle.Finding) bool {
		return f.Code == subtitle.CodePastEnd && f.Severity == subtitle.Warning && f.Line == 5 && strings.Contains(f.Message, "after the media ends at "+ts(end))
	}) {
		t.Errorf("no past-end warning kept with the submission: %+v", res.Submission.Findings)
	}
}
