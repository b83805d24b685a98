package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestJobHistoryInReadersLanguage: the system's entries of a job's
// history are said in the page's language, durations as people say them
// ("72 giờ", "3 days") and never as Go writes them (72h0m0s); an entry
// recorded before notes existed is shown as stored.
func TestJobHistoryInReadersLanguage(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	job := b.subtitleJob(t) // normal priority: due in 72 h
	if _, err := b.db.SQL().ExecContext(ctx, `INSERT INTO job_events (job_id, at, actor_id, action, from_state, to_state, reason)
		VALUES (?, ?, 0, 'open', '', 'open', 'segment processed; due in 72h0m0s (normal)')`, job.ID, b.db.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	tr := b.session(t, pipeline.RoleTranslator)
	for _, tc := range []struct {
		lang, want, not string
	}{
		{"vi", "bản tin đã xử lý xong; hạn dịch trong 72 giờ (mức thường)", "segment processed; due in 3 days"},
		{"en", "segment processed; due in 3 days (normal)", "bản tin"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			req, err := http.NewRequest("GET", b.srv.URL+"/jobs/"+job.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(tr)
			req.AddCookie(&http.Cookie{Name: "loa_lang", Value: tc.lang})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := html.UnescapeString(string(data))
			i := strings.Index(page, `<ol class="history">`)
			if resp.StatusCode != 200 || i < 0 {
				t.Fatalf("job page: %d\n%s", resp.StatusCode, page)
			}
			history := page[i:]
			history = history[:strings.Index(history, "</ol>")]
			if !strings.Contains(history, tc.want) || strings.Contains(history, tc.not) {
				t.Errorf("history lacks %q (or has %q):\n%s", tc.want, tc.not, history)
			}
			if n := strings.Count(history, "72h0m0s"); n != 1 {
				t.Errorf("%d entries in Go's 72h0m0s, want only the one stored before notes:\n%s", n, history)
			}
		})
	}
}
