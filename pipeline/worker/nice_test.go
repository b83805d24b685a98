package worker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestBackgroundWorkYieldsCPU: the ffmpeg work no emergency waits for (a
// normal segment's audio, a TV segment's poster and preview) runs at
// BackgroundNice through the runner New makes, while a priority
// segment's audio runs at the worker's own niceness, so an emergency
// processed beside TV work gets the CPU first.
func TestBackgroundWorkYieldsCPU(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("niceness is set on Linux only")
	}
	b := setupProcessor(t)
	ctx := context.Background()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("needs ffmpeg")
	}
	// ffmpeg behind a script that logs its niceness before running the
	// real one; the test marks in the log which work follows.
	dir := t.TempDir()
	log := filepath.Join(dir, "runs.log")
	wrapper := filepath.Join(dir, "ffmpeg")
	script := "#!/bin/sh\nawk '{print $19}' /proc/$$/stat >> " + log + "\nexec " + ffmpeg + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	ownNice := strings.Fields(string(own)[strings.LastIndexByte(string(own), ')')+2:])[19-3]
	if n, err := strconv.Atoi(ownNice); err != nil || n >= BackgroundNice {
		t.Skipf("the test runs at niceness %s already", ownNice)
	}
	b.p.Runner = media.NewRunner(media.Config{FFmpegPath: wrapper})
	if _, err := New(Config{DB: b.db.SQL(), Catalog: b.db, Objects: b.store, SweepSpec: "0 0 1 1 *", Processor: b.p}); err != nil {
		t.Fatal(err)
	}
	b.seed(t, "tv", "testdata/M-tv-clip-640x360.mp4", pipeline.KindTV, "", "vi")
	b.seed(t, "pr", mediatest.SpeechMP3(t, b.dir), pipeline.KindRadio, "", "vi")
	if _, err := b.db.SetPriority(ctx, "pr", b.user.ID, pipeline.PriorityPriority); err != nil {
		t.Fatal(err)
	}
	mark := func(what string) {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString("== " + what + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		what string
		run  func() error
	}{
		{"tv audio", func() error { return b.p.Process(ctx, "tv") }},
		{"priority audio", func() error { return b.p.Process(ctx, "pr") }},
		{"tv extras", func() error { return b.p.RenderExtras(ctx, "tv") }},
	} {
		mark(step.what)
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
	}
	runs, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tv audio": "10", "priority audio": ownNice, "tv extras": "10"}
	what, seen := "", map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(runs)), "\n") {
		if w, ok := strings.CutPrefix(line, "== "); ok {
			what = w
			continue
		}
		seen[what]++
		if line != want[what] {
			t.Errorf("%s: an ffmpeg run at niceness %s, want %s", what, line, want[what])
		}
	}
	for w := range want {
		if seen[w] == 0 {
			t.Errorf("%s: no ffmpeg run logged:\n%s", w, runs)
		}
	}
}
