package media

import (
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
)

// TestLoudspeakerFilesUnderCeiling makes the loudspeaker renditions of
// several kinds of input and measures each written file's true peak with
// the ebur128 filter (peak=true): none may pass the ceiling, and each is
// at the target ±1 LU. Opus at 24 kb/s overshoots its input's peaks by
// 2 dB and more on low-pitched espeak-ng voices (it wrote -1.2 dBTP
// under a -1.5 ceiling from a -3.5 dBTP signal); the files are measured
// after encoding and one over the ceiling is re-limited. The kinds:
// espeak-ng speech (Vietnamese text in low-pitched French and English
// voices, and the default voice), plucked chords, speech clipped hard at
// full scale, and 8 kHz mono speech.
func TestLoudspeakerFilesUnderCeiling(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	espeak := func(name string, args ...string) string {
		t.Helper()
		return espeakWAV(t, filepath.Join(dir, name), args...)
	}
	gen := func(name string, args ...string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		ffmpegGen(t, append(args, "file:"+out)...)
		return out
	}
	speech := speechWAV(t, dir)
	target := LoudspeakerLoudness()
	for _, in := range []string{
		espeak("fr-low.wav", "-v", "fr", "-s", "200", "-p", "30"),
		espeak("en-low.wav", "-v", "en", "-s", "200", "-p", "30"),
		speech,
		gen("chords.wav", "-f", "lavfi", "-i",
			"aevalsrc='(0.5*sin(2*PI*220*t)+0.3*sin(2*PI*277.2*t)+0.3*sin(2*PI*329.6*t)+0.2*sin(2*PI*1760*t))*exp(-6*mod(t,0.5))':s=44100:d=8"),
		gen("clipped.wav", "-i", "file:"+speech, "-af", "volume=20dB", "-c:a", "pcm_s16le"),
		gen("mono8k.wav", "-i", "file:"+speech, "-ar", "8000", "-ac", "1"),
	} {
		base := filepath.Base(in)
		scan, err := ScanAudio(ctx, in)
		if err != nil || scan.Loudness == nil {
			t.Fatalf("%s: scan %+v %v", base, scan, err)
		}
		var obs observations
		r := NewRunner(Config{Observe: obs.observe})
		mp3, opus := filepath.Join(dir, base+".mp3"), filepath.Join(dir, base+".ogg")
		res, err := r.Loudspeaker(ctx, in, mp3, opus, LoudspeakerOptions{Measured: scan.Loudness})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		n := map[string]int{}
		for _, o := range obs.steps() {
			n[o.step]++
		}
		for _, f := range []struct {
			path string
			rd   *Rendition
		}{{mp3, res.MP3}, {opus, res.Opus}} {
			i, tp := ebur128(t, f.path)
			what := filepath.Base(f.path)
			if tp > target.TruePeakDBTP {
				t.Errorf("%s: true peak %.1f dBTP over the %.1f ceiling", what, tp, target.TruePeakDBTP)
			}
			if math.Abs(i-target.IntegratedLUFS) > 1 {
				t.Errorf("%s: %.1f LUFS, want %.0f ± 1", what, i, target.IntegratedLUFS)
			}
			// The level recorded is the file's.
			if l := f.rd.Level; l == nil || math.Abs(l.IntegratedLUFS-i) > 0.05 || math.Abs(l.TruePeakDBTP-tp) > 0.1 {
				t.Errorf("%s: recorded level %+v, measured %.1f LUFS %.1f dBTP", what, l, i, tp)
			}
			t.Logf("%s: %.1f LUFS, %.1f dBTP", what, i, tp)
		}
		t.Logf("%s: ffmpeg runs %v, loudness %+v", base, n, res.Loudness)
	}
}

// TestEbur128NamedSummary: one check run meters several files, each
// through a named ebur128 instance; a collector with a name reads its own
// summary only, whichever order ffmpeg logs them in.
func TestEbur128NamedSummary(t *testing.T) {
	summary := func(name, i, peak string) string {
		return "[ebur128@" + name + " @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         " + i + " LUFS\n    Threshold: -26.8 LUFS\n\n" +
			"  Loudness range:\n    LRA:         1.3 LU\n    Threshold: -36.8 LUFS\n\n  True peak:\n    Peak:       " + peak + " dBFS\n"
	}
	log := summary("mp3", "-16.4", "-2.9") + summary("opus", "-16.6", "-1.7")
	for _, c := range []struct {
		name    string
		log     string
		i, peak float64
	}{
		{"mp3", log, -16.4, -2.9},
		{"opus", log, -16.6, -1.7},
		{"mp3", summary("opus", "-16.6", "-1.7") + summary("mp3", "-16.4", "-2.9"), -16.4, -2.9},
	} {
		col := ebur128Collector{peak: true, name: c.name}
		for _, l := range strings.Split(c.log, "\n") {
			col.line(l)
		}
		got, err := col.summary()
		if err != nil || got.I != c.i || got.Peak != c.peak {
			t.Errorf("%s: %+v, %v; want I %.1f, peak %.1f", c.name, got, err, c.i, c.peak)
		}
	}
}

// espeakWAV has espeak-ng say mediatest.Text into the WAV file out, with
// its options args (a voice, a speed, a pitch), and returns out.
func espeakWAV(t *testing.T, out string, args ...string) string {
	t.Helper()
	if b, err := exec.Command("espeak-ng", append(append(args, "-w", out), mediatest.Text)...).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, b)
	}
	return out
}
