package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/web"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// testCronJobs are the periodic jobs of the test site, with loa serve's
// default specs.
func testCronJobs() []web.CronJob {
	return []web.CronJob{
		{Kind: "sweep_uploads", Env: "LOA_CRON_SWEEP", Spec: "*/15 * * * *"},
		{Kind: "sweep_orphans", Env: "LOA_CRON_ORPHANS", Spec: "30 3 * * *"},
		{Kind: "build_schedules", Env: "LOA_CRON_SCHEDULES", Spec: worker.DefaultScheduleSpec},
		{Kind: "sweep_jobs", Env: "LOA_CRON_JOBS", Spec: worker.DefaultJobsSpec},
		{Kind: "notice_digest", Env: "LOA_CRON_DIGEST", Spec: worker.DefaultDigestSpec},
		{Kind: "close_reports", Env: "LOA_CRON_REPORTS", Spec: worker.DefaultReportSpec},
	}
}

// TestCronPage opens the admin's page of scheduled jobs: every job is
// listed with its spec, its setting and its next run in Asia/Ho_Chi_Minh,
// and runs recorded in River's table are shown with their state, start
// time and error.
func TestCronPage(t *testing.T) {
	b := setup(t)
	// A nightly build that ran and an orphan sweep that failed for good,
	// written as River writes them.
	started := b.db.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	ended := started.Add(1500 * time.Millisecond)
	insertRiverRuns(t, b.db, started, ended, `[{"at":"2025-01-01T00:00:00Z","attempt":1,"error":"bucket unreachable","trace":""}]`)
	ict := time.FixedZone("ICT", 7*3600)
	before := b.db.Now()
	resp, body := b.do(t, "GET", "/admin/cron", b.session(t, pipeline.RoleAdmin), nil, "same-origin")
	after := b.db.Now()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Lịch chạy tự động — Loa</title>") {
		t.Fatalf("cron page: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `href="/admin/cron"`) {
		t.Errorf("the page is not in the admin's menu")
	}
	cards := map[string]string{}
	for _, part := range strings.Split(body, `<li class="card cron" id="cron-`)[1:] {
		kind, rest, _ := strings.Cut(part, `"`)
		cards[kind] = rest
	}
	for _, j := range testCronJobs() {
		card, ok := cards[j.Kind]
		if !ok {
			t.Errorf("%s: not listed", j.Kind)
			continue
		}
		sched, err := localtime.ParseSpec(j.Spec)
		if err != nil {
			t.Fatal(err)
		}
		next1 := sched.Next(before).In(ict).Format("02/01/2006 15:04")
		next2 := sched.Next(after).In(ict).Format("02/01/2006 15:04")
		if !strings.Contains(card, `<dd class="next">`+next1+`</dd>`) && !strings.Contains(card, `<dd class="next">`+next2+`</dd>`) {
			t.Errorf("%s: next run is not %s:\n%s", j.Kind, next1, card)
		}
		if !strings.Contains(card, `<code class="spec">`+j.Spec+`</code>`) || !strings.Contains(card, j.Env) {
			t.Errorf("%s: spec or setting missing:\n%s", j.Kind, card)
		}
		if j.Kind != "build_schedules" && j.Kind != "sweep_orphans" && !strings.Contains(card, "Chưa có lần chạy nào") {
			t.Errorf("%s: a run that did not happen is shown:\n%s", j.Kind, card)
		}
	}
	startText := started.In(ict).Format("02/01/2006 15:04")
	if c := cards["build_schedules"]; !strings.Contains(c, `<li class="run run-completed"><span class="badge">xong</span> `+startText+` · 1.5s</li>`) {
		t.Errorf("the nightly build's run is not shown:\n%s", c)
	}
	if c := cards["sweep_orphans"]; !strings.Contains(c, `<span class="badge">lỗi, đã bỏ</span> `+startText) || !strings.Contains(c, "bucket unreachable") {
		t.Errorf("the failed sweep is not shown:\n%s", c)
	}
	// In English.
	req, _ := http.NewRequest("GET", b.srv.URL+"/admin/cron", nil)
	req.AddCookie(b.session(t, pipeline.RoleAdmin))
	req.AddCookie(&http.Cookie{Name: "loa_lang", Value: "en"})
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	var sb strings.Builder
	if _, err := io.Copy(&sb, r2.Body); err != nil {
		t.Fatal(err)
	}
	if en := sb.String(); r2.StatusCode != http.StatusOK || !strings.Contains(en, "<title>Scheduled jobs — Loa</title>") || !strings.Contains(en, "Nightly schedule build") || !strings.Contains(en, ">done</span>") {
		t.Errorf("English page: %d\n%s", r2.StatusCode, en)
	}
}

// insertRiverRuns writes a completed nightly build and an orphan sweep
// that failed for good with errs (a JSON array), as River writes them:
// its two schemas store times and errors differently.
func insertRiverRuns(t *testing.T, db *sqlstore.DB, started, ended time.Time, errs string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if db.Dialect() == sqlstore.Postgres {
		// errors is jsonb[]: one element per attempt.
		_, err = db.SQL().ExecContext(ctx, `INSERT INTO river_job (kind, state, attempt, max_attempts, attempted_at, finalized_at, created_at, scheduled_at, args, errors)
			VALUES ('build_schedules', 'completed', 1, 25, ?, ?, ?, ?, '{}', NULL),
			       ('sweep_orphans', 'discarded', 1, 1, ?, ?, ?, ?, '{}', ARRAY(SELECT jsonb_array_elements(CAST(? AS jsonb))))`,
			started, ended, started, started, started, ended, started, started, errs)
	} else {
		const riverTime = "2006-01-02 15:04:05.000"
		_, err = db.SQL().ExecContext(ctx, `INSERT INTO river_job (kind, state, attempt, max_attempts, attempted_at, finalized_at, created_at, scheduled_at, errors)
			VALUES ('build_schedules', 'completed', 1, 25, ?, ?, ?, ?, NULL),
			       ('sweep_orphans', 'discarded', 1, 1, ?, ?, ?, ?, jsonb(?))`,
			started.Format(riverTime), ended.Format(riverTime), started.Format(riverTime), started.Format(riverTime),
			started.Format(riverTime), ended.Format(riverTime), started.Format(riverTime), started.Format(riverTime), errs)
	}
	if err != nil {
		t.Fatal(err)
	}
}
