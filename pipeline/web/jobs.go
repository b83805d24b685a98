package web

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// The translators' and reviewers' pages: the job board, one job's page
// with the source, the line-by-line editor or a file upload, the player
// with the subtitle track being written, and the reviewer's decision.
// Like every page they go through the jobs API in process.

// jobRow is one job as the board lists it.
type jobRow struct {
	translation.Job
	Late     bool
	CanClaim bool
	// M is the page's catalogue, for the row's template.
	M map[string]string
}

type boardData struct {
	Mine, Open, Overdue []jobRow
	// OpenKey is the catalogue key of the second list's heading: open
	// jobs for translators, submissions waiting for reviewers.
	OpenKey   string
	Languages []string
	Lang      string
	Notice    string
}

// jobNotice turns a ?done= marker of a redirect after a job form into
// the catalogue key of the message confirming it.
func jobNotice(done string) string {
	switch done {
	case "job_claim", "job_extend", "job_release", "job_review", "job_request_changes", "job_approve", "job_submitted", "job_rerender":
		return "notice_" + done
	}
	return ""
}

// jobPath is a job's page.
func jobPath(id string) string { return "/jobs/" + url.PathEscape(id) }

// jobBoard lists the jobs in the user's languages: theirs, the ones
// waiting (open jobs for translators, submissions for reviewers), and
// the overdue ones.
func (s *Server) jobBoard(w http.ResponseWriter, r *http.Request, c *call) error {
	lang := r.URL.Query().Get("lang")
	if !slices.Contains(pipeline.KnownLanguages, lang) {
		lang = ""
	}
	q := func(extra string) string {
		p := "/api/jobs?limit=500" + extra
		if lang != "" {
			p += "&lang=" + url.QueryEscape(lang)
		}
		return p
	}
	now := s.cfg.Now()
	d := boardData{Lang: lang, Languages: c.user.Languages, OpenKey: "jobs_open", Notice: jobNotice(r.URL.Query().Get("done"))}
	if c.user.Role == pipeline.RoleAdmin {
		d.Languages = []string{pipeline.LangThai, pipeline.LangHmong}
	}
	rows := func(list []translation.Job, keep func(translation.Job) bool) []jobRow {
		out := []jobRow{}
		for _, j := range list {
			if keep != nil && !keep(j) {
				continue
			}
			out = append(out, jobRow{Job: j, Late: j.Overdue || (!j.State.Terminal() && j.Deadline.Before(now)),
				CanClaim: j.State == translation.StateOpen && c.user.Role == pipeline.RoleTranslator, M: c.msgs})
		}
		return out
	}
	var mine, waiting, all []translation.Job
	if c.user.Role != pipeline.RoleAdmin {
		if err := s.callAPI(r, "GET", q("&mine=1"), nil, &mine); err != nil {
			return err
		}
	}
	state := translation.StateOpen
	if c.user.Role == pipeline.RoleReviewer {
		state, d.OpenKey = translation.StateSubmitted, "jobs_to_review"
	}
	if err := s.callAPI(r, "GET", q("&state="+string(state)), nil, &waiting); err != nil {
		return err
	}
	if err := s.callAPI(r, "GET", q(""), nil, &all); err != nil {
		return err
	}
	d.Mine = rows(mine, func(j translation.Job) bool { return !j.State.Terminal() })
	d.Open = rows(waiting, func(j translation.Job) bool { return j.TranslatorID != c.user.ID || c.user.ID == 0 })
	d.Overdue = rows(all, func(j translation.Job) bool {
		return !j.State.Terminal() && (j.Overdue || j.Deadline.Before(now))
	})
	s.render(w, r, c, http.StatusOK, "jobs", "title_jobs", d)
	return nil
}

// finding is a check result as the job page shows it.
type finding struct {
	subtitle.Finding
	// Label is the catalogue's short text for the finding's code, in
	// the page's language; empty when the catalogue has none.
	Label string
	// Text is the whole finding (what is wrong and what to do) in the
	// page's language (findingText); empty when the finding names no
	// text the catalogue has, and the page shows Label and Message.
	Text string
	// M is the page's catalogue, for the finding's template.
	M map[string]string
}

// edLine is one cue of the editor: the Vietnamese line beside the field
// for its translation.
type edLine struct {
	N              int
	StartMS, EndMS int64
	Time           string
	Source         string
	Text           string
	FromMemory     bool
	Fuzzy          []translation.Match
	Terms          []translation.Term
	Findings       []finding
	Error          bool
}

// jobPage is everything the job page shows.
type jobPage struct {
	api.JobDetailView
	Lines []edLine
	// SourceMissing: the Vietnamese subtitles could not be read, so the
	// editor shows the pre-filled file only.
	SourceMissing bool
	// Findings are the results of the last check (a refused submission,
	// or the warnings kept with the latest one); FileFindings says they
	// came from an uploaded file, whose own line numbers they carry.
	Findings     []finding
	FileFindings bool
	Refused      bool
	Error        string
	ErrorDetail  string
	Notice       string
	LangName     string
	// What the user may do now.
	CanClaim, CanWork, CanRelease, CanReview, CanDecide bool
	// CanRerender: the approved translation's render failed and the user
	// (an admin, or a reviewer: the job is in their languages) may ask
	// for it again.
	CanRerender bool
	// RenderLost: the approved translation's render was lost (nothing
	// made, no render job left to make it) without a recorded failure.
	RenderLost       bool
	Late             bool
	Media, MediaType string
	Submission       string
	Voiceover        bool
	AudioOnly        bool
	PrefillURL       string
	LastFindings     []finding
}

// jobPageData reads a job and prepares its page for the user.
func (s *Server) jobPageData(r *http.Request, c *call, id string) (*jobPage, error) {
	var v api.JobDetailView
	if err := s.callAPI(r, "GET", "/api/jobs/"+url.PathEscape(id), nil, &v); err != nil {
		return nil, err
	}
	j := v.Job
	p := &jobPage{JobDetailView: v, LangName: c.msgs["lang_"+j.Language], Voiceover: j.Kind == translation.KindVoiceover}
	u := c.user
	held := (j.State == translation.StateClaimed || j.State == translation.StateChangesRequested) && j.TranslatorID == u.ID
	p.CanClaim = j.State == translation.StateOpen && u.Role == pipeline.RoleTranslator
	p.CanWork = held && u.Role == pipeline.RoleTranslator
	p.CanRelease = held || (j.State == translation.StateInReview && j.ReviewerID == u.ID)
	p.CanReview = j.State == translation.StateSubmitted && u.Role == pipeline.RoleReviewer && j.TranslatorID != u.ID
	p.CanDecide = j.State == translation.StateInReview && j.ReviewerID == u.ID && u.Role == pipeline.RoleReviewer
	p.RenderLost = j.State == translation.StateApproved && v.Render == translation.RenderLost
	p.CanRerender = j.State == translation.StateApproved && (translation.RenderFailed(v.Events) || p.RenderLost) && (u.Role == pipeline.RoleAdmin || u.Role == pipeline.RoleReviewer)
	p.Late = j.Overdue || (!j.State.Terminal() && j.Deadline.Before(s.cfg.Now()))
	p.Media = cmp.Or(v.Links["play"], v.Links["original"])
	p.MediaType = v.Segment.ContentType
	p.AudioOnly = v.Segment.Kind == pipeline.KindRadio
	p.Submission = v.Links["submission"]
	if j.Kind == translation.KindSubtitle && v.Links["prefill"] != "" {
		p.PrefillURL = v.Links["prefill"]
	}
	if n := len(v.Submissions); n > 0 {
		p.LastFindings = s.findings(c, v.Submissions[n-1].Findings)
	}
	if j.Kind != translation.KindSubtitle || j.State.Terminal() {
		return p, nil
	}
	p.Lines, p.SourceMissing = s.editorLines(r.Context(), c, v)
	// Someone who handed in a translation works on (or reviews) that
	// text, not on the memory's pre-fill.
	if len(v.Submissions) > 0 && p.Submission != "" && (held || p.CanDecide || p.CanReview || j.State == translation.StateSubmitted) {
		if f, err := fetchSubtitles(r.Context(), p.Submission); err == nil && len(f.Cues) == len(p.Lines) {
			for i, cue := range f.Cues {
				p.Lines[i].Text, p.Lines[i].FromMemory = cue.Text(), false
			}
		} else if err != nil {
			s.log.Warn("read submission for the job page", "job", j.ID, "err", err)
		}
		for _, f := range p.LastFindings {
			p.attach(f)
		}
	}
	return p, nil
}

// editorLines pairs the Vietnamese source cues with the pre-filled
// target: cues the memory knows come translated, the others empty with
// their close matches; each line lists the glossary terms its source
// uses.
func (s *Server) editorLines(ctx context.Context, c *call, v api.JobDetailView) ([]edLine, bool) {
	var pre *subtitle.File
	var fuzzy []translation.Match
	if v.Prefill != nil {
		pre, fuzzy = v.Prefill.File, v.Prefill.Fuzzy
	}
	src, err := fetchSubtitles(ctx, v.Links["subtitles_vi"])
	missing := err != nil
	if missing {
		s.log.Warn("read the Vietnamese subtitles for the editor", "job", v.Job.ID, "err", err)
		src = pre
	}
	if src == nil {
		return nil, true
	}
	lines := make([]edLine, 0, len(src.Cues))
	for i, cue := range src.Cues {
		l := edLine{N: i + 1, StartMS: cue.Start.Milliseconds(), EndMS: cue.End.Milliseconds(),
			Time: cueTime(cue.Start) + " → " + cueTime(cue.End), Source: cue.Text()}
		if pre != nil && i < len(pre.Cues) && !missing {
			if t := pre.Cues[i].Text(); translation.MemoryKey(t) != translation.MemoryKey(cue.Text()) {
				l.Text, l.FromMemory = t, true
			}
		}
		for _, m := range fuzzy {
			if m.Cue == cue.Index {
				l.Fuzzy = append(l.Fuzzy, m)
			}
		}
		key := " " + translation.MemoryKey(cue.Text()) + " "
		for _, t := range v.Glossary {
			if k := translation.MemoryKey(t.Term); k != "" && strings.Contains(key, " "+k+" ") {
				l.Terms = append(l.Terms, t)
			}
		}
		lines = append(lines, l)
	}
	return lines, missing
}

// cueTime writes a cue time as SRT does: 00:00:03,500.
func cueTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d,%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// fetchSubtitles reads a subtitle file by its presigned link.
func fetchSubtitles(ctx context.Context, link string) (*subtitle.File, error) {
	if link == "" {
		return nil, fmt.Errorf("no link")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", link, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch subtitles: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch subtitles: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch subtitles: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch subtitles: %w", err)
	}
	f, err := subtitle.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("fetch subtitles: %w", err)
	}
	return f, nil
}

// attach puts a finding on the editor line of its cue.
func (p *jobPage) attach(f finding) {
	if f.Cue < 1 || f.Cue > len(p.Lines) {
		return
	}
	l := &p.Lines[f.Cue-1]
	l.Findings = append(l.Findings, f)
	if f.Severity == subtitle.Error {
		l.Error = true
	}
}

// findings labels check results in the page's language.
func (s *Server) findings(c *call, fs []subtitle.Finding) []finding {
	out := make([]finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, finding{Finding: f, Label: c.msgs["fc_"+f.Code], Text: findingText(c.msgs, f), M: c.msgs})
	}
	return out
}

// refusalFindings returns a copy of the findings a refused submission's
// API error carries (none for other errors), for the page to change.
func refusalFindings(err error) []subtitle.Finding {
	var e *pipeline.Error
	if !asError(err, &e) {
		return nil
	}
	return append([]subtitle.Finding(nil), e.Findings...)
}

// jobAction runs an action without a file (claim, extend, release,
// start review, request changes) and goes back to the job's page, or
// shows the refusal on it.
func (s *Server) jobAction(action string) func(w http.ResponseWriter, r *http.Request, c *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return refused("form_unreadable", "", "The form could not be read.")
		}
		id := r.PathValue("id")
		var body any
		if action == "request-changes" {
			reason := strings.TrimSpace(r.PostForm.Get("reason"))
			if reason == "" {
				return s.showJob(w, r, c, id, http.StatusUnprocessableEntity, func(p *jobPage) {
					p.Error = c.msgs["job_need_reason"]
				})
			}
			body = api.ReasonRequest{Reason: reason}
		}
		if err := s.callAPI(r, "POST", "/api/jobs/"+url.PathEscape(id)+"/"+action, body, nil); err != nil {
			code := pipeline.ErrorCode(err)
			if code != pipeline.CodeConflict && code != pipeline.CodeForbidden && code != pipeline.CodeInvalid {
				return err
			}
			return s.showJob(w, r, c, id, statusOf(code), func(p *jobPage) { p.Error, p.ErrorDetail = refusalText(c, err) })
		}
		to := jobPath(id) + "?done=job_" + strings.ReplaceAll(action, "-", "_")
		if action == "release" && c.user.Role == pipeline.RoleTranslator {
			to = "/jobs?done=job_release"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
}

// approveJob approves the translation in review.
func (s *Server) approveJob(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if err := s.callAPI(r, "POST", "/api/jobs/"+url.PathEscape(id)+"/approve", nil, nil); err != nil {
		code := pipeline.ErrorCode(err)
		if code != pipeline.CodeConflict && code != pipeline.CodeForbidden {
			return err
		}
		return s.showJob(w, r, c, id, statusOf(code), func(p *jobPage) { p.Error, p.ErrorDetail = refusalText(c, err) })
	}
	http.Redirect(w, r, jobPath(id)+"?done=job_approve", http.StatusSeeOther)
	return nil
}

// refusalText is an API refusal as a page shows it: the catalogue's text
// for its code, and the API's own (English) explanation as the detail;
// a refusal that names its own text (pipeline.Error.Key) is that text in
// the page's language, which already says what to do, with no detail.
func refusalText(c *call, err error) (string, string) {
	if m := keyedMessage(c.msgs, err); m != "" {
		return m, ""
	}
	code := pipeline.ErrorCode(err)
	msg := c.msgs["err_"+string(code)]
	if msg == "" {
		msg = c.msgs["err_invalid"]
	}
	return msg, pipeline.ErrorMessage(err)
}

func (s *Server) jobDetailPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.showJob(w, r, c, r.PathValue("id"), http.StatusOK, func(p *jobPage) {
		p.Notice = jobNotice(r.URL.Query().Get("done"))
	})
}

// showJob renders a job's page after edit changes what it shows.
func (s *Server) showJob(w http.ResponseWriter, r *http.Request, c *call, id string, status int, edit func(p *jobPage)) error {
	p, err := s.jobPageData(r, c, id)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(p)
	}
	// A page shown after a form is rendered as the job's own page, so its
	// links (the language switch) lead back to it, not to the form target.
	if r.Method != http.MethodGet {
		r = r.Clone(r.Context())
		r.URL = &url.URL{Path: jobPath(id)}
	}
	// The title says which job this is: its language and segment. The
	// template loads editor.js itself: it needs none of the js_ messages.
	s.render(w, r, c, status, "job", fmt.Sprintf(c.msgs["title_job"], p.LangName, p.Segment.Title), p)
	return nil
}

// maxEditorCues bounds the lines one editor form may post.
const maxEditorCues = 2000

// submitEditor turns the editor's lines into an SRT file with the
// source's timings and submits it. The API checks it as it checks a file
// (an empty line is refused there, unless its source cue has no text
// either), and its findings come back on their lines in the page's
// language.
func (s *Server) submitEditor(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PostForm.Get("n"))
	if err != nil || n < 1 || n > maxEditorCues {
		return refused("editor_incomplete", "", "The editor form is incomplete: open the job again.")
	}
	f := &subtitle.File{Format: subtitle.SRT}
	texts := make([]string, n)
	for i := 1; i <= n; i++ {
		k := strconv.Itoa(i)
		start, err1 := strconv.ParseInt(r.PostForm.Get("start-"+k), 10, 64)
		end, err2 := strconv.ParseInt(r.PostForm.Get("end-"+k), 10, 64)
		if err1 != nil || err2 != nil {
			return refused("editor_incomplete", "", "The editor form is incomplete: open the job again.")
		}
		text := strings.ReplaceAll(r.PostForm.Get("text-"+k), "\r\n", "\n")
		texts[i-1] = text
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		f.Cues = append(f.Cues, subtitle.Cue{Index: i, Start: time.Duration(start) * time.Millisecond, End: time.Duration(end) * time.Millisecond, Lines: lines})
	}
	draft := func(fs []subtitle.Finding, status int, errMsg, detail string) error {
		return s.showJob(w, r, c, id, status, func(p *jobPage) {
			for i := range p.Lines {
				p.Lines[i].Findings, p.Lines[i].Error = nil, false
				if i < len(texts) {
					p.Lines[i].Text, p.Lines[i].FromMemory = texts[i], false
				}
			}
			p.Findings, p.Refused, p.Error, p.ErrorDetail = s.findings(c, fs), len(fs) > 0, errMsg, detail
			for _, f := range p.Findings {
				p.attach(f)
			}
		})
	}
	var b strings.Builder
	if err := subtitle.WriteSRT(&b, f); err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The lines could not be written as subtitles: %v.", err)
	}
	target := "/api/jobs/" + url.PathEscape(id) + "/submit?name=" + url.QueryEscape("editor-"+id+".srt")
	err = s.callAPIBody(r, "POST", target, strings.NewReader(b.String()), "application/x-subrip; charset=utf-8", nil)
	if err != nil {
		code := pipeline.ErrorCode(err)
		if code != pipeline.CodeInvalid && code != pipeline.CodeConflict && code != pipeline.CodeForbidden {
			return err
		}
		fs := refusalFindings(err)
		msg, detail := refusalText(c, err)
		if len(fs) > 0 {
			msg, detail = c.msgs["job_refused"], ""
		}
		// The file was built here: its line numbers mean nothing to the
		// translator, the cue does.
		for i := range fs {
			if fs[i].Cue > 0 {
				fs[i].Line = 0
			}
		}
		return draft(fs, statusOf(code), msg, detail)
	}
	http.Redirect(w, r, jobPath(id)+"?done=job_submitted", http.StatusSeeOther)
	return nil
}

// uploadJobFile submits a file from the job page: a subtitle file (SRT
// or WebVTT) for a subtitle job, a recording for a voice-over. The file
// goes to the API as it arrives; a refused subtitle file is shown again
// in the editor with its findings on the lines, and listed with the
// file's own line numbers.
func (s *Server) uploadJobFile(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if err := declaredTooLarge(w, r, "file", 1<<30+1<<20, 1<<30); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<30+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return s.showJob(w, r, c, id, http.StatusUnprocessableEntity, func(p *jobPage) { p.Error = c.msgs["job_need_file"] })
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return s.showJob(w, r, c, id, http.StatusUnprocessableEntity, func(p *jobPage) { p.Error = c.msgs["job_need_file"] })
		}
		if err != nil {
			return refused("upload_cut", "", "The upload was cut short: send the file again.")
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		name := part.FileName()
		if name == "" {
			return s.showJob(w, r, c, id, http.StatusUnprocessableEntity, func(p *jobPage) { p.Error = c.msgs["job_need_file"] })
		}
		return s.submitFile(w, r, c, id, name, part.Header.Get("Content-Type"), part)
	}
}

func (s *Server) submitFile(w http.ResponseWriter, r *http.Request, c *call, id, name, ctype string, body io.Reader) error {
	// A subtitle file is small: keep it to show it in the editor if it
	// is refused. A voice-over streams through.
	var kept []byte
	if strings.HasSuffix(strings.ToLower(name), ".srt") || strings.HasSuffix(strings.ToLower(name), ".vtt") {
		data, err := io.ReadAll(io.LimitReader(body, 4<<20))
		if err != nil {
			return refused("upload_cut", "", "The upload was cut short: send the file again.")
		}
		kept, body = data, strings.NewReader(string(data))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	target := "/api/jobs/" + url.PathEscape(id) + "/submit?name=" + url.QueryEscape(name)
	err := s.callAPIBody(r, "POST", target, body, ctype, nil)
	if err == nil {
		http.Redirect(w, r, jobPath(id)+"?done=job_submitted", http.StatusSeeOther)
		return nil
	}
	code := pipeline.ErrorCode(err)
	if code != pipeline.CodeInvalid && code != pipeline.CodeConflict && code != pipeline.CodeForbidden && code != pipeline.CodeTooLarge {
		return err
	}
	fs := refusalFindings(err)
	msg, detail := refusalText(c, err)
	return s.showJob(w, r, c, id, statusOf(code), func(p *jobPage) {
		if len(fs) > 0 {
			msg, detail = c.msgs["job_refused_file"], ""
			if p.Voiceover {
				msg = c.msgs["job_refused_voiceover"]
			}
		}
		p.Findings, p.FileFindings, p.Refused, p.Error, p.ErrorDetail = s.findings(c, fs), true, len(fs) > 0, msg, detail
		// The file's lines go into the editor, so they can be fixed there.
		// Only when the editor can take them: a job no longer held shows
		// its lines read-only, and the page must not invite a submission.
		if f, perr := subtitle.Parse(kept); p.CanWork && kept != nil && perr == nil && len(f.Cues) == len(p.Lines) {
			p.Error += " " + c.msgs["job_file_in_editor"]
			for i, cue := range f.Cues {
				p.Lines[i].Text, p.Lines[i].FromMemory, p.Lines[i].Findings, p.Lines[i].Error = cue.Text(), false, nil, false
			}
			for _, f := range p.Findings {
				p.attach(f)
			}
		}
	})
}

// eventText is a job event's reason in the reader's language: a system
// note said from the catalogue m ("jev_" + its key), its durations in
// lang ("72 giờ", "3 days"), its priority by name and its times in the
// server's zone; otherwise the reason as stored (a person's words, or a
// system event recorded before notes, in English).
func (s *Server) eventText(m map[string]string, lang string, e translation.Event) string {
	if e.Note == nil {
		return e.Reason
	}
	f, ok := m["jev_"+string(e.Note.Key)]
	if !ok || strings.Count(f, "%s") != len(e.Note.Args) {
		return e.Reason
	}
	args := make([]any, len(e.Note.Args))
	for i, a := range e.Note.Args {
		v := a.Value
		switch a.Kind {
		case translation.ArgDuration:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return e.Reason
			}
			v = pipeline.SpokenDuration(time.Duration(n)*time.Second, lang)
		case translation.ArgPriority:
			if name, ok := m["prio_"+v]; ok {
				v = strings.ToLower(name)
			}
		case translation.ArgTime:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return e.Reason
			}
			v = t.In(s.zone).Format("02/01/2006 15:04")
		case translation.ArgText:
		default:
			return e.Reason
		}
		args[i] = v
	}
	return fmt.Sprintf(f, args...)
}
