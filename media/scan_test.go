package media

import (
	"errors"
	"testing"
)

func TestScanAudio(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)

	scan, err := ScanAudio(ctx, speechWAV(t, dir))
	if err != nil {
		t.Fatalf("ScanAudio(speech): %v", err)
	}
	if len(scan.DecodeErrors) != 0 || scan.MaxVolumeDB < -6 || scan.MeanVolumeDB > -6 || scan.MeanVolumeDB < -40 {
		t.Errorf("ScanAudio(speech) = %+v, want clean, loud peaks, quieter mean", scan)
	}

	scan, err = ScanAudio(ctx, silenceWAV(t, dir, "3"))
	if err != nil {
		t.Fatalf("ScanAudio(silence): %v", err)
	}
	if scan.MaxVolumeDB > -80 || len(scan.DecodeErrors) != 0 {
		t.Errorf("ScanAudio(silence) = %+v, want max volume at the floor", scan)
	}

	tv := tvMP4(t, dir) // faststart: index first, so a cut copy still opens
	for _, c := range []struct{ name, path string }{
		{"truncated wav", truncated(t, speechWAV(t, dir), dir, "cut.wav", 0.4)},
		{"truncated mp4", truncated(t, tv, dir, "cut.mp4", 0.6)},
	} {
		scan, err := ScanAudio(ctx, c.path)
		if err != nil {
			t.Errorf("ScanAudio(%s): %v", c.name, err)
			continue
		}
		if len(scan.DecodeErrors) == 0 {
			t.Errorf("ScanAudio(%s) found no decode errors: %+v", c.name, scan)
		}
		t.Logf("%s: %q", c.name, scan.DecodeErrors)
	}

	if _, err := ScanAudio(ctx, videoOnlyMP4(t, dir)); !errors.Is(err, ErrNoAudio) {
		t.Errorf("ScanAudio(video only) = %v, want ErrNoAudio", err)
	}
	if _, err := ScanAudio(ctx, writeFile(t, dir, "empty.wav", nil)); !errors.Is(err, ErrNotMedia) {
		t.Errorf("ScanAudio(empty) = %v, want ErrNotMedia", err)
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]string{
		"[aac @ 0x557c6570fb40] [error] Input buffer exhausted before END element found":              "aac: Input buffer exhausted before END element found",
		"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x557c656bd900] [warning] Packet corrupt (stream = 1, dts = 10).": "mov,mp4,m4a,3gp,3g2,mj2: Packet corrupt (stream = 1, dts = 10).",
		"[error] Error while decoding stream #0:1: Invalid data found when processing input":          "Error while decoding stream #0:1: Invalid data found when processing input",
		"[warning] Guessed Channel Layout for Input Stream #0.0 : mono":                               "",
		"[Parsed_volumedetect_0 @ 0x5611dca58480] [info] max_volume: -0.1 dB":                         "",
		"  Stream #0:0: Audio: pcm_s16le":                                                             "",
	} {
		got, ok := decodeError(line)
		if ok != (want != "") || got != want {
			t.Errorf("decodeError(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}
