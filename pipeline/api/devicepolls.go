package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// DevicePollGranularity is how precisely a user's last poll is
	// known: a poll within this time after the last one recorded is not
	// recorded again, so the last poll recorded (and stored) is at most
	// this much before the user's true last poll.
	DevicePollGranularity = time.Second
	// DevicePollSilence is how long a device may go without polling
	// before loa_devices_not_polled counts it.
	DevicePollSilence = 24 * time.Hour
)

// DevicePolls remembers each commune user's last poll (a playlist, bundle
// or events request) in memory, to within DevicePollGranularity, and
// writes it to the store at most once per DevicePollWriteEvery per user,
// from a background goroutine, so a poll costs a few atomic reads (and
// once a second a compare-and-swap) and never a lock or a write in the
// request. As a Prometheus collector it exports loa_devices_not_polled.
// Safe for concurrent use.
type DevicePolls struct {
	// Store is where polls are written and counted.
	Store DevicePollStore
	// Now is the clock; default time.Now (as the callers of SeenAt read
	// it). Tests replace it: then it times every poll.
	Now func() time.Time
	// Log gets write failures; default slog.Default().
	Log *slog.Logger

	users   sync.Map    // user ID (int64) → *pollState
	pending atomic.Bool // a background write is running

	writeMu sync.Mutex // one write at a time, so saved stays in order

	descOnce sync.Once
	desc     *prometheus.Desc
}

// pollState is one user's polls, as Unix nanoseconds (0: none).
type pollState struct {
	last  atomic.Int64 // latest poll seen
	saved atomic.Int64 // latest poll written
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
	if p == nil {
		return
	}
	p.record(u, p.now())
}

// SeenAt is Seen with the time of the poll as the caller read time.Now
// (a request's time), so a request reads the clock once; when Now is set
// it is read instead.
func (p *DevicePolls) SeenAt(u pipeline.User, at time.Time) {
	if p == nil {
		return
	}
	if p.Now != nil {
		at = p.Now()
	}
	p.record(u, at)
}

func (p *DevicePolls) record(u pipeline.User, at time.Time) {
	if u.Role != pipeline.RoleOperator || u.ID == 0 {
		return
	}
	st := p.state(u.ID)
	n := at.UnixNano()
	last := st.last.Load()
	if n-last < int64(DevicePollGranularity) {
		// Recorded within the granularity (or the clock went back):
		// whoever recorded it started the write if one was due.
		return
	}
	for !st.last.CompareAndSwap(last, n) {
		if last = st.last.Load(); n <= last {
			return
		}
	}
	// last is stored before pending is read, and background clears
	// pending before it reads every last: a due poll either sees no
	// write running or is seen by the one running.
	if due(n, st.saved.Load()) && p.pending.CompareAndSwap(false, true) {
		go p.background()
	}
}

// state is id's pollState, made on its first poll.
func (p *DevicePolls) state(id int64) *pollState {
	if v, ok := p.users.Load(id); ok {
		return v.(*pollState)
	}
	v, _ := p.users.LoadOrStore(id, &pollState{})
	return v.(*pollState)
}

// due reports whether a latest poll at last (Unix nanoseconds) should be
// written when the one stored is saved (0: none).
func due(last, saved int64) bool {
	return last != 0 && (saved == 0 || last-saved >= int64(DevicePollWriteEvery))
}

// background writes due polls until none is left.
func (p *DevicePolls) background() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := p.write(ctx, false)
		cancel()
		p.pending.Store(false)
		if err != nil {
			// The next poll (or scrape) tries again.
			p.log().Warn("record device polls", "err", err)
			return
		}
		if !p.anyDue() || !p.pending.CompareAndSwap(false, true) {
			return
		}
	}
}

// anyDue reports whether some user's poll should be written now.
func (p *DevicePolls) anyDue() bool {
	found := false
	p.users.Range(func(_, v any) bool {
		st := v.(*pollState)
		found = due(st.last.Load(), st.saved.Load())
		return !found
	})
	return found
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
	batch := map[int64]time.Time{}
	p.users.Range(func(k, v any) bool {
		st := v.(*pollState)
		last, saved := st.last.Load(), st.saved.Load()
		if last == 0 || saved != 0 && last <= saved {
			return true
		}
		if all || due(last, saved) {
			batch[k.(int64)] = time.Unix(0, last)
		}
		return true
	})
	if len(batch) == 0 {
		return 0, nil
	}
	if err := p.Store.RecordDevicePolls(ctx, batch); err != nil {
		return 0, err
	}
	for id, at := range batch {
		p.state(id).saved.Store(at.UnixNano())
	}
	return len(batch), nil
}

func (p *DevicePolls) notPolledDesc() *prometheus.Desc {
	p.descOnce.Do(func() {
		p.desc = prometheus.NewDesc("loa_devices_not_polled",
			"Loudspeaker devices of a commune that have not asked for a playlist, bundle or events in the last 24 hours (or never).",
			[]string{"commune"}, nil)
	})
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
