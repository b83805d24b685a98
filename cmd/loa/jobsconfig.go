package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline/jobs"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// jobsConfig configures translation jobs, their sweeps and notices.
type jobsConfig struct {
	lease             time.Duration
	maxClaims         int64
	maxExtensions     int64
	languages         string
	deadline          time.Duration
	deadlinePriority  time.Duration
	deadlineEmergency time.Duration
	voiceoverSlack    string
	cronJobs          string
	cronDigest        string
	warn              time.Duration
	webhook           string
	smtpAddr          string
	smtpFrom          string
	env               *cliEnv
}

func (j *jobsConfig) register(fs *flag.FlagSet, env *cliEnv) {
	j.env = env
	d := jobs.DefaultOpenOptions()
	p := jobs.DefaultPolicy()
	fs.DurationVar(&j.lease, "job-lease", envDuration(env, "LOA_JOB_LEASE", p.Lease), "how long a claim holds a job before it returns to open (LOA_JOB_LEASE)")
	fs.Int64Var(&j.maxClaims, "job-max-claims", envInt(env, "LOA_JOB_MAX_CLAIMS", int64(p.MaxClaims)), "jobs one translator may hold at once; 0: no cap (LOA_JOB_MAX_CLAIMS)")
	fs.Int64Var(&j.maxExtensions, "job-max-extensions", envInt(env, "LOA_JOB_MAX_EXTENSIONS", int64(p.MaxExtensions)), "lease extensions per claim; 0: no cap (LOA_JOB_MAX_EXTENSIONS)")
	fs.StringVar(&j.languages, "job-languages", envString(env, "LOA_JOB_LANGUAGES", strings.Join(d.Languages, ",")), "languages translation jobs are opened for (LOA_JOB_LANGUAGES)")
	fs.DurationVar(&j.deadline, "job-deadline", envDuration(env, "LOA_JOB_DEADLINE", d.Deadline), "time allowed for a normal segment's jobs (LOA_JOB_DEADLINE)")
	fs.DurationVar(&j.deadlinePriority, "job-deadline-priority", envDuration(env, "LOA_JOB_DEADLINE_PRIORITY", d.PriorityDeadline), "time allowed for a priority segment's jobs (LOA_JOB_DEADLINE_PRIORITY)")
	fs.DurationVar(&j.deadlineEmergency, "job-deadline-emergency", envDuration(env, "LOA_JOB_DEADLINE_EMERGENCY", d.EmergencyDeadline), "time allowed for an emergency segment's jobs (LOA_JOB_DEADLINE_EMERGENCY)")
	fs.StringVar(&j.voiceoverSlack, "voiceover-tolerance", envString(env, "LOA_VOICEOVER_TOLERANCE", "0.2"), "how far a voice-over's length may be from the segment's, as a fraction (at least 3 s) (LOA_VOICEOVER_TOLERANCE)")
	fs.StringVar(&j.cronJobs, "cron-jobs", envString(env, "LOA_CRON_JOBS", worker.DefaultJobsSpec), "cron spec (Asia/Ho_Chi_Minh) of the translation-job sweep: leases, overdue, warnings, notices (LOA_CRON_JOBS)")
	fs.StringVar(&j.cronDigest, "cron-digest", envString(env, "LOA_CRON_DIGEST", worker.DefaultDigestSpec), "cron spec of the daily digest to translators and reviewers (LOA_CRON_DIGEST)")
	fs.DurationVar(&j.warn, "job-warn", envDuration(env, "LOA_JOB_WARN", 24*time.Hour), "warn this long before a job's deadline (LOA_JOB_WARN)")
	fs.StringVar(&j.webhook, "notify-webhook", env.getenv("LOA_NOTIFY_WEBHOOK"), "URL notices are POSTed to as JSON; bearer secret in LOA_NOTIFY_WEBHOOK_SECRET (LOA_NOTIFY_WEBHOOK)")
	fs.StringVar(&j.smtpAddr, "smtp-addr", env.getenv("LOA_SMTP_ADDR"), "mail server host:port for email notices; user and password in LOA_SMTP_USER, LOA_SMTP_PASSWORD (LOA_SMTP_ADDR)")
	fs.StringVar(&j.smtpFrom, "smtp-from", envString(env, "LOA_SMTP_FROM", "loa@localhost"), "sender address of email notices (LOA_SMTP_FROM)")
}

// policy is the job state machine's numbers.
func (j *jobsConfig) policy() jobs.Policy {
	return jobs.Policy{Lease: j.lease, MaxClaims: int(j.maxClaims), MaxExtensions: int(j.maxExtensions)}
}

// open is what OpenJobsTx is given.
func (j *jobsConfig) open() sqlstore.JobOptions {
	var langs []string
	for _, l := range strings.Split(j.languages, ",") {
		if l = strings.TrimSpace(l); l != "" {
			langs = append(langs, l)
		}
	}
	return sqlstore.JobOptions{Languages: langs, Deadline: j.deadline, PriorityDeadline: j.deadlinePriority, EmergencyDeadline: j.deadlineEmergency}
}

// desk makes the translators' desk.
func (j *jobsConfig) desk(db *sqlstore.DB, store *objects.Store, log *slog.Logger) (*jobs.Desk, error) {
	if j.lease <= 0 {
		return nil, fmt.Errorf("--job-lease (LOA_JOB_LEASE) must be positive, not %s", j.lease)
	}
	slack, err := strconv.ParseFloat(j.voiceoverSlack, 64)
	if err != nil || slack <= 0 || slack > 1 {
		return nil, fmt.Errorf("--voiceover-tolerance (LOA_VOICEOVER_TOLERANCE) %q: write a fraction such as 0.2", j.voiceoverSlack)
	}
	return &jobs.Desk{Store: db, Objects: store, Policy: j.policy(), VoiceoverSlack: slack, VoiceoverMinSlack: 3 * time.Second,
		MaxSubtitleBytes: 2 << 20, MaxVoiceoverBytes: 1 << 30, Log: log}, nil
}

// translation wires the sweeps and the notice senders into the worker.
func (j *jobsConfig) translation(db *sqlstore.DB) worker.TranslationConfig {
	tc := worker.TranslationConfig{Store: db, Spec: j.cronJobs, DigestSpec: j.cronDigest, Warn: j.warn}
	if j.webhook != "" {
		tc.Senders = append(tc.Senders, &notify.Webhook{URL: j.webhook, Secret: j.env.getenv("LOA_NOTIFY_WEBHOOK_SECRET")})
	}
	if j.smtpAddr != "" {
		tc.Senders = append(tc.Senders, &notify.SMTP{Addr: j.smtpAddr, From: j.smtpFrom,
			Username: j.env.getenv("LOA_SMTP_USER"), Password: j.env.getenv("LOA_SMTP_PASSWORD")})
	}
	return tc
}
