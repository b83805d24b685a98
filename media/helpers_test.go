package media

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vietnameseText is what espeak-ng reads for speech fixtures.
const vietnameseText = "Cải cách hành chính là nhiệm vụ trọng tâm của tỉnh Sơn La. " +
	"Người dân có thể nộp hồ sơ trực tuyến và nhận kết quả qua bưu điện."

// needFFmpeg skips the test when ffmpeg or ffprobe is not installed, and
// under -short, which runs no tools (make test/short).
func needFFmpeg(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test runs ffmpeg")
	}
	for _, bin := range []string{ffmpegBin, ffprobeBin} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not on PATH: these tests run the real tool (Debian: apt-get install ffmpeg)", bin)
		}
	}
}

// testCtx bounds a test's ffmpeg runs by the test binary's deadline (go
// test -timeout), less a margin to report which run was slow, instead of a
// fixed budget a busy machine (t.Parallel on two shared cores) can
// overrun while the test as a whole still has time.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), testDeadline(t))
	t.Cleanup(cancel)
	return ctx
}

// runCtx bounds one ffmpeg run over media of the given length: two
// minutes plus 30 times the length (slower than real time on a busy
// machine), and never past testCtx's deadline.
func runCtx(t testing.TB, length time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), runBudget(length))
	t.Cleanup(cancel)
	return ctx
}

// runBudget is runCtx's budget for media of the given length.
func runBudget(length time.Duration) time.Duration {
	return 2*time.Minute + 30*max(length, 0)
}

// testDeadline is t's deadline less a tenth (at most 30 s) for cleanup and
// reporting; without one, go test's default 10 minutes.
func testDeadline(t testing.TB) time.Time {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			return dl.Add(-min(time.Until(dl)/10, 30*time.Second))
		}
	}
	return time.Now().Add(10 * time.Minute)
}

// ffmpegGen runs ffmpeg to make a fixture and fails the test on error.
func ffmpegGen(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	cmd := exec.Command(ffmpegBin, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
}

// speechWAV writes Vietnamese speech (about 7 s, 22050 Hz mono) from
// espeak-ng into dir, or pink noise bursts when espeak-ng is missing.
func speechWAV(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "speech.wav")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if _, err := exec.LookPath("espeak-ng"); err == nil {
		cmd := exec.Command("espeak-ng", "-v", "vi", "-w", out, vietnameseText)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v\n%s", err, b)
		}
		return out
	}
	t.Logf("espeak-ng not on PATH: using gated pink noise instead of speech")
	ffmpegGen(t, "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.5:duration=6:sample_rate=22050",
		"-af", "volume='if(lt(mod(t,1),0.7),1,0.05)':eval=frame", "-ac", "1", "file:"+out)
	return out
}

// speechMP3 encodes the speech fixture as a 128k MP3.
func speechMP3(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "speech.mp3")
	ffmpegGen(t, "-i", "file:"+speechWAV(t, dir), "-c:a", "libmp3lame", "-b:a", "128k", "file:"+out)
	return out
}

// tvMP4 makes a 320x240 25 fps H.264 + AAC video with the speech as sound.
func tvMP4(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "tv.mp4")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", "file:"+speechWAV(t, dir),
		"-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "file:"+out)
	return out
}

// silenceWAV writes seconds of digital silence at 44100 Hz stereo.
func silenceWAV(t testing.TB, dir string, seconds string) string {
	t.Helper()
	out := filepath.Join(dir, "silence.wav")
	ffmpegGen(t, "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", seconds, "file:"+out)
	return out
}

// videoOnlyMP4 makes a 2 s video without an audio stream.
func videoOnlyMP4(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "noaudio.mp4")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "file:"+out)
	return out
}

// truncated copies the first fraction of src into dir/name.
func truncated(t testing.TB, src, dir, name string, fraction float64) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, b[:int(float64(len(b))*fraction)], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// copyFile copies src to dir/name and returns the path.
func copyFile(t testing.TB, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, b)
}

// TestBudgets: a run's budget grows with the media's length and never
// passes the test binary's deadline, so a long fixture on a busy machine
// gets the time it needs and a short -timeout still ends the run in time
// to say which one was slow.
func TestBudgets(t *testing.T) {
	t.Parallel()
	if short, long := runBudget(time.Second), runBudget(10*time.Minute); short < time.Minute || long < 10*short {
		t.Errorf("budgets %v (1 s of media), %v (10 min): want at least a minute, growing with the length", short, long)
	}
	ctx := runCtx(t, time.Hour)
	got, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	if dl, ok := t.Deadline(); ok && (!got.Before(dl) || got.Before(dl.Add(-31*time.Second))) {
		t.Errorf("run deadline %v, test deadline %v: want shortly before it", got, dl)
	}
}
