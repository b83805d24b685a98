package schedules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Heartbeat is what a commune player tells the server about itself,
// about once a minute (POST /api/communes/{code}/heartbeat): the server
// keeps the latest per device and shows each device online, late or
// offline from when it last arrived.
type Heartbeat struct {
	// SentAt is the device's clock when it sent the heartbeat.
	SentAt time.Time `json:"sent_at"`
	// EverySeconds is the device's heartbeat interval; the server's
	// online/late/offline thresholds are multiples of it (see
	// [DeviceStateOf]). 0 means [HeartbeatEvery].
	EverySeconds  int       `json:"every_s,omitempty"`
	PlayerVersion string    `json:"player_version,omitempty"`
	BundleVersion string    `json:"bundle_version,omitempty"`
	ValidUntil    time.Time `json:"valid_until,omitzero"`
	// Expired says the bundle is past ValidUntil and nothing plays.
	Expired bool `json:"expired,omitempty"`
	// Playing maps each cluster sounding now to the entry id and title.
	Playing map[string]string `json:"playing,omitempty"`
	// Backlog counts journal records not yet acknowledged by the server
	// (play reports waiting for upload).
	Backlog     int       `json:"journal_backlog"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ClockOffsetMS is the server's clock minus the device's, measured
	// at the last sync (ms).
	ClockOffsetMS int64 `json:"clock_offset_ms"`
	// FreeBytes is the free disk space in the player's folder.
	FreeBytes int64 `json:"free_bytes"`
}

// Limits and defaults of heartbeats.
const (
	// HeartbeatEvery is the player's default heartbeat interval.
	HeartbeatEvery     = time.Minute
	MinHeartbeatEvery  = 10 * time.Second
	MaxHeartbeatEvery  = time.Hour
	MaxHeartbeatBytes  = 64 << 10
	maxHeartbeatField  = 200
	maxHeartbeatErrLen = 1000
	maxHeartbeatPlays  = 64
)

// Every returns the heartbeat interval the device announced (or the
// default).
func (h *Heartbeat) Every() time.Duration {
	if h.EverySeconds <= 0 {
		return HeartbeatEvery
	}
	return time.Duration(h.EverySeconds) * time.Second
}

// ParseHeartbeat reads one heartbeat object as a device posts it and
// checks it: sent_at present, every_s 0 or 10 to 3600, one-line version
// strings and playing entries of at most 200 bytes (at most 64
// clusters), a last error of at most 1000 characters, backlog and free
// bytes not negative. Unknown fields are refused (a typo loses nothing
// silently). Errors say what to fix.
func ParseHeartbeat(data []byte) (Heartbeat, error) {
	var h Heartbeat
	if len(data) > MaxHeartbeatBytes {
		return h, fmt.Errorf("the body is larger than %d bytes", MaxHeartbeatBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Heartbeat{}, fmt.Errorf("the body is not heartbeat JSON: %v", err)
	}
	if dec.More() {
		return Heartbeat{}, fmt.Errorf("the body has data after the JSON value")
	}
	if err := h.check(); err != nil {
		return Heartbeat{}, err
	}
	return h, nil
}

func oneLineField(name, v string) error {
	if len(v) > maxHeartbeatField || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") {
		return fmt.Errorf("%s must be one line of at most %d bytes", name, maxHeartbeatField)
	}
	return nil
}

func (h *Heartbeat) check() error {
	if h.SentAt.IsZero() {
		return fmt.Errorf("sent_at is missing: give the device's time of sending (RFC 3339)")
	}
	if h.EverySeconds != 0 && (h.EverySeconds < int(MinHeartbeatEvery/time.Second) || h.EverySeconds > int(MaxHeartbeatEvery/time.Second)) {
		return fmt.Errorf("every_s %d: want %d to %d seconds (or leave it out for %d)", h.EverySeconds,
			int(MinHeartbeatEvery/time.Second), int(MaxHeartbeatEvery/time.Second), int(HeartbeatEvery/time.Second))
	}
	for _, f := range []struct{ name, v string }{{"player_version", h.PlayerVersion}, {"bundle_version", h.BundleVersion}} {
		if err := oneLineField(f.name, f.v); err != nil {
			return err
		}
	}
	if len(h.Playing) > maxHeartbeatPlays {
		return fmt.Errorf("playing lists %d clusters: at most %d", len(h.Playing), maxHeartbeatPlays)
	}
	for c, what := range h.Playing {
		if c == "" {
			return fmt.Errorf("playing: a cluster with no name")
		}
		if err := oneLineField("playing's cluster", c); err != nil {
			return err
		}
		if err := oneLineField("playing["+c+"]", what); err != nil {
			return err
		}
	}
	if !utf8.ValidString(h.LastError) || utf8.RuneCountInString(h.LastError) > maxHeartbeatErrLen || strings.ContainsRune(h.LastError, 0) {
		return fmt.Errorf("last_error must be UTF-8 text of at most %d characters", maxHeartbeatErrLen)
	}
	if h.Backlog < 0 {
		return fmt.Errorf("journal_backlog %d: not negative", h.Backlog)
	}
	if h.FreeBytes < 0 {
		return fmt.Errorf("free_bytes %d: not negative", h.FreeBytes)
	}
	h.SentAt, h.ValidUntil, h.LastErrorAt = h.SentAt.UTC(), h.ValidUntil.UTC(), h.LastErrorAt.UTC()
	return nil
}

// DeviceState is how a device stands by its last heartbeat.
type DeviceState string

// Device states. With the device's heartbeat interval E (1 min by
// default): online when its last heartbeat arrived at most
// [OnlineBeats]×E ago (one or two lost heartbeats are normal on a rural
// link), late up to [LateBeats]×E ago, offline after that; never when no
// heartbeat ever arrived.
const (
	DeviceOnline  DeviceState = "online"
	DeviceLate    DeviceState = "late"
	DeviceOffline DeviceState = "offline"
	DeviceNever   DeviceState = "never"
	// DeviceDisabled: the device's account is disabled; DeviceRevoked:
	// none of its tokens is still valid. Either way the server refuses
	// it, whatever its last heartbeat says, so it is not shown online.
	DeviceDisabled DeviceState = "disabled"
	DeviceRevoked  DeviceState = "revoked"
)

// DeviceStates lists the states in order, for metrics and pages.
var DeviceStates = []DeviceState{DeviceOnline, DeviceLate, DeviceOffline, DeviceNever, DeviceDisabled, DeviceRevoked}

// Thresholds of [DeviceStateOf], in heartbeat intervals.
const (
	OnlineBeats = 3
	LateBeats   = 15
)

// DeviceStateOf says how a device stands at now whose last heartbeat
// arrived at last (zero: never) announcing the interval every (0: the
// default).
func DeviceStateOf(last time.Time, every time.Duration, now time.Time) DeviceState {
	if last.IsZero() {
		return DeviceNever
	}
	if every <= 0 {
		every = HeartbeatEvery
	}
	switch age := now.Sub(last); {
	case age <= OnlineBeats*every:
		return DeviceOnline
	case age <= LateBeats*every:
		return DeviceLate
	default:
		return DeviceOffline
	}
}

// DeviceHeartbeat is one device account of a commune with its latest
// heartbeat; ReceivedAt is zero and Heartbeat nil when none arrived yet.
type DeviceHeartbeat struct {
	UserID     int64
	Name       string // the device's account, e.g. device-muong-lan-1
	Label      string // what the administrator called it
	Commune    string
	CreatedAt  time.Time
	ReceivedAt time.Time // by the server's clock
	Heartbeat  *Heartbeat
	// Disabled: the account is disabled; Revoked: it has no token that
	// is not revoked. The server refuses such a device.
	Disabled, Revoked bool
}

// State says how the device stands at now: disabled or revoked when the
// server refuses it, else by its last heartbeat (DeviceStateOf).
func (d DeviceHeartbeat) State(now time.Time) DeviceState {
	switch {
	case d.Disabled:
		return DeviceDisabled
	case d.Revoked:
		return DeviceRevoked
	}
	var every time.Duration
	if d.Heartbeat != nil {
		every = d.Heartbeat.Every()
	}
	return DeviceStateOf(d.ReceivedAt, every, now)
}
