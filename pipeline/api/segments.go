package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// SegmentView is a segment as the API shows it, with download links.
type SegmentView struct {
	pipeline.Segment
	// AirLastDay is the last day on air (YYYY-MM-DD, Asia/Ho_Chi_Minh):
	// pipeline.LastAirDay of air_until, which is 00:00 of the next day
	// when the window was given as a date.
	AirLastDay string `json:"air_last_day,omitempty"`
	// PendingEmergency is a producer's province-wide emergency waiting for
	// an administrator's confirmation (GET /api/segments/{id} only).
	PendingEmergency *pipeline.EmergencyRequest `json:"pending_emergency,omitempty"`
	// WideEmergencyLimit is, with a pending request, the most communes a
	// non-administrator may hold under emergencies without a confirmation
	// (the province, or more than half of it, always needs one).
	WideEmergencyLimit int `json:"wide_emergency_limit,omitempty"`
	// Emergency is the emergency in force on the segment now: its
	// communes (or the whole province), since, until, reason and who
	// raised it (GET /api/segments/{id} only).
	Emergency *pipeline.EmergencyInForce `json:"emergency,omitempty"`
	// EmergencyEndedAt is set when the priority still says emergency but
	// the emergency is over (ended early, or ran out at its end time),
	// this moment (GET /api/segments/{id} only): the segment airs nowhere
	// and there is nothing left to end; setting its priority again puts
	// it back in its own air window.
	EmergencyEndedAt *time.Time `json:"emergency_ended_at,omitempty"`
	// EmergencyActions says what the caller may do about the emergency in
	// force and the request waiting (GET /api/segments/{id} only; absent
	// when there is neither), so clients offer only what works.
	EmergencyActions *EmergencyActions  `json:"emergency_actions,omitempty"`
	Links            map[string]string  `json:"links,omitempty"`
	Renditions       []RenditionView    `json:"renditions,omitempty"`
	Variants         []pipeline.Variant `json:"variants,omitempty"`
	// MediaRemoval is set while a withdrawn segment's objects are still
	// under the keys links were issued for (GET /api/segments/{id} only):
	// the job moving them away has not succeeded yet (an object store
	// refusing writes), so those links still answer.
	MediaRemoval *MediaRemoval `json:"media_removal,omitempty"`
}

// EmergencyActions are what the caller of GET /api/segments/{id} may do
// about the segment's emergency: each true only when the request would
// be accepted for that caller.
type EmergencyActions struct {
	// ConfirmRequest: an administrator, and a request waiting, not expired
	// (POST .../emergency/confirm).
	ConfirmRequest bool `json:"confirm_request"`
	// CancelRequest: the request's requester (withdraws it) or an
	// administrator (declines it, with a reason), leaving the emergency
	// in force as it is (POST .../emergency/request/cancel).
	CancelRequest bool `json:"cancel_request"`
	// DeclineRequest: CancelRequest declines someone else's request, so a
	// reason is required (the requester is told).
	DeclineRequest bool `json:"decline_request,omitempty"`
	// End: the emergency in force (and the request waiting) may be ended
	// by the caller (POST .../emergency/end).
	End bool `json:"end"`
}

// MediaRemoval says a withdrawn segment's media is still reachable.
type MediaRemoval struct {
	// Since is when the segment was withdrawn, and its move queued; the
	// move is retried (with the worker's backoff) until it succeeds.
	Since time.Time `json:"since"`
	// Objects counts the objects its rows still name under the old keys.
	Objects int `json:"objects"`
}

// RenditionView is a processed file with a presigned download link.
type RenditionView struct {
	pipeline.Rendition
	URL string `json:"url,omitempty"`
}

// UploadResponse answers POST /api/segments.
type UploadResponse struct {
	SegmentView
	// Duplicate is true when the same content had been uploaded before; the
	// segment is then the earlier one, kept as first uploaded.
	Duplicate bool `json:"duplicate"`
	// Warnings are what the subtitle check found in an accepted subtitle
	// file without refusing it (a cue ending a little after the media:
	// players cut it there); left out when there are none.
	Warnings []subtitle.Finding `json:"warnings,omitempty"`
	// NotUsed (a duplicate only) names what this upload sent that the kept
	// segment does not take, in the form's part names: each field among
	// title, kind, topic, priority, languages, air_from and air_until sent
	// with a value other than the kept segment's, and "subtitles" when a
	// subtitle file was sent (it is not stored: the kept segment keeps its
	// own, or none). Empty when nothing sent was lost.
	NotUsed []string `json:"not_used,omitempty"`
	// Replace (a duplicate with NotUsed only) says how to put what was not
	// used in force, one step per way; each step names the NotUsed parts
	// it covers.
	Replace []ReplaceStep `json:"replace,omitempty"`
	// Message says the same in words, for a person.
	Message string `json:"message,omitempty"`
}

// ReplaceStep is one request that puts in force some of what a duplicate
// upload sent: Method and Path (with its query: a withdrawal's carries
// its confirmation) and Body (JSON, when it takes one), then Then when it
// is the first of two requests.
type ReplaceStep struct {
	Fields []string        `json:"fields"`
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	Then   string          `json:"then,omitempty"`
}

// linkTTL is how long presigned download links in responses (a segment's
// original, subtitles and renditions; a job's files) stay valid: a person
// follows them from the page or command that just showed them, so an hour
// is plenty, and a link copied before a withdrawal stops working within
// the hour (a withdrawn segment gets no new links). It was 24 h.
const linkTTL = time.Hour

func (s *Server) view(r *http.Request, seg pipeline.Segment) SegmentView {
	v := SegmentView{Segment: seg, AirLastDay: pipeline.LastAirDay(seg.AirUntil), Links: map[string]string{}}
	if seg.State == pipeline.StateWithdrawn {
		return v
	}
	if u, err := s.Objects.Presign(r.Context(), seg.OriginalKey, linkTTL, seg.OriginalName); err == nil {
		v.Links["original"] = u
	}
	if seg.SubtitleKey != "" {
		if u, err := s.Objects.Presign(r.Context(), seg.SubtitleKey, linkTTL, ""); err == nil {
			v.Links["subtitles_vi"] = u
		}
	}
	return v
}

// uploadSegment streams a multipart upload: metadata fields, an optional
// "subtitles" file part and the "file" part with the media, in any order.
// The media goes to the object store without being held in memory or on
// disk; parts after it (small fields, subtitles) are read once it is
// stored, and the upload is checked as a whole. When the fields before
// the media already name a title, kind and topic, they are checked before
// the media is streamed.
func (s *Server) uploadSegment(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" {
		return pipeline.Errorf(pipeline.CodeInvalid, "Send the upload as multipart/form-data: the metadata fields, the optional 'subtitles' file and the 'file' part with the media.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The multipart body cannot be read: %v.", err)
	}
	form := uploadForm{mr: mr, fields: map[string][]string{}, maxFormBytes: s.MaxFormBytes, maxSubtitleBytes: s.Ingester.MaxSubtitleBytes}
	for {
		part, err := form.next()
		if errors.Is(err, io.EOF) {
			return pipeline.FieldError("file", "The upload has no 'file' part: attach the media file.")
		}
		if err != nil {
			return err
		}
		if part.FormName() != "file" {
			if err := form.read(part); err != nil {
				return err
			}
			continue
		}
		size, err := form.declaredSize()
		if err != nil {
			return err
		}
		media, contentType := sniffMedia(part, part.Header.Get("Content-Type"))
		up := pipeline.Upload{User: u, Media: media, ContentType: contentType, Size: size, Subtitles: form.subtitles}
		fileName := part.FileName()
		if up.Meta, err = metaFromFields(form.fields); err != nil {
			return err
		}
		up.Meta.FileName = fileName
		up.Rest = func(up *pipeline.Upload) error {
			if err := form.readRest(); err != nil {
				return err
			}
			meta, err := metaFromFields(form.fields)
			if err != nil {
				return err
			}
			meta.FileName = fileName
			up.Meta, up.Subtitles = meta, form.subtitles
			return nil
		}
		res, err := s.Ingester.Ingest(r.Context(), up)
		if err != nil {
			s.ingested.WithLabelValues(outcome(err)).Inc()
			if pipeline.ErrorCode(err) == pipeline.CodeInvalid {
				// The producer sees the reason; the log keeps the tool's
				// own words (ffprobe's stderr) for whoever asks why.
				s.Log.Info("upload refused", "user", u.Name, "file", up.Meta.FileName, "err", err)
			}
			return err
		}
		status := http.StatusCreated
		if !res.Created {
			status = http.StatusOK
			s.ingested.WithLabelValues("duplicate").Inc()
		} else {
			s.ingested.WithLabelValues("created").Inc()
		}
		resp := UploadResponse{SegmentView: s.view(r, res.Segment), Duplicate: !res.Created, Warnings: res.Warnings}
		if !res.Created {
			resp.NotUsed = notUsed(form.fields, form.subtitles, res.Segment)
			resp.Replace, resp.Message = replaceSteps(res.Segment, form.fields, resp.NotUsed)
		}
		writeJSON(w, status, resp)
		return nil
	}
}

// notUsed lists what a duplicate upload sent (fields, read as
// metaFromFields reads them, and the subtitle file) that the kept segment
// seg does not have, in uploadFields order then "subtitles".
func notUsed(fields map[string][]string, subtitles []byte, seg pipeline.Segment) []string {
	m, err := metaFromFields(fields)
	if err != nil {
		// Ingest checked the fields: this cannot happen; say every field
		// sent was not used rather than nothing.
		m = pipeline.Meta{}
	}
	sent := func(k string) bool {
		v := fields[k]
		return len(v) > 0 && strings.TrimSpace(v[len(v)-1]) != ""
	}
	same := map[string]bool{
		"title":     norm.NFC.String(m.Title) == seg.Title,
		"kind":      m.Kind == seg.Kind,
		"topic":     m.Topic == seg.Topic,
		"priority":  m.Priority == seg.Priority,
		"languages": sameSet(m.Languages, seg.Languages),
		"air_from":  m.AirFrom.Equal(seg.AirFrom),
		"air_until": m.AirUntil.Equal(seg.AirUntil),
	}
	var out []string
	for _, k := range uploadFields {
		if sent(k) && !same[k] {
			out = append(out, k)
		}
	}
	if subtitles != nil {
		out = append(out, "subtitles")
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// replaceSteps says how to put in force what a duplicate upload sent and
// seg did not take (notUsed): a priority alone is changed in place;
// anything else needs the segment withdrawn and the file uploaded again.
// It returns the steps and the same in words.
func replaceSteps(seg pipeline.Segment, fields map[string][]string, notUsed []string) ([]ReplaceStep, string) {
	msg := fmt.Sprintf("This file was uploaded before: it is segment %s, kept as first uploaded.", seg.ID)
	if len(notUsed) == 0 {
		return nil, msg + " Everything sent now matches it."
	}
	path := "/api/segments/" + url.PathEscape(seg.ID)
	var steps []ReplaceStep
	var rest []string
	for _, k := range notUsed {
		if k != "priority" {
			rest = append(rest, k)
		}
	}
	verb := "were"
	if len(notUsed) == 1 {
		verb = "was"
	}
	msg += fmt.Sprintf(" The %s sent now %s not used.", strings.Join(notUsed, ", "), verb)
	if len(rest) < len(notUsed) {
		m, _ := metaFromFields(fields)
		body, _ := json.Marshal(PriorityRequest{Priority: m.Priority})
		steps = append(steps, ReplaceStep{Fields: []string{"priority"}, Method: http.MethodPut, Path: path + "/priority", Body: body})
		msg += fmt.Sprintf(" To change its priority: PUT %s/priority (loa segments priority %s %s).", path, seg.ID, m.Priority)
	}
	if len(rest) > 0 {
		// The withdrawal with its confirmation (the id), as the
		// priority step carries its body: the step is the whole request.
		withdraw := path + "?confirm=" + url.QueryEscape(seg.ID)
		steps = append(steps, ReplaceStep{Fields: rest, Method: http.MethodDelete, Path: withdraw, Then: "POST /api/segments"})
		msg += fmt.Sprintf(" To replace the %s: withdraw it (DELETE %s, or loa segments withdraw %s --yes), then upload the file again.", strings.Join(rest, ", "), withdraw, seg.ID)
	}
	return steps, msg
}

// sniffMedia keeps a client's audio/* or video/* type; otherwise (curl
// sends application/octet-stream) it reads the type from the first 512
// bytes, so the stored original is served as what it is even when the
// kind arrives after the media. The returned reader still yields every
// byte.
func sniffMedia(r io.Reader, clientType string) (io.Reader, string) {
	t, _, _ := mime.ParseMediaType(clientType)
	if strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/") {
		return r, clientType
	}
	br := bufio.NewReaderSize(r, 512)
	head, _ := br.Peek(512)
	if sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(head)); strings.HasPrefix(sniffed, "audio/") || strings.HasPrefix(sniffed, "video/") {
		return br, sniffed
	}
	return br, clientType
}

// uploadForm reads an upload's parts (next) and collects the small ones:
// metadata fields and the subtitle file.
type uploadForm struct {
	mr               *multipart.Reader
	fields           map[string][]string
	subtitles        []byte
	parts            int
	formBytes        int64
	maxFormBytes     int64
	maxSubtitleBytes int64
}

// MaxUploadParts caps the parts of one upload: a dozen metadata fields,
// the subtitles and the file need far fewer.
const MaxUploadParts = 64

// uploadFields are the parts an upload may have besides "file" and
// "subtitles": the fields metaFromFields reads. A part with another name
// is refused, not ignored, so a misspelt field is never lost unnoticed.
var uploadFields = []string{"title", "kind", "topic", "priority", "languages", "air_from", "air_until"}

// sizeField is the optional part, before "file", that gives the media's
// length in bytes (what a browser's File.size and `loa upload` send): the
// media then goes to the store in one request without a part buffer.
const sizeField = "size"

// read reads one part that is not the media.
func (f *uploadForm) read(part *multipart.Part) error {
	name := part.FormName()
	if name != "subtitles" && name != sizeField && !slices.Contains(uploadFields, name) {
		return pipeline.FieldError(name, "The upload has a part named %q, which Loa does not know: send %s, the optional 'size' and 'subtitles' parts and the 'file' part.",
			name, strings.Join(uploadFields, ", "))
	}
	if name == "subtitles" {
		limit := f.maxSubtitleBytes
		if limit <= 0 {
			limit = 2 << 20
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return pipeline.Errorf(pipeline.CodeInvalid, "The subtitle part was cut short: %v. Upload again.", err)
		}
		if int64(len(data)) > limit {
			return pipeline.FieldError("subtitles", "The subtitle file is over %d KiB: a segment's subtitles are far smaller; check that it is the right file.", limit>>10)
		}
		f.subtitles = data
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The field %q was cut short: %v.", name, err)
	}
	f.formBytes += int64(len(data))
	if len(data) > 64<<10 || f.formBytes > f.maxFormBytes {
		return pipeline.FieldError(name, "The field %q is over 64 KiB, or the fields together are over %d KiB: send shorter values.", name, f.maxFormBytes>>10)
	}
	f.fields[name] = append(f.fields[name], string(data))
	return nil
}

// next returns the upload's next part, io.EOF at the end, or a refusal
// when the body is broken. Every part, before and after the media, comes
// through here.
func (f *uploadForm) next() (*multipart.Part, error) {
	part, err := f.mr.NextPart()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The multipart body is broken or was cut short: %v. Upload again.", err)
	}
	if err != nil {
		return part, err
	}
	// Every part costs memory even when empty: the number of parts is
	// capped and their headers count toward the form limit.
	if f.parts++; f.parts > MaxUploadParts {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The upload has more than %d parts: send the metadata fields, the optional 'subtitles' file and the 'file' part only.", MaxUploadParts)
	}
	for k, vs := range part.Header {
		f.formBytes += int64(len(k))
		for _, v := range vs {
			f.formBytes += int64(len(v))
		}
	}
	if f.formBytes > f.maxFormBytes {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The upload's fields and part headers are over %d KiB: send only the metadata fields, the optional subtitles and the file.", f.maxFormBytes>>10)
	}
	return part, nil
}

// declaredSize is the media length the form's "size" part gave, or 0 when
// it sent none (or sent it empty).
func (f *uploadForm) declaredSize() (int64, error) {
	vs := f.fields[sizeField]
	if len(vs) > 1 {
		return 0, pipeline.FieldError(sizeField, "The 'size' field was sent %d times: send it once.", len(vs))
	}
	if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
	if err != nil || n <= 0 {
		return 0, pipeline.FieldError(sizeField, "The 'size' field is %q: send the media file's length in bytes as a whole number, or leave it out.", vs[0])
	}
	return n, nil
}

// readRest reads the parts after the media to the end of the body; a
// second media part is refused, not dropped.
func (f *uploadForm) readRest() error {
	for {
		part, err := f.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if part.FormName() == "file" {
			return pipeline.FieldError("file", "The upload has more than one 'file' part: send one media file per upload.")
		}
		if part.FormName() == sizeField {
			return pipeline.FieldError(sizeField, "The 'size' part came after the 'file' part: send it before the file, or leave it out.")
		}
		if err := f.read(part); err != nil {
			return err
		}
	}
}

func outcome(err error) string {
	var e *pipeline.Error
	if errors.As(err, &e) && e.Field != "" {
		return string(e.Code) + ":" + e.Field
	}
	return string(pipeline.ErrorCode(err))
}

// metaFromFields reads the upload's metadata fields.
func metaFromFields(f map[string][]string) (pipeline.Meta, error) {
	// A field sent twice is a client's mistake (two forms merged, a
	// script's default and its override): which one it meant is not
	// ours to guess. Only languages is a list.
	for _, k := range uploadFields {
		if v := f[k]; len(v) > 1 && k != "languages" {
			return pipeline.Meta{}, pipeline.FieldError(k, "The field %q was sent %d times (%s): send it once.", k, len(v), quoteAll(v))
		}
	}
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return strings.TrimSpace(v[len(v)-1])
		}
		return ""
	}
	m := pipeline.Meta{
		Title:    get("title"),
		Kind:     pipeline.Kind(get("kind")),
		Topic:    get("topic"),
		Priority: pipeline.Priority(get("priority")),
	}
	for _, v := range f["languages"] {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				m.Languages = append(m.Languages, l)
			}
		}
	}
	var err error
	if m.AirFrom, err = parseWhen("air_from", get("air_from"), false); err != nil {
		return m, err
	}
	if m.AirUntil, err = parseWhen("air_until", get("air_until"), true); err != nil {
		return m, err
	}
	return m, nil
}

// parseWhen reads an air window's bound: an RFC 3339 time is that
// moment; a plain date (2025-03-01) is a producer's day in the province's
// zone (Asia/Ho_Chi_Minh), so as air_from it is the start of that day and
// as air_until (end true) the end of it: the window runs through the day
// named and ends at 00:00 of the next. The time is returned in UTC.
func parseWhen(field, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, localtime.Location()); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), nil
	}
	how := "the first day on air, from 00:00"
	if end {
		how = "the last day on air, through its end"
	}
	return time.Time{}, pipeline.FieldError(field, "%s %q is not a date: write a date, 2025-03-01 (%s, %s time), or a moment, 2025-03-01T05:00:00+07:00.", field, v, how, localtime.Name)
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	f := pipeline.SegmentFilter{State: pipeline.State(r.URL.Query().Get("state"))}
	switch f.State {
	case "", pipeline.StateProbed, pipeline.StateProcessed, pipeline.StateFailed, pipeline.StateWithdrawn:
	default:
		return pipeline.FieldError("state", "state %q is not a segment state: use probed, processed, failed or withdrawn, or leave it out.", f.State)
	}
	if u.Role != pipeline.RoleAdmin {
		f.ProducerID = u.ID
	}
	switch p := r.URL.Query().Get("pending_emergency"); p {
	case "", "0", "false":
	case "1", "true":
		f.EmergencyRequested = true
	default:
		return pipeline.FieldError("pending_emergency", "pending_emergency %q: say 1 to list only the segments whose emergency request waits for an administrator, or leave it out.", p)
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return pipeline.Errorf(pipeline.CodeInvalid, "limit must be a positive number.")
		}
		f.Limit = n
	}
	segs, err := s.Catalog.Segments(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, segs)
	return nil
}

// visibleSegment returns a segment the user may see: admins see all,
// producers their own; anything else is "not found" so ids do not leak.
func (s *Server) visibleSegment(r *http.Request, u pipeline.User) (pipeline.Segment, error) {
	id := r.PathValue("id")
	seg, err := s.Catalog.Segment(r.Context(), id)
	if err != nil {
		return seg, err
	}
	if u.Role != pipeline.RoleAdmin && seg.ProducerID != u.ID {
		return pipeline.Segment{}, pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", id)
	}
	return seg, nil
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	seg, err := s.visibleSegment(r, u)
	if err != nil {
		return err
	}
	v := s.view(r, seg)
	rs, err := s.Catalog.Renditions(r.Context(), seg.ID)
	if err != nil {
		return err
	}
	for _, rd := range rs {
		rv := RenditionView{Rendition: rd}
		if seg.State != pipeline.StateWithdrawn {
			rv.URL, _ = s.Objects.Presign(r.Context(), rd.Key, linkTTL, "")
		}
		v.Renditions = append(v.Renditions, rv)
	}
	if v.Variants, err = s.Catalog.SegmentVariants(r.Context(), seg.ID); err != nil {
		return err
	}
	v.MediaRemoval = mediaRemoval(seg, rs, v.Variants)
	if s.Broadcast != nil {
		p, err := s.Broadcast.Store.PendingEmergency(r.Context(), seg.ID)
		switch {
		case err == nil:
			v.PendingEmergency = &p
			v.WideEmergencyLimit = s.Broadcast.WideLimit()
		case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
			return err
		}
		e, err := s.Broadcast.Store.EmergencyInForce(r.Context(), seg.ID, s.Broadcast.CurrentTime())
		switch {
		case err == nil:
			v.Emergency = &e
		case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
			return err
		}
		if v.EmergencyEndedAt, err = s.emergencyEnded(r.Context(), seg); err != nil {
			return err
		}
		v.EmergencyActions = emergencyActions(v, u)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// mediaRemoval is the segment's MediaRemoval: nil unless it is withdrawn
// and a row of it still names a key under segments/ (the move of its
// objects, worker.Withdrawal.Move, gives each row its new key under
// withdrawn/ as it goes).
func mediaRemoval(seg pipeline.Segment, rs []pipeline.Rendition, vs []pipeline.Variant) *MediaRemoval {
	if seg.State != pipeline.StateWithdrawn {
		return nil
	}
	keys := []string{seg.OriginalKey, seg.SubtitleKey}
	for _, rd := range rs {
		keys = append(keys, rd.Key)
	}
	for _, v := range vs {
		keys = append(keys, v.AudioKey)
	}
	old := map[string]bool{}
	for _, k := range keys {
		if strings.HasPrefix(k, "segments/") {
			old[k] = true
		}
	}
	n := len(old)
	if n == 0 {
		return nil
	}
	since := seg.CreatedAt
	if seg.WithdrawnAt != nil {
		since = *seg.WithdrawnAt
	}
	return &MediaRemoval{Since: since, Objects: n}
}

// emergencyActions says what u may do about v's emergency in force and
// request waiting, by the rules the service applies (broadcast.MayEnd,
// broadcast.MayCancelRequest); nil when there is neither.
func emergencyActions(v SegmentView, u pipeline.User) *EmergencyActions {
	if v.Emergency == nil && v.PendingEmergency == nil {
		return nil
	}
	a := &EmergencyActions{End: u.Role == pipeline.RoleAdmin}
	if p := v.PendingEmergency; p != nil {
		a.ConfirmRequest = u.Role == pipeline.RoleAdmin && !p.Expired
		a.CancelRequest = broadcast.MayCancelRequest(*p, u)
		a.DeclineRequest = a.CancelRequest && p.RequestedBy != u.ID
	}
	if u.Role == pipeline.RoleProducer {
		// A producer ends only what is his: the emergency in force he
		// raised, and the request he asked for.
		a.End = (v.Emergency == nil || v.Emergency.RaisedByID == u.ID) &&
			(v.PendingEmergency == nil || v.PendingEmergency.RequestedBy == u.ID)
	}
	return a
}

// emergencyEnded returns when the emergency of a segment whose priority
// says emergency ran out by itself (ending one early lowers the priority;
// running out does not), or nil while it is in force or when there is
// none. The segment's emergency row keeps its end time; it was marked
// after the segment was uploaded.
func (s *Server) emergencyEnded(ctx context.Context, seg pipeline.Segment) (*time.Time, error) {
	if seg.Priority != pipeline.PriorityEmergency || seg.State == pipeline.StateWithdrawn {
		return nil, nil
	}
	ems, err := s.Broadcast.Store.ActiveEmergencies(ctx, seg.CreatedAt.Add(-time.Minute))
	if err != nil {
		return nil, fmt.Errorf("emergency of segment %s: %w", seg.ID, err)
	}
	for _, e := range ems {
		if e.SegmentID == seg.ID && !e.Until.After(s.now()) {
			until := e.Until
			return &until, nil
		}
	}
	return nil, nil
}

// withdrawSegment withdraws a segment: DELETE /api/segments/{id}
// ?confirm={id}[&reason=...]. It takes the segment off every commune's
// schedule at once, ends its emergencies and moves its media out of
// reach of issued links, and cannot be undone, so it asks, as every such
// action does, for a confirmation: confirm must repeat the segment's id.
// Without it nothing changes and the answer (422, field confirm) says
// what to send.
func (s *Server) withdrawSegment(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	seg, err := s.visibleSegment(r, u)
	if err != nil {
		return err
	}
	if seg.State != pipeline.StateWithdrawn && r.URL.Query().Get("confirm") != seg.ID {
		return confirmWithdrawal(seg, r.URL.Query().Get("confirm"))
	}
	// The reason goes to the segment's history and to its translators
	// (their jobs are cancelled with it).
	reason, err := pipeline.CleanText("reason", "The reason", r.URL.Query().Get("reason"), true)
	if err != nil {
		return err
	}
	var ems []pipeline.Emergency
	if s.Broadcast != nil {
		if ems, err = s.Broadcast.EmergenciesOf(r.Context(), r.PathValue("id"), s.now()); err != nil {
			return err
		}
	}
	seg, err = s.Catalog.WithdrawSegment(r.Context(), r.PathValue("id"), u.ID, reason)
	if err != nil {
		return err
	}
	if s.Broadcast != nil {
		// The withdrawal is stored; a failed rebuild is caught up by the
		// queued one, so it is logged, not answered as a failure.
		if err := s.Broadcast.Withdrawn(r.Context(), seg.ID, ems, s.now()); err != nil {
			s.Log.Error("withdrawn segment: immediate rebuild failed; the queued rebuild follows", "segment", seg.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, s.view(r, seg))
	return nil
}

// confirmWithdrawal is the refusal of a withdrawal whose confirm (got)
// does not repeat the segment's id.
func confirmWithdrawal(seg pipeline.Segment, got string) error {
	path := "/api/segments/" + url.PathEscape(seg.ID)
	wrong := ""
	if got != "" {
		wrong = fmt.Sprintf(" (confirm %q is not its id)", got)
	}
	return pipeline.FieldError("confirm",
		"Nothing was withdrawn%s: withdrawing segment %s (%q) takes it off every commune's schedule at once, ends its emergencies, moves its media out of reach and cannot be undone (upload it again to bring it back). To go ahead, send the same request with confirm set to the segment's id: DELETE %s?confirm=%s&reason=WHY (loa segments withdraw %s --yes).",
		wrong, seg.ID, seg.Title, path, url.QueryEscape(seg.ID), seg.ID)
}

// PriorityRequest is the body of PUT /api/segments/{id}/priority.
type PriorityRequest struct {
	Priority pipeline.Priority `json:"priority"`
}

// setPriority raises a segment to priority or lowers it to normal; the
// rebuild the store queues with the change moves it in the playlists.
func (s *Server) setPriority(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if _, err := s.visibleSegment(r, u); err != nil {
		return err
	}
	var req PriorityRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	seg, err := s.Catalog.SetPriority(r.Context(), r.PathValue("id"), u.ID, req.Priority)
	if err != nil {
		return err
	}
	// The store queued the rebuild of every commune in the change's
	// transaction (sqlstore DB.RebuildTx).
	writeJSON(w, http.StatusOK, s.view(r, seg))
	return nil
}

// quoteAll quotes each value, comma-separated, for a message.
func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
