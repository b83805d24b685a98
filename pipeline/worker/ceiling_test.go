package worker

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
)

// storedLevel measures a stored object's integrated loudness (LUFS) and
// true peak (dBTP, as the ebur128 filter logs it) from the store.
func storedLevel(t *testing.T, store *objects.Store, key string) (float64, float64) {
	t.Helper()
	url, err := store.InternalURL(context.Background(), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", url, "-map", "0:a:0",
		"-af", "ebur128=peak=true", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ebur128 %s: %v\n%s", key, err, out)
	}
	i := regexp.MustCompile(`(?s)Summary:.*?I:\s+(\S+) LUFS`).FindSubmatch(out)
	p := regexp.MustCompile(`(?s)Summary:.*?Peak:\s+(\S+) dBFS`).FindSubmatch(out)
	if i == nil || p == nil {
		t.Fatalf("ebur128 %s: no summary in\n%s", key, out)
	}
	lufs, _ := strconv.ParseFloat(string(i[1]), 64)
	tp, _ := strconv.ParseFloat(string(p[1]), 64)
	return lufs, tp
}

// TestStoredLoudspeakerRenditionsUnderCeiling uploads espeak-ng speech in
// low-pitched voices (whose Opus rendition at 24 kb/s overshot the signal
// it was given by 2.3 dB and was stored at -1.2 dBTP, over the -1.5
// ceiling), processes it, and measures each stored loudspeaker rendition
// from the store with ffmpeg's ebur128 filter: under the true-peak
// ceiling, at -16 ± 1 LUFS, and its facts record its own measured level.
func TestStoredLoudspeakerRenditionsUnderCeiling(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	target := media.LoudspeakerLoudness()
	for _, voice := range []string{"fr", "en"} {
		clip := filepath.Join(b.dir, voice+"-low.wav")
		mediatest.Need(t)
		if out, err := exec.Command("espeak-ng", "-v", voice, "-s", "200", "-p", "30", "-w", clip, mediatest.Text).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v\n%s", err, out)
		}
		facts, err := media.Inspector{}.Inspect(ctx, clip, pipeline.KindRadio)
		if err != nil {
			t.Fatal(err)
		}
		seg := b.seedMeasured(t, "low-"+voice, clip, facts.Loudness)
		if err := b.p.Process(ctx, seg.ID); err != nil {
			t.Fatalf("%s: %v", voice, err)
		}
		rs := renditionNames(t, b.db, seg.ID)
		for _, name := range []string{"vi/loudspeaker_mp3", "vi/loudspeaker_opus"} {
			i, tp := storedLevel(t, b.store, rs[name].Key)
			if tp > target.TruePeakDBTP {
				t.Errorf("%s %s: stored with a true peak of %.1f dBTP, over the %.1f ceiling", voice, name, tp, target.TruePeakDBTP)
			}
			if math.Abs(i-target.IntegratedLUFS) > 1 {
				t.Errorf("%s %s: stored at %.1f LUFS, want %.0f ± 1", voice, name, i, target.IntegratedLUFS)
			}
			var loud media.Loudness
			if err := json.Unmarshal(rs[name].Facts, &loud); err != nil {
				t.Fatal(err)
			}
			if math.Abs(loud.OutputTP-tp) > 0.1 || math.Abs(loud.OutputI-i) > 0.05 {
				t.Errorf("%s %s: facts say %.2f LUFS %.2f dBTP, the file measures %.1f LUFS %.1f dBTP", voice, name, loud.OutputI, loud.OutputTP, i, tp)
			}
			t.Logf("%s %s: %.1f LUFS, %.1f dBTP", voice, name, i, tp)
		}
	}
}
