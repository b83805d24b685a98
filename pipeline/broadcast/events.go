package broadcast

import (
	"context"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// Event tells a commune's devices that its schedule has a new version.
type Event struct {
	Commune string `json:"commune"`
	Version string `json:"version"`
	ETag    string `json:"etag"`
	// Seq is the version's number among the commune's versions
	// (pipeline.ScheduleVersion.Seq): a higher one is newer. A stream
	// never sends a lower one than it sent.
	Seq int64 `json:"seq,omitempty"`
	// Reason is the reason of the build whose change prompted the event
	// (nightly, rebuild, emergency). Version and ETag are the head when
	// the event was sent, which can already be a later build's when the
	// change was heard late: a device acts on the ETag, never the reason.
	Reason string `json:"reason"`
}

// ChangeFeed is the deployment's change feed (sqlstore.DB, while it
// follows the feed): every process hears through it of the schedules any
// process stored.
type ChangeFeed interface {
	OnChange(fn func(pipeline.Change)) (stop func())
}

// hub fans events out to the devices connected in this process. With a
// Feed, it takes them from the feed, so a device hears of a change made
// by any replica (within sqlstore.FeedPoll, at once on PostgreSQL);
// without one, from this process's builds.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan Event]struct{}
}

func (s *Service) events() *hub {
	s.hubOnce.Do(func() {
		s.hub = &hub{subs: map[string]map[chan Event]struct{}{}}
		if s.Feed != nil {
			s.Feed.OnChange(s.fromFeed)
		}
	})
	return s.hub
}

// fromFeed turns a change of the feed into events for the devices
// connected here: the commune's head, read after the feed dropped its
// cached copy. A registry import or lost changes re-read every commune
// with a device connected (in the background: the feed waits for no one);
// the event stream sends only an ETag its device does not have.
func (s *Service) fromFeed(c pipeline.Change) {
	h := s.hub
	switch c.Kind {
	case pipeline.ChangeSchedule:
		if h.listening(c.Key) {
			s.announce(c.Key, c.Note, c.ID)
		}
	case pipeline.ChangeRegistry, pipeline.ChangeLost:
		codes := h.communes()
		if len(codes) > 0 {
			go func() {
				for _, code := range codes {
					s.announce(code, "changed", c.ID)
				}
			}()
		}
	}
}

// announce publishes commune's current head to its connected devices,
// prompted by the change with id change (0: none). It logs at Debug
// ("schedule head announced") the head it read, with the change, the
// number of streams it went to and of those whose queue was full.
func (s *Service) announce(commune, reason string, change int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, err := s.Store.CommuneHead(ctx, commune)
	if err != nil {
		// The stream's own poll of the head catches up.
		s.log().Warn("read a changed schedule head for connected devices", "commune", commune, "change", change, "reason", reason, "err", err)
		return
	}
	sent, full := s.hub.publish(Event{Commune: head.Code, Version: head.VersionID, ETag: head.ETag, Seq: head.Seq, Reason: reason})
	s.log().Debug("schedule head announced", "commune", head.Code, "etag", head.ETag, "version", head.VersionID, "seq", head.Seq, "reason", reason, "change", change, "streams", sent, "full", full)
}

func (h *hub) listening(commune string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[commune]) > 0
}

func (h *hub) communes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.subs))
	for c := range h.subs {
		out = append(out, c)
	}
	return out
}

// Subscribe returns a channel of the events of one commune and a function
// that ends the subscription. A slow reader misses events but never
// blocks a build; it still gets the latest after the next one.
func (s *Service) Subscribe(commune string) (<-chan Event, func()) {
	h := s.events()
	ch := make(chan Event, 4)
	h.mu.Lock()
	if h.subs[commune] == nil {
		h.subs[commune] = map[chan Event]struct{}{}
	}
	h.subs[commune][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[commune], ch)
		if len(h.subs[commune]) == 0 {
			delete(h.subs, commune)
		}
		h.mu.Unlock()
	}
}

// publish hands e to every subscriber of its commune whose channel has
// room; it returns how many took it and how many were full (a slow
// reader: it still gets the latest after the next event, or its poll).
func (h *hub) publish(e Event) (sent, full int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[e.Commune] {
		select {
		case ch <- e:
			sent++
		default:
			full++
		}
	}
	return sent, full
}
