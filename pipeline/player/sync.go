package player

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// ClockSkew is how far the player's clock may differ from the server's
// before it warns.
const ClockSkew = 5 * time.Second

// Syncer keeps the bundle in step with the server: a pull at start, every
// Every (with the last ETag, so an unchanged bundle costs one 304), and
// at once when Kick is called (the events stream saw a new version).
// Only a verified bundle is put in force; a refused one is logged and
// the last good one keeps playing.
type Syncer struct {
	Client  *pull.Client
	Commune string
	Dir     string // the bundle folder
	KeyFile string // "" for the key pinned at the first pull
	Days    int
	Every   time.Duration
	Current *Current
	Status  *Status
	Now     func() time.Time
	Log     *slog.Logger
	// EventsIdle is how long the events stream may stay silent before it
	// is dialled again (default one minute; the server sends a keep-alive
	// every 15 s, and a cut network does not always close a connection).
	EventsIdle time.Duration
	// AfterSync, when set, is called after each pull, failed or not (the
	// player sends a heartbeat then).
	AfterSync func()

	mu   sync.Mutex // one pull at a time
	kick chan struct{}

	// The last version the events stream announced and its reason: a
	// bundle with that ETag is put in force with the reason as its
	// Plan.Cause.
	amu             sync.Mutex
	announcedETag   string
	announcedReason string
}

// announce remembers the version the events stream announced and why.
func (s *Syncer) announce(etag, reason string) {
	// The reason ends up in play reports: one short line of printable
	// text, whatever the stream sent.
	reason = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(reason, ""))
	if utf8.RuneCountInString(reason) > maxCauseRunes {
		reason = string([]rune(reason)[:maxCauseRunes]) + "…"
	}
	s.amu.Lock()
	defer s.amu.Unlock()
	s.announcedETag, s.announcedReason = etag, reason
}

// maxCauseRunes bounds an announced reason kept as a Plan's Cause.
const maxCauseRunes = 64

// causeOf is the announced reason of the version with etag, if any.
func (s *Syncer) causeOf(etag string) string {
	s.amu.Lock()
	defer s.amu.Unlock()
	if etag == "" || etag != s.announcedETag {
		return ""
	}
	return s.announcedReason
}

func (s *Syncer) kicks() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	return s.kick
}

// Kick asks for a pull now.
func (s *Syncer) Kick() {
	select {
	case s.kicks() <- struct{}{}:
	default:
	}
}

// Repair has the next pull check every file again (not trusting an
// unchanged ETag) and download what was damaged, and asks for it now.
func (s *Syncer) Repair() {
	s.Status.update(func(st *StatusDoc) { st.ETag = "" })
	s.Kick()
}

// Load puts the bundle already on disk in force, after verifying it
// whole with the trusted key. A bundle that does not verify is refused.
func (s *Syncer) Load() error {
	key := s.KeyFile
	if key == "" {
		_, _, key = pull.Paths(s.Dir)
	}
	if _, err := os.Stat(key); err != nil {
		return fmt.Errorf("no trusted key yet (%s): the first pull pins it", key)
	}
	pub, err := pull.ReadKey(key)
	if err != nil {
		return err
	}
	fsys := os.DirFS(s.Dir)
	data, err := fs.ReadFile(fsys, schedules.ManifestName)
	if err != nil {
		return fmt.Errorf("no bundle in %s: %w", s.Dir, err)
	}
	sig, err := fs.ReadFile(fsys, schedules.SignatureName)
	if err != nil {
		return fmt.Errorf("the bundle in %s has no signature: %w", s.Dir, err)
	}
	m, err := schedules.VerifyManifest(pub, data, sig)
	if err != nil {
		return fmt.Errorf("the bundle in %s is refused: %w", s.Dir, err)
	}
	// The playlists must all be intact; a damaged media file only loses
	// its items (each file is checked again before it plays) and is
	// downloaded again at the next sync.
	for _, f := range m.Files {
		if err := schedules.CheckFile(fsys, f); err != nil {
			if path.Dir(f.Path) == "." {
				return fmt.Errorf("the bundle in %s is refused: %w", s.Dir, err)
			}
			s.Log.Warn("a media file of the bundle is damaged; its items will not play until the next sync repairs it", "err", err)
		}
	}
	return s.use(m)
}

func (s *Syncer) use(m *schedules.Manifest) error {
	if m.Commune != s.Commune {
		return fmt.Errorf("the bundle in %s is for commune %s, not %s", s.Dir, m.Commune, s.Commune)
	}
	plan, err := NewPlan(os.DirFS(s.Dir), m)
	if err != nil {
		return fmt.Errorf("the bundle in %s is refused: %w", s.Dir, err)
	}
	plan.Cause = s.causeOf(m.ETag)
	s.Current.Set(plan, s.Dir)
	ahead := DaysAhead(m, s.Now())
	s.Status.update(func(st *StatusDoc) {
		st.Version, st.ValidUntil, st.BundleCreated = m.Version, m.ValidUntil, m.CreatedAt
		st.Until, st.DaysAhead, st.DaysAsked = m.Until, ahead, max(s.Days, 1)
	})
	return nil
}

// DaysAhead is how many days the bundle m holds from the device's today
// at now (in Sơn La) through its last day, today included: 0 when it
// ends before today (or its dates are unreadable).
func DaysAhead(m *schedules.Manifest, now time.Time) int {
	until, err := schedules.ParseDate(m.Until)
	if err != nil {
		return 0
	}
	today := schedules.DateOf(now.In(localtime.Location()))
	return max(until.DaysSince(today)+1, 0)
}

// Once pulls once.
func (s *Syncer) Once(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	plan, _, _ := s.Current.Get()
	// The device's clock decides which days the bundle must cover and
	// whether it has expired.
	// The pull's notes (a signing key pinned at the first sync, with the
	// fingerprint to check; a resumed download) go to the log.
	o := pull.Options{Commune: s.Commune, Days: max(s.Days, 1), Dir: s.Dir, KeyFile: s.KeyFile, Now: s.Now(), Progress: logNotes{s.Log}}
	if plan != nil {
		o.ETag = s.Status.get().ETag
		o.NotOlder = plan.Manifest.CreatedAt
	}
	if s.AfterSync != nil {
		defer s.AfterSync()
	}
	sent := s.Now()
	res, err := pull.Bundle(ctx, s.Client, o)
	if !res.ServerDate.IsZero() {
		// The Date header has whole seconds: compare with the middle of
		// the exchange, and allow for the rounding.
		mid := sent.Add(s.Now().Sub(sent) / 2)
		off := res.ServerDate.Sub(mid.Truncate(time.Second))
		s.Status.update(func(st *StatusDoc) { st.ClockOffsetMS = off.Milliseconds() })
		if off > ClockSkew || off < -ClockSkew {
			s.Log.Warn("this device's clock differs from the server's; set it right (timedatectl, NTP): items start by this clock",
				"offset", off.Round(time.Second), "server", res.ServerDate)
		}
	}
	var fsst syscall.Statfs_t
	free := uint64(0)
	if syscall.Statfs(filepath.Dir(s.Dir), &fsst) == nil {
		free = fsst.Bavail * uint64(fsst.Bsize)
	}
	if err != nil {
		s.Status.update(func(st *StatusDoc) {
			st.LastError, st.LastErrorAt, st.FreeBytes = pipeline.ErrorMessage(err), s.Now(), free
		})
		return err
	}
	if !res.NotModified {
		if err := s.use(res.Manifest); err != nil {
			s.Status.update(func(st *StatusDoc) { st.LastError, st.LastErrorAt = err.Error(), s.Now() })
			return err
		}
		ahead, asked := DaysAhead(res.Manifest, s.Now()), max(s.Days, 1)
		if !res.UpToDate {
			s.Log.Info("new bundle in force", "version", res.Manifest.Version, "cause", s.causeOf(res.Manifest.ETag), "from", res.Manifest.From, "until", res.Manifest.Until,
				"days_ahead", ahead, "days_asked", asked, "downloaded", res.Fetched, "reused", res.Reused, "bytes", res.Bytes)
		}
		if ahead < asked {
			// The regular syncs (one 304 each while nothing changes) and
			// the events stream's new versions bring the rest.
			s.Log.Info("the bundle holds fewer days than asked: the server has not built the later days yet; later syncs bring them",
				"days_ahead", ahead, "days_asked", asked, "until", res.Manifest.Until)
		}
	}
	s.Status.update(func(st *StatusDoc) {
		st.LastSync, st.ETag, st.FreeBytes = s.Now(), res.ETag, free
		st.LastError = ""
	})
	return nil
}

// RetryAfter is how long Run waits after a failed pull: 30 s (or every,
// if shorter) for a failure that may pass soon (a network, a server
// restarting, a refused answer); every itself when the server answered
// that it has no schedule for the days asked (CodeNotFound: not built
// yet), which only a build changes, and the events stream announces a
// build at once.
func RetryAfter(err error, every time.Duration) time.Duration {
	if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
		return every
	}
	return min(every, 30*time.Second)
}

// Run pulls at start, every Every and on each Kick, until ctx ends. A
// failed pull is retried after RetryAfter.
func (s *Syncer) Run(ctx context.Context) {
	every := s.Every
	if every <= 0 {
		every = 5 * time.Minute
	}
	kick := s.kicks()
	for {
		wait := every
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			wait = RetryAfter(err, every)
			if plan, _, _ := s.Current.Get(); plan != nil {
				s.Log.Warn("bundle not synced; playing the last verified bundle", "retry_in", wait, "valid_until", plan.Manifest.ValidUntil, "err", err)
			} else {
				s.Log.Warn("bundle not synced; nothing to play until a pull succeeds", "retry_in", wait, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-time.After(wait):
		}
	}
}

// Listen follows the commune's events stream (server-sent events) and
// kicks a pull when a version other than the one in force is announced.
// It reconnects after a pause when the stream ends: a pause that doubles
// up to a minute while the server fails, and ClosingPause when the server
// ended the stream with a "closing" event (it is shutting down; another
// replica answers the reconnection).
func (s *Syncer) Listen(ctx context.Context) {
	pause := time.Second
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := pause
		if errors.Is(err, errStreamClosing) {
			wait, pause = ClosingPause, time.Second
		} else {
			pause = min(pause*2, time.Minute)
		}
		s.Log.Debug("events stream ended; reconnecting", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// ClosingPause is how long a device waits to reconnect after the server
// closed its events stream because it is shutting down: the server's
// retry hint (api.StreamRetry).
const ClosingPause = time.Second

// errStreamClosing ends a stream the server closed with a "closing" event.
var errStreamClosing = errors.New("the server closed the events stream: it is shutting down")

// idleReader cancels its request when no byte arrives for idle.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	idle  time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	return n, err
}

func (s *Syncer) listenOnce(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	limit := s.EventsIdle
	if limit <= 0 {
		limit = time.Minute
	}
	idle := time.AfterFunc(limit, cancel)
	defer idle.Stop()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(s.Client.Server, "/")+"/api/communes/"+url.PathEscape(s.Commune)+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.Client.Token)
	req.Header.Set("Accept", "text/event-stream")
	hc := s.Client.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("events stream: %s", resp.Status)
	}
	return ReadEvents(&idleReader{r: resp.Body, timer: idle, idle: limit}, func(e Event) error {
		if e.Type == "closing" {
			return errStreamClosing
		}
		if e.Type != "version" && e.Type != "" {
			return nil
		}
		var v struct {
			ETag   string `json:"etag"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(e.Data), &v) != nil {
			return nil
		}
		plan, _, _ := s.Current.Get()
		if plan == nil || v.ETag != plan.Manifest.ETag {
			s.Log.Info("the schedule changed; pulling now", "reason", v.Reason)
			s.announce(v.ETag, v.Reason)
			s.Kick()
		}
		return nil
	})
}

// Event is one server-sent event.
type Event struct {
	ID   string
	Type string // the event field; "" when absent
	Data string // data lines joined by "\n"
}

// maxEventLine bounds one line of the events stream.
const maxEventLine = 64 << 10

// ReadEvents reads a server-sent events stream (the text/event-stream
// format: "field: value" lines, events ended by a blank line, comments
// starting with ':') and calls fn for each event with data. It returns
// fn's first error, the reader's, or nil at the end of the stream. A
// line longer than 64 KiB ends it with an error.
func ReadEvents(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxEventLine)
	var e Event
	var data []string
	hasData := false
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if hasData {
				e.Data = strings.Join(data, "\n")
				if err := fn(e); err != nil {
					return err
				}
			}
			e, data, hasData = Event{}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			e.Type = value
		case "data":
			data, hasData = append(data, value), true
		case "id":
			if !strings.ContainsRune(value, 0) {
				e.ID = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("events stream: a line longer than %d bytes", maxEventLine)
		}
		return err
	}
	return nil
}

// logNotes logs each line written to it at Info, as a bundle pull's note.
type logNotes struct{ log *slog.Logger }

func (l logNotes) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		if line = strings.TrimSpace(line); line != "" {
			l.log.Info("bundle pull", "note", line)
		}
	}
	return len(p), nil
}
