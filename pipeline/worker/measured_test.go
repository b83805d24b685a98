package worker

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// stepCounter counts media.Config.Observe calls by step.
type stepCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *stepCounter) observe(step string, _ time.Duration, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[step]++
}

// take returns the counts so far and starts again from zero.
func (c *stepCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// TestUploadLoudnessUsedByProcessing inspects a clip as upload does,
// stores the segment with what the inspection measured, and processes it:
// processing runs no measuring pass and the loudspeaker renditions record
// the stored loudness as their input's. A segment stored without a
// measurement (uploaded before it was made) is measured by processing,
// to the same figures.
func TestUploadLoudnessUsedByProcessing(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	steps := &stepCounter{n: map[string]int{}}
	b.p.Runner = media.NewRunner(media.Config{Observe: steps.observe})
	ctx := context.Background()
	// A tone that gain alone brings to the target: no peak limiter, whose
	// output processing would have to measure.
	clip := mediatest.Generate(t, b.dir, "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
		"-af", "volume=-6dB", "-ac", "2", "-b:a", "128k")

	facts, err := media.Inspector{}.Inspect(ctx, clip, pipeline.KindRadio)
	if err != nil {
		t.Fatal(err)
	}
	if facts.Loudness == nil {
		t.Fatalf("the upload inspection measured no loudness: %+v", facts)
	}
	measured := *facts.Loudness
	for _, c := range []struct {
		id       string
		stored   *media.LoudnessMeasurement
		measures int
	}{
		{"uploaded-now", &measured, 0},
		{"uploaded-before", nil, 1},
	} {
		seg := b.seedMeasured(t, c.id, clip, c.stored)
		if got, _ := b.db.Segment(ctx, seg.ID); (got.Loudness == nil) != (c.stored == nil) || (c.stored != nil && *got.Loudness != *c.stored) {
			t.Fatalf("%s: stored loudness %+v, want %+v", c.id, got.Loudness, c.stored)
		}
		steps.take()
		if err := b.p.Process(ctx, seg.ID); err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		n := steps.take()
		if n["loudness_measure"] != c.measures || n[media.StepScan] != 0 || n["loudspeaker"] != 1 {
			t.Errorf("%s: ffmpeg runs %v, want %d loudness_measure, no scan, one loudspeaker run writing both files", c.id, n, c.measures)
		}
		rs := renditionNames(t, b.db, seg.ID)
		for _, name := range []string{"vi/loudspeaker_mp3", "vi/loudspeaker_opus"} {
			var loud media.Loudness
			if err := json.Unmarshal(rs[name].Facts, &loud); err != nil {
				t.Fatalf("%s %s facts %s: %v", c.id, name, rs[name].Facts, err)
			}
			if loud.InputI != measured.IntegratedLUFS || loud.InputTP != measured.TruePeakDBTP || loud.InputLRA != measured.LRA {
				t.Errorf("%s %s: input loudness %+v, want the upload's %+v", c.id, name, loud, measured)
			}
		}
	}
}

// seedMeasured stores path as a radio segment's original and records the
// segment with the loudness the upload measured (nil: none).
func (b *procBundle) seedMeasured(t *testing.T, id, path string, loud *media.LoudnessMeasurement) pipeline.Segment {
	t.Helper()
	seg := b.segment(id, pipeline.KindRadio, "vi")
	seg.ContentType, seg.Loudness = "audio/mpeg", loud
	return b.seedSegment(t, path, "", seg)
}
