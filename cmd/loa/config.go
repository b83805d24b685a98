package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// serverConfig is the configuration of the processes that touch the
// database and the object store directly.
type serverConfig struct {
	// migrated is what openDB's migration did (operators it could not bind
	// to a commune code are logged by serve).
	migrated sqlstore.MigrationResult
	sched    scheduleConfig // schedules and bundle signing (schedconfig.go)
	jobs     jobsConfig     // translation jobs and notices (jobsconfig.go)
	addr     string
	// playlistAddr, when set, is the playlist listener's address: the
	// playlist routes only, on fasthttp (api.PlaylistListener).
	playlistAddr string
	// playlistPublicURL is the playlist listener's address as controllers
	// reach it (behind a load balancer); empty: http:// and playlistAddr.
	playlistPublicURL string
	data              string
	db                string
	s3                objects.Config
	maxUploadMB       int64
	maxDuration       time.Duration
	cronSweep         string
	cronOrphans       string
	uploadGrace       time.Duration
	rescueAfter       time.Duration
	leaseEvery        time.Duration
	deadAfter         time.Duration
	mp3Kbps           int64
	opusKbps          int64
	mediaJobs         int64
	urgentJobs        int64
	logLevel          string
	debugAddr         string
	cronReports       string
	// plainHTTP lets session cookies go without Secure over plain http.
	plainHTTP bool
	// publicURL is the server's address as the public reaches it; the
	// feed's links are built from it. Empty: http:// and the listen address.
	publicURL string
	// trustedProxies are the load balancers whose X-Forwarded-For names
	// the client for the per-address limits.
	trustedProxies throttle.Proxies
}

// registerStore adds the database flags.
func (c *serverConfig) registerStore(fs *flag.FlagSet, env *cliEnv) {
	fs.StringVar(&c.data, "data", "loa-data", "data folder (LOA_DATA)")
	fs.Var(dbValue{&c.db}, "db", "database: a SQLite file path (or sqlite:PATH), or postgres://USER:PASSWORD@HOST:PORT/DB; default DATA/loa.db (LOA_DB)")
	c.logLevel = "info"
	fs.Var(levelValue{&c.logLevel}, "log-level", "log level: debug, info, warn, error (LOA_LOG_LEVEL)")
}

// register adds every server flag.
func (c *serverConfig) register(fs *flag.FlagSet, env *cliEnv) {
	c.registerStore(fs, env)
	c.sched.register(fs, env)
	c.jobs.register(fs, env)
	fs.Var(addrValue{p: &c.debugAddr, loopback: true}, "debug-addr", "loopback address for Go's profiler (net/http/pprof), e.g. 127.0.0.1:6060; off when empty (LOA_DEBUG_ADDR)")
	addrFlag(fs, &c.addr, "addr", "127.0.0.1:8080", "listen address (LOA_ADDR)")
	addrFlag(fs, &c.playlistAddr, "playlist-addr", "", "a second listen address that answers only the playlists loudspeaker controllers poll (GET .../clusters/C/playlists/DATE.m3u8|json), on a faster HTTP server; off when empty (LOA_PLAYLIST_ADDR)")
	urlFlag(fs, &c.playlistPublicURL, "playlist-public-url", "", "the playlist listener's address as controllers reach it, e.g. https://playlists.loa.example.vn: the URL loa device add prints; needs --playlist-addr; default http:// and the playlist listen address (LOA_PLAYLIST_PUBLIC_URL)")
	fs.StringVar(&c.s3.Endpoint, "s3-endpoint", "127.0.0.1:9000", "S3 endpoint host:port as Loa reaches it (LOA_S3_ENDPOINT)")
	fs.StringVar(&c.s3.PublicEndpoint, "s3-public-endpoint", "", "S3 endpoint as clients reach it, for presigned links; default the S3 endpoint (LOA_S3_PUBLIC_ENDPOINT)")
	fs.StringVar(&c.s3.AccessKey, "s3-access-key", "", "S3 access key (LOA_S3_ACCESS_KEY)")
	fs.StringVar(&c.s3.SecretKey, "s3-secret-key", "", "S3 secret key (LOA_S3_SECRET_KEY)")
	fs.StringVar(&c.s3.Bucket, "s3-bucket", "loa", "S3 bucket (LOA_S3_BUCKET)")
	fs.BoolVar(&c.s3.UseSSL, "s3-ssl", false, "use https to reach S3 (LOA_S3_SSL)")
	intFlag(fs, &c.maxUploadMB, "max-upload-mb", 4096, 1, "largest accepted upload in MiB (LOA_MAX_UPLOAD_MB)")
	durationFlag(fs, &c.maxDuration, "max-duration", 2*time.Hour, "longest accepted segment (LOA_MAX_DURATION)")
	cronFlag(fs, &c.cronSweep, "cron-sweep", "*/15 * * * *", "cron spec (Asia/Ho_Chi_Minh) of the abandoned-upload sweep (LOA_CRON_SWEEP)")
	durationFlag(fs, &c.uploadGrace, "upload-grace", 6*time.Hour, "age after which an unfinished upload or an orphan object is removed (LOA_UPLOAD_GRACE)")
	cronFlag(fs, &c.cronOrphans, "cron-orphans", "30 3 * * *", "cron spec (Asia/Ho_Chi_Minh) of the orphan-object sweep; off when empty (LOA_CRON_ORPHANS)")
	cronFlag(fs, &c.cronReports, "cron-reports", worker.DefaultReportSpec, "cron spec (Asia/Ho_Chi_Minh) of the nightly close of reports (LOA_CRON_REPORTS)")
	durationFlag(fs, &c.rescueAfter, "rescue-after", time.Hour, "last resort for a running job without a lease: run again once it has run this long and past its timeout (LOA_RESCUE_AFTER)")
	durationFlag(fs, &c.leaseEvery, "lease-every", worker.DefaultLeaseEvery, "how often a worker renews the lease of each job it runs (LOA_LEASE_EVERY)")
	durationFlag(fs, &c.deadAfter, "dead-after", worker.DefaultDeadAfter, "a job whose lease is this old is taken back from its dead worker and run again; at least 3 × --lease-every (LOA_DEAD_AFTER)")
	intFlag(fs, &c.mp3Kbps, "mp3-kbps", 64, 8, "loudspeaker MP3 bit rate in kb/s (LOA_MP3_KBPS)")
	intFlag(fs, &c.opusKbps, "opus-kbps", 24, 6, "low-bandwidth Opus bit rate in kb/s (LOA_OPUS_KBPS)")
	intFlag(fs, &c.mediaJobs, "media-jobs", 1, 1, "processing jobs run at once by this worker (LOA_MEDIA_JOBS)")
	intFlag(fs, &c.urgentJobs, "urgent-jobs", 1, 1, "priority and emergency processing jobs run at once by this worker, in slots of their own beside --media-jobs (LOA_URGENT_JOBS)")
	urlFlag(fs, &c.publicURL, "public-url", "", "the server's address as the public reaches it, e.g. https://loa.example.vn: the bulletin feed's links (never the request's Host); default http:// and the listen address (LOA_PUBLIC_URL)")
	fs.BoolVar(&c.plainHTTP, "plain-http", false, "the pages are reached over plain http (a demo on localhost): session cookies are not marked Secure; never on a network (LOA_PLAIN_HTTP)")
	fs.Var(proxiesValue{&c.trustedProxies}, "trusted-proxies", "comma-separated addresses and CIDR prefixes of the load balancers in front of Loa, e.g. 10.0.0.0/8: from them the client's address (for the sign-in and token limits) is the right-most X-Forwarded-For entry that is not one of them; default none (LOA_TRUSTED_PROXIES)")
}

func (c *serverConfig) dbPath() string {
	if c.db != "" {
		return c.db
	}
	return filepath.Join(c.data, "loa.db")
}

// dbShown is the database's location for logs and messages: a
// PostgreSQL URL with its password hidden.
func (c *serverConfig) dbShown() string {
	loc, err := sqlstore.ParseLocation(c.dbPath())
	if err != nil {
		return "(a database location that does not parse)"
	}
	return loc.String()
}

// openExistingDB is openDB for the commands that manage what a running
// Loa already has (listing users and tokens, revoking, disabling): a
// SQLite file that does not exist is refused with CodeNotFound rather than
// created, so a command run with the wrong LOA_DATA says so instead of
// answering from a new, empty database.
func (c *serverConfig) openExistingDB(ctx context.Context) (*sqlstore.DB, error) {
	loc, err := sqlstore.ParseLocation(c.dbPath())
	if err != nil {
		return nil, err
	}
	if loc.Dialect == sqlstore.SQLite {
		if _, err := os.Stat(loc.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, pipeline.Errorf(pipeline.CodeNotFound,
				"No Loa database at %s: set LOA_DATA to the data folder of the Loa server (or LOA_DB to its database) and run this where that folder is. Only loa user add (and loa serve, loa demo) make a new database.", loc.Path)
		}
	}
	return c.openDB(ctx)
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
