package worker

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// flakyObjects fails every Get, as an object store that is down does.
type flakyObjects struct{ ProcessObjects }

var errStoreDown = errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")

func (flakyObjects) Get(context.Context, string) (io.ReadCloser, error) { return nil, errStoreDown }

// work runs one processing job the way River does, on its first attempt.
func work(t *testing.T, p *Processor, id string) error {
	t.Helper()
	w := &processWorker{p: p}
	return w.Work(context.Background(), &river.Job[ProcessSegmentArgs]{
		JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args:   ProcessSegmentArgs{SegmentID: id},
	})
}

// TestPermanentAndRetryable: an error that comes from the input fails the
// segment at once with its reason and cancels the job (River does not
// retry it); an error of the machine (the store down) leaves the segment
// as it was and is returned for River to retry. Inputs: a file ffmpeg
// cannot read, silence too quiet to normalize. (Subtitles with bad times
// fail only their renditions, at once: TestRenditionsFailIndependently.)
func TestPermanentAndRetryable(t *testing.T) {
	t.Parallel()
	b := setupProcessor(t)
	ctx := context.Background()
	garbage := filepath.Join(b.dir, "garbage.mp3")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not audio ", 5000)), 0o600); err != nil {
		t.Fatal(err)
	}
	silent := mediatest.Generate(t, b.dir, "silent.wav", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3")
	speech := mediatest.SpeechMP3(t, b.dir)
	tests := []struct {
		name, file, srt string
		reason          []string // parts of the recorded reason
	}{
		{"media ffmpeg cannot read", garbage, "", []string{"loudspeaker", "not a readable media file"}},
		{"too quiet", silent, "", []string{"loudspeaker", "too quiet"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg := b.seed(t, "perm"+string(rune('a'+i)), tt.file, pipeline.KindRadio, tt.srt, "vi")
			err := work(t, b.p, seg.ID)
			var cancel *river.JobCancelError
			if !errors.As(err, &cancel) || !errors.Is(err, ErrPermanent) {
				t.Fatalf("job error %v: want a cancelled job (no retry)", err)
			}
			got, err := b.db.Segment(ctx, seg.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != pipeline.StateFailed {
				t.Fatalf("state %s, want failed", got.State)
			}
			for _, r := range tt.reason {
				if !strings.Contains(got.ProcessError, r) {
					t.Errorf("reason %q lacks %q", got.ProcessError, r)
				}
			}
		})
	}

	t.Run("object store down", func(t *testing.T) {
		seg := b.seed(t, "transient", speech, pipeline.KindRadio, "", "vi")
		p := *b.p
		p.Objects = flakyObjects{b.p.Objects}
		err := work(t, &p, seg.ID)
		var cancel *river.JobCancelError
		if err == nil || errors.As(err, &cancel) || errors.Is(err, ErrPermanent) || !errors.Is(err, errStoreDown) {
			t.Fatalf("job error %v: want the store's error, to be retried", err)
		}
		got, _ := b.db.Segment(ctx, seg.ID)
		if got.State == pipeline.StateFailed || got.ProcessError != "" {
			t.Fatalf("a transient error failed the segment: %+v", got)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		seg := b.seed(t, "slow", speech, pipeline.KindRadio, "", "vi")
		tctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		<-tctx.Done()
		err := b.p.Process(tctx, seg.ID)
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Fatalf("process error %v: want a retryable error", err)
		}
		got, _ := b.db.Segment(ctx, seg.ID)
		if got.State == pipeline.StateFailed {
			t.Fatalf("a timeout failed the segment: %+v", got)
		}
	})
}
