package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// langState is where a segment is in one of its languages.
type langState struct {
	Lang string
	// State is a catalogue key suffix: st_ready, st_processing, ...
	State string
}

// segmentRow is a segment with its state per language, as the list and
// the segment page show it.
type segmentRow struct {
	api.SegmentView
	Langs []langState
}

// listLimit is how many segments the producer's list shows, newest first.
const listLimit = 100

func langStates(v api.SegmentView) []langState {
	ready := map[string]bool{}
	for _, vr := range v.Variants {
		ready[vr.Language] = true
	}
	var out []langState
	for _, l := range v.Languages {
		st := "st_translation"
		switch {
		case v.State == pipeline.StateWithdrawn:
			st = "st_withdrawn"
		case ready[l]:
			st = "st_ready"
		case v.State == pipeline.StateFailed:
			st = "st_failed"
		case v.State == pipeline.StateProbed:
			st = "st_processing"
		}
		out = append(out, langState{Lang: l, State: st})
	}
	return out
}

func segmentPath(id string) string { return "/producer/segments/" + url.PathEscape(id) }

// confirmPath is where an administrator confirms a pending province-wide
// emergency; empty for anyone else.
func confirmPath(c *call, id string) string {
	if c.user.Role != pipeline.RoleAdmin {
		return ""
	}
	return segmentPath(id) + "/emergency/confirm"
}

func (s *Server) segmentList(w http.ResponseWriter, r *http.Request, c *call) error {
	var segs []pipeline.Segment
	if err := s.callAPI(r, "GET", "/api/segments?limit="+itoa(listLimit), nil, &segs); err != nil {
		return err
	}
	rows := make([]segmentRow, 0, len(segs))
	for _, seg := range segs {
		var v api.SegmentView
		if err := s.callAPI(r, "GET", "/api/segments/"+url.PathEscape(seg.ID), nil, &v); err != nil {
			return err
		}
		rows = append(rows, segmentRow{SegmentView: v, Langs: langStates(v)})
	}
	s.render(w, r, c, http.StatusOK, "segments", "title_segments", struct {
		Rows  []segmentRow
		Limit int
	}{rows, listLimit})
	return nil
}

// topicOption is a topic of the plan as the upload form lists it.
type topicOption struct {
	Code, Letter, Name string
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request, c *call) error {
	var topics []topicOption
	for _, t := range pipeline.Topics {
		name := t.Name
		if m, ok := c.msgs["topic_"+t.Code]; ok && c.lang != "vi" {
			name = m
		}
		topics = append(topics, topicOption{Code: t.Code, Letter: t.Letter, Name: name})
	}
	today := s.cfg.Now().In(s.zone)
	s.render(w, r, c, http.StatusOK, "upload", "title_upload", struct {
		Topics     []topicOption
		Languages  []string
		MaxBytes   int64
		From, To   string
		Priorities []pipeline.Priority
	}{
		Topics: topics, Languages: pipeline.KnownLanguages, MaxBytes: s.cfg.MaxUploadBytes,
		From: today.Format("2006-01-02"), To: today.AddDate(0, 0, 30).Format("2006-01-02"),
		Priorities: []pipeline.Priority{pipeline.PriorityNormal, pipeline.PriorityPriority},
	}, "upload.js")
	return nil
}

// player is what the segment page plays: the web preview of a TV segment
// or the loudspeaker audio, with the subtitle tracks of each language.
type player struct {
	Src, Type, Poster string
	Tracks            []track
	// Transcript: a radio segment's Vietnamese subtitle file, kept for
	// its translators; the page says why the player shows no track.
	Transcript bool
}

type track struct {
	Src, Lang string
	Default   bool
}

func playerFor(v api.SegmentView) *player {
	find := func(name, lang string) *api.RenditionView {
		for i, rd := range v.Renditions {
			if rd.Name == name && rd.Language == lang && rd.URL != "" {
				return &v.Renditions[i]
			}
		}
		return nil
	}
	var p player
	if rd := find("preview_mp4", pipeline.LangVietnamese); rd != nil {
		p.Src, p.Type = rd.URL, "video/mp4"
	} else if rd := find("loudspeaker_mp3", pipeline.LangVietnamese); rd != nil {
		p.Src, p.Type = rd.URL, "audio/mpeg"
	} else {
		return nil
	}
	if rd := find("poster_jpg", pipeline.LangVietnamese); rd != nil {
		p.Poster = rd.URL
	}
	p.Transcript = v.Kind == pipeline.KindRadio && v.SubtitleKey != ""
	for _, rd := range v.Renditions {
		if rd.Name == "subtitles_vtt" && rd.URL != "" {
			p.Tracks = append(p.Tracks, track{Src: rd.URL, Lang: rd.Language, Default: rd.Language == pipeline.LangVietnamese})
		}
	}
	slices.SortFunc(p.Tracks, func(a, b track) int {
		return slices.Index(pipeline.KnownLanguages, a.Lang) - slices.Index(pipeline.KnownLanguages, b.Lang)
	})
	return &p
}

func (s *Server) segmentPage(w http.ResponseWriter, r *http.Request, c *call) error {
	var v api.SegmentView
	if err := s.callAPI(r, "GET", "/api/segments/"+url.PathEscape(r.PathValue("id")), nil, &v); err != nil {
		return err
	}
	topic := v.Topic
	if t, ok := pipeline.TopicByCode(v.Topic); ok {
		topic = t.Letter + ". " + t.Name
		if m, ok := c.msgs["topic_"+t.Code]; ok && c.lang != "vi" {
			topic = t.Letter + ". " + m
		}
	}
	step := ""
	if v.ProcessStep != "" {
		if m, ok := c.msgs["step_"+v.ProcessStep]; ok {
			step = m
		} else {
			step = v.ProcessStep
		}
	}
	// The communes an emergency can target; without schedules set up on
	// this server the emergency section is left out.
	var communes []pipeline.CommuneSummary
	if err := s.callAPI(r, "GET", "/api/communes", nil, &communes); err != nil && pipeline.ErrorCode(err) != pipeline.CodeUnavailable {
		return err
	}
	ticked, names := map[string]bool{}, map[string]string{}
	for _, cm := range communes {
		names[cm.Code] = cm.Name
	}
	if v.Emergency != nil {
		for _, code := range v.Emergency.Communes {
			ticked[code] = true
			if names[code] == "" {
				names[code] = code
			}
		}
	}
	notice := noticeKey(r.URL.Query().Get("done"))
	if notice == "notice_uploaded" && v.State != pipeline.StateProbed {
		notice = ""
	}
	s.render(w, r, c, http.StatusOK, "segment", "title_segment", struct {
		segmentRow
		TopicName string
		Step      string
		Player    *player
		Done      bool
		Withdrawn bool
		Withdraw  string
		Notice    string
		Communes  []pipeline.CommuneSummary
		Emergency string
		// Priorities are the levels the priority form offers; an
		// emergency has its own form and is not changed there.
		Priorities  []pipeline.Priority
		SetPriority string
		// Pending is a wide emergency waiting for an admin (the
		// province, or its communes); WideLimit the most communes one
		// non-administrator may hold alone; Confirm is where an admin
		// confirms it (empty for others).
		Pending   *pipeline.EmergencyRequest
		WideLimit int
		Confirm   string
		// EndEmergency is where the emergency in force (or the request
		// waiting) is ended early; CancelRequest where only the request
		// is withdrawn or declined.
		EndEmergency  string
		CancelRequest string
		// InForce is the emergency on air now (nil when none); Ticked
		// its communes, pre-ticked on the form; CommuneNames names codes.
		InForce      *pipeline.EmergencyInForce
		Ticked       map[string]bool
		CommuneNames map[string]string
	}{
		segmentRow: segmentRow{SegmentView: v, Langs: langStates(v)},
		TopicName:  topic, Step: step, Player: playerFor(v),
		Done:          v.State != pipeline.StateProbed && v.ProcessStep != pipeline.StepRenditions,
		Withdrawn:     v.State == pipeline.StateWithdrawn,
		Withdraw:      segmentPath(v.ID) + "/withdraw",
		Notice:        notice,
		Communes:      communes,
		Emergency:     segmentPath(v.ID) + "/emergency",
		Priorities:    []pipeline.Priority{pipeline.PriorityNormal, pipeline.PriorityPriority},
		SetPriority:   segmentPath(v.ID) + "/priority",
		Pending:       v.PendingEmergency,
		WideLimit:     v.WideEmergencyLimit,
		Confirm:       confirmPath(c, v.ID),
		EndEmergency:  segmentPath(v.ID) + "/emergency/end",
		CancelRequest: segmentPath(v.ID) + "/emergency/request/cancel",
		InForce:       v.Emergency,
		Ticked:        ticked,
		CommuneNames:  names,
	}, "segment.js")
	return nil
}

// noticeKey turns a ?done= marker of a redirect after a form into the
// catalogue key of the message confirming it.
func noticeKey(done string) string {
	switch done {
	case "withdrawn", "uploaded", "duplicate", "emergency", "emergency_pending", "emergency_ended", "priority", "request_withdrawn", "request_declined":
		return "notice_" + done
	}
	return ""
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	id := r.PathValue("id")
	if r.PostForm.Get("confirm") != "yes" {
		return refused("withdraw_confirm", "confirm", "Tick the box to confirm the withdrawal.")
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	// The box ticked is the page's confirmation; the API's is the id.
	if err := s.callAPI(r, "DELETE", "/api/segments/"+url.PathEscape(id)+"?confirm="+url.QueryEscape(id)+"&reason="+url.QueryEscape(reason), nil, nil); err != nil {
		return err
	}
	http.Redirect(w, r, segmentPath(id)+"?done=withdrawn", http.StatusSeeOther)
	return nil
}

// setPriority changes a segment's priority between normal and priority
// through the API, which rebuilds the schedules; an emergency keeps its
// own, twice-confirmed form.
func (s *Server) setPriority(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	p := pipeline.Priority(r.PostForm.Get("priority"))
	if p != pipeline.PriorityNormal && p != pipeline.PriorityPriority {
		return refused("priority_choice", "priority", "Choose normal or priority.")
	}
	id := r.PathValue("id")
	if err := s.callAPI(r, "PUT", "/api/segments/"+url.PathEscape(id)+"/priority", api.PriorityRequest{Priority: p}, nil); err != nil {
		return err
	}
	http.Redirect(w, r, segmentPath(id)+"?done=priority", http.StatusSeeOther)
	return nil
}
