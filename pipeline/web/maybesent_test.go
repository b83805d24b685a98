package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// TestCronPageMaybeSent: the admin's page of background jobs lists the
// notices whose delivery is in doubt (a send_notice job that ended
// maybe_sent, written as the worker leaves it in River's table) with
// their recipient, kind, key and warning, in Vietnamese and English, and
// not a notice that was sent; with none in doubt the section is absent.
func TestCronPageMaybeSent(t *testing.T) {
	b := setup(t)
	cookie := b.session(t, pipeline.RoleAdmin)
	if _, body := b.do(t, "GET", "/admin/cron", cookie, nil, "same-origin"); strings.Contains(body, `id="maybe-sent"`) {
		t.Fatalf("the section shows with no notice in doubt:\n%s", body)
	}
	started := b.db.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	insertNoticeJob(t, b.db, started, "hangup-b", `{"output":{"work":"maybe_sent","warning":"smtp: the server's answer was lost: EOF"},"loa_notice":{"state":"maybe_sent","attempt":1}}`)
	insertNoticeJob(t, b.db, started, "sent-a", `{"output":{"work":"done"},"loa_notice":{"state":"sent","attempt":1}}`)
	resp, body := b.do(t, "GET", "/admin/cron", cookie, nil, "same-origin")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cron page: %d\n%s", resp.StatusCode, body)
	}
	_, section, ok := strings.Cut(body, `id="maybe-sent"`)
	if !ok || !strings.Contains(body, "Thông báo có thể chưa đến") {
		t.Fatalf("no section of notices in doubt:\n%s", body)
	}
	for _, want := range []string{"hangup-b &lt;hangup-b@sonla.example&gt;", "submitted", "notice/5/user/hangup-b", "answer was lost"} {
		if !strings.Contains(section, want) {
			t.Errorf("the section lacks %q:\n%s", want, section)
		}
	}
	if strings.Contains(section, "sent-a") {
		t.Errorf("a notice that was sent is listed:\n%s", section)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/admin/cron", nil)
	req.AddCookie(cookie)
	req.AddCookie(&http.Cookie{Name: "loa_lang", Value: "en"})
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	en, _ := io.ReadAll(r2.Body)
	if !strings.Contains(string(en), "Notices that may not have arrived") {
		t.Errorf("English page has no section title:\n%s", en)
	}
}

// insertNoticeJob writes a completed send_notice job to name with
// metadata (JSON), as River and the worker leave it.
func insertNoticeJob(t *testing.T, db *sqlstore.DB, at time.Time, name, metadata string) {
	t.Helper()
	args := `{"channel":"smtp","key":"notice/5/user/` + name + `","message":{"to":{"user_id":41,"name":"` + name + `","role":"reviewer","email":"` + name +
		`@sonla.example"},"kind":"submitted","job_id":"j1","subject":"s","body":"b"}}`
	var err error
	if db.Dialect() == sqlstore.Postgres {
		_, err = db.SQL().ExecContext(context.Background(), `INSERT INTO river_job (kind, state, attempt, max_attempts, attempted_at, finalized_at, created_at, scheduled_at, args, metadata)
			VALUES ('send_notice', 'completed', 1, 15, ?, ?, ?, ?, CAST(? AS jsonb), CAST(? AS jsonb))`, at, at, at, at, args, metadata)
	} else {
		const riverTime = "2006-01-02 15:04:05.000"
		ts := at.Format(riverTime)
		_, err = db.SQL().ExecContext(context.Background(), `INSERT INTO river_job (kind, state, attempt, max_attempts, attempted_at, finalized_at, created_at, scheduled_at, args, metadata)
			VALUES ('send_notice', 'completed', 1, 15, ?, ?, ?, ?, jsonb(?), jsonb(?))`, ts, ts, ts, ts, args, metadata)
	}
	if err != nil {
		t.Fatal(err)
	}
}
