package media

import (
	"path/filepath"
	"testing"
)

// TestLimiterOnePassOnLongAAC: seven and a half minutes of AAC-coded
// speech (a TV clip's sound) has rare peaks between samples that the
// decoder makes. A limiter that limits the samples at 48 kHz left them
// 0.45 dB over its limit, more than the first pre-gain allows for, so the
// loudness reachable fell 0.4 LU short and the limited signal was
// measured a second time. The limiter runs at twice the rate, where the
// samples show those peaks: the first pre-gain lands and the limited
// signal is measured once.
func TestLimiterOnePassOnLongAAC(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	in := filepath.Join(dir, "tv-sound.m4a")
	ffmpegGen(t, "-stream_loop", "-1", "-i", "file:"+speechWAV(t, dir), "-t", "450", "-c:a", "aac", "file:"+in)
	scan, err := ScanAudio(ctx, in)
	if err != nil || scan.Loudness == nil {
		t.Fatalf("scan %+v %v", scan, err)
	}
	var obs observations
	r := NewRunner(Config{Observe: obs.observe})
	target := LoudspeakerLoudness()
	target.TruePeakDBTP -= LossyHeadroomDB
	plan, err := r.planNormalize(ctx, in, MonoDownmix, target, scan.Loudness)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, o := range obs.steps() {
		n[o.step]++
	}
	if !plan.limited {
		t.Fatalf("the limiter did not run (%+v): the case checks nothing", plan)
	}
	if n["limit_measure"] != 1 {
		t.Errorf("ffmpeg runs %v, want one limit_measure pass", n)
	}
	if reach := plan.input.InputI + plan.gainDB; reach < target.IntegratedLUFS-limiterShortLU {
		t.Errorf("reaches %.2f LUFS, want within %.1f LU of %.1f", reach, limiterShortLU, target.IntegratedLUFS)
	}
	t.Logf("ffmpeg runs %v, plan %+v", n, plan)
}
