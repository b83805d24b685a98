package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestEditorOnLegacySource: the job editor holds the lines to the rule
// the API (and loa jobs submit) holds a file to, and says what it finds
// in the page's language. The sources are the shared cases A (cue 2 ends
// before it starts) and C (cue 151 has no text), stored as files
// accepted before the upload check were. A line left empty where the
// source cue is empty too is accepted (a warning that blames the source);
// one left empty where the source has text is refused on its line in
// Vietnamese; a retimed cue of a broken source is refused with the note
// that the source cue is broken and what to submit meanwhile. No finding
// falls back to the API's English.
func TestEditorOnLegacySource(t *testing.T) {
	b := setup(t)
	read := func(name string) string {
		t.Helper()
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	const tai1, tai2 = "ꪎꪲꪙ ꪬꪾ ꪹꪀꪷ.", "ꪥꪱ ꪙꪲꪫ ꪁꪾ ꪹꪘꪫꪙ."
	type cue struct {
		start, end int64
		text       string
	}
	tests := []struct {
		name, source string
		cues         []cue
		status       int
		line         int      // the editor's line whose findings are checked
		says         []string // Vietnamese the line shows (after a refusal, or on the job's page once submitted)
	}{
		{"C: empty as the source cue", "C-empty-cue-vi.srt", []cue{{1140, 4000, tai1}, {4800, 5440, " "}, {6340, 8000, tai2}}, http.StatusSeeOther, 2,
			[]string{"Cảnh báo", "câu 2 không có chữ, giống câu 151 của bản gốc tiếng Việt (dòng 5)", "người sản xuất cần sửa bản gốc"}},
		{"C: empty where the source has text", "C-empty-cue-vi.srt", []cue{{1140, 4000, ""}, {4800, 5440, ""}, {6340, 8000, tai2}}, http.StatusUnprocessableEntity, 1,
			[]string{"Lỗi", "câu 1 chưa có chữ; hãy viết chữ cho câu"}},
		{"A: broken source cue retimed", "A-inverted-vi.srt", []cue{{1000, 3500, tai1}, {4000, 7000, tai2}, {8000, 10500, tai1 + " " + tai2}}, http.StatusUnprocessableEntity, 2,
			[]string{"hãy giữ thời gian của bản gốc", "Nhưng chính câu 2 của bản gốc tiếng Việt (dòng 5) bị lỗi: câu đó kết thúc trước khi bắt đầu",
				"Chỉ người sản xuất mới sửa được bản gốc", "hãy giữ câu này như bản gốc (00:00:07,000 --> 00:00:04,000)"}},
	}
	tr := b.session(t, pipeline.RoleTranslator)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := b.subtitleJobOf(t, read(tt.source), 11000)
			if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("claim: %d", resp.StatusCode)
			}
			form := url.Values{"n": {strconv.Itoa(len(tt.cues))}}
			for i, c := range tt.cues {
				k := strconv.Itoa(i + 1)
				form.Set("start-"+k, strconv.FormatInt(c.start, 10))
				form.Set("end-"+k, strconv.FormatInt(c.end, 10))
				form.Set("text-"+k, c.text)
			}
			resp, body := b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin")
			if resp.StatusCode != tt.status {
				t.Fatalf("submit: %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if resp.StatusCode == http.StatusSeeOther {
				got, err := b.db.Job(t.Context(), job.ID)
				if err != nil || got.State != translation.StateSubmitted {
					t.Fatalf("job after submit: %v %+v", err, got)
				}
				_, body = b.do(t, "GET", "/jobs/"+job.ID, tr, nil, "")
			}
			line := html.UnescapeString(section(body, `id="cue-`+strconv.Itoa(tt.line)+`"`))
			for _, want := range tt.says {
				if !strings.Contains(line, want) {
					t.Errorf("line %d lacks %q:\n%s", tt.line, want, line)
				}
			}
			if strings.Contains(body, `class="detail" lang="en"`) || strings.Contains(body, "the line is empty") {
				t.Errorf("the Vietnamese page shows a finding in English:\n%s", body)
			}
		})
	}
}
