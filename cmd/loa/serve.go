package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/web"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "serve", "")
	c.register(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return serve(ctx, env, &c, true)
}

func runWorker(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "worker", "")
	c.register(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return serve(ctx, env, &c, false)
}

// serve runs the worker, and the HTTP API when withHTTP, until ctx ends;
// then it stops taking requests, lets uploads in flight finish for a
// while, and returns unfinished jobs to the queue.
func serve(ctx context.Context, env *cliEnv, c *serverConfig, withHTTP bool) error {
	log := newLogger(env.stderr, c.logLevel)
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, msg := range c.migrated.Unbound {
		log.Warn("operator not bound to a commune", "problem", msg)
	}
	store, err := c.openObjects(ctx)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.data, "tmp")
	if n, err := worker.CleanTemp(tmp); err != nil {
		log.Warn("clean work folders", "err", err)
	} else if n > 0 {
		log.Info("removed work folders of dead workers", "count", n)
	}
	// Every ffmpeg and ffprobe run of the worker is timed into
	// loa_ffmpeg_seconds, exposed on /metrics when HTTP runs here too.
	ffmpegSeconds := media.NewFFmpegMetrics()
	runner := media.NewRunner(media.Config{Observe: ffmpegSeconds.Observe})
	fonts := filepath.Join(c.data, "fonts")
	if err := media.PrepareFonts(fonts); err != nil {
		// Vietnamese and Mông still render; Thái burn-in is refused until
		// a Tai Viet font is installed (make deps installs fonts-noto-core).
		log.Error("fonts for burned-in subtitles", "dir", fonts, "err", err)
	}
	sched, err := c.sched.service(c, db, store, log)
	if err != nil {
		return err
	}
	// The change feed keeps this process's token and schedule caches and
	// its devices' event streams in step with every other process on the
	// database; it runs until serve returns, past the HTTP shutdown.
	feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		if err := db.Follow(feedCtx, log); err != nil {
			log.Error("change feed not followed: other replicas' revocations and schedules reach this one only as its caches expire", "err", err)
		}
	}()
	defer func() { stopFeed(); <-feedDone }()
	sched.Feed = db
	// The hooks below run inside the transactions that record results, so
	// translation jobs and schedule rebuilds exist exactly when they commit.
	var w *worker.Worker
	processor := &worker.Processor{
		Catalog: db, Objects: store, Runner: runner, TempDir: tmp, FontsDir: fonts, Log: log,
		MP3BitRate: int(c.mp3Kbps) * 1000, OpusBitRate: int(c.opusKbps) * 1000,
		OnProcessed: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment) error {
			if err := db.OpenJobsTx(ctx, tx, seg, c.jobs.open()); err != nil {
				return err
			}
			return w.EnqueueRebuild(ctx, tx, nil)
		},
		OnVariantReady: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment, lang string) error {
			return w.EnqueueRebuild(ctx, tx, nil)
		},
	}
	w, err = worker.New(worker.Config{
		Schedules: broadcast.Jobs{S: sched}, ScheduleSpec: c.sched.cron,
		DB: db.SQL(), Catalog: db, Objects: store, Log: log,
		SweepSpec: c.cronSweep, UploadGrace: c.uploadGrace, Work: true,
		Processor:    processor,
		MediaWorkers: int(c.mediaJobs), UrgentWorkers: int(c.urgentJobs), RescueAfter: c.rescueAfter, LeaseEvery: c.leaseEvery, DeadAfter: c.deadAfter,
		OrphanSpec: c.cronOrphans, OrphanCatalog: db, OrphanObjects: store, Translation: c.jobs.translation(db),
		Reports: db, ReportObjects: store, ReportSpec: c.cronReports,
		Withdrawal: &worker.Withdrawal{Catalog: db, Objects: store},
	})
	if err != nil {
		return err
	}
	db.PriorityChangedTx = w.ReprioritizeTx // a raised segment's queued processing job is raised too
	db.WithdrawnTx = w.EnqueueWithdrawnTx   // a withdrawal moves the segment's objects out of reach of issued links
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			log.Error("stop worker", "err", err)
		}
	}()
	if !withHTTP {
		log.Info("worker started")
		<-ctx.Done()
		log.Info("worker stopping")
		return nil
	}

	sched.Rebuilds = w
	desk, err := c.jobs.desk(db, store, log)
	if err != nil {
		return err
	}
	desk.Renditions = w                                        // an approval queues its rendition
	auth := throttle.New(throttle.Budget{}, throttle.Budget{}) // shared by the API and the pages
	srv := &api.Server{
		Catalog: db, Objects: store, Log: log, Auth: auth,
		Broadcast: sched,
		Jobs:      desk, JobStore: db,
		Collectors: []prometheus.Collector{ffmpegSeconds},
		Ingester: &pipeline.Ingester{
			Store: db, Objects: store, Log: log,
			Inspector:        media.Inspector{Limits: media.Limits{MaxDuration: c.maxDuration}},
			CheckSubtitle:    pipeline.CheckSourceSubtitles,
			MaxBytes:         c.maxUploadMB << 20,
			MaxSubtitleBytes: 2 << 20,
			Enqueue: func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment) error {
				return w.EnqueueTx(ctx, tx, worker.ProcessSegmentArgs{SegmentID: seg.ID, DurationMS: seg.Probe.DurationMS, Priority: seg.Priority})
			},
		},
	}
	pages, err := web.New(web.Config{Store: db, API: srv.Handler(), Log: log,
		MaxUploadBytes: c.maxUploadMB << 20, PlainHTTP: c.plainHTTP,
		Cron: c.cronJobs(), CronRuns: db, Auth: auth})
	if err != nil {
		return err
	}
	srv.Session = pages.SessionUser
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	if c.debugAddr != "" {
		startDebug(ctx, log, c.debugAddr)
	}
	srv.PublicURL = c.publicURL
	if srv.PublicURL == "" {
		srv.PublicURL = "http://" + ln.Addr().String()
	}
	if c.plainHTTP {
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			log.Warn("LOA_PLAIN_HTTP is set on a network address: session cookies are sent without Secure and can be read on the way; serve over https and unset it", "addr", ln.Addr().String())
		}
	}
	hs := &http.Server{
		Handler:           pages.Site(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutting down ends the devices' event streams with a retry hint, so
	// they reconnect to another replica instead of holding this one.
	hs.RegisterOnShutdown(srv.CloseStreams)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("loa serving", "addr", ln.Addr().String(), "db", c.dbPath(), "s3", c.s3.Endpoint, "bucket", c.s3.Bucket)
	fmt.Fprintf(env.stdout, "loa listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Uploads still running are cut; their objects are removed by
		// the ingest cleanup or, after a crash, by the sweep.
		hs.Close()
		log.Warn("forced shutdown", "err", err)
	}
	if err := srv.DevicePolls.Flush(sctx); err != nil {
		log.Warn("record device polls", "err", err)
	}
	return nil
}

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "migrate", "")
	c.registerStore(fs, env)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, c.dbPath())
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(res)
	}
	fmt.Fprintf(env.stdout, "database %s at version %d (applied now: %v; queue migrations applied now: %v)\n", c.dbPath(), res.Current, res.Applied, res.River)
	for _, msg := range res.Unbound {
		fmt.Fprintln(env.stderr, "warning: "+msg)
	}
	return nil
}
