package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// Jobs is what the API needs for translation and subtitle jobs;
// *translation.Desk has it.
type Jobs interface {
	List(ctx context.Context, u pipeline.User, f translation.Filter) ([]translation.Job, error)
	Get(ctx context.Context, u pipeline.User, id string) (translation.Detail, error)
	PrefillFile(ctx context.Context, u pipeline.User, id string) ([]byte, error)
	Act(ctx context.Context, u pipeline.User, id string, a translation.Action, reason string) (translation.Job, error)
	Submit(ctx context.Context, u pipeline.User, id string, up translation.Upload) (translation.SubmitResult, error)
	// Approve approves a job in review and, in the same transaction,
	// queues the rendition that makes it the segment's variant.
	Approve(ctx context.Context, u pipeline.User, id string) (translation.Job, error)
	// Rerender queues the render of an approved job's translation again
	// after it failed, as Approve queues it.
	Rerender(ctx context.Context, u pipeline.User, id string) (translation.Job, error)
}

// JobStore keeps the per-language glossaries and where notices reach people;
// *sqlstore.DB has it.
type JobStore interface {
	Glossary(ctx context.Context, lang string) ([]translation.Term, error)
	ImportGlossary(ctx context.Context, lang string, terms []translation.Term, replace bool) (int, error)
	SetContact(ctx context.Context, name, email string) error
}

var (
	jobReaders  = []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer}
	translators = []pipeline.Role{pipeline.RoleTranslator}
	reviewers   = []pipeline.Role{pipeline.RoleReviewer}
	// rerenderers ask again for the render of an approved translation
	// that failed (a reviewer of the job's language, or an admin).
	rerenderers = []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleReviewer}
	holders     = []pipeline.Role{pipeline.RoleTranslator, pipeline.RoleReviewer}
)

// jobRoutes are the translators' and reviewers' endpoints.
func (s *Server) jobRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/jobs", Roles: jobReaders, handler: s.listJobs},
		{Method: "GET", Pattern: "/api/jobs/{id}", Roles: jobReaders, handler: s.getJob},
		{Method: "GET", Pattern: "/api/jobs/{id}/prefill", Roles: jobReaders, handler: s.jobPrefill},
		{Method: "POST", Pattern: "/api/jobs/{id}/claim", Roles: translators, handler: s.jobAction(translation.ActionClaim)},
		{Method: "POST", Pattern: "/api/jobs/{id}/extend", Roles: translators, handler: s.jobAction(translation.ActionExtend)},
		{Method: "POST", Pattern: "/api/jobs/{id}/release", Roles: holders, handler: s.jobAction(translation.ActionRelease)},
		{Method: "POST", Pattern: "/api/jobs/{id}/submit", Roles: translators, handler: s.submitJob, maxBody: s.maxSubmit},
		{Method: "POST", Pattern: "/api/jobs/{id}/review", Roles: reviewers, handler: s.jobAction(translation.ActionStartReview)},
		{Method: "POST", Pattern: "/api/jobs/{id}/approve", Roles: reviewers, handler: s.approveJob},
		{Method: "POST", Pattern: "/api/jobs/{id}/request-changes", Roles: reviewers, handler: s.jobAction(translation.ActionRequestChanges)},
		{Method: "POST", Pattern: "/api/jobs/{id}/cancel", Roles: adminOnly, handler: s.jobAction(translation.ActionCancel)},
		{Method: "POST", Pattern: "/api/jobs/{id}/rerender", Roles: rerenderers, handler: s.rerenderJob},
		{Method: "GET", Pattern: "/api/glossary/{lang}", Roles: jobReaders, handler: s.getGlossary},
		{Method: "PUT", Pattern: "/api/glossary/{lang}", Roles: adminOnly, handler: s.putGlossary},
		{Method: "PUT", Pattern: "/api/users/{name}/email", Roles: adminOnly, handler: s.putEmail},
	}
}

func (s *Server) jobsReady() error {
	if s.Jobs == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "Translation jobs are not set up on this server.")
	}
	return nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	q := r.URL.Query()
	f := translation.Filter{State: translation.State(q.Get("state")), Kind: translation.Kind(q.Get("kind")), SegmentID: q.Get("segment")}
	if f.State != "" && !slices.Contains(translation.States, f.State) {
		return pipeline.FieldError("state", "Unknown state %q: use one of open, claimed, submitted, in_review, changes_requested, approved, cancelled.", f.State)
	}
	if l := q.Get("lang"); l != "" {
		f.Languages = strings.Split(l, ",")
	}
	// Without a state, finished jobs are left out unless ?all=1.
	f.Live = f.State == "" && q.Get("all") != "1" && q.Get("all") != "true"
	if q.Get("mine") == "1" || q.Get("mine") == "true" {
		f.HolderID = u.ID
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return pipeline.FieldError("limit", "limit must be a positive number.")
		}
		f.Limit = n
	}
	list, err := s.Jobs.List(r.Context(), u, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// JobDetailView is a job as the API shows it, with download links: the
// source media ("original"), the Vietnamese subtitles ("subtitles_vi"),
// the pre-filled target file ("prefill", an API path) and the latest
// submission ("submission").
type JobDetailView struct {
	translation.Detail
	Links map[string]string `json:"links"`
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	d, err := s.Jobs.Get(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := JobDetailView{Detail: d, Links: map[string]string{}}
	if d.Job.State != translation.StateCancelled && d.Segment.State != pipeline.StateWithdrawn {
		if l, err := s.Objects.Presign(r.Context(), d.Segment.OriginalKey, linkTTL, d.Segment.OriginalName); err == nil {
			v.Links["original"] = l
		}
		// A page plays the small web preview (or the loudspeaker audio),
		// not the original, which may be large or in a format browsers
		// cannot play.
		if key := playableKey(r.Context(), s.Catalog, d.Segment.ID); key != "" {
			if l, err := s.Objects.Presign(r.Context(), key, linkTTL, ""); err == nil {
				v.Links["play"] = l
			}
		}
		if d.Segment.SubtitleKey != "" {
			if l, err := s.Objects.Presign(r.Context(), d.Segment.SubtitleKey, linkTTL, "vi.srt"); err == nil {
				v.Links["subtitles_vi"] = l
			}
		}
		if d.Job.Kind == translation.KindSubtitle {
			v.Links["prefill"] = "/api/jobs/" + d.Job.ID + "/prefill"
		}
		if n := len(d.Submissions); n > 0 {
			if l, err := s.Objects.Presign(r.Context(), d.Submissions[n-1].Key, linkTTL, d.Submissions[n-1].FileName); err == nil {
				v.Links["submission"] = l
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) jobPrefill(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	data, err := s.Jobs.PrefillFile(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-subrip; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="prefill.srt"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	_, err = io.Copy(w, bytes.NewReader(data))
	return err
}

// ReasonRequest is the optional body of job actions: why.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) jobAction(a translation.Action) func(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	return func(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
		if err := s.jobsReady(); err != nil {
			return err
		}
		var req ReasonRequest
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &req); err != nil {
				return err
			}
		}
		j, err := s.Jobs.Act(r.Context(), u, r.PathValue("id"), a, req.Reason)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, j)
		return nil
	}
}

// submitJob takes the translation as the raw request body (an SRT or
// WebVTT file, or the voice-over audio), streamed; ?name= gives the file
// name for display.
func (s *Server) submitJob(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	res, err := s.Jobs.Submit(r.Context(), u, r.PathValue("id"), translation.Upload{
		Body: r.Body, FileName: r.URL.Query().Get("name"), ContentType: r.Header.Get("Content-Type"),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// approveJob approves a job in review and, in the same transaction,
// queues the rendition that makes the translation the segment's variant
// in that language: nothing is ready to air before a reviewer approves.
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	j, err := s.Jobs.Approve(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// rerenderJob queues the render of an approved translation again after
// it failed, through the job an approval queues (translation.Desk.Rerender).
func (s *Server) rerenderJob(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if err := s.jobsReady(); err != nil {
		return err
	}
	j, err := s.Jobs.Rerender(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func glossaryLang(r *http.Request) (string, error) {
	lang := r.PathValue("lang")
	if lang != pipeline.LangThai && lang != pipeline.LangHmong {
		return "", pipeline.Errorf(pipeline.CodeNotFound, "No glossary for %q: glossaries are kept for blt (Thái) and hnj (Mông).", lang)
	}
	return lang, nil
}

// getGlossary answers JSON, or CSV (the import format) with ?format=csv.
func (s *Server) getGlossary(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	if s.JobStore == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "Glossaries are not set up on this server.")
	}
	lang, err := glossaryLang(r)
	if err != nil {
		return err
	}
	if !translation.CanSee(u, lang) {
		return pipeline.Errorf(pipeline.CodeNotFound, "No glossary for %s among your languages.", lang)
	}
	terms, err := s.JobStore.Glossary(r.Context(), lang)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") != "csv" {
		writeJSON(w, http.StatusOK, terms)
		return nil
	}
	var b bytes.Buffer
	if err := translation.WriteGlossaryCSV(&b, terms); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="glossary-`+lang+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b.Bytes())
	return err
}

// GlossaryImport answers PUT /api/glossary/{lang}.
type GlossaryImport struct {
	Language string `json:"language"`
	Imported int    `json:"imported"`
	Total    int    `json:"total"`
}

// putGlossary imports a CSV body (term,translation[,note]); terms already
// there are updated; ?replace=1 removes terms the file does not list.
func (s *Server) putGlossary(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	if s.JobStore == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "Glossaries are not set up on this server.")
	}
	lang, err := glossaryLang(r)
	if err != nil {
		return err
	}
	data, err := readBody(r, translation.MaxGlossaryBytes, "glossary")
	if err != nil {
		return err
	}
	terms, err := translation.ParseGlossaryCSV(data, lang)
	if err != nil {
		return err
	}
	total, err := s.JobStore.ImportGlossary(r.Context(), lang, terms, r.URL.Query().Get("replace") == "1")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, GlossaryImport{Language: lang, Imported: len(terms), Total: total})
	return nil
}

// EmailRequest is the body of PUT /api/users/{name}/email.
type EmailRequest struct {
	Email string `json:"email"`
}

func (s *Server) putEmail(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	if s.JobStore == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "Notices are not set up on this server.")
	}
	var req EmailRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.JobStore.SetContact(r.Context(), r.PathValue("name"), req.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name"), "email": req.Email})
	return nil
}

// playableKey returns the key of a segment's Vietnamese web preview, or of
// its loudspeaker MP3 for radio, or "" before processing made either.
func playableKey(ctx context.Context, cat Catalog, segmentID string) string {
	rs, err := cat.Renditions(ctx, segmentID)
	if err != nil {
		return ""
	}
	key := ""
	for _, r := range rs {
		switch {
		case r.Language != pipeline.LangVietnamese:
		case r.Name == "preview_mp4":
			return r.Key
		case r.Name == "loudspeaker_mp3":
			key = r.Key
		}
	}
	return key
}
