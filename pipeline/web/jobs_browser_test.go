package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// cli runs a loa client command against the site and returns its output.
func (s *loaSite) cli(token string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(s.env, "LOA_SERVER="+s.url, "LOA_TOKEN="+token)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		s.t.Fatalf("loa %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

// openJob waits until the worker has processed the segment and opened
// its jobs, and returns the open job of the language and kind.
func (s *loaSite) openJob(token, lang string, kind translation.Kind, within time.Duration) translation.Job {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", s.url+"/api/jobs?state=open&lang="+lang, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var list []translation.Job
			err = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			for _, j := range list {
				if err == nil && j.Kind == kind {
					return j
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.t.Fatalf("no open %s %s job after %s\n%s", lang, kind, within, s.logs)
	return translation.Job{}
}

// TestBrowserTranslation drives the translators' and reviewers' pages in
// headless chromium against a real `loa serve` with MinIO and ffmpeg: an
// admin imports the communes and the Thái glossary; a producer's TV clip
// with Vietnamese subtitles is processed by the worker, which opens the
// jobs; a Mông translator does not see the Thái job; a Thái translator
// claims it, submits a subtitle file with a check error and sees it with
// its line number, fixes the line in the editor (the player shows the
// lines as a subtitle track) and submits; a Thái reviewer approves. Every
// step leaves a screenshot; the board and the editor are checked at
// 360×780 and their weight and first paint are logged.
func TestBrowserTranslation(t *testing.T) {
	needChromium(t)
	site := startLoa(t)
	site.user("admin", "admin")
	site.user("dai-ptth", "producer")
	site.user("lo-van-a", "translator", "--languages", "blt")
	site.user("giang-a-su", "translator", "--languages", "hnj")
	site.user("lo-thi-b", "reviewer", "--languages", "blt")
	bctx := browser(t)
	shots := artifacts(t)
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const cue1, cue2 = "00:00:00,500 --> 00:00:03,000", "00:00:03,500 --> 00:00:06,000"
	viSRT := write("vi.srt", "1\n"+cue1+"\nNộp hồ sơ trực tuyến\n\n2\n"+cue2+"\ntại Cổng dịch vụ công\n")
	// Cue 1 has a 47-character line (at most 42): an error at line 3.
	badSRT := write("blt.srt", "1\n"+cue1+"\nꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ ꪀꪱꪉ\n\n2\n"+cue2+"\nꪼꪕ ꪹꪕꪉ ꪶꪎꪙ\n")
	glossary := write("blt.csv", "term,translation,note\ndịch vụ công,ꪹꪕꪉ ꪶꪎꪙ,CCHC\nmột cửa,ꪀꪱꪉ ꪁꪾ,\n")
	registry, err := filepath.Abs("../../schedules/testdata/sonla-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	adminToken := site.cli("", "token", "create", "--user", "admin")

	// The producer's TV clip goes in through the CLI; the worker in
	// loa serve processes it and opens the jobs.
	clip := mediatest.TVMP4(t, dir)
	site.cli(site.cli("", "token", "create", "--user", "dai-ptth"), "upload", clip, "--title", "Nộp hồ sơ trực tuyến qua Cổng dịch vụ công",
		"--kind", "tv", "--topic", "digital", "--subtitles", viSRT, "--languages", "vi,blt,hnj")

	t.Run("admin imports communes and the glossary", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "admin")
		p.navigate(site.url + "/admin/communes")
		if got := p.title(); got != "Xã, phường, cụm loa và khung giờ — Loa" {
			t.Errorf("communes title %q", got)
		}
		p.do(chromedp.SetUploadFiles(chromedp.ID("r-file"), []string{registry}), chromedp.Click(chromedp.ID("r-send")))
		p.waitFor("the import notice", `!!document.getElementById("notice") && document.querySelectorAll("#communes tbody tr").length === 7`, 20*time.Second)
		p.shot("40-admin-communes-imported")
		p.do(chromedp.Click(chromedp.CSS(`#communes a[href="/admin/communes/muong-lan"]`)))
		p.waitFor("the commune page", `document.title === "Xã, phường: Mường Lạn — Loa" && document.querySelectorAll("#clusters > li").length === 2`, 10*time.Second)
		p.shot("41-admin-commune")

		p.navigate(site.url + "/glossary?lang=blt")
		p.do(chromedp.SetUploadFiles(chromedp.ID("g-file"), []string{glossary}), chromedp.Click(chromedp.ID("g-send")))
		p.waitFor("the glossary notice", `!!document.getElementById("notice") && document.querySelectorAll("#terms tbody tr").length === 2`, 10*time.Second)
		if got := p.text("notice"); got != "Đã nhập 2 thuật ngữ; bảng hiện có 2 thuật ngữ." {
			t.Errorf("glossary notice %q", got)
		}
		p.shot("42-admin-glossary")

		p.navigate(site.url + "/admin/reports")
		if got := p.title(); got != "Báo cáo kết quả thực hiện kế hoạch — Loa" {
			t.Errorf("reports title %q", got)
		}
		for _, sel := range []string{`#periods tbody tr:last-child a[href*="format=html"]`, `#periods tbody tr:first-child a[href*="format=xlsx"]`} {
			if got := p.evalAwait(fmt.Sprintf(`(async () => { const r = await fetch(document.querySelector(%q).href); return r.status + " " + r.headers.get("Content-Type"); })()`, sel)); !strings.HasPrefix(got, "200 ") {
				t.Errorf("report link %s: %q", sel, got)
			}
		}
		p.shot("43-admin-reports")

		p.do(chromedp.EmulateViewport(360, 780))
		for _, pg := range []string{"/admin/communes", "/admin/communes/muong-lan", "/glossary", "/admin/reports"} {
			p.navigate(site.url + pg)
			p.phoneFits("admin" + strings.ReplaceAll(pg, "/", "-"))
		}
	})

	job := site.openJob(adminToken, "blt", translation.KindSubtitle, 3*time.Minute)
	jobURL := site.url + "/jobs/" + job.ID

	t.Run("a Mông translator does not see the Thái job", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "giang-a-su")
		p.waitFor("the job board", `location.pathname === "/jobs"`, 5*time.Second)
		if n := p.eval(fmt.Sprintf(`String(document.querySelectorAll('[data-id=%q]').length)`, job.ID)); n != "0" {
			t.Errorf("the Thái job is on the Mông translator's board %s times", n)
		}
		if n := p.eval(`String(document.querySelectorAll('#jobs-open [data-lang="hnj"]').length)`); n != "2" {
			t.Errorf("%s open Mông jobs on the board, want 2 (subtitles and voice-over)", n)
		}
		p.shot("44-hnj-translator-board")
		if st := p.navigate(jobURL); st != http.StatusNotFound {
			t.Errorf("the Mông translator opens the Thái job: %d, want 404", st)
		}
		p.shot("44-hnj-translator-thai-job-not-found")
	})

	var board, editor pageMetrics
	t.Run("a Thái translator claims, is refused with a line number, fixes and submits", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "lo-van-a")
		p.waitFor("the job board", `location.pathname === "/jobs" && !!document.getElementById("jobs-open")`, 5*time.Second)
		if got := p.title(); got != "Bảng việc dịch — Loa" {
			t.Errorf("board title %q", got)
		}
		board = p.measure(site.url + "/jobs")
		p.shot("45-translator-board")
		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`form[action="/jobs/%s/claim"] button`, job.ID))))
		p.waitFor("the claimed job", `!!document.getElementById("notice") && document.getElementById("job-state").dataset.state === "claimed"`, 10*time.Second)
		if got := p.title(); got != "Việc dịch (Tiếng Thái): Nộp hồ sơ trực tuyến qua Cổng dịch vụ công — Loa" {
			t.Errorf("job title %q", got)
		}
		if got := p.text("src-2"); got != "tại Cổng dịch vụ công" {
			t.Errorf("Vietnamese line 2 %q", got)
		}
		if got := p.eval(`document.querySelector("#cue-2 .terms").textContent`); !strings.Contains(got, "dịch vụ công → ꪹꪕꪉ ꪶꪎꪙ") {
			t.Errorf("glossary term on line 2: %q", got)
		}
		// The source downloads: presigned store links, and the pre-filled
		// file from the API with the session.
		for _, id := range []string{"dl-media", "dl-vi"} {
			resp, err := http.Get(p.eval(fmt.Sprintf(`document.getElementById(%q).href`, id)))
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("download %s: %v %v", id, err, resp)
			} else {
				resp.Body.Close()
			}
		}
		if got := p.evalAwait(`(async () => { const r = await fetch(document.getElementById("dl-prefill").href); return r.status + " " + (await r.text()).includes("tại Cổng dịch vụ công"); })()`); got != "200 true" {
			t.Errorf("pre-filled file download: %q", got)
		}
		editor = p.measure(jobURL)
		perLine := p.eval(`String(Math.round([...document.querySelectorAll("li.line")].reduce((n, li) => n + new Blob([li.outerHTML]).size, 0) / document.querySelectorAll("li.line").length))`)
		t.Logf("the editor's markup is about %s B per subtitle cue (with glossary terms shown); a 5-minute segment of ~60 cues adds that times 60", perLine)
		p.shot("46-translator-editor")

		// A file with a line too long: refused, with the file's line number.
		p.do(chromedp.SetUploadFiles(chromedp.ID("j-file"), []string{badSRT}), chromedp.Click(chromedp.ID("upload-send")))
		p.waitFor("the refusal", `!!document.getElementById("findings")`, 20*time.Second)
		got := p.text("findings")
		if !strings.Contains(got, "Dòng 3 · Lỗi: dòng 1 của câu 1 có ") || !strings.Contains(got, " ký tự; tối đa 42 ký tự, hãy rút gọn hoặc ngắt thành hai dòng") ||
			strings.Contains(got, "characters") {
			t.Errorf("findings %q, want the line-too-long error at line 3 in Vietnamese", got)
		}
		if n := p.eval(`String(document.querySelectorAll("#cue-1.has-error #f-1 .finding.sev-error").length)`); n == "0" {
			t.Errorf("the error is not shown on the editor's line 1")
		}
		if v := p.eval(`document.getElementById("t-2").value`); v != "ꪼꪕ ꪹꪕꪉ ꪶꪎꪙ" {
			t.Errorf("the file's line 2 is not in the editor: %q", v)
		}
		p.shot("47-translator-refused-line-3")

		// Fix line 1 in the editor; the player's track follows the fields.
		p.eval(`(() => { document.getElementById("t-1").value = ""; return ""; })()`)
		p.do(chromedp.SendKeys(chromedp.ID("t-1"), "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ"))
		cues := p.eval(`(() => { const v = document.getElementById("player"); const tr = [...v.textTracks].find(t => t.language === "blt"); return tr && tr.cues ? tr.cues.length + " " + tr.cues[0].text : "none"; })()`)
		if cues != "2 ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ" {
			t.Errorf("the player's Thái track: %q", cues)
		}
		p.eval(`(() => { const v = document.getElementById("player"); v.muted = true; document.querySelector("#cue-1 .seek").click(); return ""; })()`)
		p.waitFor("the player at cue 1", `document.getElementById("player").currentTime > 0.5 && document.getElementById("player").readyState >= 2`, 20*time.Second)
		p.eval(`(() => { document.getElementById("player").pause(); return ""; })()`)
		p.shot("48-translator-fixed-player-track")
		p.do(chromedp.Click(chromedp.ID("submit-lines")))
		p.waitFor("the submitted notice", `!!document.getElementById("notice") && document.getElementById("job-state").dataset.state === "submitted"`, 20*time.Second)
		if got := p.text("notice"); got != "Đã nộp. Bản dịch đang chờ người duyệt." {
			t.Errorf("notice %q", got)
		}
		p.shot("49-translator-submitted")

		// The same pages on a phone.
		p.do(chromedp.EmulateViewport(360, 780))
		p.navigate(site.url + "/jobs")
		p.phoneFits("jobs-board")
		p.navigate(jobURL)
		p.phoneFits("job-submitted")
	})

	t.Run("a Thái reviewer sends it back with a reason", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.do(chromedp.EmulateViewport(360, 780))
		p.signIn(site.url, "lo-thi-b")
		p.waitFor("the review list", `location.pathname === "/jobs" && !!document.getElementById("jobs-open")`, 5*time.Second)
		if got := p.text("open-h"); got != "Bản dịch chờ duyệt (1)" {
			t.Errorf("review list heading %q", got)
		}
		p.phoneFits("reviewer-board")
		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#jobs-open [data-id=%q] h3 a`, job.ID))))
		p.waitFor("the job page", `!!document.getElementById("start-review")`, 10*time.Second)
		p.do(chromedp.Click(chromedp.ID("start-review")))
		p.waitFor("the review", `document.getElementById("job-state").dataset.state === "in_review" && !!document.getElementById("approve")`, 10*time.Second)
		if got := p.text("t-1"); got != "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ" {
			t.Errorf("the reviewer sees line 1 as %q", got)
		}
		p.phoneFits("reviewer-job")
		// A request for changes needs a reason: refused without one (the
		// browser's own check taken away, as an old browser would).
		p.eval(`(() => { document.getElementById("reason").removeAttribute("required"); return ""; })()`)
		p.do(chromedp.Click(chromedp.ID("request-changes")))
		p.waitFor("the missing-reason message", `!!document.getElementById("job-error")`, 10*time.Second)
		if got := p.text("job-error"); got != "Hãy ghi lý do yêu cầu sửa." {
			t.Errorf("missing reason message %q", got)
		}
		p.shot("50-reviewer-reason-required")
		p.do(chromedp.SendKeys(chromedp.ID("reason"), "Câu 2: dùng thuật ngữ trong bảng ở đầu câu."), chromedp.Click(chromedp.ID("request-changes")))
		p.waitFor("the changes requested", `document.getElementById("job-state").dataset.state === "changes_requested"`, 10*time.Second)
		p.shot("51-reviewer-changes-requested")
	})

	t.Run("the translator fixes what the reviewer sent back", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "lo-van-a")
		p.navigate(jobURL)
		if got := p.eval(`document.querySelector("#job-reason p[lang]").textContent`); got != "Câu 2: dùng thuật ngữ trong bảng ở đầu câu." {
			t.Errorf("the reviewer's reason on the job page: %q", got)
		}
		if got := p.eval(`document.getElementById("t-1").value`); got != "ꪀꪱꪉ ꪁꪾ ꪶꪎꪙ" {
			t.Errorf("the editor does not start from the submission: line 1 %q", got)
		}
		p.shot("52-translator-sent-back")
		p.eval(`(() => { document.getElementById("t-2").value = ""; return ""; })()`)
		p.do(chromedp.SendKeys(chromedp.ID("t-2"), "ꪹꪕꪉ ꪶꪎꪙ ꪼꪕ"))
		// The tab is closed before submitting: the draft comes back.
		p.navigate(site.url + "/jobs")
		p.navigate(jobURL)
		p.waitFor("the restored draft", `!document.getElementById("draft-restored").hidden`, 5*time.Second)
		if got := p.eval(`document.getElementById("t-2").value`); got != "ꪹꪕꪉ ꪶꪎꪙ ꪼꪕ" {
			t.Errorf("restored line 2 %q", got)
		}
		p.shot("52-translator-draft-restored")
		p.do(chromedp.Click(chromedp.ID("submit-lines")))
		p.waitFor("the second submission", `!!document.getElementById("notice") && document.getElementById("job-state").dataset.state === "submitted"`, 20*time.Second)
		if got := p.eval(`String(localStorage.getItem("loa-draft:" + location.pathname))`); got != "null" {
			t.Errorf("the draft outlived the submission: %s", got)
		}
	})

	t.Run("the reviewer approves", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "lo-thi-b")
		p.navigate(jobURL)
		p.do(chromedp.Click(chromedp.ID("start-review")))
		p.waitFor("the review", `!!document.getElementById("approve")`, 10*time.Second)
		if got := p.text("t-2"); got != "ꪹꪕꪉ ꪶꪎꪙ ꪼꪕ" {
			t.Errorf("the reviewer sees line 2 as %q", got)
		}
		p.do(chromedp.Click(chromedp.ID("approve")))
		p.waitFor("the approval", `document.getElementById("job-state").dataset.state === "approved"`, 20*time.Second)
		if got := p.text("notice"); got != "Đã duyệt. Bản dịch sẽ được dựng để phát." {
			t.Errorf("approval notice %q", got)
		}
		p.shot("53-reviewer-approved")
	})

	t.Run("a voice-over is recorded and submitted", func(t *testing.T) {
		vo := site.openJob(adminToken, "blt", translation.KindVoiceover, 10*time.Second)
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "lo-van-a")
		p.navigate(site.url + "/jobs/" + vo.ID)
		p.do(chromedp.Click(chromedp.ID("claim")))
		p.waitFor("the claimed voice-over", `document.getElementById("job-state").dataset.state === "claimed" && !!document.getElementById("j-file")`, 10*time.Second)
		if n := p.eval(`String(document.querySelectorAll("#editor").length)`); n != "0" {
			t.Errorf("a voice-over job shows the subtitle editor")
		}
		// Not audio: refused with the reason.
		p.do(chromedp.SetUploadFiles(chromedp.ID("j-file"), []string{viSRT}), chromedp.Click(chromedp.ID("upload-send")))
		p.waitFor("the refusal", `!!document.getElementById("job-error")`, 30*time.Second)
		if got := p.text("job-error"); !strings.HasPrefix(got, "Bản thu chưa được nhận") || !strings.Contains(got, "tệp không có âm thanh") {
			t.Errorf("voice-over refusal %q", got)
		}
		p.shot("54-voiceover-refused")
		p.do(chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)))
		p.waitFor("the English job page", `document.documentElement.lang === "en"`, 10*time.Second)
		if got := p.title(); got != "Translation job (Thái): Nộp hồ sơ trực tuyến qua Cổng dịch vụ công — Loa" {
			t.Errorf("English job title %q", got)
		}
		p.shot("54-voiceover-english")
		p.do(chromedp.Click(chromedp.CSS(`a[hreflang="vi"]`)))
		p.waitFor("the Vietnamese job page", `document.documentElement.lang === "vi"`, 10*time.Second)
		p.do(chromedp.SetUploadFiles(chromedp.ID("j-file"), []string{mediatest.SpeechWAV(t, t.TempDir())}), chromedp.Click(chromedp.ID("upload-send")))
		p.waitFor("the submitted voice-over", `!!document.getElementById("notice") && document.getElementById("job-state").dataset.state === "submitted" && !!document.getElementById("vo-player")`, 60*time.Second)
		p.shot("55-voiceover-submitted")
	})

	t.Logf("page weight (uncompressed) and first contentful paint, 1280x900, cold cache:\n"+
		"job board  %6d B page, %6d B with assets (%d files), first paint %4.0f ms\n"+
		"job editor %6d B page, %6d B with assets (%d files), first paint %4.0f ms",
		board.Doc, board.Total, board.Resources+1, board.FCP, editor.Doc, editor.Total, editor.Resources+1, editor.FCP)
}
