package media

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestLimitedOutputLinearUnderCeiling normalizes peaky inputs (gain alone
// would pass the true-peak ceiling, so the limiter runs) and checks what
// the limited path guarantees: loudnorm normalized linearly (ErrNotLinear
// otherwise), the output's true peak is under the ceiling (as reported,
// and as the ebur128 filter measures the written file), and the loudness
// is at the target. The limited signal is measured by the ebur128 filter
// at the limiter's rate, not by a loudnorm pass at 192 kHz: only the
// input's measuring pass is a loudness_measure. The last input has
// inter-sample peaks 3 dB over its sample peaks (bursts of a
// quarter-sample-rate tone sampled at 45°): the limiter, working on
// samples, leaves them over its limit, and its measured true peak must
// hold the output under the ceiling.
func TestLimitedOutputLinearUnderCeiling(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	speech := speechWAV(t, dir)
	music := filepath.Join(dir, "music.wav")
	// Plucked chords: sharp attacks decaying over half a second.
	ffmpegGen(t, "-f", "lavfi", "-i",
		"aevalsrc='(0.5*sin(2*PI*220*t)+0.3*sin(2*PI*277.2*t)+0.3*sin(2*PI*329.6*t)+0.2*sin(2*PI*1760*t))*exp(-6*mod(t,0.5))':s=44100:d=8",
		"file:"+music)
	bursts := filepath.Join(dir, "intersample.wav")
	ffmpegGen(t, "-i", "file:"+speech, "-f", "lavfi", "-i",
		"aevalsrc='0.9*sin(2*PI*11025*t+PI/4)*lt(mod(t,0.7),0.01)':s=44100:d=8",
		"-filter_complex", "[0:a]aresample=44100,volume=-8dB[s];[s][1:a]amix=inputs=2:normalize=0:duration=first", "file:"+bursts)
	target := LoudnessTarget{IntegratedLUFS: -16, TruePeakDBTP: -3.5, LRA: 20}
	for _, c := range []struct {
		name string
		path string
	}{
		{"speech", speech},
		{"TV clip (AAC in MP4)", tvMP4(t, dir)},
		{"plucked chords", music},
		{"inter-sample peaks", bursts},
	} {
		var obs observations
		r := NewRunner(Config{Observe: obs.observe})
		out := filepath.Join(dir, "norm-"+filepath.Base(c.path)+".wav")
		l, err := r.Normalize(ctx, c.path, out, NormalizeOptions{Target: target, Mono: true})
		if errors.Is(err, ErrNotLinear) {
			t.Errorf("%s: not linear: %v", c.name, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := map[string]int{}
		for _, o := range obs.steps() {
			n[o.step]++
		}
		t.Logf("%s: %+v, ffmpeg runs %v", c.name, l, n)
		if !l.Limited {
			t.Errorf("%s: the limiter did not run (%+v): the case checks nothing", c.name, l)
		}
		if l.OutputTP > target.TruePeakDBTP {
			t.Errorf("%s: output true peak %.2f dBTP over the %.1f ceiling", c.name, l.OutputTP, target.TruePeakDBTP)
		}
		if math.Abs(l.OutputI-target.IntegratedLUFS) > 0.5 {
			t.Errorf("%s: output %.2f LUFS, want %.1f ± 0.5", c.name, l.OutputI, target.IntegratedLUFS)
		}
		// One full measuring pass of the input (no stored measurement);
		// the limited signal is measured by limit_measure passes only.
		if n["loudness_measure"] != 1 || n["limit_measure"] < 1 || n["limit_measure"] > 3 || n["normalize"] != 1 {
			t.Errorf("%s: ffmpeg runs %v, want 1 loudness_measure, 1 to 3 limit_measure, 1 normalize", c.name, n)
		}
		i, tp := ebur128(t, out)
		if tp > target.TruePeakDBTP {
			t.Errorf("%s: the written file's true peak %.1f dBTP is over the %.1f ceiling", c.name, tp, target.TruePeakDBTP)
		}
		if math.Abs(i-target.IntegratedLUFS) > 0.5 {
			t.Errorf("%s: the written file measures %.1f LUFS, want %.1f ± 0.5", c.name, i, target.IntegratedLUFS)
		}
	}
}

// FuzzEbur128Summary feeds arbitrary ffmpeg log lines to the ebur128
// summary parser: it must not panic, and a summary it accepts has the
// figures it was given in range.
func FuzzEbur128Summary(f *testing.F) {
	f.Add("[Parsed_ebur128_3 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -16.8 LUFS\n    Threshold: -26.8 LUFS\n\n  Loudness range:\n    LRA:         1.3 LU\n    Threshold: -36.8 LUFS\n    LRA low:   -17.4 LUFS\n    LRA high:  -16.1 LUFS\n\n  True peak:\n    Peak:       -3.7 dBFS\n")
	f.Add("[Parsed_ebur128_0 @ 0x2] Summary:\n  Integrated loudness:\n    I: -70.0 LUFS\n    Threshold: -70.0 LUFS\n")
	f.Fuzz(func(t *testing.T, log string) {
		for _, peak := range []bool{false, true} {
			c := ebur128Collector{peak: peak}
			for _, l := range strings.Split(log, "\n") {
				c.line(l)
			}
			if s, err := c.summary(); err == nil && (s.I <= -70 || s.Threshold <= -70 || math.IsNaN(s.I) || math.IsNaN(s.LRA)) {
				t.Errorf("accepted summary %+v", s)
			}
		}
	})
}

// TestEbur128Summary reads the summary ebur128 logs, with and without
// the true peak, and refuses a log without one or with nothing gated.
func TestEbur128Summary(t *testing.T) {
	const withPeak = "[Parsed_ebur128_1 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -70.0 LUFS\n    Threshold: -70.0 LUFS\n\n  Loudness range:\n    LRA:         0.0 LU\n    Threshold: -70.0 LUFS\n    LRA low:   -70.0 LUFS\n    LRA high:  -70.0 LUFS\n\n  True peak:\n    Peak:       -inf dBFS\n" +
		"[Parsed_ebur128_3 @ 0x2] Summary:\n\n  Integrated loudness:\n    I:         -16.8 LUFS\n    Threshold: -26.8 LUFS\n\n  Loudness range:\n    LRA:         1.3 LU\n    Threshold: -36.8 LUFS\n    LRA low:   -17.4 LUFS\n    LRA high:  -16.1 LUFS\n\n  True peak:\n    Peak:       -3.7 dBFS\n"
	for _, c := range []struct {
		name string
		log  string
		peak bool
		want ebur128Summary
		ok   bool
	}{
		{"last summary, with true peak", withPeak, true, ebur128Summary{I: -16.8, Threshold: -26.8, LRA: 1.3, Peak: -3.7}, true},
		{"without true peak", strings.Split(withPeak, "\n\n  True peak:")[0], false, ebur128Summary{I: -70, Threshold: -70}, false},
		{"true peak wanted, none logged", "[Parsed_ebur128_3 @ 0x2] Summary:\n  Integrated loudness:\n    I: -16.8 LUFS\n    Threshold: -26.8 LUFS\n  Loudness range:\n    LRA: 1.3 LU\n", true, ebur128Summary{}, false},
		{"sample peak", strings.Replace(withPeak, "True peak:", "Sample peak:", 2), true, ebur128Summary{I: -16.8, Threshold: -26.8, LRA: 1.3, Peak: -3.7}, true},
		{"no summary", "size=N/A time=00:00:05.00\n", false, ebur128Summary{}, false},
	} {
		col := ebur128Collector{peak: c.peak}
		for _, l := range strings.Split(c.log, "\n") {
			col.line(l)
		}
		got, err := col.summary()
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%s: %+v, %v; want %+v (ok %v)", c.name, got, err, c.want, c.ok)
		}
	}
}
