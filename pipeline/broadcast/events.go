package broadcast

import (
	"sync"
)

// Event tells a commune's devices that its schedule has a new version.
type Event struct {
	Commune string `json:"commune"`
	Version string `json:"version"`
	ETag    string `json:"etag"`
	Reason  string `json:"reason"` // nightly, rebuild, emergency
}

// hub fans events out to the devices connected in this process. Devices
// connected to another replica learn of changes by that replica's poll
// of the commune head (see the API's event stream).
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan Event]struct{}
}

func (s *Service) events() *hub {
	s.hubOnce.Do(func() { s.hub = &hub{subs: map[string]map[chan Event]struct{}{}} })
	return s.hub
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

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[e.Commune] {
		select {
		case ch <- e:
		default:
		}
	}
}
