package web_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// chromiumPath is Debian's chromium, installed by `make deps`.
const chromiumPath = "/usr/bin/chromium"

// needChromium skips the test when chromium is missing, unless
// LOA_TEST_REQUIRE_SERVICES=1 (make test), where it fails.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is missing but LOA_TEST_REQUIRE_SERVICES=1: run make deps", chromiumPath)
		}
		t.Skipf("%s is missing: the browser tests need Debian's chromium (make deps installs it)", chromiumPath)
	}
}

// loaSite is a real `loa serve` process on a real MinIO bucket.
type loaSite struct {
	t    *testing.T
	bin  string
	env  []string
	url  string
	logs *strings.Builder
}

// startLoa builds the loa binary and starts `loa serve` on a fresh data
// folder and bucket; users are added with the CLI, as an admin would.
func startLoa(t *testing.T) *loaSite {
	t.Helper()
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	dir := t.TempDir()
	bin := filepath.Join(dir, "loa")
	build := exec.Command("go", "build", "-o", bin, "github.com/sonla-cchc/loa/cmd/loa")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loa: %v\n%s", err, out)
	}
	s := &loaSite{t: t, bin: bin, logs: &strings.Builder{}, env: append(os.Environ(),
		"LOA_DATA="+filepath.Join(dir, "data"), "LOA_ADDR=127.0.0.1:0",
		"LOA_S3_ENDPOINT="+s3.Endpoint, "LOA_S3_ACCESS_KEY="+s3.AccessKey,
		"LOA_S3_SECRET_KEY="+s3.SecretKey, "LOA_S3_BUCKET="+s3.Bucket)}
	cmd := exec.Command(bin, "serve")
	cmd.Env = s.env
	cmd.Stderr = s.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "loa listening on "); ok {
				found <- u
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case s.url = <-found:
	case err := <-exited:
		t.Fatalf("loa serve exited: %v\n%s", err, s.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("loa serve did not start\n%s", s.logs)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("loa serve log:\n%s", s.logs)
		}
	})
	return s
}

// user adds a user with the CLI.
func (s *loaSite) user(name, role string, extra ...string) {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"user", "add", "--name", name, "--role", role, "--password-stdin"}, extra...)...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader("mat-khau-dai-du\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("loa user add %s: %v\n%s", name, err, out)
	}
}

// browser starts headless chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// person is one browser profile (own cookies) with a deadline.
type person struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newPerson(t *testing.T, bctx context.Context, dir string) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancel2 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return &person{t: t, ctx: ctx, dir: dir}
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.shot("failed")
		p.t.Fatal(err)
	}
}

func (p *person) eval(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// evalAwait evaluates an async expression and waits for its promise.
func (p *person) evalAwait(js string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (p *person) text(id string) string {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`(document.getElementById(%q) || {textContent: ""}).textContent.trim()`, id))
}

func (p *person) title() string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Title())
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// waitFor checks a JavaScript condition every 100 ms until it is true.
// Errors while a page is being replaced (a navigation) are retried.
func (p *person) waitFor(what, js string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if p.ctx.Err() != nil {
			break
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
	p.t.Fatalf("waiting for %s (%s): last error %v; page %q: %s", what, js, last, p.title(), p.eval(`document.body ? document.body.innerText.slice(0, 1500) : ""`))
}

// navigate opens a URL and returns the HTTP status of the page.
func (p *person) navigate(url string) int64 {
	p.t.Helper()
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(url))
	if err != nil {
		p.t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

// shot saves a screenshot of the whole page as a test artifact.
func (p *person) shot(name string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
	}
}

// network sets the emulated network: offline, or an upload speed in
// bytes per second (0: no limit).
func (p *person) network(offline bool, upload float64) {
	p.t.Helper()
	if upload == 0 {
		upload = -1
	}
	_, err := chromedp.Call(p.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: upload}},
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *person) signIn(base, name string) {
	p.t.Helper()
	p.navigate(base + "/sign-in")
	p.do(
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), "mat-khau-dai-du"),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
	)
	p.waitFor("signed in", `location.pathname !== "/sign-in" && document.readyState === "complete"`, 10*time.Second)
}

// artifacts is where screenshots go: $LOA_ARTIFACTS, or the git-ignored
// testdata-artifacts/web at the top of the repository.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LOA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata-artifacts")
	}
	dir, err := filepath.Abs(filepath.Join(dir, "web"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// pageMetrics is what the browser measured of one page load.
type pageMetrics struct {
	Doc       int64   `json:"doc"`
	Total     int64   `json:"total"`
	Transfer  int64   `json:"transfer"`
	Resources int64   `json:"resources"`
	FCP       float64 `json:"fcp"`
}

const measureJS = `(() => {
  const n = performance.getEntriesByType("navigation")[0];
  const own = performance.getEntriesByType("resource").filter(r => r.name.startsWith(location.origin));
  let total = n.decodedBodySize, transfer = n.transferSize;
  for (const r of own) { total += r.decodedBodySize; transfer += r.transferSize; }
  const fcp = performance.getEntriesByType("paint").find(p => p.name === "first-contentful-paint");
  return {doc: n.decodedBodySize, total: total, transfer: transfer, resources: own.length, fcp: fcp ? fcp.startTime : -1};
})()`

// measure loads a page with a cold cache and returns its weight (the
// page and its own style sheet and scripts, not the media) and its time
// to first contentful paint.
func (p *person) measure(url string) pageMetrics {
	p.t.Helper()
	if _, err := chromedp.Call(p.ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		p.t.Fatal(err)
	}
	p.navigate(url)
	p.waitFor("first paint", `performance.getEntriesByType("paint").some(e => e.name === "first-contentful-paint")`, 10*time.Second)
	m, err := chromedp.Run(p.ctx, chromedp.Evaluate[pageMetrics](measureJS))
	if err != nil {
		p.t.Fatal(err)
	}
	return m
}

// phone checks the current page fits a 360-pixel-wide screen.
func (p *person) phoneFits(name string) {
	p.t.Helper()
	w, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		p.t.Fatal(err)
	}
	if w > 360 {
		p.t.Errorf("%s: page is %d px wide at a 360 px viewport (horizontal overflow)", name, w)
	}
	p.shot("phone-" + name)
}

// TestBrowserFlows drives headless chromium through each role's main
// flow against a real `loa serve` with real MinIO and ffmpeg.
func TestBrowserFlows(t *testing.T) {
	needChromium(t)
	site := startLoa(t)
	site.user("admin", "admin")
	site.user("dai-ptth", "producer")
	site.user("lo-van-a", "translator", "--languages", "blt")
	bctx := browser(t)
	shots := artifacts(t)
	media := t.TempDir()
	clip := mediatest.TVMP4(t, media)
	srt := filepath.Join(media, "vi.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,500 --> 00:00:03,000\nNộp hồ sơ trực tuyến\n\n2\n00:00:03,500 --> 00:00:06,000\ntại Cổng dịch vụ công\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(media, "khong-phai-media.mp4")
	if err := os.WriteFile(junk, []byte(strings.Repeat("không phải tệp âm thanh ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	var segmentURL string

	t.Run("producer uploads and sees it processed", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.navigate(site.url + "/producer")
		p.waitFor("sign-in page", `location.pathname === "/sign-in"`, 5*time.Second)
		if got := p.title(); got != "Đăng nhập — Loa" {
			t.Errorf("sign-in title %q", got)
		}
		p.shot("01-sign-in")
		p.do(
			chromedp.SendKeys(chromedp.ID("name"), "dai-ptth"),
			chromedp.SendKeys(chromedp.ID("password"), "sai-mat-khau"),
			chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
		)
		p.waitFor("wrong password message", `!!document.getElementById("signin-error")`, 10*time.Second)
		p.shot("02-sign-in-wrong-password")
		p.do(
			chromedp.SendKeys(chromedp.ID("password"), "mat-khau-dai-du"),
			chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
		)
		p.waitFor("the producer's list", `location.pathname === "/producer" && !!document.getElementById("no-segments")`, 10*time.Second)
		if got := p.title(); got != "Bản tin của tôi — Loa" {
			t.Errorf("list title %q", got)
		}
		p.shot("03-producer-list-empty")

		p.do(chromedp.Click(chromedp.CSS(`main a.button`)))
		p.waitFor("the upload form", `!!document.getElementById("upload") && document.readyState === "complete"`, 10*time.Second)
		// Nothing filled in: the messages appear next to the fields.
		p.do(chromedp.Click(chromedp.ID("send")))
		p.waitFor("field messages", `document.getElementById("err-title").textContent !== ""`, 5*time.Second)
		if got := p.text("err-title"); got != "Hãy nhập tiêu đề." {
			t.Errorf("title message %q", got)
		}
		if got := p.text("err-file"); got != "Hãy chọn tệp âm thanh hoặc video." {
			t.Errorf("file message %q", got)
		}
		p.shot("04-upload-missing-fields")

		// A file that is not media: the API's refusal shows next to the file.
		p.do(
			chromedp.SendKeys(chromedp.ID("f-title"), "Nộp hồ sơ trực tuyến qua Cổng dịch vụ công"),
			chromedp.Click(chromedp.ID("f-kind-tv")),
			chromedp.SetValue(chromedp.ID("f-topic"), "digital"),
			chromedp.SetUploadFiles(chromedp.ID("f-subtitles"), []string{srt}),
			chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{junk}),
			chromedp.Click(chromedp.ID("send")),
		)
		p.waitFor("the refusal of a file that is not media", `document.getElementById("err-file").textContent !== ""`, 30*time.Second)
		if got := p.text("err-file"); !strings.HasPrefix(got, "Tệp âm thanh hoặc video không dùng được.") ||
			!strings.Contains(got, "tệp không phải âm thanh hay video đọc được") || strings.Contains(got, "upload the original") {
			t.Errorf("refusal message %q, want the finding in Vietnamese, not the API's English", got)
		}
		p.shot("05-upload-refused-not-media")

		// Shared case A: a source cue that ends before it starts. The
		// page says the API's finding in Vietnamese, with its line and cue.
		if caseA := "/work/shared/cases/A-inverted-vi.srt"; fileExists(caseA) {
			p.do(
				chromedp.SetUploadFiles(chromedp.ID("f-subtitles"), []string{caseA}),
				chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{clip}),
				chromedp.Click(chromedp.ID("send")),
			)
			p.waitFor("the refusal of case A's subtitles", `document.getElementById("err-subtitles").textContent !== ""`, 30*time.Second)
			if got := p.text("err-subtitles"); !strings.Contains(got, "Dòng 5: câu 2 kết thúc lúc 00:00:04,000, không sau lúc bắt đầu 00:00:07,000; hãy sửa lại thời gian") ||
				strings.Contains(got, "cue 2") || strings.Contains(got, "was not accepted") {
				t.Errorf("case A's refusal %q, want its finding in Vietnamese and no English", got)
			}
			p.shot("05b-upload-refused-subtitles")
			p.do(chromedp.SetUploadFiles(chromedp.ID("f-subtitles"), []string{srt}))
		}

		// The connection is down: the page says so and offers to retry.
		p.do(chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{clip}))
		p.network(true, 0)
		p.do(chromedp.Click(chromedp.ID("send")))
		p.waitFor("the lost-connection message", `!document.getElementById("retry").hidden`, 15*time.Second)
		if got := p.text("err-form"); !strings.HasPrefix(got, "Mất kết nối") {
			t.Errorf("lost connection message %q", got)
		}
		p.shot("06-upload-connection-lost")

		// Back online on a slow link: live progress with the time left.
		info, _ := os.Stat(clip)
		rate := float64(info.Size()) / 6 // about six seconds
		p.network(false, rate)
		p.do(chromedp.Click(chromedp.ID("retry")))
		p.waitFor("progress with the time left", `(() => { const v = document.getElementById("progress").value; return v > 0 && v < 100 && document.getElementById("progress-text").textContent.includes("còn khoảng"); })()`, 20*time.Second)
		t.Logf("mid-upload: %s (%s of the bar)", p.text("progress-text"), p.eval(`String(document.getElementById("progress").value)`))
		p.shot("07-upload-progress")
		p.waitFor("the segment page", `location.pathname.startsWith("/producer/segments/")`, 60*time.Second)
		p.network(false, 0)
		segmentURL = p.eval(`location.origin + location.pathname`)
		p.shot("08-segment-received")

		// Processing runs in the worker inside loa serve; the page follows it.
		p.waitFor("the processed state", `document.readyState === "complete" && (document.getElementById("state-text") || {}).textContent === "đã xử lý xong"`, 3*time.Minute)
		// The audio is ready first; the page follows the poster, preview
		// and subtitle renditions until they are made.
		p.waitFor("the renditions after the audio", `document.readyState === "complete" && !document.getElementById("processing")`, 3*time.Minute)
		if got := p.title(); got != "Bản tin — Loa" {
			t.Errorf("segment title %q", got)
		}
		// The player has the Vietnamese subtitle track, loaded from the store.
		cues, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`(async () => {
			const v = document.getElementById("player");
			if (!v || !v.textTracks.length) return -1;
			const tr = v.textTracks[0];
			tr.mode = "showing";
			for (let i = 0; i < 100 && (!tr.cues || tr.cues.length === 0); i++) await new Promise(r => setTimeout(r, 100));
			return tr.cues ? tr.cues.length : 0;
		})()`, func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
		if err != nil || cues != 2 {
			t.Errorf("subtitle cues in the player: %d (%v), want 2", cues, err)
		}
		p.waitFor("the player's media", `document.getElementById("player").readyState >= 1 && document.getElementById("player").duration > 5`, 30*time.Second)
		p.eval(`(() => { const v = document.getElementById("player"); v.muted = true; v.currentTime = 1; return ""; })()`)
		p.waitFor("the frame with a subtitle", `document.getElementById("player").readyState >= 2`, 10*time.Second)
		p.shot("09-segment-processed-player")

		p.navigate(site.url + "/producer")
		if got := p.eval(`document.querySelector("#segments .badge").textContent`); got != "Tiếng Việt: sẵn sàng phát" {
			t.Errorf("Vietnamese state in the list: %q", got)
		}
		p.shot("10-producer-list")

		// English switch.
		p.do(chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)))
		p.waitFor("the English page", `document.documentElement.lang === "en" && document.title === "My segments — Loa"`, 10*time.Second)
		p.shot("11-producer-list-english")
		p.do(chromedp.Click(chromedp.CSS(`a[hreflang="vi"]`)))
		p.waitFor("the Vietnamese page", `document.documentElement.lang === "vi"`, 10*time.Second)

		// Another role's page is refused with a clear page.
		if st := p.navigate(site.url + "/admin/users"); st != 403 {
			t.Errorf("producer on the admin page: %d, want 403", st)
		}
		if got := p.title(); got != "Không được phép — Loa" {
			t.Errorf("refusal title %q", got)
		}
		p.shot("12-producer-refused-admin-page")
	})

	t.Run("admin creates a user and a token", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.signIn(site.url, "admin")
		p.waitFor("the users page", `location.pathname === "/admin/users"`, 5*time.Second)
		p.do(
			chromedp.SendKeys(chromedp.ID("u-name"), "lo-thi-b"),
			chromedp.SetValue(chromedp.ID("u-role"), "reviewer"),
			chromedp.SendKeys(chromedp.ID("u-password"), "mat-khau-dai-du"),
			chromedp.Click(chromedp.ID("u-send")),
		)
		p.waitFor("the languages message", `document.readyState === "complete" && document.getElementById("err-languages").textContent !== ""`, 10*time.Second)
		if got := p.text("err-languages"); got != "Biên dịch viên và người duyệt cần ít nhất một ngôn ngữ." {
			t.Errorf("languages message %q", got)
		}
		p.shot("20-admin-user-missing-language")
		p.do(
			chromedp.Click(chromedp.ID("u-lang-hnj")),
			chromedp.SendKeys(chromedp.ID("u-password"), "mat-khau-dai-du"),
			chromedp.Click(chromedp.ID("u-send")),
		)
		p.waitFor("the created notice", `!!document.getElementById("notice")`, 10*time.Second)
		if got := p.text("notice"); got != "Đã thêm người dùng lo-thi-b." {
			t.Errorf("notice %q", got)
		}
		p.shot("21-admin-user-created")
		p.do(
			chromedp.SendKeys(chromedp.ID("label-lo-thi-b"), "máy tính bảng"),
			chromedp.Click(chromedp.CSS(`form[action="/admin/users/lo-thi-b/tokens"] button`)),
		)
		p.waitFor("the new token", `!!document.getElementById("new-token")`, 10*time.Second)
		if tok := p.eval(`document.getElementById("new-token").value`); !strings.HasPrefix(tok, "loa_") {
			t.Errorf("token %q", tok)
		}
		p.shot("22-admin-token")

		// The new reviewer signs in and may not open the producer's pages.
		r := newPerson(t, bctx, shots)
		r.signIn(site.url, "lo-thi-b")
		if st := r.navigate(site.url + "/producer/upload"); st != 403 {
			t.Errorf("reviewer on the upload page: %d, want 403", st)
		}
		r.shot("23-reviewer-refused-upload")
	})

	t.Run("phone width and page weight", func(t *testing.T) {
		p := newPerson(t, bctx, shots)
		p.do(chromedp.EmulateViewport(360, 780))
		signIn := p.measure(site.url + "/sign-in")
		p.phoneFits("sign-in")
		p.signIn(site.url, "dai-ptth")
		pages := []struct{ name, path string }{
			{"producer-list", "/producer"},
			{"upload", "/producer/upload"},
			{"segment", strings.TrimPrefix(segmentURL, site.url)},
			{"refused", "/admin/users"},
		}
		report := []string{fmt.Sprintf("%-14s %6d B page, %6d B with assets (%d files), first paint %4.0f ms", "sign-in", signIn.Doc, signIn.Total, signIn.Resources+1, signIn.FCP)}
		for _, pg := range pages {
			if pg.path == "" {
				continue
			}
			m := p.measure(site.url + pg.path)
			p.phoneFits(pg.name)
			report = append(report, fmt.Sprintf("%-14s %6d B page, %6d B with assets (%d files), first paint %4.0f ms", pg.name, m.Doc, m.Total, m.Resources+1, m.FCP))
		}
		a := newPerson(t, bctx, shots)
		a.do(chromedp.EmulateViewport(360, 780))
		a.signIn(site.url, "admin")
		m := a.measure(site.url + "/admin/users")
		a.phoneFits("admin-users")
		report = append(report, fmt.Sprintf("%-14s %6d B page, %6d B with assets (%d files), first paint %4.0f ms", "admin-users", m.Doc, m.Total, m.Resources+1, m.FCP))
		t.Logf("page weight (uncompressed) and time to first contentful paint, 360x780, cold cache:\n%s", strings.Join(report, "\n"))

		// Withdraw the segment from the phone: confirm box, then the notice.
		if segmentURL != "" {
			p.navigate(segmentURL)
			p.do(
				chromedp.SendKeys(chromedp.ID("w-reason"), "Thay bằng bản mới"),
				chromedp.Click(chromedp.ID("w-confirm")),
				chromedp.Click(chromedp.ID("w-send")),
			)
			p.waitFor("the withdrawn notice", `!!document.getElementById("notice")`, 10*time.Second)
			if got := p.text("state-text"); got != "đã rút" {
				t.Errorf("state after withdrawal %q", got)
			}
			p.phoneFits("segment-withdrawn")
		}
	})
}

// TestBrowserOperatorAndEmergency drives the operator's schedule page and
// the producer's emergency on an in-process site with the real store,
// MinIO and the Sơn La demo registry: the operator sees the week's
// timeline per cluster and slot, plays an item, downloads the playlist
// and the bundle and reports a play; a producer marks a segment
// emergency for Mường Lạn, confirmed twice, and the operator's page
// shows it highlighted.
func TestBrowserOperatorAndEmergency(t *testing.T) {
	needChromium(t)
	b := setup(t)
	bctx := browser(t)
	shots := artifacts(t)

	op := newPerson(t, bctx, shots)
	op.do(chromedp.EmulateViewport(360, 780))
	op.signIn(b.srv.URL, "u-operator")
	op.waitFor("the operator's page", `location.pathname === "/operator" && document.querySelectorAll(".item").length > 0`, 10*time.Second)
	if got := op.title(); got != "Lịch phát của xã — Loa" {
		t.Errorf("operator title %q", got)
	}
	if got := op.text("commune-name"); !strings.HasPrefix(got, "Mường Lạn") {
		t.Errorf("commune %q", got)
	}
	m := op.measure(b.srv.URL + "/operator")
	t.Logf("operator page, 360x780, cold cache: %d B page, %d B with assets (%d files), first contentful paint %.0f ms", m.Doc, m.Total, m.Resources+1, m.FCP)
	op.phoneFits("operator")
	if n := op.eval(`String(document.querySelectorAll(".days a").length)`); n != "7" {
		t.Errorf("%s day links, want the week's 7", n)
	}
	// Clusters are shown by their registry names, and the relay (not ours)
	// has no played/failed buttons.
	if h := op.eval(`document.getElementById("cl-trung-tam").textContent`); !strings.Contains(h, "Loa trung tâm xã") {
		t.Errorf("cluster heading %q, want its registry name", h)
	}
	if n := op.eval(`String([...document.querySelectorAll(".item")].filter(li => li.querySelector(".what").textContent.trim() === "relay" && li.querySelector("form")).length)`); n != "0" {
		t.Errorf("%s relay rows offer play reports", n)
	}

	// Play the first item in the page.
	op.eval(`(() => { const a = document.querySelector(".item audio"); a.muted = true; a.play(); return ""; })()`)
	op.waitFor("the item playing", `document.querySelector(".item audio").currentTime > 0.2`, 20*time.Second)
	// The playlist and the bundle download with the session.
	if got := op.evalAwait(`(async () => { const r = await fetch(document.querySelector(".cluster a[download]").href); return r.status + " " + (await r.text()).slice(0, 7); })()`); got != "200 #EXTM3U" {
		t.Errorf("M3U8 download: %q", got)
	}
	if got := op.evalAwait(`(async () => { const r = await fetch(document.getElementById("bundle").href); const b = await r.arrayBuffer(); return r.status + " " + (b.byteLength > 1024); })()`); got != "200 true" {
		t.Errorf("bundle download: %q", got)
	}
	// Report that the first item played, once its time has come: the
	// set-up's clock is 04:30, before the morning slot, so the page
	// offers no report yet and says when to report. Two hours on, the
	// morning's first item has played (and the session is still live):
	// the page, loaded again, offers its buttons.
	if n := op.eval(`String(document.querySelectorAll(".item form.report").length)`); n != "0" {
		t.Errorf("%s report forms before the morning slot, want none", n)
	}
	if got := op.eval(`document.querySelector(".item .not-aired").textContent`); !strings.HasPrefix(got, "Lịch phát lúc 05:") {
		t.Errorf("an item to come says %q", got)
	}
	b.advance(2 * time.Hour)
	op.navigate(b.srv.URL + "/operator")
	op.do(chromedp.Click(chromedp.CSS(`.item form.report button[value=played]`)))
	op.waitFor("the report notice", `!!document.getElementById("notice")`, 10*time.Second)
	if got := op.text("notice"); got != "Đã ghi nhận: mục đã được phát." {
		t.Errorf("report notice %q", got)
	}
	if got := op.eval(`document.querySelector(".item .badge").textContent`); got != "Đã báo: đã phát" {
		t.Errorf("reported state %q", got)
	}
	op.shot("30-operator-reported")

	// A producer marks a segment emergency for Mường Lạn, confirming twice.
	pr := newPerson(t, bctx, shots)
	pr.signIn(b.srv.URL, "u-producer")
	pr.navigate(b.srv.URL + "/producer/segments/" + b.segs[0])
	// First the priority: normal to priority, confirmed on the page.
	if got := pr.text("priority-text"); got != "Thường" {
		t.Errorf("priority before the change %q", got)
	}
	pr.do(
		chromedp.Click(chromedp.ID("p-priority")),
		chromedp.Click(chromedp.ID("p-send")),
	)
	pr.waitFor("the priority notice", `!!document.getElementById("notice")`, 10*time.Second)
	if got := pr.text("priority-text"); got != "Ưu tiên" {
		t.Errorf("priority after the change %q", got)
	}
	if got := pr.eval(`document.getElementById("p-priority").checked ? "checked" : "not checked"`); got != "checked" {
		t.Errorf("the priority form after the change: %s", got)
	}
	pr.shot("31a-priority-changed")
	pr.do(chromedp.EmulateViewport(360, 780))
	pr.phoneFits("segment-priority")
	pr.do(chromedp.EmulateViewport(1280, 900))
	pr.do(
		chromedp.Click(chromedp.CSS(`#emergency-form summary`)),
		chromedp.Click(chromedp.ID("e-c-muong-lan")),
		chromedp.SendKeys(chromedp.ID("e-reason"), "Lũ quét ở bản Nà Sài"),
		chromedp.Click(chromedp.ID("e-confirm1")),
		chromedp.Click(chromedp.ID("e-send")),
	)
	pr.waitFor("the second confirmation", `!!document.getElementById("e-confirm2")`, 10*time.Second)
	if got := pr.text("emergency-targets"); got != "Mường Lạn" {
		t.Errorf("targets on the confirmation page %q", got)
	}
	pr.shot("31-emergency-confirm")
	pr.do(chromedp.Click(chromedp.ID("e-confirm2")))
	pr.waitFor("the emergency notice", `!!document.getElementById("notice")`, 20*time.Second)
	pr.shot("32-emergency-marked")

	op.navigate(b.srv.URL + "/operator")
	op.waitFor("the emergency on the operator's page", `!!document.getElementById("emergency-alert") && document.querySelectorAll(".item.emergency").length > 0`, 10*time.Second)
	op.phoneFits("operator-emergency")

	// The operator may not open the producer's pages.
	if st := op.navigate(b.srv.URL + "/producer"); st != 403 {
		t.Errorf("operator on the producer's list: %d, want 403", st)
	}
	op.shot("33-operator-refused-producer")

	// The admin's scheduled jobs, on a phone.
	ad := newPerson(t, bctx, shots)
	ad.do(chromedp.EmulateViewport(360, 780))
	ad.signIn(b.srv.URL, "u-admin")
	ad.navigate(b.srv.URL + "/admin/cron")
	if got := ad.title(); got != "Lịch chạy tự động — Loa" {
		t.Errorf("cron page title %q", got)
	}
	if n := ad.eval(`String(document.querySelectorAll("#cron-jobs .next").length)`); n != "6" {
		t.Errorf("%s jobs with a next run, want 6", n)
	}
	ad.phoneFits("admin-cron")
}

// fileExists reports whether name is there to read.
func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
