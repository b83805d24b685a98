package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// TestDuplicateSaysWhatWasNotUsed: the answer to bytes the producer
// uploaded before names, field by field, what was sent and not used (the
// kept segment is the first upload), with the requests that put it in
// force; following them does.
func TestDuplicateSaysWhatWasNotUsed(t *testing.T) {
	mediatest.Need(t)
	// The air windows below are in March 2025: the clocks stand there.
	store, _ := objectstest.New(t)
	b := setupAt(t, store, nil, broadcasttest.Clock(broadcasttest.Monday))
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	srt := []byte("1\n00:00:00,000 --> 00:00:02,000\nCải cách hành chính\n")
	first := append(radioFields("Nộp hồ sơ trực tuyến"), [2]string{"languages", "vi,blt"}, [2]string{"air_from", "2025-03-01"})
	status, kept, bad := b.upload(t, pipeline.RoleProducer, first, nil, "a.mp3", speech)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d %+v", status, bad)
	}
	id := kept.ID
	tests := []struct {
		name      string
		fields    [][2]string
		subtitles []byte
		notUsed   []string
		steps     []string // method and path of each step
	}{
		{"the same again", first, nil, nil, nil},
		{"the same with languages in another order and the date as a time",
			append(radioFields("Nộp hồ sơ trực tuyến"), [2]string{"languages", "blt,vi,blt"}, [2]string{"air_from", "2025-03-01T00:00:00+07:00"}), nil, nil, nil},
		{"only what is required", [][2]string{{"title", "Nộp hồ sơ trực tuyến"}, {"kind", "radio"}, {"topic", "procedures"}}, nil, nil, nil},
		{"another title and subtitles", radioFields("Tiêu đề khác"), srt, []string{"title", "subtitles"},
			[]string{"DELETE /api/segments/" + id + "?confirm=" + id}},
		{"another priority", append(radioFields("Nộp hồ sơ trực tuyến")[:3], [2]string{"priority", "priority"}), nil, []string{"priority"},
			[]string{"PUT /api/segments/" + id + "/priority"}},
		{"other topic, languages, window and priority",
			[][2]string{{"title", "Nộp hồ sơ trực tuyến"}, {"kind", "radio"}, {"topic", "digital"}, {"priority", "priority"},
				{"languages", "hnj"}, {"air_from", "2025-03-02"}, {"air_until", "2025-04-01"}},
			nil, []string{"topic", "priority", "languages", "air_from", "air_until"},
			[]string{"PUT /api/segments/" + id + "/priority", "DELETE /api/segments/" + id + "?confirm=" + id}},
	}
	var last api.UploadResponse
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, res, bad := b.upload(t, pipeline.RoleProducer, tc.fields, tc.subtitles, "b.mp3", speech)
			if status != http.StatusOK || !res.Duplicate || res.ID != id {
				t.Fatalf("%d %+v %+v, want 200 duplicate of %s", status, res, bad, id)
			}
			if !slices.Equal(res.NotUsed, tc.notUsed) {
				t.Errorf("not_used %q, want %q", res.NotUsed, tc.notUsed)
			}
			var steps []string
			covered := map[string]bool{}
			for _, s := range res.Replace {
				steps = append(steps, s.Method+" "+s.Path)
				for _, f := range s.Fields {
					covered[f] = true
				}
			}
			if !slices.Equal(steps, tc.steps) {
				t.Errorf("replace steps %q, want %q", steps, tc.steps)
			}
			for _, f := range tc.notUsed {
				if !covered[f] {
					t.Errorf("no replace step covers %s: %+v", f, res.Replace)
				}
			}
			if !strings.Contains(res.Message, id) || (len(tc.notUsed) > 0 && !strings.Contains(res.Message, "not used")) {
				t.Errorf("message %q", res.Message)
			}
			last = res
		})
	}

	// Following the last answer's steps puts what it sent in force.
	tok := b.tokens[pipeline.RoleProducer]
	for _, s := range last.Replace {
		r, body := b.do(t, s.Method, s.Path, tok, bytes.NewReader(s.Body), "application/json")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", s.Method, s.Path, r.StatusCode, body)
		}
		if s.Method == http.MethodPut {
			var v api.SegmentView
			if err := json.Unmarshal(body, &v); err != nil || v.Priority != pipeline.PriorityPriority {
				t.Fatalf("after %s: priority %q (%v)", s.Path, v.Priority, err)
			}
		}
		if s.Then != "POST /api/segments" {
			continue
		}
		status, again, bad := b.upload(t, pipeline.RoleProducer, tests[len(tests)-1].fields, nil, "b.mp3", speech)
		if status != http.StatusCreated || again.Duplicate || again.ID == id || again.Topic != "digital" || !slices.Equal(again.Languages, []string{"hnj"}) {
			t.Fatalf("upload after the withdrawal: %d %+v %+v, want a new segment with what was sent", status, again, bad)
		}
	}
}
