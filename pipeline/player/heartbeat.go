package player

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// Heartbeater tells the server how the player stands, every Every and
// after each sync (POST /api/communes/{code}/heartbeat): its version,
// the bundle in force and its valid_until, what each cluster plays, the
// journal's upload backlog, the last error, the clock offset and free
// disk. The server keeps the latest per device and shows the device
// online, late or offline from when it last arrived.
type Heartbeater struct {
	Client  *pull.Client
	Commune string
	Status  *Status
	Journal *Journal
	// Every is the interval (default schedules.HeartbeatEvery); the
	// server's thresholds are multiples of it.
	Every   time.Duration
	Version string // the player's build (BuildVersion)
	Now     func() time.Time
	Log     *slog.Logger

	mu      sync.Mutex
	kick    chan struct{}
	lastErr string
}

func (h *Heartbeater) every() time.Duration {
	if h.Every <= 0 {
		return schedules.HeartbeatEvery
	}
	return h.Every
}

func (h *Heartbeater) kicks() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kick == nil {
		h.kick = make(chan struct{}, 1)
	}
	return h.kick
}

// Kick asks for a heartbeat now (after a sync).
func (h *Heartbeater) Kick() {
	select {
	case h.kicks() <- struct{}{}:
	default:
	}
}

// cutTo makes s valid UTF-8 without NULs and cuts it to at most n bytes
// on a rune boundary.
func cutTo(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", " "), "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// line is cutTo of s on one line (the heartbeat's names and titles).
func line(s string, n int) string {
	return cutTo(strings.NewReplacer("\r", " ", "\n", " ").Replace(s), n)
}

// Heartbeat is the heartbeat the player would send now.
func (h *Heartbeater) Heartbeat() schedules.Heartbeat {
	st := h.Status.get()
	hb := schedules.Heartbeat{SentAt: h.Now().UTC(), EverySeconds: int(h.every() / time.Second), PlayerVersion: line(h.Version, 200),
		BundleVersion: line(st.Version, 200), ValidUntil: st.ValidUntil, Expired: st.Expired, Backlog: h.Journal.Backlog(),
		LastError: cutTo(st.LastError, 1000), LastErrorAt: st.LastErrorAt, ClockOffsetMS: st.ClockOffsetMS,
		FreeBytes: int64(min(st.FreeBytes, 1<<62))}
	if len(st.Playing) > 0 {
		hb.Playing = map[string]string{}
		for c, what := range st.Playing {
			hb.Playing[line(c, 200)] = line(what, 200)
		}
	}
	return hb
}

// Send posts one heartbeat and notes the outcome in the status.
func (h *Heartbeater) Send(ctx context.Context) error {
	body, err := json.Marshal(h.Heartbeat())
	if err != nil {
		return err
	}
	_, err = h.Client.Do(ctx, "POST", "/api/communes/"+url.PathEscape(h.Commune)+"/heartbeat", bytes.NewReader(body), "application/json", nil, nil)
	now := h.Now()
	h.Status.update(func(st *StatusDoc) {
		if err != nil {
			st.HeartbeatError = pipeline.ErrorMessage(err)
		} else {
			st.LastHeartbeat, st.HeartbeatError = now, ""
		}
	})
	return err
}

// Run sends a heartbeat at once, then every Every and on each Kick,
// until ctx ends. A failure is logged when it differs from the last
// one (offline for a day logs once, not every minute); the next
// heartbeat is the retry.
func (h *Heartbeater) Run(ctx context.Context) {
	kick := h.kicks()
	t := time.NewTicker(h.every())
	defer t.Stop()
	for {
		err := h.Send(ctx)
		if ctx.Err() != nil {
			return
		}
		msg := ""
		if err != nil {
			msg = pipeline.ErrorMessage(err)
		}
		if msg != h.lastErr {
			if err != nil {
				h.Log.Warn("heartbeat not received by the server; the next one retries", "err", err)
			} else {
				h.Log.Info("heartbeats reach the server again")
			}
			h.lastErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

// BuildVersion names the running build: the module version and, when
// the build recorded them, the commit and whether the tree was modified.
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		v += " " + cutTo(rev, 12)
		if settings["vcs.modified"] == "true" {
			v += "-dirty"
		}
	}
	return v
}

// copyPlaying returns a copy of a playing map (the status's is shared).
func copyPlaying(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}
