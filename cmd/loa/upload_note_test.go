package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// TestUploadDuplicateNote: 'loa upload' of a file uploaded before prints
// what the server's answer says was not used, and the commands that put it
// in force, not a blanket "everything was not used".
func TestUploadDuplicateNote(t *testing.T) {
	const id = "0193-seg"
	seg := api.SegmentView{Segment: pipeline.Segment{ID: id, Title: "Nộp hồ sơ", Kind: pipeline.KindRadio}}
	tests := []struct {
		name   string
		answer api.UploadResponse
		want   []string
		not    []string
	}{
		{"nothing differs", api.UploadResponse{SegmentView: seg, Duplicate: true, Message: "kept"},
			[]string{"segment " + id + ", kept as first uploaded; everything sent now matches it"}, []string{"not used"}},
		{"title, priority and subtitles differ", api.UploadResponse{SegmentView: seg, Duplicate: true, Message: "kept",
			NotUsed: []string{"title", "priority", "subtitles"},
			Replace: []api.ReplaceStep{
				{Fields: []string{"priority"}, Method: "PUT", Path: "/api/segments/" + id + "/priority", Body: json.RawMessage(`{"priority":"priority"}`)},
				{Fields: []string{"title", "subtitles"}, Method: "DELETE", Path: "/api/segments/" + id + "?confirm=" + id, Then: "POST /api/segments"},
			}},
			[]string{"not used from this upload: title, priority, subtitles",
				"for the priority, loa segments priority " + id + " priority",
				"for the title, subtitles, loa segments withdraw " + id + " --yes, then upload again"}, nil},
		{"a server that does not say", api.UploadResponse{SegmentView: seg, Duplicate: true},
			[]string{"the title, details and subtitles sent now were not used"}, nil},
	}
	clip := filepath.Join(t.TempDir(), "a.mp3")
	if err := os.WriteFile(clip, []byte("ID3 not really audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				json.NewEncoder(w).Encode(tc.answer)
			}))
			t.Cleanup(srv.Close)
			t.Setenv("LOA_SERVER", srv.URL)
			t.Setenv("LOA_TOKEN", "loa_test")
			var stdout, stderr bytes.Buffer
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
			code := run(context.Background(), env, []string{"upload", clip, "--title", "Tiêu đề khác", "--kind", "radio", "--topic", "procedures", "--quiet"})
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			out := stdout.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output says %q:\n%s", w, out)
				}
			}
		})
	}
}
