package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// catalogue reads one page language's messages.
func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile("messages/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(data, &msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

// findingKeys are the keys of every finding the ingest, subtitle and
// submission checks make.
func findingKeys() []string {
	keys := append(subtitle.FindingKeys(), translation.FindingKeys()...)
	for _, c := range media.RefusalCodes() {
		keys = append(keys, media.FindingKey(c))
	}
	return keys
}

// TestFindingKeysHaveTexts: every finding key the checks can set has its
// whole text (fm_KEY) in each catalogue, taking as many figures in one
// language as in the other, so no page falls back to the API's English.
func TestFindingKeysHaveTexts(t *testing.T) {
	vi, en := catalogue(t, "vi"), catalogue(t, "en")
	keys := findingKeys()
	if len(keys) < 40 {
		t.Fatalf("%d finding keys: the lists no longer name them all", len(keys))
	}
	for _, k := range keys {
		if vi["fm_"+k] == "" || en["fm_"+k] == "" {
			t.Errorf("fm_%s: vi %q, en %q: a page would show that finding in English", k, vi["fm_"+k], en["fm_"+k])
			continue
		}
		if nv, ne := strings.Count(vi["fm_"+k], "%s"), strings.Count(en["fm_"+k], "%s"); nv != ne || strings.Count(vi["fm_"+k], "%") != nv {
			t.Errorf("fm_%s takes %d figures in vi, %d in en (and only %%s may be used)", k, nv, ne)
		}
	}
}

// say is a finding in the page's words as upload.js says it: its text
// (fm_KEY) with its Args for the %s in order, after its line.
func say(t *testing.T, msgs map[string]string, f subtitle.Finding) string {
	t.Helper()
	s := msgs["fm_"+f.Key]
	if f.Key == "" || s == "" {
		t.Errorf("finding %s has no text in the page's catalogue (key %q)", f, f.Key)
		return f.Message
	}
	if n := strings.Count(s, "%s"); n != len(f.Args) {
		t.Errorf("finding %s: fm_%s takes %d figures, the finding has %d (%q)", f, f.Key, n, len(f.Args), f.Args)
	}
	for _, a := range f.Args {
		s = strings.Replace(s, "%s", a, 1)
	}
	if f.Line > 0 {
		s = strings.ReplaceAll(msgs["js_finding_line"], "{n}", strconv.Itoa(f.Line)) + s
	}
	return s
}

// english matches words of the API's English sentences that a
// Vietnamese page must not show.
var english = regexp.MustCompile(`\b(cue|the|starts|ends|before|after|text|was|not|accepted|channels|upload|remove|write)\b`)

// TestUploadRefusalInPageLanguage: the shared cases A, B, C (subtitle
// files the source check refuses) and I (a stereo file whose channels
// cancel) sent as the upload page sends them (POST /api/segments with the
// page's cookie and Accept-Language) are refused with findings that each
// name their text and figures, and the Vietnamese page's words for them
// say what is wrong in Vietnamese, with no English sentence left.
func TestUploadRefusalInPageLanguage(t *testing.T) {
	b := setup(t)
	vi := catalogue(t, "vi")
	cases := "/work/shared/cases"
	if _, err := os.Stat(cases); err != nil {
		t.Skipf("shared cases: %v", err)
	}
	for _, tc := range []struct {
		name, kind, media, subs, field string
		says                           []string // Vietnamese the page shows
	}{
		{"A: a cue ends before it starts", "tv", "M-tv-clip-640x360.mp4", "A-inverted-vi.srt", "subtitles", []string{"Dòng 5: câu 2 kết thúc lúc", "hãy sửa lại thời gian"}},
		{"B: the last cue starts before the previous one", "tv", "R-tv-clip-640x360-10s.mp4", "B-out-of-order-vi.srt", "subtitles", []string{"các câu bị sai thứ tự"}},
		{"C: a cue with no text", "tv", "M-tv-clip-640x360.mp4", "C-empty-cue-vi.srt", "subtitles", []string{"không có chữ; hãy viết chữ cho câu hoặc xóa câu đó"}},
		{"I: channels that cancel in mono", "radio", "I-phase-inverted-stereo.wav", "", "file", []string{"hai kênh triệt tiêu nhau", "đảo pha một kênh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range map[string]string{"title": "Bản tin " + tc.name, "kind": tc.kind, "topic": "procedures", "languages": "vi"} {
				_ = mw.WriteField(k, v)
			}
			attach := func(field, name string) {
				data, err := os.ReadFile(filepath.Join(cases, name))
				if err != nil {
					t.Fatal(err)
				}
				fw, err := mw.CreateFormFile(field, name)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = fw.Write(data)
			}
			if tc.subs != "" {
				attach("subtitles", tc.subs)
			}
			attach("file", tc.media)
			_ = mw.Close()
			req, err := http.NewRequest("POST", b.srv.URL+"/api/segments", &buf)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("Accept-Language", "vi-VN,vi;q=0.9")
			req.AddCookie(b.session(t, pipeline.RoleProducer))
			req.AddCookie(&http.Cookie{Name: "loa_lang", Value: "vi"})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var body struct {
				Error struct {
					Code     string             `json:"code"`
					Field    string             `json:"field"`
					Message  string             `json:"message"`
					Findings []subtitle.Finding `json:"findings"`
				} `json:"error"`
			}
			if err := json.Unmarshal(data, &body); err != nil || resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422 with a JSON error (%v):\n%s", resp.StatusCode, err, data)
			}
			e := body.Error
			if e.Field != tc.field || len(e.Findings) == 0 || e.Message == "" {
				t.Fatalf("field %q with %d findings, want %q with its findings and the English message:\n%s", e.Field, len(e.Findings), tc.field, data)
			}
			var said []string
			for _, f := range e.Findings {
				said = append(said, say(t, vi, f))
			}
			page := vi["js_fe_"+tc.field] + "\n" + strings.Join(said, "\n")
			for _, w := range tc.says {
				if !strings.Contains(page, w) {
					t.Errorf("the page does not say %q:\n%s", w, page)
				}
			}
			if m := english.FindAllString(page, -1); m != nil {
				t.Errorf("English words on the Vietnamese page %q:\n%s", m, page)
			}
		})
	}
}

// TestJobFindingsInPageLanguage: a translation that repeats its
// Vietnamese source is refused on the translator's page with the finding
// said in the page's language, not the API's English sentence.
func TestJobFindingsInPageLanguage(t *testing.T) {
	b := setup(t)
	job := b.subtitleJob(t)
	tr := b.session(t, pipeline.RoleTranslator)
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	for _, tc := range []struct{ lang, want, not string }{
		{"vi", "chữ của câu 1 giống hệt bản tiếng Việt; hãy dịch câu này", "is the same as in the Vietnamese source"},
		{"en", "the text of cue 1 is the same as in the Vietnamese source; translate it", "giống hệt bản tiếng Việt"},
	} {
		resp, page := b.uploadJobFile(t, job.ID, tr, tc.lang, "blt.srt", viTwoCues)
		if !strings.Contains(page, tc.want) || strings.Contains(page, tc.not) {
			t.Errorf("%s: %d, want the finding said as %q and not %q:\n%s", tc.lang, resp.StatusCode, tc.want, tc.not, section(page, `class="findings"`))
		}
	}
}
