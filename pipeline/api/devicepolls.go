package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/pipeline"
)

// DevicePollStore records when devices polled and counts those that have
// not (sqlstore.DB implements it).
type DevicePollStore interface {
	RecordDevicePolls(ctx context.Context, polls map[int64]time.Time) error
	DevicesNotPolled(ctx context.Context, since time.Time) (map[string]int, error)
}

// Defaults of [DevicePolls].
const (
	// DevicePollWriteEvery is how often at most a user's last poll is
	// written to the store.
	DevicePollWriteEvery = time.Minute
	// DevicePollSilence is how long a device may go without polling
	// before loa_devices_not_polled counts it.
	DevicePollSilence = 24 * time.Hour
)

// DevicePolls remembers each commune user's last poll (a playlist, bundle
// or events request) in memory and writes it to the store at most once per
// DevicePollWriteEvery per user, from a background goroutine, so a poll
// costs a map update and never a write in the request. As a Prometheus
// collector it exports loa_devices_not_polled. Safe for concurrent use.
type DevicePolls struct {
	// Store is where polls are written and counted.
	Store DevicePollStore
	// Now is the clock; default time.Now. Tests replace it.
	Now func() time.Time
	// Log gets write failures; default slog.Default().
	Log *slog.Logger

	mu      sync.Mutex
	last    map[int64]time.Time // latest poll seen, by user
	saved   map[int64]time.Time // latest poll written, by user
	pending bool                // a background write is running

	writeMu sync.Mutex // one write at a time, so saved stays in order

	desc *prometheus.Desc
}

func (p *DevicePolls) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Seen records that u polled now. Only operators (commune users and their
// devices) are recorded. When u's stored poll is older than
// DevicePollWriteEvery, a background write is started.
func (p *DevicePolls) Seen(u pipeline.User) {
	if p == nil || u.Role != pipeline.RoleOperator || u.ID == 0 {
		return
	}
	now := p.now()
	p.mu.Lock()
	if p.last == nil {
		p.last, p.saved = map[int64]time.Time{}, map[int64]time.Time{}
	}
	if now.After(p.last[u.ID]) {
		p.last[u.ID] = now
	}
	start := !p.pending && p.dueLocked(u.ID)
	if start {
		p.pending = true
	}
	p.mu.Unlock()
	if start {
		go p.background()
	}
}

// dueLocked reports whether id's latest poll should be written now.
func (p *DevicePolls) dueLocked(id int64) bool {
	saved, ok := p.saved[id]
	return !ok || p.last[id].Sub(saved) >= DevicePollWriteEvery
}

// background writes due polls until none is left. Whether any is left is
// decided under mu, as Seen decides whether to start it, so no due poll
// waits for the next request.
func (p *DevicePolls) background() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := p.write(ctx, false)
		cancel()
		p.mu.Lock()
		if err != nil || !p.anyDueLocked() {
			// After a failure the next poll or scrape tries again.
			p.pending = false
			p.mu.Unlock()
			if err != nil {
				p.log().Warn("record device polls", "err", err)
			}
			return
		}
		p.mu.Unlock()
	}
}

// anyDueLocked reports whether some user's poll should be written now.
func (p *DevicePolls) anyDueLocked() bool {
	for id := range p.last {
		if p.dueLocked(id) {
			return true
		}
	}
	return false
}

func (p *DevicePolls) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// Flush writes every poll not yet stored, whether due or not; call it
// when the server stops.
func (p *DevicePolls) Flush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	_, err := p.write(ctx, true)
	return err
}

// write stores the due polls (all unsaved ones when all) and returns how
// many it wrote.
func (p *DevicePolls) write(ctx context.Context, all bool) (int, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	batch := map[int64]time.Time{}
	for id, at := range p.last {
		if saved, ok := p.saved[id]; ok && !at.After(saved) {
			continue
		}
		if all || p.dueLocked(id) {
			batch[id] = at
		}
	}
	p.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	if err := p.Store.RecordDevicePolls(ctx, batch); err != nil {
		return 0, err
	}
	p.mu.Lock()
	for id, at := range batch {
		p.saved[id] = at
	}
	p.mu.Unlock()
	return len(batch), nil
}

func (p *DevicePolls) notPolledDesc() *prometheus.Desc {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.desc == nil {
		p.desc = prometheus.NewDesc("loa_devices_not_polled",
			"Loudspeaker devices of a commune that have not asked for a playlist, bundle or events in the last 24 hours (or never).",
			[]string{"commune"}, nil)
	}
	return p.desc
}

// Describe implements prometheus.Collector.
func (p *DevicePolls) Describe(ch chan<- *prometheus.Desc) { ch <- p.notPolledDesc() }

// Collect implements prometheus.Collector: it writes the due polls first,
// so this process's polls count at once, then counts per commune. When
// the store cannot be read, nothing is exported (loa_catalog_scrape_ok
// says so).
func (p *DevicePolls) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := p.write(ctx, false); err != nil {
		p.log().Warn("record device polls", "err", err)
	}
	counts, err := p.Store.DevicesNotPolled(ctx, p.now().Add(-DevicePollSilence))
	if err != nil {
		p.log().Warn("count devices not polled", "err", err)
		return
	}
	desc := p.notPolledDesc()
	for commune, n := range counts {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), commune)
	}
}
