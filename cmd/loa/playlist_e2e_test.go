package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/schedules"
)

// run3 runs a loa command against the instance and returns its stdout,
// stderr and exit code.
func (in *instance) run3(token string, args ...string) (string, string, int) {
	in.t.Helper()
	cmd := exec.Command(loaBin, args...)
	cmd.Env = append(in.env(), "LOA_SERVER="+in.url, "LOA_TOKEN="+token)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func (in *instance) must(token string, args ...string) string {
	in.t.Helper()
	out, errOut, code := in.run3(token, args...)
	if code != 0 {
		in.t.Fatalf("loa %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (in *instance) userToken(name, role, commune string) string {
	in.t.Helper()
	if _, err := in.loa("mat-khau-dai-du\n", "user", "add", "--name", name, "--role", role, "--commune", commune, "--password-stdin"); err != nil {
		in.t.Fatal(err)
	}
	tok, err := in.loa("", "token", "create", "--user", name)
	if err != nil {
		in.t.Fatal(err)
	}
	return strings.TrimSpace(tok)
}

// mpvPlays runs Debian's mpv on a playlist and returns the PLAYING lines;
// it fails the test unless mpv exits 0.
func mpvPlays(t *testing.T, dir, playlist string) []string {
	t.Helper()
	if _, err := exec.LookPath("mpv"); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("mpv is missing (make deps installs it)")
		}
		t.Skip("mpv is missing (make deps installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mpv", "--no-video", "--ao=null", "--quiet", "--term-playing-msg=PLAYING ${filename}", "--playlist="+playlist)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mpv %s: %v\n%s", playlist, err, out)
	}
	var playing []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "PLAYING ") {
			playing = append(playing, l)
		}
	}
	return playing
}

func extinf(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#EXTM3U\n") {
		t.Fatalf("%s is not an M3U8:\n%s", path, data)
	}
	return strings.Count(string(data), "#EXTINF:")
}

// TestPlaylistEndToEnd: ready variants (rows plus real MP3s in MinIO) →
// the nightly build run directly with a given clock → `loa playlist pull`
// → mpv plays the bundle's M3U8 and the presigned one to the end →
// a broken download resumes, an unchanged bundle is not fetched again, a
// tampered file is refused by verify, and a failed pull leaves the
// previous bundle in place.
func TestPlaylistEndToEnd(t *testing.T) {
	mediatest.Need(t)
	store, s3 := objectstest.New(t)
	in := newInstance(t, s3)
	in.bootstrap()
	admin := in.userToken("so-noi-vu", "admin", "")
	// In process: the test writes rows through the server's own store
	// and runs the server's own schedule service.
	in.startInProcess()
	ctx := context.Background()
	db := in.app.DB
	// The server's own nightly build runs when it starts (River's
	// RunOnStart); let it pass before the data arrives.
	loc := broadcast.Location()
	today := schedules.DateOf(time.Now().In(loc))
	eventually(t, "the start-up nightly build", func() (bool, string) {
		c, err := db.BeginBuild(ctx, "nightly/"+today.String(), "e2e-probe", time.Minute)
		if c.Claimed {
			db.FinishBuild(ctx, "nightly/"+today.String(), "e2e-probe", 0, 0, true)
		}
		return err == nil && c.Done, fmt.Sprintf("%+v %v", c, err)
	})
	broadcasttest.LoadRegistry(t, db, "../../schedules/testdata/sonla-demo.yaml")
	op := in.userToken("xa-muong-lan", "operator", "muong-lan") // a commune code, checked at creation
	clip := mediatest.SpeechMP3(t, t.TempDir())
	producer, err := db.UserByName(ctx, "dai-ptth")
	if err != nil {
		t.Fatal(err)
	}
	for i, langs := range [][]string{{"vi", "blt"}, {"vi", "blt", "hnj"}, {"vi"}} {
		broadcasttest.AddReady(t, db, store, producer, broadcasttest.Segment{
			Title: fmt.Sprintf("Dịch vụ công trực tuyến, phần %d", i+1), Languages: langs, Audio: clip, AirFrom: time.Now().Add(-48 * time.Hour)})
	}

	// The nightly job of tomorrow, run directly with the clock it is
	// given (00:30 tomorrow); asked twice, it builds once.
	now := today.AddDays(1).In(loc).Add(30 * time.Minute)
	svc := in.app.Schedules
	jobs := broadcast.Jobs{S: svc}
	if err := jobs.Nightly(ctx, now); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Nightly(ctx, now.Add(time.Minute))
	if err != nil || !res.Skipped {
		t.Fatalf("the nightly build ran twice for one date: %+v %v", res, err)
	}

	// The first date of the bundle with something to play (no slots on Sunday).
	date := today.AddDays(1)
	if date.Weekday() == time.Sunday {
		date = date.AddDays(1)
	}
	dir := filepath.Join(t.TempDir(), "muong-lan")
	pullArgs := []string{"playlist", "pull", "--commune", "muong-lan", "--days", "2", "--from", date.String(), "--dir", dir}
	out := in.must(op, pullArgs...)
	if !strings.Contains(out, "verified") {
		t.Fatalf("pull: %s", out)
	}
	if out := in.must("", "playlist", "verify", dir); !strings.HasPrefix(out, "OK: Mường Lạn") {
		t.Fatalf("verify: %s", out)
	}
	m3u := date.String() + "_trung-tam.m3u8"
	want := extinf(t, filepath.Join(dir, m3u))
	if want == 0 {
		t.Fatalf("%s has no items; explain:\n%s", m3u, in.must(op, "schedule", "explain", "--commune", "muong-lan", "--cluster", "trung-tam"))
	}
	if got := mpvPlays(t, dir, m3u); len(got) != want {
		t.Fatalf("mpv played %d of %d items from the bundle: %v", len(got), want, got)
	}

	// The same playlist with presigned links, straight from the API.
	req, _ := http.NewRequest("GET", in.url+"/api/communes/muong-lan/clusters/trung-tam/playlists/"+date.String()+".m3u8", nil)
	req.Header.Set("Authorization", "Bearer "+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		t.Fatalf("playlist: %d %s", resp.StatusCode, body)
	}
	links := filepath.Join(t.TempDir(), "links.m3u8")
	os.WriteFile(links, body, 0o644)
	if got := mpvPlays(t, filepath.Dir(links), links); len(got) != want || !strings.Contains(got[0], "X-Amz-Signature") {
		t.Fatalf("mpv played %d of %d presigned items: %v", len(got), want, got)
	}

	// Nothing changed: nothing is downloaded.
	if out := in.must(op, pullArgs...); !strings.Contains(out, "up to date") {
		t.Fatalf("second pull: %s", out)
	}

	// A broken download resumes with a Range request.
	var manifest schedules.Manifest
	data, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	json.Unmarshal(data, &manifest)
	var media schedules.ManifestFile
	for _, f := range manifest.Files {
		if strings.HasPrefix(f.Path, "media/") {
			media = f
		}
	}
	full, _ := os.ReadFile(filepath.Join(dir, media.Path))
	os.RemoveAll(dir)
	os.MkdirAll(dir+".partial", 0o755)
	os.WriteFile(filepath.Join(dir+".partial", media.SHA256), full[:len(full)/2], 0o644)
	out, errOut, code := in.run3(op, pullArgs...)
	if code != 0 || !strings.Contains(errOut, "resumed "+media.Path+" from byte") {
		t.Fatalf("resumed pull: exit %d\n%s%s", code, out, errOut)
	}
	in.must("", "playlist", "verify", dir)

	// A tampered media file is refused, naming the file.
	tampered := filepath.Join(dir, media.Path)
	full[len(full)/3] ^= 0xff
	os.WriteFile(tampered, full, 0o644)
	out, errOut, code = in.run3("", "playlist", "verify", dir)
	if code == 0 || !strings.Contains(errOut, tampered) || !strings.Contains(errOut, "checksum") {
		t.Fatalf("verify of a tampered bundle: exit %d\n%s%s", code, out, errOut)
	}
	// A pull that fails (a corrupt download) leaves the previous bundle.
	before, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	os.MkdirAll(dir+".partial", 0o755)
	if err := os.WriteFile(filepath.Join(dir+".partial", media.SHA256), full, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = in.run3(op, pullArgs...)
	if code == 0 || !strings.Contains(errOut, "left as it was") {
		t.Fatalf("pull with a corrupt download: exit %d\n%s%s", code, out, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	if string(before) != string(after) {
		t.Fatal("the failed pull changed the bundle")
	}
	if _, err := os.Stat(dir + ".staging"); !os.IsNotExist(err) {
		t.Fatalf("staging folder left behind: %v", err)
	}
	// Pulling again repairs the bundle.
	in.must(op, pullArgs...)
	in.must("", "playlist", "verify", dir)

	// Proof of play through the CLI's show, and the builder's reasons.
	if out := in.must(op, "schedule", "show", "--commune", "muong-lan", "--date", date.String(), "--cluster", "trung-tam"); !strings.Contains(out, "Dịch vụ công trực tuyến") {
		t.Fatalf("schedule show: %s", out)
	}
	if out := in.must(op, "schedule", "explain", "--commune", "muong-lan", "--cluster", "trung-tam"); !strings.Contains(out, "normal: topic") {
		t.Fatalf("schedule explain: %s", out)
	}
	// The registry file imports through the CLI (unchanged: no new version).
	if out := in.must(admin, "communes", "import", "../../schedules/testdata/sonla-demo.yaml"); !strings.Contains(out, "imported 7 communes (0 new)") {
		t.Fatalf("import: %s", out)
	}
	// The operator of Mường Lạn cannot pull another commune.
	if _, errOut, code := in.run3(op, "playlist", "pull", "--commune", "to-hieu", "--dir", filepath.Join(t.TempDir(), "x")); code == 0 || !strings.Contains(errOut, "No commune") {
		t.Fatalf("operator pulling another commune: exit %d %s", code, errOut)
	}
}
