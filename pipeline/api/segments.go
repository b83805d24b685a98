package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// SegmentView is a segment as the API shows it, with download links.
type SegmentView struct {
	pipeline.Segment
	// PendingEmergency is a producer's province-wide emergency waiting for
	// an administrator's confirmation (GET /api/segments/{id} only).
	PendingEmergency *pipeline.EmergencyRequest `json:"pending_emergency,omitempty"`
	Links            map[string]string          `json:"links,omitempty"`
	Renditions       []RenditionView            `json:"renditions,omitempty"`
	Variants         []pipeline.Variant         `json:"variants,omitempty"`
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
	// segment is then the earlier one.
	Duplicate bool `json:"duplicate"`
}

// linkTTL is how long presigned download links in responses stay valid.
const linkTTL = 24 * time.Hour

func (s *Server) view(r *http.Request, seg pipeline.Segment) SegmentView {
	v := SegmentView{Segment: seg, Links: map[string]string{}}
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

// uploadSegment streams a multipart upload: metadata fields first, then an
// optional "subtitles" file part, then the "file" part with the media,
// which goes to the object store without being held in memory or on disk.
// MaxUploadParts caps the parts of one upload: a dozen metadata fields,
// the subtitles and the file need far fewer.
const MaxUploadParts = 64

func (s *Server) uploadSegment(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" {
		return pipeline.Errorf(pipeline.CodeInvalid, "Send the upload as multipart/form-data: metadata fields, then the optional 'subtitles' file, then the 'file' part with the media.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The multipart body cannot be read: %v.", err)
	}
	fields := map[string][]string{}
	var subtitles []byte
	var formBytes int64
	for parts := 1; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return pipeline.FieldError("file", "The upload has no 'file' part: attach the media file (after the metadata fields).")
		}
		if err != nil {
			return pipeline.Errorf(pipeline.CodeInvalid, "The multipart body is broken or was cut short: %v. Upload again.", err)
		}
		// Every part costs memory even when empty: the number of parts is
		// capped and their headers count toward the form limit.
		if parts > MaxUploadParts {
			return pipeline.Errorf(pipeline.CodeInvalid, "The upload has more than %d parts: send the metadata fields, the optional 'subtitles' file and the 'file' part only.", MaxUploadParts)
		}
		for k, vs := range part.Header {
			formBytes += int64(len(k))
			for _, v := range vs {
				formBytes += int64(len(v))
			}
		}
		if formBytes > s.MaxFormBytes {
			return pipeline.Errorf(pipeline.CodeInvalid, "The upload's fields and part headers are over %d KiB: send only the metadata fields, the optional subtitles and the file.", s.MaxFormBytes>>10)
		}
		name := part.FormName()
		switch name {
		case "file":
			meta, err := metaFromFields(fields)
			if err != nil {
				return err
			}
			meta.FileName = part.FileName()
			res, err := s.Ingester.Ingest(r.Context(), pipeline.Upload{
				User: u, Meta: meta, Media: part, ContentType: part.Header.Get("Content-Type"), Subtitles: subtitles,
			})
			if err != nil {
				s.ingested.WithLabelValues(outcome(err)).Inc()
				return err
			}
			status := http.StatusCreated
			if !res.Created {
				status = http.StatusOK
				s.ingested.WithLabelValues("duplicate").Inc()
			} else {
				s.ingested.WithLabelValues("created").Inc()
			}
			writeJSON(w, status, UploadResponse{SegmentView: s.view(r, res.Segment), Duplicate: !res.Created})
			return nil
		case "subtitles":
			limit := s.Ingester.MaxSubtitleBytes
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
			subtitles = data
		default:
			data, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
			if err != nil {
				return pipeline.Errorf(pipeline.CodeInvalid, "The field %q was cut short: %v.", name, err)
			}
			formBytes += int64(len(data))
			if len(data) > 64<<10 || formBytes > s.MaxFormBytes {
				return pipeline.FieldError(name, "The field %q is too long.", name)
			}
			fields[name] = append(fields[name], string(data))
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

// timeZone is where producers' dates are meant: all of Loa's local times
// are Asia/Ho_Chi_Minh (UTC+7, no daylight saving).
var timeZone = time.FixedZone("ICT", 7*3600)

// metaFromFields reads the upload's metadata fields.
func metaFromFields(f map[string][]string) (pipeline.Meta, error) {
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
	if m.AirFrom, err = parseWhen("air_from", get("air_from")); err != nil {
		return m, err
	}
	if m.AirUntil, err = parseWhen("air_until", get("air_until")); err != nil {
		return m, err
	}
	return m, nil
}

// parseWhen accepts RFC 3339 times and plain dates (taken as the start of
// that day in Asia/Ho_Chi_Minh).
func parseWhen(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, timeZone); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, pipeline.FieldError(field, "%s %q is not a date: write 2025-03-01 or 2025-03-01T05:00:00+07:00.", field, v)
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	f := sqlstore.SegmentFilter{State: pipeline.State(r.URL.Query().Get("state"))}
	if u.Role != pipeline.RoleAdmin {
		f.ProducerID = u.ID
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
	if s.Broadcast != nil {
		p, err := s.Broadcast.Store.PendingEmergency(r.Context(), seg.ID)
		switch {
		case err == nil:
			v.PendingEmergency = &p
		case pipeline.ErrorCode(err) != pipeline.CodeNotFound:
			return err
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) withdrawSegment(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if _, err := s.visibleSegment(r, u); err != nil {
		return err
	}
	seg, err := s.Catalog.WithdrawSegment(r.Context(), r.PathValue("id"), u.ID, r.URL.Query().Get("reason"))
	if err != nil {
		return err
	}
	s.withdrawn(r.Context(), seg.ID)
	writeJSON(w, http.StatusOK, s.view(r, seg))
	return nil
}

// PriorityRequest is the body of PUT /api/segments/{id}/priority.
type PriorityRequest struct {
	Priority pipeline.Priority `json:"priority"`
}

// setPriority raises a segment to priority or lowers it to normal; the
// schedules are rebuilt so it moves in the playlists.
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
	s.withdrawn(r.Context(), seg.ID)
	writeJSON(w, http.StatusOK, s.view(r, seg))
	return nil
}
