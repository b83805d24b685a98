package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

const viTwoCues = "1\n00:00:00,500 --> 00:00:03,500\nCải cách hành chính\nlà nhiệm vụ trọng tâm.\n\n2\n00:00:03,700 --> 00:00:07,000\nNộp hồ sơ tại bộ phận một cửa.\n"

// subtitleJob stores a processed TV segment with Vietnamese subtitles
// and opens its jobs; it returns the Thái subtitle job.
func (b *bundle) subtitleJob(t *testing.T) translation.Job {
	t.Helper()
	return b.subtitleJobOf(t, viTwoCues, 7400)
}

// subtitleJobOf is subtitleJob with the Vietnamese subtitle file source
// (stored as it is, unchecked, as a file accepted before the upload's
// checks was) and a segment of lengthMS.
func (b *bundle) subtitleJobOf(t *testing.T, source string, lengthMS int64) translation.Job {
	t.Helper()
	ctx := context.Background()
	now := b.db.Now().UTC()
	id := fmt.Sprintf("seg-%d", now.UnixNano())
	seg := pipeline.Segment{ID: id, SHA256: id, Title: "Một cửa liên thông", Kind: pipeline.KindTV, Topic: "procedures",
		Priority: pipeline.PriorityNormal, AirFrom: now, AirUntil: now.Add(240 * time.Hour), Languages: []string{"vi", "blt"},
		State: pipeline.StateProbed, ProducerID: b.users[pipeline.RoleProducer].ID, OriginalKey: "segments/" + id + "/original",
		OriginalName: "tv.mp4", ContentType: "video/mp4", Size: 4, Probe: pipeline.ProbeFacts{DurationMS: lengthMS},
		SubtitleKey: "segments/" + id + "/subtitles/vi-source", CreatedAt: now, UpdatedAt: now}
	if _, err := b.store.Put(ctx, seg.OriginalKey, strings.NewReader("mp4?"), 4, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Put(ctx, seg.SubtitleKey, strings.NewReader(source), int64(len(source)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.db.SaveProcessed(ctx, id, nil, nil, func(tx *sql.Tx) error {
		return b.db.OpenJobsTx(ctx, tx, seg, sqlstore.JobOptions{Languages: []string{"blt"}})
	}); err != nil {
		t.Fatal(err)
	}
	list, err := b.db.Jobs(ctx, translation.Filter{SegmentID: id, Kind: translation.KindSubtitle})
	if err != nil || len(list) != 1 {
		t.Fatalf("jobs of the segment: %v %+v", err, list)
	}
	return list[0]
}

// TestJobPages walks the translator's pages in process: the board's
// lists (open, mine, overdue), the editor's memory pre-fill, close
// matches and glossary terms, an empty line refused on its line by the
// API's check, and the API's check findings back on their lines.
func TestJobPages(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	job := b.subtitleJob(t)
	if _, err := b.db.ImportGlossary(ctx, "blt", []translation.Term{{Language: "blt", Term: "một cửa", Translation: "ꪀꪱꪉ ꪁꪾ"}}, false); err != nil {
		t.Fatal(err)
	}
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.db.AddMemoryTx(ctx, tx, []translation.MemoryEntry{
		{Language: "blt", Key: translation.MemoryKey("Cải cách hành chính là nhiệm vụ trọng tâm."), Source: "Cải cách hành chính là nhiệm vụ trọng tâm.", Target: "ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ", JobID: "old"},
		{Language: "blt", Key: translation.MemoryKey("Nộp hồ sơ tại bộ phận một cửa liên thông."), Source: "Nộp hồ sơ tại bộ phận một cửa liên thông.", Target: "ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ", JobID: "old"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// The deadline has passed: the job is overdue.
	if _, err := b.db.SQL().ExecContext(ctx, "UPDATE jobs SET deadline = ? WHERE id = ?", b.db.Now().Add(-time.Hour).UTC(), job.ID); err != nil {
		t.Fatal(err)
	}
	tr := b.session(t, pipeline.RoleTranslator)
	marker := `data-id="` + job.ID + `"`

	resp, body := b.do(t, "GET", "/jobs", tr, nil, "")
	open, overdue := section(body, `id="jobs-open"`), section(body, `id="jobs-overdue"`)
	if resp.StatusCode != 200 || !strings.Contains(open, marker) || !strings.Contains(overdue, marker) || !strings.Contains(body, "quá hạn") {
		t.Fatalf("board: %d; the job should be open and overdue\n%s", resp.StatusCode, body)
	}
	resp, _ = b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/"+job.ID+"?done=job_claim" {
		t.Fatalf("claim: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = b.do(t, "GET", "/jobs", tr, nil, "")
	if !strings.Contains(section(body, `id="jobs-mine"`), marker) {
		t.Fatalf("the claimed job is not among mine:\n%s", body)
	}

	_, body = b.do(t, "GET", "/jobs/"+job.ID, tr, nil, "")
	text := html.UnescapeString(body)
	for _, want := range []string{
		"từ bộ nhớ dịch", // cue 1 comes from memory
		"ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ</textarea>",
		`data-for="t-2" data-text="ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ"`,    // a close match for cue 2
		"một cửa</span> → <strong lang=\"blt\">ꪀꪱꪉ ꪁꪾ", // its glossary term
		`name="start-2" value="3700"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("editor lacks %q", want)
		}
	}
	if strings.Contains(text, "Nộp hồ sơ tại bộ phận một cửa.</textarea>") {
		t.Errorf("cue 2 has no memory match but its field holds the Vietnamese")
	}

	form := url.Values{"n": {"2"}, "start-1": {"500"}, "end-1": {"3500"}, "start-2": {"3700"}, "end-2": {"7000"},
		"text-1": {"ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ"}, "text-2": {" \n"}}
	resp, body = b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(section(body, `id="cue-2"`), "câu 2 chưa có chữ") {
		t.Fatalf("empty line 2: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(html.UnescapeString(section(body, `id="cue-1"`)), "ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ</textarea>") {
		t.Errorf("the refused form lost line 1")
	}
	form.Set("text-2", "Nộp hồ sơ tại bộ phận một cửa.")
	resp, body = b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin")
	cue2 := section(body, `id="cue-2"`)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="line has-error" id="cue-2"`) || !strings.Contains(cue2, "<strong>Lỗi</strong>: dòng 1 của câu 2 là tiếng Việt; hãy dịch sang tiếng Thái") {
		t.Fatalf("Vietnamese left in line 2: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(section(body, `id="cue-1"`), "finding") {
		t.Errorf("line 1 shows a finding of line 2")
	}
	form.Set("text-2", "ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ")
	resp, _ = b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good lines: %d", resp.StatusCode)
	}
	got, err := b.db.Job(ctx, job.ID)
	if err != nil || got.State != translation.StateSubmitted {
		t.Fatalf("job after submit: %v %+v", err, got)
	}
}

// section returns the part of a page from the element that has attr to
// the end of its enclosing list item or list, roughly: enough to tell
// which list or line something is in.
func section(page, attr string) string {
	i := strings.Index(page, attr)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	for _, end := range []string{"</section>", "</li><li class=\"line"} {
		if j := strings.Index(rest, end); j >= 0 {
			rest = rest[:j]
		}
	}
	return rest
}

// TestJobPagePastMediaEnd: the editor's lines are checked against the
// segment's length (7.4 s here) like an uploaded file: a last cue moved to
// end 100 ms after the media (within the source's timing tolerance) is
// accepted with a past-end warning, which the job page shows on that
// cue's line with its label.
func TestJobPagePastMediaEnd(t *testing.T) {
	b := setup(t)
	job := b.subtitleJob(t)
	tr := b.session(t, pipeline.RoleTranslator)
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	form := url.Values{"n": {"2"}, "start-1": {"500"}, "end-1": {"3500"}, "start-2": {"3700"}, "end-2": {"7500"},
		"text-1": {"ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ"}, "text-2": {"ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ"}}
	resp, body := b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, body)
	}
	_, body = b.do(t, "GET", "/jobs/"+job.ID, tr, nil, "")
	cue2 := html.UnescapeString(section(body, `id="cue-2"`))
	for _, want := range []string{"câu 2 kết thúc lúc 00:00:07,500, 100 ms sau khi bản tin kết thúc lúc 00:00:07,400"} {
		if !strings.Contains(cue2, want) {
			t.Errorf("cue 2's line lacks %q:\n%s", want, cue2)
		}
	}
}
