package media

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChannelsCancel: the upload checks measure the mono downmix the
// loudspeakers play. Stereo whose channels cancel in it is refused with a
// reason a producer understands, however loud the channels are; stereo
// that merely differs between channels is accepted. Sources: the bug
// report's I (right is left inverted, WAV), the same inversion through a
// lossy joint-stereo MP3, a right channel at 90 % of the inverted left
// (partial cancellation), and as controls unrelated noise in each channel,
// speech in one channel only, and mono speech.
func TestChannelsCancel(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	dir := t.TempDir()
	speech := speechWAV(t, dir)
	invertedMP3 := filepath.Join(dir, "inverted.mp3")
	ffmpegGen(t, "-i", "file:"+filepath.Join("testdata", "I-phase-inverted-stereo.wav"), "-c:a", "libmp3lame", "-b:a", "128k", "-joint_stereo", "1", "file:"+invertedMP3)
	partial := filepath.Join(dir, "partial.wav")
	ffmpegGen(t, "-i", "file:"+speech, "-af", "pan=stereo|c0=c0|c1=-0.9*c0", "file:"+partial)
	unrelated := filepath.Join(dir, "unrelated.wav")
	ffmpegGen(t, "-f", "lavfi", "-i", "anoisesrc=d=4:c=pink:a=0.3:seed=1", "-f", "lavfi", "-i", "anoisesrc=d=4:c=pink:a=0.3:seed=2",
		"-filter_complex", "[0][1]join=inputs=2:channel_layout=stereo", "file:"+unrelated)
	oneSided := filepath.Join(dir, "one-sided.wav")
	ffmpegGen(t, "-i", "file:"+speech, "-af", "pan=stereo|c0=c0|c1=0*c0", "file:"+oneSided)

	tests := []struct {
		name, path string
		cancels    bool
	}{
		{"I phase-inverted WAV", filepath.Join("testdata", "I-phase-inverted-stereo.wav"), true},
		{"inverted through joint-stereo MP3", invertedMP3, true},
		{"right is 90% of left inverted", partial, true},
		{"unrelated noise per channel", unrelated, false},
		{"speech in the left channel only", oneSided, false},
		{"mono speech", speech, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, scan, err := Inspect(runCtx(t, 10*time.Second), tt.path, KindRadio, Limits{})
			var ref *Refusal
			refused := errors.As(err, &ref)
			if err != nil && !refused {
				t.Fatalf("inspect: %v", err)
			}
			if !tt.cancels {
				if err != nil {
					t.Fatalf("refused: %v (scan %+v)", err, scan)
				}
				if scan.MonoMaxVolumeDB < -60 || scan.MonoMeanVolumeDB == 0 {
					t.Errorf("mono downmix not measured: %+v", scan)
				}
				return
			}
			if !refused || ref.Code != RefuseCancels {
				t.Fatalf("got %v, want a %s refusal", err, RefuseCancels)
			}
			if !strings.Contains(ref.Reason, "the two channels cancel when mixed to mono") {
				t.Errorf("reason %q does not say the channels cancel", ref.Reason)
			}
		})
	}
}

// TestLoudspeakerSaysChannelsCancel: a phase-inverted file that reached
// processing (accepted before the upload check) fails as an input error
// that says why, not as "-inf LUFS".
func TestLoudspeakerSaysChannelsCancel(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	dir := t.TempDir()
	_, err := NewRunner(Config{}).Loudspeaker(runCtx(t, 10*time.Second), filepath.Join("testdata", "I-phase-inverted-stereo.wav"), filepath.Join(dir, "out.mp3"), "", LoudspeakerOptions{})
	if err == nil || !IsInputError(err) || !errors.Is(err, ErrTooQuiet) || !strings.Contains(err.Error(), "the two channels cancel when mixed to mono") {
		t.Fatalf("got %v, want an input error saying the channels cancel", err)
	}
}
