package main

import (
	"bytes"
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

// TestUploadOfGrowingFileNotToTerminal uploads a file that grows while it
// is sent (the server appends to it before reading the body, as a file
// still being recorded would), with stderr not a terminal: the whole file
// arrives, nothing panics, and stderr holds no carriage-return lines.
func TestUploadOfGrowingFileNotToTerminal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dang-ghi.mp3")
	const first, more = 32 << 20, 8 << 20
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xAA}, first), 0o644); err != nil {
		t.Fatal(err)
	}
	var received int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.Write(bytes.Repeat([]byte{0xBB}, more))
		f.Close()
		mr, err := r.MultipartReader()
		if err != nil {
			t.Error(err)
			return
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			n, _ := io.Copy(io.Discard, part)
			if part.FormName() == "file" {
				received = n
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(api.UploadResponse{SegmentView: api.SegmentView{Segment: pipeline.Segment{ID: "s1", Title: "Đang ghi"}}})
	}))
	t.Cleanup(srv.Close)
	code, stderr := runLoa(t, "upload", path, "--title", "Đang ghi", "--kind", "radio", "--topic", "procedures",
		"--server", srv.URL, "--token", "t")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	if received != first+more {
		t.Fatalf("the server received %d bytes of the file, want %d", received, first+more)
	}
	if strings.Contains(stderr, "\r") {
		t.Fatalf("progress lines went to a stderr that is not a terminal: %q", stderr)
	}
}

// TestBarPastItsTotal draws a bar (as on a terminal) for a 100-byte file
// that gives 300 bytes: the total grows with it and the bar ends full.
func TestBarPastItsTotal(t *testing.T) {
	var out bytes.Buffer
	bar := newBar(&out, "Uploading", 100)
	n, err := io.Copy(io.Discard, &barReader{r: io.LimitReader(zeros{}, 300), bar: bar})
	if err != nil || n != 300 {
		t.Fatalf("copied %d, %v", n, err)
	}
	endBar(bar, &out, true)
	if got := bar.GetMax64(); got != 300 {
		t.Errorf("the bar's total is %d, want 300", got)
	}
	if s := out.String(); !strings.Contains(s, "\r") || !strings.Contains(s, "100%") || !strings.Contains(s, "300 B") {
		t.Errorf("the bar did not end full at 300 B: %q", s)
	}
	if progressTo(&out, false) != io.Discard {
		t.Error("progressTo draws on a buffer, which is not a terminal")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
