package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// serverConfig is the configuration of the processes that touch the
// database and the object store directly.
type serverConfig struct {
	// migrated is what openDB's migration did (operators it could not bind
	// to a commune code are logged by serve).
	migrated    sqlstore.MigrationResult
	sched       scheduleConfig // schedules and bundle signing (schedconfig.go)
	jobs        jobsConfig     // translation jobs and notices (jobsconfig.go)
	addr        string
	data        string
	db          string
	s3          objects.Config
	maxUploadMB int64
	maxDuration time.Duration
	cronSweep   string
	cronOrphans string
	uploadGrace time.Duration
	rescueAfter time.Duration
	mp3Kbps     int64
	opusKbps    int64
	mediaJobs   int64
	logLevel    string
	debugAddr   string
}

// envString, envInt and friends give a flag its LOA_* default.
func envString(env *cliEnv, key, def string) string {
	if v := env.getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(env *cliEnv, key string, def int64) int64 {
	if v := env.getenv(key); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func envDuration(env *cliEnv, key string, def time.Duration) time.Duration {
	if v := env.getenv(key); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envBool(env *cliEnv, key string) bool {
	b, _ := strconv.ParseBool(env.getenv(key))
	return b
}

// registerStore adds the database flags.
func (c *serverConfig) registerStore(fs *flag.FlagSet, env *cliEnv) {
	fs.StringVar(&c.data, "data", envString(env, "LOA_DATA", "loa-data"), "data folder (LOA_DATA)")
	fs.StringVar(&c.db, "db", env.getenv("LOA_DB"), "database: a SQLite file path; default DATA/loa.db (LOA_DB)")
	fs.StringVar(&c.logLevel, "log-level", envString(env, "LOA_LOG_LEVEL", "info"), "log level: debug, info, warn, error (LOA_LOG_LEVEL)")
}

// register adds every server flag.
func (c *serverConfig) register(fs *flag.FlagSet, env *cliEnv) {
	c.registerStore(fs, env)
	c.sched.register(fs, env)
	c.jobs.register(fs, env)
	fs.StringVar(&c.debugAddr, "debug-addr", env.getenv("LOA_DEBUG_ADDR"), "loopback address for Go's profiler (net/http/pprof), e.g. 127.0.0.1:6060; off when empty (LOA_DEBUG_ADDR)")
	fs.StringVar(&c.addr, "addr", envString(env, "LOA_ADDR", "127.0.0.1:8080"), "listen address (LOA_ADDR)")
	fs.StringVar(&c.s3.Endpoint, "s3-endpoint", envString(env, "LOA_S3_ENDPOINT", "127.0.0.1:9000"), "S3 endpoint host:port as Loa reaches it (LOA_S3_ENDPOINT)")
	fs.StringVar(&c.s3.PublicEndpoint, "s3-public-endpoint", env.getenv("LOA_S3_PUBLIC_ENDPOINT"), "S3 endpoint as clients reach it, for presigned links; default the S3 endpoint (LOA_S3_PUBLIC_ENDPOINT)")
	fs.StringVar(&c.s3.AccessKey, "s3-access-key", env.getenv("LOA_S3_ACCESS_KEY"), "S3 access key (LOA_S3_ACCESS_KEY)")
	fs.StringVar(&c.s3.SecretKey, "s3-secret-key", env.getenv("LOA_S3_SECRET_KEY"), "S3 secret key (LOA_S3_SECRET_KEY)")
	fs.StringVar(&c.s3.Bucket, "s3-bucket", envString(env, "LOA_S3_BUCKET", "loa"), "S3 bucket (LOA_S3_BUCKET)")
	fs.BoolVar(&c.s3.UseSSL, "s3-ssl", envBool(env, "LOA_S3_SSL"), "use https to reach S3 (LOA_S3_SSL)")
	fs.Int64Var(&c.maxUploadMB, "max-upload-mb", envInt(env, "LOA_MAX_UPLOAD_MB", 4096), "largest accepted upload in MiB (LOA_MAX_UPLOAD_MB)")
	fs.DurationVar(&c.maxDuration, "max-duration", envDuration(env, "LOA_MAX_DURATION", 2*time.Hour), "longest accepted segment (LOA_MAX_DURATION)")
	fs.StringVar(&c.cronSweep, "cron-sweep", envString(env, "LOA_CRON_SWEEP", "*/15 * * * *"), "cron spec (Asia/Ho_Chi_Minh) of the abandoned-upload sweep (LOA_CRON_SWEEP)")
	fs.DurationVar(&c.uploadGrace, "upload-grace", envDuration(env, "LOA_UPLOAD_GRACE", 6*time.Hour), "age after which an unfinished upload or an orphan object is removed (LOA_UPLOAD_GRACE)")
	fs.StringVar(&c.cronOrphans, "cron-orphans", envString(env, "LOA_CRON_ORPHANS", "30 3 * * *"), "cron spec (Asia/Ho_Chi_Minh) of the orphan-object sweep (LOA_CRON_ORPHANS)")
	fs.DurationVar(&c.rescueAfter, "rescue-after", envDuration(env, "LOA_RESCUE_AFTER", time.Hour), "a job running this long is taken as abandoned by a dead worker and run again (LOA_RESCUE_AFTER)")
	fs.Int64Var(&c.mp3Kbps, "mp3-kbps", envInt(env, "LOA_MP3_KBPS", 64), "loudspeaker MP3 bit rate in kb/s (LOA_MP3_KBPS)")
	fs.Int64Var(&c.opusKbps, "opus-kbps", envInt(env, "LOA_OPUS_KBPS", 24), "low-bandwidth Opus bit rate in kb/s (LOA_OPUS_KBPS)")
	fs.Int64Var(&c.mediaJobs, "media-jobs", envInt(env, "LOA_MEDIA_JOBS", 1), "processing jobs run at once by this worker (LOA_MEDIA_JOBS)")
}

func (c *serverConfig) dbPath() string {
	if c.db != "" {
		return c.db
	}
	return filepath.Join(c.data, "loa.db")
}

// openDB opens and migrates the database.
func (c *serverConfig) openDB(ctx context.Context) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, c.dbPath())
	if err != nil {
		return nil, err
	}
	res, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	c.migrated = res
	return db, nil
}

// openObjects connects to the object store, retrying for a while so a
// server started together with MinIO waits for it.
func (c *serverConfig) openObjects(ctx context.Context) (*objects.Store, error) {
	if c.s3.AccessKey == "" || c.s3.SecretKey == "" {
		return nil, errors.New("object store credentials are missing: set LOA_S3_ACCESS_KEY and LOA_S3_SECRET_KEY")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := objects.Open(octx, c.s3)
		cancel()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, objects.ErrUnavailable) || time.Now().After(deadline) {
			return nil, fmt.Errorf("object store at %s: %w", c.s3.Endpoint, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
