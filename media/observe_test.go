package media

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
)

// observation is one call of Config.Observe.
type observation struct {
	step string
	d    time.Duration
	err  error
}

// observations collects Config.Observe calls; safe for concurrent use.
type observations struct {
	mu   sync.Mutex
	list []observation
}

func (o *observations) observe(step string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, observation{step, d, err})
}

func (o *observations) steps() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.list)
}

// TestRunnerObserve runs real ffmpeg and ffprobe on a tiny generated TV
// clip and checks that every run is reported with its step, a duration
// and its outcome: success, failure and cancellation.
func TestRunnerObserve(t *testing.T) {
	mediatest.Need(t)
	dir := t.TempDir()
	clip := mediatest.TVMP4(t, dir)
	var obs observations
	r := NewRunner(Config{Observe: obs.observe})
	ctx := testCtx(t)

	begin := time.Now()
	if _, err := r.Poster(ctx, clip, filepath.Join(dir, "poster.jpg"), PosterOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Loudspeaker(ctx, clip, filepath.Join(dir, "out.mp3"), "", LoudspeakerOptions{}); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(begin)
	got := map[string]int{}
	for _, o := range obs.steps() {
		if o.err != nil {
			t.Errorf("step %s observed with error %v", o.step, o.err)
		}
		if o.d <= 0 || o.d > wall {
			t.Errorf("step %s observed taking %s (the calls took %s)", o.step, o.d, wall)
		}
		got[o.step]++
	}
	for _, step := range []string{"poster", "loudness_measure", "loudspeaker", StepProbe} {
		if got[step] == 0 {
			t.Errorf("step %s not observed; got %v", step, got)
		}
	}

	// A job without a step that fails is observed as "ffmpeg" with its error.
	before := len(obs.steps())
	err := r.Run(ctx, Job{Args: []string{"-f", "lavfi", "-i", "no_such_source", "-f", "null", "-"}})
	if err == nil {
		t.Fatal("a bad source ran")
	}
	list := obs.steps()
	if len(list) != before+1 || list[before].step != StepFFmpeg || list[before].err == nil {
		t.Fatalf("failed run observed as %+v", list[before:])
	}

	// A cancelled run is observed with an error matching context.Canceled.
	cctx, cancel := context.WithCancel(ctx)
	started := make(chan struct{})
	var once sync.Once
	job := Job{Step: "slow", Args: []string{"-re", "-f", "lavfi", "-i", "anoisesrc=duration=30", "-f", "null", "-"},
		Progress: func(Progress) { once.Do(func() { close(started) }) }}
	done := make(chan error, 1)
	go func() { done <- r.Run(cctx, job) }()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("no progress within 20s")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	list = obs.steps()
	last := list[len(list)-1]
	if last.step != "slow" || !errors.Is(last.err, context.Canceled) || last.d <= 0 {
		t.Fatalf("cancelled run observed as %+v", last)
	}
}
