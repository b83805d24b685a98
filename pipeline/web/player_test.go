package web

import (
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// TestPlayerRadioTranscript: the segment page's player says why a radio
// segment sent with a subtitle file shows no subtitle track (the file is
// its translators' transcript), and says nothing of the kind for TV or for
// radio without one.
func TestPlayerRadioTranscript(t *testing.T) {
	t.Parallel()
	audio := api.RenditionView{Rendition: pipeline.Rendition{Language: "vi", Name: "loudspeaker_mp3"}, URL: "http://s/a.mp3"}
	preview := api.RenditionView{Rendition: pipeline.Rendition{Language: "vi", Name: "preview_mp4"}, URL: "http://s/p.mp4"}
	tests := []struct {
		name       string
		kind       pipeline.Kind
		subtitles  string
		renditions []api.RenditionView
		want       bool
	}{
		{"radio with a transcript", pipeline.KindRadio, "segments/x/subtitles/vi-source", []api.RenditionView{audio}, true},
		{"radio without one", pipeline.KindRadio, "", []api.RenditionView{audio}, false},
		{"tv with subtitles", pipeline.KindTV, "segments/x/subtitles/vi-source", []api.RenditionView{preview, audio}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := api.SegmentView{Segment: pipeline.Segment{Kind: tt.kind, SubtitleKey: tt.subtitles}, Renditions: tt.renditions}
			p := playerFor(v)
			if p == nil {
				t.Fatal("no player")
			}
			if p.Transcript != tt.want {
				t.Errorf("Transcript = %v, want %v", p.Transcript, tt.want)
			}
		})
	}
}
