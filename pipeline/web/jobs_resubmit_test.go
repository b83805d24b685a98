package web_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestUploadToSubmittedJob: a file sent to a job already submitted (a
// second tab, the back button) is refused with one story: the page says
// the translation is already waiting for review and what to do (wait
// for the reviewer, who may send it back), and the API's detail says the
// same; nothing on the page invites another submission.
func TestUploadToSubmittedJob(t *testing.T) {
	b := setup(t)
	job := b.subtitleJob(t)
	tr := b.session(t, pipeline.RoleTranslator)
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	good := "1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\n\n2\n00:00:03,700 --> 00:00:07,000\nꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ\n"
	upload := func(lang string) (*http.Response, string) {
		t.Helper()
		return b.uploadJobFile(t, job.ID, tr, lang, "blt.srt", good)
	}
	if resp, body := upload("en"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first upload: %d\n%s", resp.StatusCode, body)
	}
	for _, tc := range []struct{ lang, want, not string }{
		{"en", "This translation was already submitted and is waiting for review, so a new file cannot be submitted now: wait for the reviewer’s decision", "fix them there and submit"},
		{"vi", "Bản dịch này đã được nộp và đang chờ duyệt, nên chưa thể nộp tệp mới", "có thể sửa và nộp ngay"},
	} {
		resp, body := upload(tc.lang)
		msg := section(body, `id="job-error"`)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(msg, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("%s: %d, want 409 saying %q and not %q:\n%s", tc.lang, resp.StatusCode, tc.want, tc.not, msg)
		}
		if strings.Contains(body, `id="upload-form"`) || strings.Contains(body, "only a job you hold") {
			t.Errorf("%s: the refusal page still offers or contradicts a submission:\n%s", tc.lang, msg)
		}
	}
	// The API says the same to the CLI.
	req, err := http.NewRequest("POST", b.srv.URL+"/api/jobs/"+job.ID+"/submit?name=blt.srt", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(tr)
	req.Header.Set("Content-Type", "application/x-subrip")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(data), "already submitted and is waiting for review") || !strings.Contains(string(data), `"job_already_submitted"`) {
		t.Errorf("API: %d %s", resp.StatusCode, data)
	}
}

// TestRerenderButton: the page of an approved job whose render failed
// says so and offers a reviewer (and an admin) "Render again", which
// queues the render and says it did; a translator sees no button and is
// refused the form (403), as the route table says.
func TestRerenderButton(t *testing.T) {
	b := setup(t)
	ctx := t.Context()
	job := b.subtitleJob(t)
	tr, rv := b.session(t, pipeline.RoleTranslator), b.session(t, pipeline.RoleReviewer)
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/claim", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	form := url.Values{"n": {"2"}, "start-1": {"500"}, "end-1": {"3500"}, "start-2": {"3700"}, "end-2": {"7000"},
		"text-1": {"ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ"}, "text-2": {"ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ"}}
	if resp, body := b.do(t, "POST", "/jobs/"+job.ID+"/submit", tr, form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/review", rv, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("review: %d", resp.StatusCode)
	}
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/approve", rv, url.Values{}, "same-origin"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	if _, body := b.do(t, "GET", "/jobs/"+job.ID, rv, nil, ""); strings.Contains(body, `id="rerender"`) {
		t.Fatalf("a render that has not failed offers to render again")
	}
	if err := b.db.RecordTranslationFailed(ctx, job.SegmentID, job.ID, pipeline.RenditionFailure{Language: "blt", What: "subtitles", Reason: "no Tai Viet font"}); err != nil {
		t.Fatal(err)
	}
	if _, body := b.do(t, "GET", "/jobs/"+job.ID, tr, nil, ""); strings.Contains(body, `id="rerender"`) {
		t.Errorf("a translator is offered to render again")
	}
	if resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/rerender", tr, url.Values{}, "same-origin"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a translator's rerender: %d, want 403", resp.StatusCode)
	}
	_, body := b.do(t, "GET", "/jobs/"+job.ID, rv, nil, "")
	if !strings.Contains(body, `id="rerender"`) || !strings.Contains(body, `id="render-failed"`) || !strings.Contains(html.UnescapeString(body), "no Tai Viet font") {
		t.Fatalf("the reviewer's page of a failed render lacks the failure or the button:\n%s", section(body, `id="main"`))
	}
	resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/rerender", rv, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/"+job.ID+"?done=job_rerender" {
		t.Fatalf("rerender: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = b.do(t, "GET", "/jobs/"+job.ID+"?done=job_rerender", rv, nil, "")
	if strings.Contains(body, `id="rerender"`) || !strings.Contains(body, "Đã xếp lại việc dựng bản dịch") {
		t.Errorf("after the rerender the page should say it is queued and offer no button:\n%s", section(body, `id="main"`))
	}
}

// lostRender is a desk's Renders that says every render was lost.
type lostRender struct{}

func (lostRender) RenderState(context.Context, translation.Job, translation.Submission) (translation.RenderState, error) {
	return translation.RenderLost, nil
}

// TestRerenderButtonLostRender: the page of an approved job whose render
// was lost without a recorded failure (the desk says so: nothing made, no
// render job left) says so and offers a reviewer "Render again", which
// the desk accepts; a translator is not offered it.
func TestRerenderButtonLostRender(t *testing.T) {
	b := setup(t)
	job := b.subtitleJob(t)
	tr, rv := b.session(t, pipeline.RoleTranslator), b.session(t, pipeline.RoleReviewer)
	for _, step := range []struct {
		path string
		who  *http.Cookie
		form url.Values
	}{
		{"/claim", tr, url.Values{}},
		{"/submit", tr, url.Values{"n": {"2"}, "start-1": {"500"}, "end-1": {"3500"}, "start-2": {"3700"}, "end-2": {"7000"},
			"text-1": {"ꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ"}, "text-2": {"ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪹꪕꪉ"}}},
		{"/review", rv, url.Values{}},
		{"/approve", rv, url.Values{}},
	} {
		if resp, body := b.do(t, "POST", "/jobs/"+job.ID+step.path, step.who, step.form, "same-origin"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", step.path, resp.StatusCode, body)
		}
	}
	if _, body := b.do(t, "GET", "/jobs/"+job.ID, rv, nil, ""); strings.Contains(body, `id="rerender"`) {
		t.Fatalf("a render the desk cannot tell about offers to render again")
	}
	b.desk.Renders = lostRender{}
	if _, body := b.do(t, "GET", "/jobs/"+job.ID, tr, nil, ""); strings.Contains(body, `id="rerender"`) {
		t.Errorf("a translator is offered to render again")
	}
	_, body := b.do(t, "GET", "/jobs/"+job.ID, rv, nil, "")
	if !strings.Contains(body, `id="rerender"`) || !strings.Contains(body, `id="render-lost"`) || strings.Contains(body, `id="render-failed"`) {
		t.Fatalf("the reviewer's page of a lost render lacks its line or the button:\n%s", section(body, `id="main"`))
	}
	resp, _ := b.do(t, "POST", "/jobs/"+job.ID+"/rerender", rv, url.Values{}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs/"+job.ID+"?done=job_rerender" {
		t.Fatalf("rerender: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// uploadJobFile sends content as a job's file through its page's upload
// form, signed in by session and asking for the page in lang, and returns
// the answer (redirects not followed) and its page, unescaped.
func (b *bundle) uploadJobFile(t *testing.T, jobID string, session *http.Cookie, lang, name, content string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.srv.URL+"/jobs/"+jobID+"/upload", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(session)
	req.AddCookie(&http.Cookie{Name: "loa_lang", Value: lang})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, html.UnescapeString(string(data))
}
