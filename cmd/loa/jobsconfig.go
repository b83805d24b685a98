package main

import (
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
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
	voiceoverSlack    float64
	cronJobs          string
	cronDigest        string
	warn              time.Duration
	webhook           string
	webhookSecret     string
	smtpAddr          string
	smtpFrom          string
	smtpUser          string
	smtpPassword      string
}

func (j *jobsConfig) register(fs *flag.FlagSet, env *cliEnv) {
	d := translation.DefaultOpenOptions()
	p := translation.DefaultPolicy()
	durationFlag(fs, &j.lease, "job-lease", p.Lease, "how long a claim holds a job before it returns to open (LOA_JOB_LEASE)")
	intFlag(fs, &j.maxClaims, "job-max-claims", int64(p.MaxClaims), 0, "jobs one translator may hold at once; 0: no cap (LOA_JOB_MAX_CLAIMS)")
	intFlag(fs, &j.maxExtensions, "job-max-extensions", int64(p.MaxExtensions), 0, "lease extensions per claim; 0: no cap (LOA_JOB_MAX_EXTENSIONS)")
	fs.StringVar(&j.languages, "job-languages", strings.Join(d.Languages, ","), "languages translation jobs are opened for (LOA_JOB_LANGUAGES)")
	durationFlag(fs, &j.deadline, "job-deadline", d.Deadline, "time allowed for a normal segment's jobs (LOA_JOB_DEADLINE)")
	durationFlag(fs, &j.deadlinePriority, "job-deadline-priority", d.PriorityDeadline, "time allowed for a priority segment's jobs (LOA_JOB_DEADLINE_PRIORITY)")
	durationFlag(fs, &j.deadlineEmergency, "job-deadline-emergency", d.EmergencyDeadline, "time allowed for an emergency segment's jobs (LOA_JOB_DEADLINE_EMERGENCY)")
	j.voiceoverSlack = 0.2
	fs.Var(fractionValue{&j.voiceoverSlack}, "voiceover-tolerance", "how far a voice-over's length may be from the segment's, as a fraction (at least 3 s) (LOA_VOICEOVER_TOLERANCE)")
	cronFlag(fs, &j.cronJobs, "cron-jobs", worker.DefaultJobsSpec, "cron spec (Asia/Ho_Chi_Minh) of the translation-job sweep: leases, overdue, warnings, notices (LOA_CRON_JOBS)")
	cronFlag(fs, &j.cronDigest, "cron-digest", worker.DefaultDigestSpec, "cron spec of the daily digest to translators and reviewers (LOA_CRON_DIGEST)")
	durationFlag(fs, &j.warn, "job-warn", 24*time.Hour, "warn this long before a job's deadline (LOA_JOB_WARN)")
	urlFlag(fs, &j.webhook, "notify-webhook", "", "URL notices are POSTed to as JSON (LOA_NOTIFY_WEBHOOK)")
	fs.StringVar(&j.webhookSecret, "notify-webhook-secret", "", "bearer secret sent to the notice webhook; prefer the variable to the flag (LOA_NOTIFY_WEBHOOK_SECRET)")
	addrFlag(fs, &j.smtpAddr, "smtp-addr", "", "mail server host:port for email notices; off when empty (LOA_SMTP_ADDR)")
	fs.StringVar(&j.smtpFrom, "smtp-from", "loa@localhost", "sender address of email notices (LOA_SMTP_FROM)")
	fs.StringVar(&j.smtpUser, "smtp-user", "", "mail server user name (LOA_SMTP_USER)")
	fs.StringVar(&j.smtpPassword, "smtp-password", "", "mail server password; prefer the variable to the flag (LOA_SMTP_PASSWORD)")
}

// policy is the job state machine's numbers.
func (j *jobsConfig) policy() translation.Policy {
	return translation.Policy{Lease: j.lease, MaxClaims: int(j.maxClaims), MaxExtensions: int(j.maxExtensions)}
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

// desk makes the translators' desk; an approval queues its rendition in
// queue, and a render lost from queue (discarded without a render_failed
// event) can be asked for again.
func (j *jobsConfig) desk(db *sqlstore.DB, store *objects.Store, queue *worker.Queue, log *slog.Logger) *translation.Desk {
	return &translation.Desk{Store: db, Objects: store, Renditions: queue, Renders: worker.RenderLookup{Queue: queue, Catalog: db, Log: log}, Policy: j.policy(), VoiceoverSlack: j.voiceoverSlack, VoiceoverMinSlack: 3 * time.Second,
		MaxSubtitleBytes: 2 << 20, MaxVoiceoverBytes: 1 << 30, Log: log}
}

// translation wires the sweeps and the notice senders into the worker.
func (j *jobsConfig) translation(db *sqlstore.DB) worker.TranslationConfig {
	tc := worker.TranslationConfig{Store: db, Spec: j.cronJobs, DigestSpec: j.cronDigest, Warn: j.warn}
	if j.webhook != "" {
		tc.Senders = append(tc.Senders, &notify.Webhook{URL: j.webhook, Secret: j.webhookSecret})
	}
	if j.smtpAddr != "" {
		tc.Senders = append(tc.Senders, &notify.SMTP{Addr: j.smtpAddr, From: j.smtpFrom,
			Username: j.smtpUser, Password: j.smtpPassword})
	}
	return tc
}
