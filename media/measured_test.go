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

// TestLimitedSpeechOnePass: speech too peaky to reach the loudspeaker
// target by gain alone goes through the limiter; with the loudness
// measured at upload, processing measures the limited signal once (the
// first pre-gain is chosen from the input's crest factor so that it
// lands), encodes once, and the written MP3 and Opus files measure on the
// target and under the true-peak ceiling.
func TestLimitedSpeechOnePass(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	for _, in := range []string{speechWAV(t, dir), speechMP3(t, dir), tvMP4(t, dir)} {
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
		if !res.Loudness.Limited {
			t.Fatalf("%s did not need the limiter (%+v): the test checks nothing", base, res.Loudness)
		}
		if n["loudness_measure"] != 0 || n["limit_measure"] != 1 || n["loudspeaker"] != 1 {
			t.Errorf("%s: ffmpeg runs %v, want no loudness_measure pass, one limit_measure pass and one loudspeaker run", base, n)
		}
		if math.Abs(res.Loudness.OutputI-LoudspeakerLoudness().IntegratedLUFS) > 0.5 {
			t.Errorf("%s: output %.2f LUFS, want -16 ± 0.5", base, res.Loudness.OutputI)
		}
		checkLoudness(t, base+" mp3", mp3, LoudspeakerLoudness())
		checkLoudness(t, base+" opus", opus, LoudspeakerLoudness())
		t.Logf("%s: ffmpeg runs %v, loudness %+v", base, n, res.Loudness)
	}
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
