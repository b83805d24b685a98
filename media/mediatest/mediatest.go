// Package mediatest makes real media fixtures for tests with ffmpeg and
// espeak-ng: Vietnamese speech, a TV clip, silence, video without sound,
// cut-short files. Tests that use it need ffmpeg; Need skips (or, under
// `make test`, fails) when it is missing.
package mediatest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Text is the Vietnamese sentence the speech fixtures say.
const Text = "Cải cách hành chính là nhiệm vụ trọng tâm của tỉnh Sơn La. " +
	"Người dân có thể nộp hồ sơ trực tuyến và nhận kết quả qua bưu điện."

// Need skips the test under -short (make test/short runs no tools) and
// when ffmpeg, ffprobe or espeak-ng is missing, unless
// LOA_TEST_REQUIRE_SERVICES=1 (set by `make test`), where it fails.
func Need(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test runs ffmpeg")
	}
	for _, bin := range []string{"ffmpeg", "ffprobe", "espeak-ng"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s is not on PATH but LOA_TEST_REQUIRE_SERVICES=1 (make deps installs it)", bin)
			}
			t.Skipf("%s is not on PATH: this test runs the real tool (make deps installs it)", bin)
		}
	}
}

// FFmpeg runs ffmpeg with args and fails the test on error.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	cmd := exec.Command("ffmpeg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
}

// SpeechWAV writes about 8 s of Vietnamese speech (espeak-ng) into dir.
func SpeechWAV(t testing.TB, dir string) string {
	t.Helper()
	Need(t)
	out := filepath.Join(dir, "speech.wav")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if b, err := exec.Command("espeak-ng", "-v", "vi", "-w", out, Text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	return out
}

// SpeechMP3 writes the speech as a mono 64 kb/s MP3.
func SpeechMP3(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "speech.mp3")
	FFmpeg(t, "-i", SpeechWAV(t, dir), "-ac", "1", "-b:a", "64k", out)
	return out
}

// TVMP4 writes a 320x240 H.264 + AAC clip with the speech as its sound.
func TVMP4(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "tv.mp4")
	FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", SpeechWAV(t, dir), "-shortest",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", out)
	return out
}

// Generate writes a file made by ffmpeg from a lavfi source description,
// for odd fixtures (silence, video without sound, huge frames).
func Generate(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	Need(t)
	out := filepath.Join(dir, name)
	FFmpeg(t, append(args, out)...)
	return out
}

// Truncated writes the first frac of src's bytes to a new file.
func Truncated(t testing.TB, src string, frac float64) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(src, filepath.Ext(src)) + "-cut" + filepath.Ext(src)
	if err := os.WriteFile(out, b[:int(float64(len(b))*frac)], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
