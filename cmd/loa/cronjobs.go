package main

import (
	"cmp"

	"github.com/sonla-cchc/loa/pipeline/web"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// cronJobs lists the periodic jobs serve's worker runs, with the specs it
// was given (an empty spec gets the worker's default, except the orphan
// sweep, which is off then), for the admin's page of scheduled jobs.
func (c *serverConfig) cronJobs() []web.CronJob {
	return []web.CronJob{
		{Kind: "sweep_uploads", Env: "LOA_CRON_SWEEP", Spec: c.cronSweep},
		{Kind: "sweep_orphans", Env: "LOA_CRON_ORPHANS", Spec: c.cronOrphans},
		{Kind: "build_schedules", Env: "LOA_CRON_SCHEDULES", Spec: cmp.Or(c.sched.cron, worker.DefaultScheduleSpec)},
		{Kind: "sweep_jobs", Env: "LOA_CRON_JOBS", Spec: cmp.Or(c.jobs.cronJobs, worker.DefaultJobsSpec)},
		{Kind: "notice_digest", Env: "LOA_CRON_DIGEST", Spec: cmp.Or(c.jobs.cronDigest, worker.DefaultDigestSpec)},
		{Kind: "close_reports", Env: "LOA_CRON_REPORTS", Spec: cmp.Or(c.cronReports, worker.DefaultReportSpec)},
	}
}
