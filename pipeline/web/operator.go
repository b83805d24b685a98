package web

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/schedules"
)

// opItem is one schedule entry as the operator's timeline shows it.
type opItem struct {
	broadcast.ShowRow
	Time, URL string
	Emergency bool
	Status    string // played, failed or "" (not reported)
	// Aired is whether the item's start has come: only then may it be
	// reported played or not (before, the page says when to report).
	Aired bool
	// At is the item's start as HH:MM, in the page's "report after" text.
	At string
}

// opSlot is one slot of one cluster.
type opSlot struct {
	Time  string
	Items []opItem
}

// opCluster is one loudspeaker cluster's day.
type opCluster struct {
	// ID is the cluster's code (in links and element ids); Name is what
	// the operator calls it, from the registry.
	ID, Name, M3U8, JSON string
	Slots                []opSlot
}

type opDay struct {
	Date, Label string
	Current     bool
}

func (s *Server) operatorPage(w http.ResponseWriter, r *http.Request, c *call) error {
	var communes []pipeline.CommuneSummary
	if err := s.callAPI(r, "GET", "/api/communes", nil, &communes); err != nil {
		return err
	}
	code := r.URL.Query().Get("commune")
	if code == "" && len(communes) > 0 {
		code = communes[0].Code
	}
	now := s.cfg.Now()
	today := now.In(s.zone)
	date := r.URL.Query().Get("date")
	if date == "" {
		date = today.Format("2006-01-02")
	} else if _, err := schedules.ParseDate(date); err != nil {
		shown := shortValue(date)
		return refused("date_unreadable", "date", fmt.Sprintf("The date %q could not be read: write it as YYYY-MM-DD, or choose a day above.", shown), shown)
	}
	d := struct {
		Communes       []pipeline.CommuneSummary
		Commune, Name  string
		Date           string
		Days           []opDay
		Clusters       []opCluster
		Bundle         string
		Emergencies    int
		NoSchedule     bool
		Notice, Failed string
		// Devices are the commune's players; HasDevices is false when
		// the server keeps no heartbeats (the section is left out).
		Devices    []devRow
		HasDevices bool
	}{Communes: communes, Commune: code, Date: date, Notice: r.URL.Query().Get("reported")}
	for i := range 7 {
		day := today.AddDate(0, 0, i).Format("2006-01-02")
		label := today.AddDate(0, 0, i).Format("02/01")
		d.Days = append(d.Days, opDay{Date: day, Label: label, Current: day == date})
	}
	if code == "" {
		s.render(w, r, c, http.StatusOK, "operator", "title_operator", d)
		return nil
	}
	base := "/api/communes/" + url.PathEscape(code)
	var err error
	if d.Devices, d.HasDevices, err = s.devices(r, base+"/devices"); err != nil {
		return err
	}
	var doc broadcast.ShowDoc
	if err := s.callAPI(r, "GET", base+"/schedule?date="+url.QueryEscape(date), nil, &doc); err != nil {
		return err
	}
	d.Name, d.NoSchedule = doc.Name, doc.Version == ""
	d.Bundle = base + "/bundle.tar?from=" + url.QueryEscape(date) + "&days=7"
	var commune api.CommuneView
	if err := s.callAPI(r, "GET", base, nil, &commune); err != nil {
		return err
	}
	names := map[string]string{}
	for _, cl := range commune.Clusters {
		names[cl.ID] = cl.Name
	}
	byCluster := map[string]*opCluster{}
	var order, emergencies []string
	for _, row := range doc.Rows {
		cl, ok := byCluster[row.Cluster]
		if !ok {
			p := base + "/clusters/" + url.PathEscape(row.Cluster) + "/playlists/" + date
			cl = &opCluster{ID: row.Cluster, Name: cmp.Or(names[row.Cluster], row.Cluster), M3U8: p + ".m3u8", JSON: p + ".json"}
			byCluster[row.Cluster] = cl
			order = append(order, row.Cluster)
		}
		slot := time.Date(0, 1, 1, 0, 0, row.SlotStart, 0, time.UTC).Format("15:04")
		if len(cl.Slots) == 0 || cl.Slots[len(cl.Slots)-1].Time != slot {
			cl.Slots = append(cl.Slots, opSlot{Time: slot})
		}
		it := opItem{ShowRow: row, Time: row.Start.In(s.zone).Format("15:04:05"), Emergency: row.Priority == string(pipeline.PriorityEmergency),
			Aired: !row.Start.After(now), At: row.Start.In(s.zone).Format("15:04")}
		if it.Emergency && !slices.Contains(emergencies, row.SegmentID) {
			// One bulletin, however many clusters, slots and languages
			// carry it.
			emergencies = append(emergencies, row.SegmentID)
		}
		for _, rep := range row.Reports {
			it.Status = rep.Status
		}
		sl := &cl.Slots[len(cl.Slots)-1]
		sl.Items = append(sl.Items, it)
	}
	d.Emergencies = len(emergencies)
	// Links to play each item in the page come from the cluster's playlist.
	for _, name := range order {
		cl := byCluster[name]
		var pl schedules.PlaylistDoc
		if err := s.callAPI(r, "GET", cl.JSON, nil, &pl); err != nil {
			return err
		}
		urls := map[string]string{}
		for _, e := range pl.Entries {
			urls[e.ID] = e.URL
		}
		for i := range cl.Slots {
			for j := range cl.Slots[i].Items {
				it := &cl.Slots[i].Items[j]
				it.URL = urls[it.EntryID]
			}
		}
		d.Clusters = append(d.Clusters, *cl)
	}
	s.render(w, r, c, http.StatusOK, "operator", "title_operator", d)
	return nil
}

// reportPlay records what one loudspeaker cluster played, or why it did
// not, through the API's play reports.
func (s *Server) reportPlay(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	f := r.PostForm
	status := f.Get("status")
	if status != string(schedules.Played) && status != string(schedules.Failed) {
		return refused("play_status", "status", "Say whether the item played or failed.")
	}
	raw := strings.TrimSpace(f.Get("start"))
	if raw == "" {
		return refused("play_start", "start", "The item's start time is missing.")
	}
	started, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		shown := shortValue(raw)
		return refused("play_start_unreadable", "start", fmt.Sprintf(
			"The start time %q could not be read: give it as date, T, time and offset, e.g. 2025-03-03T05:30:00+07:00.", shown), shown)
	}
	var ms int64
	if status == string(schedules.Played) {
		// The page sends the item's scheduled length; a played item's end
		// is its start plus that, so a length that is not a whole number
		// of milliseconds above 0 is refused, not stored as 0 s of play.
		if ms, err = strconv.ParseInt(f.Get("duration_ms"), 10, 64); err != nil || ms <= 0 {
			shown := shortValue(f.Get("duration_ms"))
			return refused("play_duration", "duration_ms", fmt.Sprintf(
				"The item's length %q could not be read: it is a whole number of milliseconds above 0, as the schedule page sends it; open the page again and report from there.", shown), shown)
		}
	}
	if now := s.cfg.Now(); started.After(now) {
		// The form sends the item's scheduled start: one still to come
		// has not aired, whatever the operator's clock says.
		at, day := started.In(s.zone).Format("15:04"), started.In(s.zone).Format("02/01/2006")
		if day == now.In(s.zone).Format("02/01/2006") {
			return refused("play_not_aired", "start", fmt.Sprintf("This item is scheduled for %s; report it after it has aired.", at), at)
		}
		return refused("play_not_aired_day", "start", fmt.Sprintf("This item is scheduled for %s on %s; report it after it has aired.", at, day), at, day)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	rep := schedules.PlayReport{
		ID: "web-" + hex.EncodeToString(id[:]), Entry: f.Get("item"), Cluster: f.Get("cluster"),
		SegmentID: f.Get("segment_id"), Status: schedules.PlayStatus(status), Started: started,
		Reason: strings.TrimSpace(f.Get("reason")),
	}
	if rep.Status == schedules.Played {
		rep.Finished = started.Add(time.Duration(ms) * time.Millisecond)
	}
	if rep.Status == schedules.Failed && rep.Reason == "" {
		rep.Reason = c.msgs["op_no_reason"]
	}
	code := f.Get("commune")
	if err := s.callAPI(r, "POST", "/api/communes/"+url.PathEscape(code)+"/plays", rep, nil); err != nil {
		return err
	}
	q := url.Values{"commune": {code}, "date": {f.Get("date")}, "reported": {status}}
	http.Redirect(w, r, "/operator?"+q.Encode()+"#"+url.QueryEscape(rep.Entry), http.StatusSeeOther)
	return nil
}

// confirmEmergency is an administrator's second confirmation of the
// province-wide emergency a producer asked for.
func (s *Server) confirmEmergency(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	if r.PostForm.Get("confirm") != "yes" {
		return refused("province_confirm", "confirm", "Tick the box to confirm the province-wide emergency.")
	}
	id := r.PathValue("id")
	if err := s.callAPI(r, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency/confirm", map[string]bool{"confirm": true}, nil); err != nil {
		return err
	}
	http.Redirect(w, r, segmentPath(id)+"?done=emergency", http.StatusSeeOther)
	return nil
}

// endEmergency ends the segment's emergency in force before its end
// time, or cancels its request waiting for confirmation, through the API
// (which rebuilds the communes at once): a reason and a ticked box.
func (s *Server) endEmergency(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		return refused("emergency_end_reason", "reason", "Say why the emergency ends early: it is kept in the audit log with your name.")
	}
	if r.PostForm.Get("confirm") != "yes" {
		return refused("emergency_end_confirm", "confirm", "Tick the box to end the emergency.")
	}
	id := r.PathValue("id")
	body := api.EndEmergencyRequest{Reason: reason, Confirm: true}
	if err := s.callAPI(r, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency/end", body, nil); err != nil {
		return err
	}
	http.Redirect(w, r, segmentPath(id)+"?done=emergency_ended", http.StatusSeeOther)
	return nil
}

// cancelEmergencyRequest drops only the segment's wide request waiting
// for confirmation through the API: its requester withdraws it, an
// administrator declines it (decline=yes on the form, with a reason);
// an emergency in force stays on air.
func (s *Server) cancelEmergencyRequest(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	declining := r.PostForm.Get("decline") == "yes"
	if declining && reason == "" {
		return refused("request_decline_reason", "reason", "Say why the request is declined: its requester is told.")
	}
	if r.PostForm.Get("confirm") != "yes" {
		return refused("request_cancel_confirm", "confirm", "Tick the box to drop the request.")
	}
	id := r.PathValue("id")
	body := api.CancelRequestBody{Reason: reason, Confirm: true}
	var res struct {
		Declined bool `json:"declined"`
	}
	if err := s.callAPI(r, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency/request/cancel", body, &res); err != nil {
		return err
	}
	done := "request_withdrawn"
	if res.Declined {
		done = "request_declined"
	}
	http.Redirect(w, r, segmentPath(id)+"?done="+done, http.StatusSeeOther)
	return nil
}

// emergencyForm is the producer's emergency request as typed.
type emergencyForm struct {
	Province bool
	Communes []string
	Until    string
	Reason   string
	// Replace makes the chosen communes the whole list of the emergency
	// in force (those left out lose the alert).
	Replace bool
}

// emergency marks a segment emergency in two confirmed steps: the form
// on the segment page (with a first confirmation box) leads to a page
// that names the targets and asks again; only that second answer sends
// the request to the API.
func (s *Server) emergency(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	id := r.PathValue("id")
	f := emergencyForm{Province: r.PostForm.Get("province") == "yes", Communes: r.PostForm["communes"], Until: r.PostForm.Get("until"),
		Reason: strings.TrimSpace(r.PostForm.Get("reason")), Replace: r.PostForm.Get("replace") == "yes"}
	if f.Province {
		f.Communes = nil
	}
	// Each code once, blanks dropped: the page that asks again names
	// every target once.
	f.Communes = slices.DeleteFunc(f.Communes, func(code string) bool { return strings.TrimSpace(code) == "" })
	f.Communes = slices.Compact(slices.Sorted(slices.Values(f.Communes)))
	if !f.Province && len(f.Communes) == 0 {
		return refused("emergency_communes", "communes", "Choose the target communes, or the whole province.")
	}
	if f.Reason == "" {
		return refused("emergency_reason", "reason", "Say why the emergency is raised: it is kept in the audit log with your name.")
	}
	if r.PostForm.Get("confirm1") != "yes" {
		return refused("emergency_confirm", "confirm1", "Tick the box to confirm the emergency.")
	}
	var until time.Time
	if f.Until != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.Until, s.zone)
		if err != nil {
			return refused("emergency_until", "until", "The end time is not a date and time.")
		}
		until = t.UTC()
	}
	req := func(confirm bool) api.EmergencyRequest {
		return api.EmergencyRequest{Communes: f.Communes, Province: f.Province, Until: until, Reason: f.Reason, Confirm: confirm, Replace: f.Replace}
	}
	if r.PostForm.Get("confirm2") != "yes" {
		var v struct {
			Title     string                     `json:"title"`
			Emergency *pipeline.EmergencyInForce `json:"emergency"`
		}
		if err := s.callAPI(r, "GET", "/api/segments/"+url.PathEscape(id), nil, &v); err != nil {
			return err
		}
		var all []pipeline.CommuneSummary
		if err := s.callAPI(r, "GET", "/api/communes", nil, &all); err != nil {
			return err
		}
		var names, unknown []string
		for _, code := range f.Communes {
			i := slices.IndexFunc(all, func(cm pipeline.CommuneSummary) bool { return cm.Code == code })
			if i < 0 {
				unknown = append(unknown, code)
				continue
			}
			names = append(names, all[i].Name)
		}
		// The page that asks again must name every target: a code the
		// server does not know (a stale form, a typed address) is refused
		// here, by name, not shown as an empty or shorter list.
		if len(unknown) > 0 {
			codes := shortValue(strings.Join(unknown, ", "))
			return refused("unknown_commune", "communes", fmt.Sprintf("No commune with code %s: choose the communes from the list; nothing was raised.", codes), codes)
		}
		// With an emergency in force, the page names the communes that
		// keep it, are added and would lose the alert.
		var kept, added, dropped []string
		inForce := v.Emergency != nil
		if e := v.Emergency; e != nil {
			old := &pipeline.Emergency{Targets: e.Communes}
			if e.Province {
				old.Targets = nil
			}
			var codes []string
			for _, cm := range all {
				codes = append(codes, cm.Code)
			}
			k, a, d, _, _ := broadcast.PlanTargets(old, f.Communes, f.Province, f.Replace, codes)
			name := func(cs []string) []string {
				out := make([]string, 0, len(cs))
				for _, code := range cs {
					if i := slices.IndexFunc(all, func(cm pipeline.CommuneSummary) bool { return cm.Code == code }); i >= 0 {
						out = append(out, all[i].Name)
					} else {
						out = append(out, code)
					}
				}
				return out
			}
			kept, added, dropped = name(k), name(a), name(d)
		}
		// The API's dry run says whether, sent, it would only be stored
		// for an administrator's confirmation (a producer's wide request);
		// anything else it refuses, the real request refuses again.
		var pe *pipeline.Error
		dry := s.callAPI(r, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency", req(false), nil)
		needsAdmin := errors.As(dry, &pe) && pe.Key == pipeline.KeyEmergencyNeedsConfirmation
		s.render(w, r, c, http.StatusOK, "emergency", "title_emergency", struct {
			emergencyForm
			Title, Action, Back  string
			Names                []string
			InForce              bool
			Kept, Added, Dropped []string
			NeedsAdmin           bool
		}{f, v.Title, segmentPath(id) + "/emergency", segmentPath(id), names, inForce, kept, added, dropped, needsAdmin})
		return nil
	}
	var res struct {
		Pending bool `json:"pending"`
	}
	if err := s.callAPI(r, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency", req(true), &res); err != nil {
		return err
	}
	done := "emergency"
	if res.Pending {
		done = "emergency_pending"
	}
	http.Redirect(w, r, segmentPath(id)+"?done="+done, http.StatusSeeOther)
	return nil
}

// shortValue is v cut to at most 40 characters (with "…" when cut), so a
// refusal can quote what was sent without echoing a whole form back.
func shortValue(v string) string {
	r := []rune(v)
	if len(r) <= 40 {
		return v
	}
	return string(r[:40]) + "…"
}
