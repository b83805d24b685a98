package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestJobsGetRefusesUnknownLanguage: the job's language names files on
// the translator's machine, so a server answer with a path in it writes
// nothing.
func TestJobsGetRefusesUnknownLanguage(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(api.JobDetailView{Detail: translation.Detail{Job: translation.Job{ID: "j1", Language: "../thoat"}}})
	}))
	t.Cleanup(srv.Close)
	work := filepath.Join(dir, "work")
	code, stderr := runLoa(t, "jobs", "get", "j1", "--dir", work, "--server", srv.URL, "--token", "t")
	if code != 3 || !strings.Contains(stderr, `"../thoat"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files written: %v", entries)
	}
}
