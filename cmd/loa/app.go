package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/web"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// app is one Loa server process: the worker, and the HTTP API and pages
// when it serves HTTP. Open builds the parts in the order they need each
// other, Run runs them until its context ends, Close stops them in the
// reverse order. "loa serve" and "loa worker" are an app; the end-to-end
// tests run one in process.
//
// The parts meet through the job queue, which is made right after the
// database: whatever asks for work (ingest, processing, schedule changes,
// approvals, priority changes) holds the Queue, and the Worker that runs
// the jobs is made after them and from them.
type app struct {
	config   *serverConfig
	withHTTP bool
	log      *slog.Logger
	stdout   io.Writer // "loa listening on URL" goes here

	DB        *sqlstore.DB
	Objects   *objects.Store
	Queue     *worker.Queue
	Schedules *broadcast.Service
	Worker    *worker.Worker
	API       *api.Server // nil without HTTP
	// URL is where the HTTP server listens (http://host:port); empty
	// without HTTP.
	URL string

	listener net.Listener
	http     *http.Server
	// playlists answers the playlist routes on LOA_PLAYLIST_ADDR, when set.
	playlists   *api.PlaylistListener
	playlistsLn net.Listener
	// PlaylistURL is where the playlist listener listens; empty when off.
	PlaylistURL string
	started     bool   // the Worker runs
	stopFeed    func() // ends the change feed's follower and waits for it
	// process names this process among the deployment's (host, pid and a
	// random part): its event streams are counted under it.
	process string
}

// newApp is the app c configures; it logs to log and prints its address
// to stdout. withHTTP adds the API and the pages to the worker.
func newApp(c *serverConfig, withHTTP bool, log *slog.Logger, stdout io.Writer) *app {
	host, _ := os.Hostname()
	return &app{config: c, withHTTP: withHTTP, log: log, stdout: stdout,
		process: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])}
}

// Open connects to the database and the object store and builds every
// part, listening on the HTTP address when the app serves HTTP. Nothing
// runs yet. After an error, Close releases what was opened.
func (a *app) Open(ctx context.Context) error {
	c, log := a.config, a.log
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	a.DB = db
	for _, msg := range c.migrated.Unbound {
		log.Warn("operator not bound to a commune", "problem", msg)
	}
	if a.Objects, err = c.openObjects(ctx); err != nil {
		return err
	}
	tmp := filepath.Join(c.data, "tmp")
	if n, err := worker.CleanTemp(tmp); err != nil {
		log.Warn("clean work folders", "err", err)
	} else if n > 0 {
		log.Info("removed work folders of dead workers", "count", n)
	}
	fonts := filepath.Join(c.data, "fonts")
	if err := media.PrepareFonts(fonts); err != nil {
		// Vietnamese and Mông still render; Thái burn-in is refused until
		// a Tai Viet font is installed (make deps installs fonts-noto-core).
		log.Error("fonts for burned-in subtitles", "dir", fonts, "err", err)
	}

	// The queue's inserts run inside the transactions that record results,
	// so jobs, translation jobs and schedule rebuilds exist exactly when
	// those commit.
	if a.Queue, err = worker.NewQueue(db.SQL(), nil); err != nil {
		return err
	}
	db.PriorityChangedTx = a.Queue.ReprioritizeTx // a raised segment's queued processing job is raised too
	db.JobDeadlines = c.jobs.open()               // a raised segment's translation jobs are due by its new priority's deadline
	db.WithdrawnTx = a.Queue.EnqueueWithdrawnTx   // a withdrawal moves the segment's objects out of reach of issued links
	// A change of where or how a segment airs (priority, emergency raised
	// or ended, withdrawal) queues a rebuild of every commune in its
	// transaction: the request rebuilds the communes it must at once (an
	// emergency's targets), this one every other commune whose schedule
	// still names the segment; a build writes only the communes whose
	// content changed.
	db.RebuildTx = func(ctx context.Context, tx *sql.Tx, _ string) error { return a.Queue.EnqueueRebuild(ctx, tx, nil) }
	if a.Schedules, err = c.sched.service(c, db, a.Objects, a.Queue, log); err != nil {
		return err
	}
	// Every ffmpeg and ffprobe run of the worker is timed into
	// loa_ffmpeg_seconds, exposed on /metrics when HTTP runs here too.
	ffmpegSeconds := media.NewFFmpegMetrics()
	processor := &worker.Processor{
		Catalog: db, Objects: a.Objects, TempDir: tmp, FontsDir: fonts, Log: log,
		Runner:     media.NewRunner(media.Config{Observe: ffmpegSeconds.Observe}),
		MP3BitRate: int(c.mp3Kbps) * 1000, OpusBitRate: int(c.opusKbps) * 1000,
		Enqueue: a.Queue.EnqueueTx,
		OnProcessed: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment) error {
			if err := db.OpenJobsTx(ctx, tx, seg, c.jobs.open()); err != nil {
				return err
			}
			return a.Queue.EnqueueRebuild(ctx, tx, nil)
		},
		OnVariantReady: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment, lang string) error {
			return a.Queue.EnqueueRebuild(ctx, tx, nil)
		},
	}
	a.Worker, err = worker.New(worker.Config{
		Schedules: broadcast.Jobs{S: a.Schedules}, ScheduleSpec: c.sched.cron,
		DB: db.SQL(), Catalog: db, Objects: a.Objects, Log: log,
		SweepSpec: c.cronSweep, UploadGrace: c.uploadGrace, Work: true,
		Processor:    processor,
		MediaWorkers: int(c.mediaJobs), UrgentWorkers: int(c.urgentJobs), RescueAfter: c.rescueAfter, LeaseEvery: c.leaseEvery, DeadAfter: c.deadAfter,
		OrphanSpec: c.cronOrphans, OrphanCatalog: db, OrphanObjects: a.Objects, Translation: c.jobs.translation(db),
		Reports: db, ReportObjects: a.Objects, ReportSpec: c.cronReports,
		Withdrawal: &worker.Withdrawal{Catalog: db, Objects: a.Objects},
	})
	if err != nil {
		return err
	}
	if !a.withHTTP {
		return nil
	}

	if a.listener, err = net.Listen("tcp", c.addr); err != nil {
		return fmt.Errorf("listen on %s (LOA_ADDR): %w", c.addr, err)
	}
	a.URL = "http://" + a.listener.Addr().String()
	if c.plainHTTP {
		if tcp, ok := a.listener.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			log.Warn("LOA_PLAIN_HTTP is set on a network address: session cookies are sent without Secure and can be read on the way; serve over https and unset it", "addr", a.listener.Addr().String())
		}
	}
	publicURL := c.publicURL
	if publicURL == "" {
		publicURL = a.URL
	}
	auth := throttle.New(throttle.Budget{}, throttle.Budget{}) // shared by the API and the pages
	auth.Proxies = c.trustedProxies
	a.API = &api.Server{
		Catalog: db, Objects: a.Objects, Log: log, Auth: auth, PublicURL: publicURL,
		Broadcast: a.Schedules,
		Jobs:      c.jobs.desk(db, a.Objects, a.Queue, log), JobStore: db,
		Collectors: []prometheus.Collector{ffmpegSeconds},
		// A request without a bearer token signs in by the pages' cookie.
		Session: web.SessionUser(db, pipeline.SessionPolicy{}),
		// A password change keeps the session it was made in.
		SessionToken: web.SessionToken,
		// A database that cannot be reached (PostgreSQL restarting) is 503.
		Unreachable: sqlstore.Unreachable,
		// The caps on open event streams hold across every replica.
		Streams: sqlstore.ProcessStreams{DB: db, Process: a.process},
		Ingester: &pipeline.Ingester{
			Store: db, Objects: a.Objects, Log: log,
			Inspector:        media.Inspector{Limits: media.Limits{MaxDuration: c.maxDuration}},
			CheckSubtitle:    pipeline.CheckSourceSubtitles,
			MaxBytes:         c.maxUploadMB << 20,
			MaxSubtitleBytes: 2 << 20,
			Enqueue: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment) error {
				return a.Queue.EnqueueTx(ctx, tx, worker.ProcessSegmentArgs{SegmentID: seg.ID, DurationMS: seg.Probe.DurationMS, Priority: seg.Priority})
			},
		},
	}
	pages, err := web.New(web.Config{Store: db, API: a.API.Handler(), Log: log,
		MaxUploadBytes: c.maxUploadMB << 20, PlainHTTP: c.plainHTTP,
		Cron: c.cronJobs(), CronRuns: db, Auth: auth, Unreachable: sqlstore.Unreachable})
	if err != nil {
		return err
	}
	if c.playlistAddr != "" {
		if a.playlists, err = a.API.PlaylistListener(); err != nil {
			return err
		}
		if a.playlistsLn, err = net.Listen("tcp", c.playlistAddr); err != nil {
			return fmt.Errorf("listen on %s (LOA_PLAYLIST_ADDR): %w", c.playlistAddr, err)
		}
		a.PlaylistURL = "http://" + a.playlistsLn.Addr().String()
		a.API.PlaylistURL = devicePlaylistURL(c.playlistPublicURL, publicURL, a.playlistsLn.Addr())
		if c.playlistPublicURL == "" && a.API.PlaylistURL != a.PlaylistURL {
			log.Warn("LOA_PLAYLIST_ADDR listens on every address: loa device add prints "+a.API.PlaylistURL+" for controllers; set LOA_PLAYLIST_PUBLIC_URL to the address they reach",
				"addr", a.playlistsLn.Addr().String())
		}
	}
	a.http = &http.Server{
		Handler:           pages.Site(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutting down ends the devices' event streams with a retry hint, so
	// they reconnect to another replica instead of holding this one.
	a.http.RegisterOnShutdown(a.API.CloseStreams)
	return nil
}

// Run follows the change feed, starts the worker and serves HTTP until
// ctx ends (nil) or the HTTP server fails. Close stops what it started.
func (a *app) Run(ctx context.Context) error {
	c, log := a.config, a.log
	// The change feed keeps this process's token and schedule caches and
	// its devices' event streams in step with every other process on the
	// database; it runs until Close, past the HTTP shutdown.
	feedCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var feedDone sync.WaitGroup
	feedDone.Go(func() {
		if err := a.DB.Follow(feedCtx, log); err != nil {
			log.Error("change feed not followed: other replicas' revocations and schedules reach this one only as its caches expire", "err", err)
		}
	})
	if a.API != nil {
		// This process's open event streams stay counted in the
		// deployment's caps while it lives; at Close they are forgotten.
		feedDone.Go(func() { a.DB.RenewStreams(feedCtx, a.process, log) })
	}
	a.stopFeed = func() { cancel(); feedDone.Wait() }
	if err := a.Worker.Start(ctx); err != nil {
		return err
	}
	a.started = true
	if !a.withHTTP {
		log.Info("worker started")
		<-ctx.Done()
		log.Info("worker stopping")
		return nil
	}
	if c.debugAddr != "" {
		startDebug(ctx, log, c.debugAddr)
	}
	errc := make(chan error, 2)
	go func() { errc <- a.http.Serve(a.listener) }()
	log.Info("loa serving", "addr", a.listener.Addr().String(), "db", c.dbShown(), "s3", c.s3.Endpoint, "bucket", c.s3.Bucket)
	fmt.Fprintf(a.stdout, "loa listening on %s\n", a.URL)
	if a.playlists != nil {
		go func() {
			if err := a.playlists.Serve(a.playlistsLn); err != nil {
				errc <- fmt.Errorf("playlist listener: %w", err)
			}
		}()
		log.Info("loa serving playlists", "addr", a.playlistsLn.Addr().String())
		fmt.Fprintf(a.stdout, "loa serving playlists on %s\n", a.PlaylistURL)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// Close stops taking requests and lets those in flight (uploads) finish
// for up to a minute, records the devices' last polls, lets running jobs
// finish for up to 30 s and returns the others to the queue, stops
// following the change feed and closes the database. It closes only what
// Open and Run made, so it is safe after either failed.
func (a *app) Close() error {
	var errs []error
	if a.http != nil {
		a.log.Info("shutting down: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if a.playlists != nil {
			// Playlist polls are short: they end well within the minute.
			if err := a.playlists.Shutdown(sctx); err != nil {
				a.log.Warn("playlist listener: forced shutdown", "err", err)
			}
		}
		if err := a.http.Shutdown(sctx); err != nil {
			// Uploads still running are cut; their objects are removed by
			// the ingest cleanup or, after a crash, by the sweep.
			a.http.Close()
			a.log.Warn("forced shutdown", "err", err)
		}
		if err := a.API.DevicePolls.Flush(sctx); err != nil {
			a.log.Warn("record device polls", "err", err)
		}
		cancel()
	}
	if a.listener != nil {
		a.listener.Close() // Shutdown closed it if Run served; not if Run never came
	}
	if a.playlistsLn != nil {
		a.playlistsLn.Close()
	}
	if a.started {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := a.Worker.Stop(sctx); err != nil {
			errs = append(errs, fmt.Errorf("stop worker: %w", err))
		}
		cancel()
	}
	if a.stopFeed != nil {
		a.stopFeed()
	}
	if a.DB != nil {
		if err := a.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// devicePlaylistURL is the playlist listener's URL as loa device add
// prints it for controllers: public when set (LOA_PLAYLIST_PUBLIC_URL);
// else http:// and the listener's address, except that a listener on
// every address (0.0.0.0, [::]) is named by the host of mainURL (the
// server's public URL) or, when that is no better, the machine's name.
func devicePlaylistURL(public, mainURL string, ln net.Addr) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	tcp, ok := ln.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return "http://" + ln.String()
	}
	host := ""
	if u, err := url.Parse(mainURL); err == nil {
		host = u.Hostname()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		} else {
			host = "localhost"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
