package media

import (
	"context"
	"math"
	"path/filepath"
	"testing"
)

// TestScanMeasuresLoudnessForLoudspeaker checks that the upload scan
// measures the mono downmix's loudness as the loudspeaker's own measuring
// pass would, and that Loudspeaker given that measurement runs no
// measuring pass and normalizes by it (a measurement shifted by 3 LU
// shifts the output by 3 LU: it is the one used, not a fresh one).
func TestScanMeasuresLoudnessForLoudspeaker(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	// A quiet stereo tone: gain alone reaches -16 LUFS under the ceiling,
	// so no limiter (and no measuring of its output) is needed.
	tone := filepath.Join(dir, "tone.wav")
	ffmpegGen(t, "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-af", "volume=-6dB", "-ac", "2", tone)

	scan, err := ScanAudio(ctx, tone)
	if err != nil {
		t.Fatal(err)
	}
	if scan.Loudness == nil {
		t.Fatalf("ScanAudio measured no loudness: %+v", scan)
	}
	var obs observations
	r := NewRunner(Config{Observe: obs.observe})
	own, err := r.measure(ctx, tone, MonoDownmix)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *scan.Loudness, own.measurement(); got != want {
		t.Errorf("scan measured %+v, the loudspeaker's measuring pass %+v", got, want)
	}

	count := func(step string) int {
		n := 0
		for _, o := range obs.steps() {
			if o.step == step {
				n++
			}
		}
		return n
	}
	shifted := *scan.Loudness
	shifted.IntegratedLUFS += 3
	shifted.ThresholdLUFS += 3
	for _, c := range []struct {
		name     string
		measured *LoudnessMeasurement
		measures int     // measuring passes expected
		outI     float64 // expected output loudness, LUFS
	}{
		{"no stored measurement", nil, 1, -16},
		{"stored at upload", scan.Loudness, 0, -16},
		{"stored, 3 LU louder", &shifted, 0, -19},
	} {
		before := count("loudness_measure")
		res, err := r.Loudspeaker(ctx, tone, filepath.Join(dir, "out.mp3"), filepath.Join(dir, "out.ogg"), LoudspeakerOptions{Measured: c.measured})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if n := count("loudness_measure") - before; n != c.measures {
			t.Errorf("%s: %d measuring passes, want %d", c.name, n, c.measures)
		}
		if math.Abs(res.Loudness.OutputI-c.outI) > 0.7 {
			t.Errorf("%s: output %.2f LUFS, want %.1f", c.name, res.Loudness.OutputI, c.outI)
		}
		if c.measured != nil && res.Loudness.InputI != c.measured.IntegratedLUFS {
			t.Errorf("%s: input loudness %.2f, want the stored %.2f", c.name, res.Loudness.InputI, c.measured.IntegratedLUFS)
		}
	}
	if n := count("loudspeaker"); n != 3 {
		t.Errorf("%d loudspeaker encoding runs for 3 calls, want one run writing both outputs each", n)
	}
}

// TestLimitedSpeechFewPasses: speech too peaky to reach the loudspeaker
// target by gain alone goes through the limiter; with the loudness
// measured at upload, processing measures the limited signal with cheap
// ebur128 passes only (a full loudnorm pass at 192 kHz is about ten times
// one of them: two or three of those were most of processing's time
// beyond bare ffmpeg), encodes once, and still lands on the target.
func TestLimitedSpeechFewPasses(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	speech := speechWAV(t, dir)
	scan, err := ScanAudio(ctx, speech)
	if err != nil || scan.Loudness == nil {
		t.Fatalf("scan: %+v %v", scan, err)
	}
	var obs observations
	r := NewRunner(Config{Observe: obs.observe})
	res, err := r.Loudspeaker(ctx, speech, filepath.Join(dir, "out.mp3"), filepath.Join(dir, "out.ogg"), LoudspeakerOptions{Measured: scan.Loudness})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, o := range obs.steps() {
		n[o.step]++
	}
	if !res.Loudness.Limited {
		t.Fatalf("the speech fixture did not need the limiter (%+v): the test checks nothing", res.Loudness)
	}
	if n["loudness_measure"] != 0 || n["limit_measure"] < 1 || n["limit_measure"] > 3 || n["loudspeaker"] != 1 {
		t.Errorf("ffmpeg runs %v, want no full loudness_measure pass, 1 to 3 limit_measure passes and one loudspeaker run", n)
	}
	if math.Abs(res.Loudness.OutputI-LoudspeakerLoudness().IntegratedLUFS) > 0.5 {
		t.Errorf("output %.2f LUFS, want -16 ± 0.5", res.Loudness.OutputI)
	}
	t.Logf("ffmpeg runs %v, loudness %+v", n, res.Loudness)
}

// loudnormAnalysis runs loudnorm's own first pass over the mono downmix
// of input (the measurement the upload scan used to make), as a
// reference for what the scan measures now.
func loudnormAnalysis(t *testing.T, ctx context.Context, input string) LoudnessMeasurement {
	t.Helper()
	in, err := inputArgs(input)
	if err != nil {
		t.Fatal(err)
	}
	var c loudnormCollector
	args := append(in, "-map", "0:a:0", "-vn", "-af", MonoDownmix+",loudnorm=I=-16:TP=-3.5:LRA=20:print_format=json", "-f", "null", "-")
	if err := NewRunner(Config{}).Run(ctx, Job{Args: args, LogLevel: "info", Stderr: c.line}); err != nil {
		t.Fatal(err)
	}
	s, err := c.stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.measurement()
}

// TestScanLoudnessAgreesWithLoudnorm: the upload scan measures with the
// ebur128 filter at 48 kHz, not with a loudnorm pass at 192 kHz; the
// figures loudnorm's linear pass is given must still be the ones its own
// analysis finds (integrated loudness and gate within 0.25 LU, true peak
// within 0.2 dB), for mono speech, stereo noise with gaps and AAC in MP4.
func TestScanLoudnessAgreesWithLoudnorm(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	for _, in := range []string{speechWAV(t, dir), noiseWAV(t, dir, "6"), tvMP4(t, dir)} {
		scan, err := ScanAudio(ctx, in)
		if err != nil || scan.Loudness == nil {
			t.Fatalf("%s: scan %+v, %v", filepath.Base(in), scan, err)
		}
		got, want := *scan.Loudness, loudnormAnalysis(t, ctx, in)
		if math.Abs(got.IntegratedLUFS-want.IntegratedLUFS) > 0.25 || math.Abs(got.ThresholdLUFS-want.ThresholdLUFS) > 0.25 ||
			math.Abs(got.TruePeakDBTP-want.TruePeakDBTP) > 0.2 {
			t.Errorf("%s: the scan measured %+v, loudnorm's analysis %+v", filepath.Base(in), got, want)
		}
	}
}
