package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// HeartbeatStore keeps each commune player's latest heartbeat
// (sqlstore.DB implements it); without one the heartbeat and device
// routes answer 503.
type HeartbeatStore interface {
	RecordHeartbeat(ctx context.Context, userID int64, commune string, at time.Time, hb schedules.Heartbeat) error
	// DeviceOf refuses an account that is not a device of commune, as
	// RecordHeartbeat does (CodeForbidden, or CodeNotFound for another
	// commune's device).
	DeviceOf(ctx context.Context, userID int64, commune string) error
	DeviceHeartbeats(ctx context.Context, commune string) ([]schedules.DeviceHeartbeat, error)
}

// devicesOnly may send heartbeats: device accounts are operators bound to
// their commune (the store refuses an operator that is not a device).
var devicesOnly = []pipeline.Role{pipeline.RoleOperator}

func (s *Server) heartbeatRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/communes/{code}/heartbeat", Roles: devicesOnly, handler: s.heartbeat},
		{Method: "GET", Pattern: "/api/communes/{code}/devices", Roles: communeUsers, handler: s.communeDevices},
		{Method: "GET", Pattern: "/api/devices", Roles: communeUsers, handler: s.allDevices},
	}
}

func (s *Server) heartbeatStore() (HeartbeatStore, error) {
	if hs, ok := s.Catalog.(HeartbeatStore); ok {
		return hs, nil
	}
	return nil, pipeline.Errorf(pipeline.CodeUnavailable, "Device heartbeats are not kept on this server (its catalog cannot store them).")
}

// HeartbeatResponse answers POST /api/communes/{code}/heartbeat.
type HeartbeatResponse struct {
	// ReceivedAt is the server's time of receipt; the player may compare
	// it with its own clock.
	ReceivedAt time.Time `json:"received_at"`
}

// heartbeat stores a device's heartbeat: only the device's own account,
// for its own commune (another commune is "not found", like every
// commune route). Who may send it is settled before a byte of the body
// is read (the token by the route gate, as on every route; then the
// commune and that the account is this commune's device), so a caller
// that may not send one learns nothing of what a heartbeat must hold.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	hs, err := s.heartbeatStore()
	if err != nil {
		return err
	}
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	if err := hs.DeviceOf(r.Context(), u.ID, head.Code); err != nil {
		return err
	}
	data, err := readBody(r, schedules.MaxHeartbeatBytes, "heartbeat")
	if err != nil {
		return err
	}
	hb, err := schedules.ParseHeartbeat(data)
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Heartbeat refused: %v.", err)
	}
	now := s.now().UTC()
	if err := hs.RecordHeartbeat(r.Context(), u.ID, head.Code, now, hb); err != nil {
		return err
	}
	s.DevicePolls.Seen(u) // a heartbeat is a sign of life too
	writeJSON(w, http.StatusOK, HeartbeatResponse{ReceivedAt: now})
	return nil
}

// DeviceView is one commune player as GET /api/communes/{code}/devices
// and GET /api/devices show it: its account, its state by its last
// heartbeat (online, late, offline or never; see
// schedules.DeviceStateOf), or disabled or revoked when the server refuses
// it whatever it last sent (schedules.DeviceHeartbeat.State), and that
// heartbeat.
type DeviceView struct {
	Name    string                `json:"name"`
	Label   string                `json:"label"`
	Commune string                `json:"commune"`
	State   schedules.DeviceState `json:"state"`
	// LastHeartbeat is when the last heartbeat arrived (server's clock);
	// absent when none did. AgeSeconds is how long ago.
	LastHeartbeat time.Time            `json:"last_heartbeat,omitzero"`
	AgeSeconds    int64                `json:"age_s,omitempty"`
	Heartbeat     *schedules.Heartbeat `json:"heartbeat,omitempty"`
}

func deviceViews(list []schedules.DeviceHeartbeat, now time.Time) []DeviceView {
	out := make([]DeviceView, 0, len(list))
	for _, d := range list {
		v := DeviceView{Name: d.Name, Label: d.Label, Commune: d.Commune, LastHeartbeat: d.ReceivedAt, Heartbeat: d.Heartbeat}
		if d.Heartbeat != nil {
			v.AgeSeconds = max(0, int64(now.Sub(d.ReceivedAt)/time.Second))
		}
		v.State = d.State(now)
		out = append(out, v)
	}
	return out
}

func (s *Server) communeDevices(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	hs, err := s.heartbeatStore()
	if err != nil {
		return err
	}
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	list, err := hs.DeviceHeartbeats(r.Context(), head.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceViews(list, s.now()))
	return nil
}

// allDevices lists the players an account may see: every commune's for
// an admin, those of the operator's own commune (by its code, the
// identifier operators are scoped by; never by name) for an operator.
func (s *Server) allDevices(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	hs, err := s.heartbeatStore()
	if err != nil {
		return err
	}
	list := []schedules.DeviceHeartbeat{}
	switch {
	case u.Role == pipeline.RoleAdmin:
		list, err = hs.DeviceHeartbeats(r.Context(), "")
	case u.Commune != "": // an operator bound to no commune sees none
		list, err = hs.DeviceHeartbeats(r.Context(), u.Commune)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceViews(list, s.now()))
	return nil
}

// deviceStates exports loa_player_devices{state}: the commune players
// by the state of their last heartbeat, counted from the database at
// each scrape, so every replica says the same. The label has six values
// (online, late, offline, never, disabled, revoked), whatever the number
// of devices.
type deviceStates struct {
	store HeartbeatStore
	now   func() time.Time
	log   *slog.Logger
	desc  *prometheus.Desc
}

func newDeviceStates(hs HeartbeatStore, now func() time.Time, log *slog.Logger) *deviceStates {
	return &deviceStates{store: hs, now: now, log: log, desc: prometheus.NewDesc("loa_player_devices",
		"Commune players (device accounts) by the state of their last heartbeat: online (within 3 of their heartbeat intervals), late (within 15), offline (older), never; disabled (account disabled) and revoked (no valid token) whatever their heartbeat.",
		[]string{"state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *deviceStates) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. When the store cannot be
// read, nothing is exported (and it is logged).
func (c *deviceStates) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	list, err := c.store.DeviceHeartbeats(ctx, "")
	if err != nil {
		c.log.Warn("count devices by heartbeat", "err", err)
		return
	}
	counts := map[schedules.DeviceState]int{}
	for _, v := range deviceViews(list, c.now()) {
		counts[v.State]++
	}
	for _, st := range schedules.DeviceStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
