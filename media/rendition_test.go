package media

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// ebur128 measures a file with ffmpeg's own ebur128 filter: integrated
// loudness (LUFS) and true peak (dBTP).
func ebur128(t testing.TB, path string) (integrated, truePeak float64) {
	t.Helper()
	out, err := exec.Command(ffmpegBin, "-nostdin", "-hide_banner", "-nostats", "-i", "file:"+path,
		"-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ebur128 %s: %v\n%s", path, err, out)
	}
	i := regexp.MustCompile(`(?s)Summary:.*?I:\s+(\S+) LUFS`).FindSubmatch(out)
	p := regexp.MustCompile(`(?s)Summary:.*?Peak:\s+(\S+) dBFS`).FindSubmatch(out)
	if i == nil || p == nil {
		t.Fatalf("ebur128 %s: no summary in\n%s", path, out)
	}
	integrated, _ = strconv.ParseFloat(string(i[1]), 64)
	truePeak, _ = strconv.ParseFloat(string(p[1]), 64)
	return integrated, truePeak
}

// noiseWAV writes seconds of stereo pink noise, band-limited to speech
// frequencies and with gaps, like speech.
func noiseWAV(t testing.TB, dir, seconds string) string {
	t.Helper()
	out := filepath.Join(dir, "noise-"+seconds+".wav")
	ffmpegGen(t, "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.3:sample_rate=44100:duration="+seconds,
		"-af", "highpass=f=100,lowpass=f=4000,volume='if(lt(mod(t,1.3),0.9),1,0.02)':eval=frame", "-ac", "2", "file:"+out)
	return out
}

func checkLoudness(t *testing.T, what, path string, target LoudnessTarget) {
	t.Helper()
	i, tp := ebur128(t, path)
	if math.Abs(i-target.IntegratedLUFS) > 1 {
		t.Errorf("%s: integrated %.1f LUFS, want %.1f ±1", what, i, target.IntegratedLUFS)
	}
	if tp > target.TruePeakDBTP {
		t.Errorf("%s: true peak %.1f dBTP over the %.1f ceiling", what, tp, target.TruePeakDBTP)
	}
	t.Logf("%s: %.1f LUFS, %.1f dBTP", what, i, tp)
}

func TestNormalizeBroadcast(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	ctx := testCtx(t)
	for _, src := range []string{speechWAV(t, dir), noiseWAV(t, dir, "4")} {
		out := filepath.Join(dir, "norm-"+filepath.Base(src))
		l, err := r.Normalize(ctx, src, out, NormalizeOptions{Target: BroadcastLoudness()})
		if err != nil {
			t.Fatalf("Normalize(%s): %v", src, err)
		}
		if math.Abs(l.OutputI+23) > 1 || l.OutputTP > -1 || l.InputI > -5 || l.InputI < -40 {
			t.Errorf("Normalize(%s) = %+v, want output -23 LUFS under -1 dBTP", src, l)
		}
		checkLoudness(t, filepath.Base(out), out, BroadcastLoudness())
		info, err := Probe(ctx, out)
		if err != nil || info.Audio.SampleRate != 48000 {
			t.Errorf("output %+v %v, want 48 kHz", info.Audio, err)
		}
	}
}

func TestLoudspeakerRenditions(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	ctx := testCtx(t)
	for _, src := range []string{speechWAV(t, dir), tvMP4(t, dir), noiseWAV(t, dir, "5")} {
		srcInfo, err := Probe(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(src)
		mp3, opus := filepath.Join(dir, base+".loa.mp3"), filepath.Join(dir, base+".loa.ogg")
		begin := time.Now()
		res, err := r.Loudspeaker(ctx, src, mp3, opus, LoudspeakerOptions{})
		if err != nil {
			t.Fatalf("Loudspeaker(%s): %v", base, err)
		}
		t.Logf("%s: %v, loudness %+v", base, time.Since(begin).Round(time.Millisecond), res.Loudness)
		target := LoudspeakerLoudness()
		checkLoudness(t, base+" mp3", mp3, target)
		if !isNoise(base) {
			checkLoudness(t, base+" opus", opus, target)
		} else {
			// Opus at 24k codes broadband noise about 1.2 LU quieter than
			// its input (measured: voip and audio modes alike, 24k and 32k);
			// speech, what loudspeakers carry, loses about 0.3 LU.
			opusNoise := target
			opusNoise.IntegratedLUFS -= 0.7
			checkLoudness(t, base+" opus (noise)", opus, opusNoise)
		}
		for _, c := range []struct {
			rd      *Rendition
			codec   string
			rate    int
			bitRate int64
		}{{res.MP3, "mp3", 44100, 64000}, {res.Opus, "opus", 48000, 24000}} {
			if c.rd == nil {
				t.Fatalf("%s: %s rendition missing", base, c.codec)
			}
			a := c.rd.Audio
			if a == nil || a.Codec != c.codec || a.Channels != 1 || a.SampleRate != c.rate {
				t.Errorf("%s: %s audio = %+v, want mono %d Hz", base, c.codec, a, c.rate)
			}
			if c.rd.BitRate < c.bitRate*8/10 || c.rd.BitRate > c.bitRate*13/10 {
				t.Errorf("%s: %s bit rate %d, want about %d", base, c.codec, c.rd.BitRate, c.bitRate)
			}
			// A video's container duration is the video's; compare audio-only sources.
			if d := (c.rd.Duration - srcInfo.Duration).Abs(); srcInfo.Video == nil && d > 60*time.Millisecond || c.rd.Duration%time.Millisecond != 0 {
				t.Errorf("%s: %s duration %v, source %v", base, c.codec, c.rd.Duration, srcInfo.Duration)
			}
		}
		if d := (res.MP3.Duration - res.Opus.Duration).Abs(); d > 60*time.Millisecond {
			t.Errorf("%s: MP3 lasts %v, Opus %v", base, res.MP3.Duration, res.Opus.Duration)
		}
	}
}

func TestLoudspeakerRefusesSilence(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	mp3 := filepath.Join(dir, "out.mp3")
	_, err := r.Loudspeaker(testCtx(t), silenceWAV(t, dir, "2"), mp3, "", LoudspeakerOptions{})
	if !errors.Is(err, ErrTooQuiet) {
		t.Errorf("Loudspeaker(silence) = %v, want ErrTooQuiet", err)
	}
	if _, err := os.Stat(mp3); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output left after refusal: %v", err)
	}
}

func TestLoudspeakerCancel(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	src := noiseWAV(t, dir, "30")
	mp3, opus := filepath.Join(dir, "out.mp3"), filepath.Join(dir, "out.ogg")
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var cancelledAt time.Time
	opt := LoudspeakerOptions{Progress: func(p Progress) {
		if p.OutTime > 0 && cancelledAt.IsZero() {
			if _, err := os.Stat(mp3); err != nil {
				t.Errorf("no output while encoding: %v", err)
			}
			cancelledAt = time.Now()
			cancel()
		}
	}}
	_, err := r.Loudspeaker(ctx, src, mp3, opus, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Loudspeaker after cancel = %v, want context.Canceled", err)
	}
	if cancelledAt.IsZero() {
		t.Fatal("never reached the encoding pass")
	}
	t.Logf("returned %v after cancel", time.Since(cancelledAt).Round(time.Millisecond))
	for _, p := range []string{mp3, opus} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after cancel: %v", p, err)
		}
	}
}

func TestPosterAndWebPreview(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	ctx := testCtx(t)
	src := filepath.Join(dir, "hd.mp4")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25", "-i", "file:"+speechWAV(t, dir),
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "file:"+src)

	poster, err := r.Poster(ctx, src, filepath.Join(dir, "poster.jpg"), PosterOptions{})
	if err != nil {
		t.Fatalf("Poster: %v", err)
	}
	if poster.Video == nil || poster.Video.Codec != "mjpeg" || poster.Video.Width != 1280 || poster.Video.Height != 720 {
		t.Errorf("poster = %+v %+v, want a 1280x720 JPEG", poster, poster.Video)
	}

	var last Progress
	prev, err := r.WebPreview(ctx, src, filepath.Join(dir, "preview.mp4"), PreviewOptions{Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatalf("WebPreview: %v", err)
	}
	if v := prev.Video; v == nil || v.Codec != "h264" || v.Width != 640 || v.Height != 360 {
		t.Errorf("preview video = %+v, want h264 640x360", v)
	}
	if a := prev.Audio; a == nil || a.Codec != "aac" {
		t.Errorf("preview audio = %+v, want aac", a)
	}
	if prev.Duration < 2900*time.Millisecond || prev.Duration > 3100*time.Millisecond {
		t.Errorf("preview duration %v, want 3s", prev.Duration)
	}
	if !last.Done || last.Fraction() < 0.95 {
		t.Errorf("last progress %+v, want done", last)
	}
	// +faststart: the moov atom comes before mdat.
	b, err := os.ReadFile(prev.Path)
	if err != nil {
		t.Fatal(err)
	}
	moov, mdat := indexOf(b, "moov"), indexOf(b, "mdat")
	if moov < 0 || mdat < 0 || moov > mdat {
		t.Errorf("moov at %d, mdat at %d: not faststart", moov, mdat)
	}

	if _, err := r.Poster(ctx, speechWAV(t, dir), filepath.Join(dir, "none.jpg"), PosterOptions{}); err == nil {
		t.Error("Poster of an audio file succeeded")
	}
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

func TestFitWidth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ w, h, max, ww, wh int }{
		{1920, 1080, 640, 640, 360}, {320, 240, 640, 320, 240}, {721, 481, 640, 640, 426}, {1080, 1920, 640, 640, 1138},
	} {
		if w, h := fitWidth(c.w, c.h, c.max); w != c.ww || h != c.wh {
			t.Errorf("fitWidth(%d,%d,%d) = %d,%d want %d,%d", c.w, c.h, c.max, w, h, c.ww, c.wh)
		}
	}
}

func isNoise(name string) bool { return len(name) > 5 && name[:6] == "noise-" }
