package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestUploadSubtitlesAgainstTheMedia runs `loa upload` with subtitle files
// against a 10 s TV clip: cues after its end are refused with their lines,
// the media's end and what to do, and nothing is kept; a cue ending 300 ms
// past it is accepted with the warning printed; a radio segment's file is
// kept and the producer is told it is the translators' transcript, with
// no subtitle track.
func TestUploadSubtitlesAgainstTheMedia(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	producer := in.bootstrap()
	in.start()
	clip := "../../pipeline/worker/testdata/R-tv-clip-640x360-10s.mp4"

	out, errOut, code := in.run3(producer, "upload", clip, "--title", "Quá giờ", "--kind", "tv", "--topic", "procedures",
		"--subtitles", "../../pipeline/testdata/H-past-end-vi.srt", "--quiet")
	if code == 0 {
		t.Fatalf("cues after the end were accepted:\n%s", out)
	}
	for _, part := range []string{
		"line 9, cue 3: error past-end: cue 3 runs 00:00:08,500 --> 00:00:12,000, 2000 ms past the end of the media at 00:00:10,000",
		"line 13, cue 4: error past-end: cue 4 starts at 00:00:12,500, after the media ends at 00:00:10,000",
		"the one made for this media",
	} {
		if !strings.Contains(errOut, part) {
			t.Errorf("refusal lacks %q:\n%s", part, errOut)
		}
	}
	if list := in.must(producer, "segments", "list"); strings.Contains(list, "Quá giờ") {
		t.Errorf("the refused upload is listed:\n%s", list)
	}

	out = in.must(producer, "upload", clip, "--title", "Sát giờ", "--kind", "tv", "--topic", "procedures",
		"--subtitles", "../../pipeline/testdata/H-near-end-vi.srt", "--quiet")
	for _, part := range []string{"subtitles: accepted with 1 warning(s)", "line 5, cue 2: warning past-end: cue 2 ends at 00:00:10,300, 300 ms after the media ends at 00:00:10,000"} {
		if !strings.Contains(out, part) {
			t.Errorf("upload output lacks %q:\n%s", part, out)
		}
	}

	dir := t.TempDir()
	transcript := filepath.Join(dir, "vi.srt")
	if err := os.WriteFile(transcript, []byte("1\n00:00:00,500 --> 00:00:03,000\nCải cách hành chính\n\n2\n00:00:03,500 --> 00:00:06,500\nlà nhiệm vụ trọng tâm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = in.must(producer, "upload", mediatest.SpeechMP3(t, dir), "--title", "Phát thanh", "--kind", "radio", "--topic", "procedures",
		"--subtitles", transcript, "--quiet")
	if !strings.Contains(out, "kept as the transcript its voice-over translators read") {
		t.Errorf("the radio upload does not say what its subtitles are for:\n%s", out)
	}
}
