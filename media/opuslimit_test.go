package media

import (
	"path/filepath"
	"testing"
)

// TestOrdinarySpeechNoRelimit makes the loudspeaker renditions of
// ordinary speech, the kind the benchmark and most uploads carry: espeak-ng
// saying the Vietnamese text in the default voice and in the Vietnamese
// voice, looped to 40 s, as WAV and as a 96 kb/s MP3 (a radio upload).
// Opus at 24 kb/s overshoots such speech by about as much headroom as the
// shared chain leaves, so before Opus had its own limiter its files landed
// at the -1.5 dBTP ceiling and both files were re-limited and encoded
// again. Now no "loudspeaker_relimit" run may happen, the Opus file must
// stay clear of the ceiling (at most -2.0 dBTP) and both files must be at
// -16 ± 1 LUFS.
func TestOrdinarySpeechNoRelimit(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	var inputs []string
	for _, v := range []struct{ name, voice string }{{"default", ""}, {"vi", "vi"}} {
		var args []string
		if v.voice != "" {
			args = []string{"-v", v.voice}
		}
		wav := espeakWAV(t, filepath.Join(dir, v.name+"-once.wav"), args...)
		loop := filepath.Join(dir, v.name+".wav")
		ffmpegGen(t, "-stream_loop", "-1", "-i", "file:"+wav, "-t", "40", "-c:a", "pcm_s16le", "file:"+loop)
		mp3 := filepath.Join(dir, v.name+"-radio.mp3")
		ffmpegGen(t, "-i", "file:"+loop, "-ac", "1", "-b:a", "96k", "file:"+mp3)
		inputs = append(inputs, loop, mp3)
	}
	target := LoudspeakerLoudness()
	for _, in := range inputs {
		base := filepath.Base(in)
		scan, err := ScanAudio(ctx, in)
		if err != nil || scan.Loudness == nil {
			t.Fatalf("%s: scan %+v %v", base, scan, err)
		}
		var obs observations
		r := NewRunner(Config{Observe: obs.observe})
		mp3, opus := filepath.Join(dir, base+".out.mp3"), filepath.Join(dir, base+".out.ogg")
		res, err := r.Loudspeaker(ctx, in, mp3, opus, LoudspeakerOptions{Measured: scan.Loudness})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		n := map[string]int{}
		for _, o := range obs.steps() {
			n[o.step]++
		}
		if n["loudspeaker_relimit"] != 0 || n["loudspeaker"] != 1 {
			t.Errorf("%s: ffmpeg runs %v: want one loudspeaker encode and no re-limit", base, n)
		}
		for _, f := range []struct {
			path string
			max  float64
		}{{mp3, target.TruePeakDBTP}, {opus, -2.0}} {
			i, tp := ebur128(t, f.path)
			what := filepath.Base(f.path)
			if tp > f.max {
				t.Errorf("%s: true peak %.1f dBTP, want <= %.1f", what, tp, f.max)
			}
			if i < target.IntegratedLUFS-1 || i > target.IntegratedLUFS+1 {
				t.Errorf("%s: %.1f LUFS, want %.0f ± 1", what, i, target.IntegratedLUFS)
			}
			t.Logf("%s: %.1f LUFS, %.1f dBTP", what, i, tp)
		}
		t.Logf("%s: ffmpeg runs %v, loudness %+v", base, n, res.Loudness)
	}
}
