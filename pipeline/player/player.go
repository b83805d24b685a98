package player

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/pipeline/player/mpv"
	"github.com/sonla-cchc/loa/pipeline/pull"
)

// Names of the player's files in its folder.
const (
	BundleDir  = "bundle"        // the verified bundle in force
	JournalLog = "journal.log"   // what was played
	CursorFile = "uploaded.json" // how far the journal was uploaded
	StatusFile = "status.json"   // what the player is doing, for people
	PidDir     = "mpv"           // a pid file per mpv running
)

// Config is what `loa player` runs with.
type Config struct {
	Client  *pull.Client
	Commune string
	Dir     string
	// Outputs maps a cluster to its audio device (mpv --audio-device);
	// the key "*" gives the device of every other cluster.
	Outputs map[string]string
	// AO is mpv's audio output driver ("" for mpv's choice).
	AO      string
	MPV     string // mpv binary
	KeyFile string
	Days    int
	// SyncEvery is the poll interval (default 5 min); Listen follows the
	// events stream besides.
	SyncEvery time.Duration
	Listen    bool
	// HeartbeatEvery is the heartbeat interval (default 1 min); Version
	// the player's build, sent with each heartbeat.
	HeartbeatEvery time.Duration
	Version        string
	// FirstSync is how long a starting player with a bundle on disk
	// waits for its first sync before it plays (default 5 s): the server
	// may have changed the schedule while it was down (an emergency
	// ended). Past it, the bundle on disk plays while the syncs go on.
	FirstSync time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// StatusDoc is the player's status file: what it plays and how its
// bundle and uploads stand.
type StatusDoc struct {
	Commune       string            `json:"commune"`
	Version       string            `json:"version,omitempty"`
	ETag          string            `json:"etag,omitempty"`
	BundleCreated time.Time         `json:"bundle_created,omitzero"`
	ValidUntil    time.Time         `json:"valid_until,omitzero"`
	Expired       bool              `json:"expired"`
	LastSync      time.Time         `json:"last_sync,omitzero"`
	LastError     string            `json:"last_error,omitempty"`
	LastErrorAt   time.Time         `json:"last_error_at,omitzero"`
	ClockOffsetMS int64             `json:"clock_offset_ms"`
	FreeBytes     uint64            `json:"free_bytes"` // free disk space in the player's folder
	Playing       map[string]string `json:"playing"`    // cluster -> entry id and title
	// LastHeartbeat is when the server last took a heartbeat;
	// HeartbeatError why the last one failed ("" when it arrived).
	LastHeartbeat  time.Time `json:"last_heartbeat,omitzero"`
	HeartbeatError string    `json:"heartbeat_error,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
	// Until is the last day (YYYY-MM-DD) the bundle in force covers;
	// DaysAhead how many days it held from the device's today through
	// Until at the last sync, of DaysAsked (--days). DaysAhead is below
	// DaysAsked when the server has not built the later days yet; the
	// regular syncs bring them once it has.
	Until     string `json:"until,omitempty"`
	DaysAhead int    `json:"days_ahead"`
	DaysAsked int    `json:"days_asked,omitempty"`
}

// Status holds the StatusDoc and writes it to its file on each change.
type Status struct {
	mu   sync.Mutex
	doc  StatusDoc
	path string
	now  func() time.Time
	log  *slog.Logger
}

func (s *Status) get() StatusDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := s.doc
	doc.Playing = copyPlaying(doc.Playing)
	return doc
}

// Doc returns a copy of the status as it stands.
func (s *Status) Doc() StatusDoc { return s.get() }

func (s *Status) update(f func(*StatusDoc)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.doc)
	if s.path == "" {
		return
	}
	s.doc.UpdatedAt = s.now()
	data, _ := json.MarshalIndent(&s.doc, "", "  ")
	if err := pull.WriteFileSync(s.path, append(data, '\n')); err != nil && s.log != nil {
		s.log.Warn("status file not written", "err", err)
	}
}

// Reasons a play left open by a crash is closed with (CloseOpenPlays).
const (
	reasonResumes = "interrupted: the player stopped while it played (restart or power cut); it resumes where the schedule is"
	reasonReplays = "interrupted: the player stopped while it played (restart or power cut); the emergency plays again from its start"
)

// CloseOpenPlays closes, at now, the plays a crash (kill -9, a power
// cut) left open in j as interrupted; none is done, so each plays again.
// A scheduled item resumes where the schedule's clock is (Plan.Next);
// an emergency interrupt plays again from its start: a warning cut off
// mid-sentence must be heard whole (what, where, what to do), and an
// interrupt has no scheduled offset to resume at. The reason says which.
func CloseOpenPlays(j *Journal, now time.Time, log *slog.Logger) error {
	for _, open := range j.Open() {
		rec := open
		rec.Kind, rec.Started, rec.At = Interrupted, open.At, now
		rec.Reason = reasonResumes
		from := "the schedule's offset"
		if open.Emergency {
			rec.Reason, from = reasonReplays, "its start"
		}
		if _, err := j.Append(rec); err != nil {
			return err
		}
		log.Info("closing a play the last run left open", "cluster", open.Cluster, "item", open.Entry, "plays_again_from", from)
	}
	return nil
}

// Run plays the commune's schedule until ctx ends: it opens the journal
// (closing the plays a crash left open as interrupted: see
// CloseOpenPlays), puts the bundle on disk in force if
// it verifies, syncs with the server, uploads play reports, and runs one
// runner per cluster.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if _, err := mpv.Look(cfg.MPV); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", cfg.Dir, err)
	}
	unlock, err := LockDir(cfg.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	// The mpv a previous run left sounding (it was killed, or the power
	// cut) are stopped before anything plays: the bundle or the server
	// may no longer have what they play. The lock above makes sure they
	// are not a running player's.
	pids := filepath.Join(cfg.Dir, PidDir)
	if err := os.MkdirAll(pids, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", pids, err)
	}
	if killed, err := mpv.KillLeftovers(pids); err != nil {
		return err
	} else if len(killed) > 0 {
		log.Warn("stopped the mpv the last run left playing", "pids", killed)
	}
	spawner := mpv.NewSpawner()
	defer spawner.Close()
	j, skipped, torn, err := OpenJournal(filepath.Join(cfg.Dir, JournalLog))
	if err != nil {
		return err
	}
	defer j.Close()
	if torn != "" {
		log.Warn("the journal's last record was cut (power cut?); set aside", "file", torn)
	}
	if skipped > 0 {
		log.Warn("damaged journal records skipped", "count", skipped)
	}
	if err := CloseOpenPlays(j, cfg.Now(), log); err != nil {
		return err
	}
	cursor, err := LoadCursor(filepath.Join(cfg.Dir, CursorFile))
	if err != nil {
		return err
	}
	status := &Status{path: filepath.Join(cfg.Dir, StatusFile), now: cfg.Now, log: log,
		doc: StatusDoc{Commune: cfg.Commune, Playing: map[string]string{}}}
	cur := NewCurrent()
	syncer := &Syncer{Client: cfg.Client, Commune: cfg.Commune, Dir: filepath.Join(cfg.Dir, BundleDir), KeyFile: cfg.KeyFile,
		Days: cfg.Days, Every: cfg.SyncEvery, Current: cur, Status: status, Now: cfg.Now, Log: log}
	if err := syncer.Load(); err != nil {
		log.Warn("no bundle to play yet", "err", err)
	}

	var wg sync.WaitGroup
	kick := make(chan struct{}, 1)
	kickUpload := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if moved, err := cursor.Reconcile(j); err != nil {
		return err
	} else if moved {
		log.Warn("the upload cursor was past the journal (journal lost or replaced?); uploading from the journal's end", "seq", cursor.Seq)
	}
	j.Acknowledge(cursor.Seq)
	up := &Uploader{Journal: j, Cursor: cursor, Send: PlaysSender(cfg.Client, cfg.Commune), Log: log, Now: cfg.Now}
	hb := &Heartbeater{Client: cfg.Client, Commune: cfg.Commune, Status: status, Journal: j, Every: cfg.HeartbeatEvery,
		Version: cfg.Version, Now: cfg.Now, Log: log}
	synced := make(chan struct{})
	var firstSync sync.Once
	syncer.AfterSync = func() {
		firstSync.Do(func() { close(synced) })
		hb.Kick()
	}
	wg.Add(3)
	go func() { defer wg.Done(); hb.Run(ctx) }()
	go func() { defer wg.Done(); up.Run(ctx, kick, time.Minute) }()
	go func() { defer wg.Done(); syncer.Run(ctx) }()
	if cfg.Listen {
		wg.Add(1)
		go func() { defer wg.Done(); syncer.Listen(ctx) }()
	}
	kickUpload()

	socks, err := os.MkdirTemp("", "loa-player-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(socks)
	if plan, _, _ := cur.Get(); plan != nil {
		waitFirstSync(ctx, synced, cfg.FirstSync, log)
	}
	started := map[string]bool{}
	startRunner := func(cluster string) {
		device, ok := cfg.Outputs[cluster]
		if !ok {
			device = cfg.Outputs["*"]
		}
		r := &Runner{Cluster: cluster, Current: cur, Journal: j, Now: cfg.Now, Log: log,
			MPV: mpv.Options{Binary: cfg.MPV, AO: cfg.AO, Device: device, SocketDir: socks, Spawner: spawner, PidDir: pids},
			OnRecord: func(rec Record) {
				if rec.Closes() {
					kickUpload()
				}
			},
			OnDamaged: syncer.Repair,
			OnPlaying: func(cluster string, it *Item) {
				status.update(func(st *StatusDoc) {
					if it == nil {
						delete(st.Playing, cluster)
					} else {
						st.Playing[cluster] = it.ID + " " + it.Title
					}
				})
			},
		}
		log.Info("cluster runner started", "cluster", cluster, "device", device)
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	expiredSaid := false
	for {
		plan, _, changed := cur.Get()
		wake := time.Hour
		if plan != nil {
			for _, c := range plan.Clusters() {
				if !started[c] {
					started[c] = true
					startRunner(c)
				}
			}
			expired := plan.Expired(cfg.Now())
			if expired != expiredSaid {
				status.update(func(st *StatusDoc) { st.Expired = expired })
				expiredSaid = expired
			}
			if d := plan.Manifest.ValidUntil.Sub(cfg.Now()); d > 0 && d < wake {
				wake = d
			}
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-changed:
		case <-time.After(wake):
		}
	}
}

// waitFirstSync waits for the first sync's end (synced closed), at most
// wait (default 5 s), before the bundle on disk plays.
func waitFirstSync(ctx context.Context, synced <-chan struct{}, wait time.Duration, log *slog.Logger) {
	if wait <= 0 {
		wait = 5 * time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-synced:
	case <-t.C:
		log.Warn("the server has not answered the first sync yet; playing the bundle on disk meanwhile", "waited", wait)
	case <-ctx.Done():
	}
}
