package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// loaBin is the loa binary built once for the end-to-end tests.
var loaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loa-bin-")
	if err != nil {
		panic(err)
	}
	loaBin = filepath.Join(dir, "loa")
	build := exec.Command("go", "build", "-o", loaBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build loa:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one loa deployment for a test: its data folder, database
// and bucket, and the running server process when started.
type instance struct {
	t      testing.TB
	data   string
	s3     objects.Config
	cmd    *exec.Cmd
	url    string
	logs   *strings.Builder
	extra  []string
	exited chan error
	app    *app // the server's parts, when it runs in process
}

func newInstance(t testing.TB, s3 objects.Config) *instance {
	t.Helper()
	return &instance{t: t, data: t.TempDir(), s3: s3}
}

func (in *instance) env() []string {
	env := append(os.Environ(),
		"LOA_DATA="+in.data, "LOA_ADDR=127.0.0.1:0",
		"LOA_S3_ENDPOINT="+in.s3.Endpoint, "LOA_S3_ACCESS_KEY="+in.s3.AccessKey,
		"LOA_S3_SECRET_KEY="+in.s3.SecretKey, "LOA_S3_BUCKET="+in.s3.Bucket)
	return append(env, in.extra...)
}

// loa runs a loa command to its end and returns its stdout.
func (in *instance) loa(stdin string, args ...string) (string, error) {
	in.t.Helper()
	cmd := exec.Command(loaBin, args...)
	cmd.Env = append(in.env(), "LOA_SERVER="+in.url)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("loa %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// start runs `loa serve` and waits until it listens.
func (in *instance) start(extraEnv ...string) {
	in.t.Helper()
	cmd := exec.Command(loaBin, "serve")
	cmd.Env = append(in.env(), extraEnv...)
	stdout, _ := cmd.StdoutPipe()
	in.logs = &strings.Builder{}
	cmd.Stderr = in.logs
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	in.cmd = cmd
	in.exited = make(chan error, 1)
	lines := bufio.NewScanner(stdout)
	found := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "loa listening on "); ok {
				found <- u
			}
		}
		in.exited <- cmd.Wait()
	}()
	select {
	case in.url = <-found:
	case err := <-in.exited:
		in.t.Fatalf("loa serve exited: %v\n%s", err, in.logs)
	case <-time.After(60 * time.Second):
		in.t.Fatalf("loa serve did not start\n%s", in.logs)
	}
	in.t.Cleanup(func() { in.stop(syscall.SIGKILL) })
}

// startInProcess runs the server as `loa serve` builds it (an app), in
// the test's process, until the test ends; in.app is its parts, to reach
// the database the server uses, as the server, without a second
// connection. Settings come from the instance as flags and, like the
// binary's, from LOA_* variables set with t.Setenv.
func (in *instance) startInProcess() {
	in.t.Helper()
	if len(in.extra) > 0 {
		in.t.Fatalf("startInProcess takes no extra environment (%v): set it with t.Setenv", in.extra)
	}
	var c serverConfig
	var stdout strings.Builder
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: io.Discard, getenv: os.Getenv}
	fs := newFlags(env, "serve", "")
	c.register(fs, env)
	if _, err := parse(fs, []string{"--data", in.data, "--addr", "127.0.0.1:0", "--s3-endpoint", in.s3.Endpoint,
		"--s3-access-key", in.s3.AccessKey, "--s3-secret-key", in.s3.SecretKey, "--s3-bucket", in.s3.Bucket}); err != nil {
		in.t.Fatal(err)
	}
	logs := &lockedLog{}
	a := newApp(&c, true, newLogger(logs, "info"), &stdout)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	in.t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			in.t.Errorf("loa serve (in process): %v", err)
		}
		if err := a.Close(); err != nil {
			in.t.Errorf("loa serve (in process) stopping: %v", err)
		}
		if in.t.Failed() {
			in.t.Logf("server log:\n%s", logs)
		}
	})
	if err := a.Open(ctx); err != nil {
		ran <- nil
		in.t.Fatalf("loa serve (in process): %v\n%s", err, logs)
	}
	go func() { ran <- a.Run(ctx) }()
	in.app, in.url = a, a.URL
}

func (in *instance) stop(sig syscall.Signal) {
	if in.cmd == nil || in.cmd.Process == nil {
		return
	}
	in.cmd.Process.Signal(sig)
	select {
	case <-in.exited:
	case <-time.After(90 * time.Second):
		in.cmd.Process.Kill()
		<-in.exited
	}
	in.cmd = nil
}

// bootstrap adds a producer with the CLI and returns its token.
func (in *instance) bootstrap() string {
	in.t.Helper()
	if _, err := in.loa("mat-khau-dai-du\n", "user", "add", "--name", "dai-ptth", "--role", "producer", "--password-stdin"); err != nil {
		in.t.Fatal(err)
	}
	tok, err := in.loa("", "token", "create", "--user", "dai-ptth")
	if err != nil {
		in.t.Fatal(err)
	}
	return strings.TrimSpace(tok)
}

// uploadLongTV uploads, as token's user, a TV clip long enough (a few
// seconds of 360p with speech, looped) for a test to catch its ffmpeg
// running, and returns the new segment's id.
func (in *instance) uploadLongTV(token, title string) string {
	t := in.t
	t.Helper()
	dir := t.TempDir()
	clip := mediatest.Generate(t, dir, "long-tv.mp4", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
		"-stream_loop", "2", "-i", mediatest.SpeechWAV(t, dir), "-shortest",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")
	out, err := in.loa("", "upload", clip, "--title", title, "--kind", "tv", "--topic", "digital", "--token", token, "--quiet", "--json")
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(strings.SplitN(out, `"id": "`, 2)[1], `"`, 2)[0]
}

// eventually polls cond until it holds or a quarter of the time the test
// has left passes. It waits for an event, it does not measure speed: the
// budget comes from the test's deadline (go test -timeout), never from a
// guess of how fast this machine is.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	eventuallyWithin(t, budget(t, 0.25), what, cond)
}

// eventuallyWithin is eventually with its own limit, for waits whose
// bound is what is being tested (a lease that must lapse, a share of the
// test's budget).
func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s; last state: %s", what, limit.Round(time.Second), state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// budget is the part of the test's remaining time (before go test's
// -timeout; 10 minutes without one) one wait may use, so a wait that
// fails still leaves time for the test to report why.
func budget(t *testing.T, share float64) time.Duration {
	t.Helper()
	d, ok := t.Deadline()
	if !ok {
		return 10 * time.Minute
	}
	return time.Duration(float64(time.Until(d)) * share)
}

func rawClient(t testing.TB, cfg objects.Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bucketState counts the segment objects a producer's uploads made
// (originals and subtitle files, not processing's renditions) and the
// unfinished multipart uploads. Other objects, such as the reports the
// report cron stores at start-up, are not counted.
func bucketState(t *testing.T, cfg objects.Config) (objs, partial int) {
	t.Helper()
	objs, _, partial = segmentObjects(t, cfg)
	return objs, partial
}

// segmentObjects counts objects under segments/: uploads, renditions, and
// unfinished multipart uploads anywhere.
func segmentObjects(t *testing.T, cfg objects.Config) (uploads, renditions, partial int) {
	t.Helper()
	c := rawClient(t, cfg)
	ctx := context.Background()
	for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: "segments/", Recursive: true}) {
		switch {
		case o.Err != nil:
		case strings.Contains(o.Key, "/renditions/"):
			renditions++
		default:
			uploads++
		}
	}
	for u := range c.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if u.Err == nil {
			partial++
		}
	}
	return uploads, renditions, partial
}

func dbState(t *testing.T, data string) (segs, uploads int) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(data, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Segments(context.Background(), pipeline.SegmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.StaleUploads(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return len(s), len(u)
}

// TestRestartMidUpload kills the server with SIGKILL while an upload is
// streaming, starts it again, and checks the sweep leaves no object, no
// partial multipart upload and no row behind; then a normal upload works
// through the CLI and `loa segments show` reports it probed.
func TestRestartMidUpload(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	token := in.bootstrap()
	in.start()

	// An upload that sends 20 MiB and then stalls, as a dying link would.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sent := make(chan struct{})
	go func() {
		mw.WriteField("title", "Bị ngắt giữa chừng")
		mw.WriteField("kind", "radio")
		mw.WriteField("topic", "budget")
		w, _ := mw.CreateFormFile("file", "big.wav")
		w.Write(make([]byte, 20<<20))
		close(sent)
	}()
	req, _ := http.NewRequest("POST", in.url+"/api/segments", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-sent
	eventually(t, "the multipart upload reaching MinIO", func() (bool, string) {
		_, partial := bucketState(t, s3)
		_, ups := dbState(t, in.data)
		return partial > 0 && ups == 1, fmt.Sprintf("partial=%d upload rows=%d", partial, ups)
	})
	in.stop(syscall.SIGKILL)
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if segs, ups := dbState(t, in.data); segs != 0 || ups != 1 {
		t.Fatalf("after the kill: %d segments, %d upload rows; want 0 and 1", segs, ups)
	}

	in.start("LOA_UPLOAD_GRACE=1ms")
	eventually(t, "the sweep cleaning the killed upload", func() (bool, string) {
		objs, _, partial := segmentObjects(t, s3)
		segs, ups := dbState(t, in.data)
		return objs+partial+segs+ups == 0, fmt.Sprintf("objects=%d partial=%d segments=%d uploads=%d", objs, partial, segs, ups)
	})

	clip := mediatest.SpeechMP3(t, t.TempDir())
	out, err := in.loa("", "upload", clip, "--title", "Dịch vụ công trực tuyến", "--kind", "radio", "--topic", "digital", "--token", token, "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "uploaded: segment "))
	show, err := in.loa("", "segments", "show", id, "--token", token)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state      probed", "Dịch vụ công trực tuyến", "audio mp3"} {
		if !strings.Contains(strings.Join(strings.Fields(show), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("segments show lacks %q:\n%s", want, show)
		}
	}
	if objs, _ := bucketState(t, s3); objs != 1 {
		t.Fatalf("after one upload: %d objects, want 1", objs)
	}
	// SIGTERM stops the server cleanly.
	in.stop(syscall.SIGTERM)
	if !strings.Contains(in.logs.String(), "shutting down") {
		t.Errorf("no clean shutdown in the logs:\n%s", in.logs)
	}
}

// freePort returns a loopback port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// privateMinIO starts a MinIO of the test's own (so the test may stop it)
// and returns its config and a function that starts it again on the same
// port and data after it was stopped.
func privateMinIO(t *testing.T) (objects.Config, func(), func()) {
	t.Helper()
	bin := os.Getenv("LOA_TEST_MINIO_BIN")
	if bin == "" {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LOA_TEST_MINIO_BIN is not set but LOA_TEST_REQUIRE_SERVICES=1 (make test sets it)")
		}
		t.Skip("LOA_TEST_MINIO_BIN is not set: this test stops and starts its own MinIO (make test sets it)")
	}
	data := t.TempDir()
	port := freePort(t)
	cfg := objects.Config{Endpoint: fmt.Sprintf("127.0.0.1:%d", port), AccessKey: "private-user", SecretKey: "private-secret", Bucket: "loa"}
	var cmd *exec.Cmd
	start := func() {
		cmd = exec.Command(bin, "server", "--quiet", "--address", cfg.Endpoint, "--console-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), data)
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+cfg.AccessKey, "MINIO_ROOT_PASSWORD="+cfg.SecretKey, "MINIO_BROWSER=off")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "MinIO becoming live", func() (bool, string) {
			resp, err := http.Get("http://" + cfg.Endpoint + "/minio/health/live")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == 200, resp.Status
		})
	}
	stop := func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return cfg, start, stop
}

// TestObjectStoreDown stops MinIO under a running server: an upload is
// answered 503 with Retry-After and leaves no row; /readyz says so; once
// MinIO is back, the segment accepted before is intact and uploads work.
func TestObjectStoreDown(t *testing.T) {
	mediatest.Need(t)
	s3, startMinIO, stopMinIO := privateMinIO(t)
	in := newInstance(t, s3)
	token := in.bootstrap()
	in.start()
	dir := t.TempDir()
	clip := mediatest.SpeechMP3(t, dir)
	out, err := in.loa("", "upload", clip, "--title", "Trước khi mất kết nối", "--kind", "radio", "--topic", "digital", "--token", token, "--quiet", "--json")
	if err != nil {
		t.Fatal(err)
	}

	stopMinIO()
	body := func() (io.Reader, string) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			mw.WriteField("title", "Khi MinIO tắt")
			mw.WriteField("kind", "radio")
			mw.WriteField("topic", "digital")
			w, _ := mw.CreateFormFile("file", "b.mp3")
			data, _ := os.ReadFile(mediatest.TVMP4(t, dir))
			w.Write(data)
			pw.CloseWithError(mw.Close())
		}()
		return pr, mw.FormDataContentType()
	}
	r, ct := body()
	req, _ := http.NewRequest("POST", in.url+"/api/segments", r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("upload with MinIO down: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), msg)
	}
	if r, err := http.Get(in.url + "/readyz"); err != nil || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with MinIO down: %v %v", r, err)
	}
	if segs, _ := dbState(t, in.data); segs != 1 {
		t.Fatalf("segments after the refused upload: %d, want 1", segs)
	}

	startMinIO()
	id := strings.SplitN(strings.SplitN(out, `"id": "`, 2)[1], `"`, 2)[0]
	show, err := in.loa("", "segments", "show", id, "--token", token, "--json")
	if err != nil || !strings.Contains(show, `"state": "probed"`) {
		t.Fatalf("segment accepted before the outage: %v\n%s", err, show)
	}
	if _, err := in.loa("", "upload", mediatest.TVMP4(t, dir), "--title", "Sau khi có lại", "--kind", "tv", "--topic", "digital", "--token", token, "--quiet"); err != nil {
		t.Fatalf("upload after MinIO is back: %v", err)
	}
	if objs, partial := bucketState(t, s3); objs != 2 || partial != 0 {
		t.Fatalf("bucket: %d objects, %d partial uploads; want 2 and 0", objs, partial)
	}
}

// segmentRow reads a segment's state and step straight from the database.
func segmentRow(t *testing.T, data, id string) (state, step string) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(data, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Segment(context.Background(), id)
	if err != nil {
		return "", err.Error()
	}
	return string(s.State), s.ProcessStep
}

// TestProcessingSurvivesKill uploads a TV clip, kills the server with
// SIGKILL while ffmpeg runs, starts it again, and checks the segment ends
// processed once: its renditions each stored once, the Vietnamese variant
// ready, no object outside the catalog, and no work folder left.
func TestProcessingSurvivesKill(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	token := in.bootstrap()
	// Short leases: the restarted server takes the killed one's job back
	// once its lease has lapsed (liveness.go), not after LOA_RESCUE_AFTER.
	lease := []string{"LOA_LEASE_EVERY=1s", "LOA_DEAD_AFTER=4s"}
	in.start(lease...)
	id := in.uploadLongTV(token, "Xử lý bị ngắt")
	eventually(t, "ffmpeg running on the segment", func() (bool, string) {
		state, step := segmentRow(t, in.data, id)
		return step == "loudspeaker" || step == "preview" || step == "poster", state + "/" + step
	})
	in.stop(syscall.SIGKILL)
	if state, _ := segmentRow(t, in.data, id); state != "probed" {
		t.Fatalf("state after the kill: %s, want probed (unfinished)", state)
	}

	in.start(lease...)
	eventually(t, "the segment processed after the restart", func() (bool, string) {
		state, step := segmentRow(t, in.data, id)
		return state == "processed", state + "/" + step
	})
	// The poster and preview follow the audio in a job of their own.
	var show string
	var err error
	eventually(t, "the poster and preview made", func() (bool, string) {
		show, err = in.loa("", "segments", "show", id, "--token", token, "--json")
		return err == nil && strings.Contains(show, `"name": "poster_jpg"`) && strings.Contains(show, `"name": "preview_mp4"`), fmt.Sprint(err)
	})
	for _, name := range []string{"loudspeaker_mp3", "loudspeaker_opus", "poster_jpg", "preview_mp4"} {
		if n := strings.Count(show, `"name": "`+name+`"`); n != 1 {
			t.Errorf("rendition %s listed %d times, want once", name, n)
		}
	}
	if !strings.Contains(show, `"language": "vi"`) || !strings.Contains(show, `"audio_key"`) {
		t.Errorf("no Vietnamese variant ready to air:\n%s", show)
	}
	// The restarted worker's ffmpeg runs are timed on the server's /metrics
	// (read with a metrics token, as Prometheus does).
	scraper, err := in.loa("", "token", "create", "--user", "dai-ptth", "--kind", "metrics")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", in.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(scraper))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics with a metrics token: %s", resp.Status)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// (No loudness_measure: the upload measured the loudness.)
	for _, step := range []string{"loudspeaker", "poster", "preview", "probe"} {
		if !strings.Contains(string(metrics), `loa_ffmpeg_seconds_count{outcome="ok",step="`+step+`"}`) {
			t.Errorf("/metrics has no loa_ffmpeg_seconds for step %s", step)
		}
	}
	// Exactly the original and its four renditions are stored.
	if up, rend, partial := segmentObjects(t, s3); up != 1 || rend != 4 || partial != 0 {
		t.Errorf("bucket holds %d uploads, %d renditions and %d partial uploads, want 1, 4 and 0", up, rend, partial)
	}
	entries, _ := os.ReadDir(filepath.Join(in.data, "tmp"))
	if len(entries) != 0 {
		t.Errorf("work folders left: %v", entries)
	}
	// The job ran to completion once more, not twice: one "processed" event.
	db, err := sqlstore.Open(context.Background(), filepath.Join(in.data, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events int
	if err := db.SQL().QueryRow("SELECT COUNT(*) FROM segment_events WHERE segment_id = ? AND action = 'processed'", id).Scan(&events); err != nil || events != 1 {
		t.Errorf("processed events: %d (%v), want 1", events, err)
	}
}
