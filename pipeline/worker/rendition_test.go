package worker

import (
	"reflect"
	"testing"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestRenditionArgs: an approved subtitle job queues the subtitle
// renditions of the approved file, a voice-over job the voice-over
// rendition with the approver recorded.
func TestRenditionArgs(t *testing.T) {
	t.Parallel()
	sub := translation.Submission{Key: "segments/s1/jobs/j1/2.srt"}
	tests := []struct {
		name string
		job  translation.Job
		want river.JobArgs
	}{
		{"subtitle", translation.Job{ID: "j1", SegmentID: "s1", Language: "blt", Kind: translation.KindSubtitle},
			RenderSubtitlesArgs{SegmentID: "s1", Language: "blt", SubtitleKey: sub.Key, JobID: "j1"}},
		{"voiceover", translation.Job{ID: "j1", SegmentID: "s1", Language: "hnj", Kind: translation.KindVoiceover},
			RenderVoiceoverArgs{SegmentID: "s1", Language: "hnj", SourceKey: sub.Key, JobID: "j1", ApprovedBy: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenditionArgs(tt.job, sub, 7); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RenditionArgs = %#v, want %#v", got, tt.want)
			}
		})
	}
}
