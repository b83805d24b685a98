package main

import (
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// scheduleConfig configures schedule builds and bundle signing.
type scheduleConfig struct {
	cron       string
	days       int64
	separation int64
	signingKey string
	// maxEmergency caps how long an emergency lasts (at most
	// broadcast.HardMaxEmergency).
	maxEmergency time.Duration
}

func (s *scheduleConfig) register(fs *flag.FlagSet, env *cliEnv) {
	cronFlag(fs, &s.cron, "cron-schedules", worker.DefaultScheduleSpec, "cron spec (Asia/Ho_Chi_Minh) of the nightly schedule build (LOA_CRON_SCHEDULES)")
	intFlag(fs, &s.days, "schedule-days", 7, 1, "days each schedule build covers (LOA_SCHEDULE_DAYS)")
	intFlag(fs, &s.separation, "separation-days", 3, 0, "days before a normal segment may return to a commune (LOA_SEPARATION_DAYS)")
	durationFlag(fs, &s.maxEmergency, "emergency-max", broadcast.DefaultMaxEmergency,
		"longest an emergency may last from when it is raised; at most "+broadcast.HardMaxEmergency.String()+" (LOA_EMERGENCY_MAX)")
	fs.StringVar(&s.signingKey, "signing-key", "", "ed25519 key (PKCS #8 PEM) that signs offline bundles; default DATA/signing-key.pem, made at first start (LOA_SIGNING_KEY)")
}

// service makes the schedule service, which follows db's change feed and
// queues the rebuilds segment changes ask for in queue. A key file named
// by --signing-key must exist; the default one is made at first start.
func (s *scheduleConfig) service(c *serverConfig, db *sqlstore.DB, store *objects.Store, queue *worker.Queue, log *slog.Logger) (*broadcast.Service, error) {
	path, create := s.signingKey, false
	if path == "" {
		path, create = filepath.Join(c.data, "signing-key.pem"), true
	}
	if s.maxEmergency <= 0 || s.maxEmergency > broadcast.HardMaxEmergency {
		return nil, fmt.Errorf("--emergency-max (LOA_EMERGENCY_MAX) is %s: give a duration above 0 and at most %s", pipeline.HumanDuration(s.maxEmergency), pipeline.HumanDuration(broadcast.HardMaxEmergency))
	}
	key, err := broadcast.LoadOrCreateKey(path, create)
	if err != nil {
		return nil, err
	}
	return &broadcast.Service{Store: db, Objects: store, Key: key, Log: log, Days: int(s.days), SeparationDays: int(s.separation),
		MaxEmergency: s.maxEmergency, Feed: db, Rebuilds: queue}, nil
}
