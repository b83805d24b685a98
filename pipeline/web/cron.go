package web

import (
	"context"
	"net/http"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/notify"
)

// CronJob is one periodic job the server runs: its River job kind (the
// catalogue has its name as "cron_" + Kind), the setting it comes from and
// the cron spec in force. An empty Spec means the job is off.
type CronJob struct {
	Kind, Env, Spec string
}

// CronRunReader reads the recent runs of a periodic job, newest first
// (sqlstore.DB does).
type CronRunReader interface {
	CronRuns(ctx context.Context, kind string, limit int) ([]pipeline.CronRun, error)
}

// cronRunsShown is how many recent runs the page shows per job.
const cronRunsShown = 5

// cronRow is one job as the admin's page shows it.
type cronRow struct {
	CronJob
	Next time.Time
	// SpecError says why the spec does not parse (the worker refuses
	// such a spec at start-up, so this is only a safeguard).
	SpecError string
	Runs      []cronRun
}

// cronRun is one recorded run with its state's text and how long it took.
type cronRun struct {
	pipeline.CronRun
	StateText string
	Took      string
}

// cronPage lists the periodic jobs with their specs, their next run in
// Asia/Ho_Chi_Minh and their recent runs as the job queue recorded them.
func (s *Server) cronPage(w http.ResponseWriter, r *http.Request, c *call) error {
	now := s.cfg.Now()
	rows := make([]cronRow, 0, len(s.cfg.Cron))
	for _, j := range s.cfg.Cron {
		row := cronRow{CronJob: j}
		if j.Spec != "" {
			if sched, err := localtime.ParseSpec(j.Spec); err != nil {
				row.SpecError = err.Error()
			} else {
				row.Next = sched.Next(now)
			}
		}
		if s.cfg.CronRuns != nil {
			runs, err := s.cfg.CronRuns.CronRuns(r.Context(), j.Kind, cronRunsShown)
			if err != nil {
				return err
			}
			for _, run := range runs {
				row.Runs = append(row.Runs, s.cronRunView(c, run))
			}
		}
		rows = append(rows, row)
	}
	// The notices whose delivery is in doubt, for the administrator to
	// check with their recipients (GET /api/notices; none on a server
	// without notices).
	var maybe []notify.MaybeSent
	if err := s.callAPI(r, "GET", "/api/notices?state=maybe_sent&limit="+itoa(maybeSentShown), nil, &maybe); err != nil && pipeline.ErrorCode(err) != pipeline.CodeUnavailable {
		return err
	}
	s.render(w, r, c, http.StatusOK, "cron", "title_cron", struct {
		Jobs      []cronRow
		Zone      string
		MaybeSent []notify.MaybeSent
	}{rows, localtime.Name, maybe})
	return nil
}

// maybeSentShown is how many notices in doubt the page lists.
const maybeSentShown = 20

// cronRunView adds the state's text in the page's language (River's own
// word when the catalogue has none) and the run's length.
func (s *Server) cronRunView(c *call, run pipeline.CronRun) cronRun {
	v := cronRun{CronRun: run, StateText: run.State}
	if m, ok := c.msgs["run_"+run.State]; ok {
		v.StateText = m
	}
	if !run.AttemptedAt.IsZero() && !run.FinalizedAt.IsZero() && !run.FinalizedAt.Before(run.AttemptedAt) {
		v.Took = run.FinalizedAt.Sub(run.AttemptedAt).Round(time.Millisecond).String()
	}
	return v
}
