package worker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestProcessPhaseInverted is the bug report's I reaching processing (an
// upload accepted before the check at the door): the segment fails at
// once, shown at the step that failed (making the loudspeaker audio, not
// "reading the original"), with a reason the producer understands.
func TestProcessPhaseInverted(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	seg := b.seed(t, "i1", "testdata/I-phase-inverted-stereo.wav", pipeline.KindRadio, "", "vi")
	err := work(t, b.p, seg.ID)
	var cancel *river.JobCancelError
	if !errors.As(err, &cancel) {
		t.Fatalf("job error %v: want a cancelled job", err)
	}
	got, err := b.db.Segment(context.Background(), seg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != pipeline.StateFailed || got.ProcessStep != "loudspeaker" {
		t.Errorf("state %s at step %q, want failed at loudspeaker", got.State, got.ProcessStep)
	}
	if !strings.Contains(got.ProcessError, "the two channels cancel when mixed to mono") {
		t.Errorf("reason %q does not say the channels cancel", got.ProcessError)
	}
}
