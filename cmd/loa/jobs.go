package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// jobCommands are the translators' and reviewers' commands.
func jobCommands() []command {
	return []command{
		{"jobs list", "list translation jobs in your languages", runJobsList},
		{"jobs show", "show one job: history, submissions, glossary, memory matches", runJobsShow},
		{"jobs claim", "claim an open job", runJobsAction(translation.ActionClaim, "claim")},
		{"jobs extend", "extend the lease on a job you hold", runJobsAction(translation.ActionExtend, "extend")},
		{"jobs release", "give back a job you hold", runJobsAction(translation.ActionRelease, "release")},
		{"jobs cancel", "cancel a job (admin)", runJobsAction(translation.ActionCancel, "cancel")},
		{"jobs rerender", "render an approved translation again after its render failed (a reviewer of the language, or admin)", runJobsAction(translation.ActionRerender, "rerender")},
		{"jobs get", "download a job's source media, Vietnamese subtitles and pre-filled target", runJobsGet},
		{"jobs submit", "submit a translated subtitle file or a recorded voice-over", runJobsSubmit},
		{"jobs review", "review a submission: take it, approve it or request changes", runJobsReview},
		{"glossary export", "write a language's glossary as CSV", runGlossaryExport},
		{"glossary import", "import a glossary CSV (admin)", runGlossaryImport},
		{"user email", "set the email address a user's notices go to (admin)", runUserEmail},
		{"notices list", "list the notices whose delivery is in doubt, --maybe-sent (admin)", runNoticesList},
	}
}

func oneID(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", usageError{"give exactly one " + what}
	}
	return pos[0], nil
}

func runJobsList(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs list", "")
	c := registerClient(fs, env)
	lang := fs.String("lang", "", "only this language: blt (Thái) or hnj (Mông)")
	state := fs.String("state", "", "only this state: open, claimed, submitted, in_review, changes_requested, approved, cancelled")
	kind := fs.String("kind", "", "only subtitle or voiceover jobs")
	mine := fs.Bool("mine", false, "only jobs you hold or review")
	all := fs.Bool("all", false, "include approved and cancelled jobs")
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"lang": *lang, "state": *state, "kind": *kind} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *mine {
		q.Set("mine", "1")
	}
	if *all {
		q.Set("all", "1")
	}
	var list []translation.Job
	if err := c.do(ctx, http.MethodGet, "/api/jobs?"+q.Encode(), nil, "", &list); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, list)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLANG\tKIND\tSTATE\tDUE\tHOLDER\tTITLE")
	for _, j := range list {
		due := stamp(j.Deadline)
		if j.Overdue {
			due += " OVERDUE"
		}
		holder := j.Translator
		if j.State == translation.StateInReview {
			holder = j.Reviewer
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Language, j.Kind, j.State, due, holder, j.Title)
	}
	return tw.Flush()
}

func (c *client) jobDetail(ctx context.Context, id string) (api.JobDetailView, error) {
	var d api.JobDetailView
	err := c.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(id), nil, "", &d)
	return d, err
}

func runJobsShow(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs show", "ID")
	c := registerClient(fs, env)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "job ID")
	if err != nil {
		return err
	}
	d, err := c.jobDetail(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, d)
	}
	printJob(env.stdout, d)
	return nil
}

func printJob(w io.Writer, d api.JobDetailView) {
	j := d.Job
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%s\n", j.ID)
	prio := j.Priority
	if j.EmergencyEnded {
		prio += "; its emergency is over"
	}
	fmt.Fprintf(tw, "segment\t%s %q (%s, %s)\n", j.SegmentID, j.Title, d.Segment.Kind, prio)
	fmt.Fprintf(tw, "language\t%s\n", translation.LanguageName(j.Language))
	fmt.Fprintf(tw, "kind\t%s\n", j.Kind)
	fmt.Fprintf(tw, "state\t%s\n", j.State)
	due := stamp(j.Deadline)
	if j.Overdue {
		due += " (OVERDUE)"
	}
	fmt.Fprintf(tw, "due\t%s\n", due)
	if j.Translator != "" {
		fmt.Fprintf(tw, "translator\t%s\n", j.Translator)
	}
	if !j.LeaseUntil.IsZero() {
		fmt.Fprintf(tw, "lease until\t%s (%d extensions)\n", stamp(j.LeaseUntil), j.Extensions)
	}
	if j.Reviewer != "" {
		fmt.Fprintf(tw, "reviewer\t%s\n", j.Reviewer)
	}
	if j.Reason != "" {
		fmt.Fprintf(tw, "reason\t%s\n", j.Reason)
	}
	fmt.Fprintf(tw, "source length\t%s\n", time.Duration(d.Segment.Probe.DurationMS)*time.Millisecond)
	tw.Flush()
	fmt.Fprintln(w, "\nHistory:")
	for _, e := range d.Events {
		who := e.Actor
		if e.ActorID == 0 {
			who = "loa"
		}
		line := fmt.Sprintf("  %s  %-16s %-10s %s -> %s", stamp(e.At), e.Action, who, orDash(string(e.From)), e.To)
		if e.Reason != "" {
			line += "  (" + e.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range d.Submissions {
		fmt.Fprintf(w, "\nSubmission %d: %s, %s, %d warning(s)\n", s.N, s.FileName, stamp(s.At), len(s.Findings))
		for _, f := range s.Findings {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if p := d.Prefill; p != nil {
		fmt.Fprintf(w, "\nTranslation memory: %d of %d cues pre-filled\n", p.Exact, p.Cues)
		for _, m := range p.Fuzzy {
			fmt.Fprintf(w, "  cue %d, %.0f%% like %q:\n    %s\n", m.Cue, m.Score*100, m.Memory, strings.ReplaceAll(m.Target, "\n", " / "))
		}
	}
	if len(d.Glossary) > 0 {
		fmt.Fprintf(w, "\nGlossary (%d terms):\n", len(d.Glossary))
		for _, t := range d.Glossary {
			fmt.Fprintf(w, "  %s = %s\n", t.Term, t.Translation)
		}
	}
}

func runJobsAction(a translation.Action, name string) func(ctx context.Context, env *cliEnv, args []string) error {
	return func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlags(env, "jobs "+name, "ID")
		c := registerClient(fs, env)
		reason := fs.String("reason", "", "why (required to cancel)")
		asJSON := fs.Bool("json", false, "print the job as JSON")
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		id, err := oneID(pos, "job ID")
		if err != nil {
			return err
		}
		j, err := c.jobAction(ctx, id, string(a), *reason)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONTo(env.stdout, j)
		}
		fmt.Fprintf(env.stdout, "job %s is %s", j.ID, j.State)
		if !j.LeaseUntil.IsZero() {
			fmt.Fprintf(env.stdout, "; your lease runs until %s", stamp(j.LeaseUntil))
		}
		fmt.Fprintln(env.stdout)
		if a == translation.ActionClaim {
			fmt.Fprintf(env.stdout, "next: loa jobs get %s --dir DIR, then loa jobs submit %s FILE\n", j.ID, j.ID)
		}
		if a == translation.ActionRerender {
			fmt.Fprintf(env.stdout, "its render is queued again; 'loa jobs show %s' and 'loa segments show' tell how it went\n", j.ID)
		}
		return nil
	}
}

func (c *client) jobAction(ctx context.Context, id, action, reason string) (translation.Job, error) {
	path := map[string]string{
		string(translation.ActionClaim): "claim", string(translation.ActionExtend): "extend", string(translation.ActionRelease): "release",
		string(translation.ActionCancel): "cancel", string(translation.ActionStartReview): "review", string(translation.ActionApprove): "approve",
		string(translation.ActionRequestChanges): "request-changes", string(translation.ActionRerender): "rerender",
	}[action]
	var body io.Reader
	ct := ""
	if reason != "" {
		b, _ := json.Marshal(api.ReasonRequest{Reason: reason})
		body, ct = bytes.NewReader(b), "application/json"
	}
	var j translation.Job
	err := c.do(ctx, http.MethodPost, "/api/jobs/"+url.PathEscape(id)+"/"+path, body, ct, &j)
	return j, err
}

// runJobsGet downloads what a job needs into a folder: the source media
// (straight from the object store by a presigned link), the Vietnamese
// subtitles, the pre-filled target file, and the glossary.
func runJobsGet(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs get", "ID")
	c := registerClient(fs, env)
	dir := fs.String("dir", ".", "folder to write the files into (created if missing)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "job ID")
	if err != nil {
		return err
	}
	d, err := c.jobDetail(ctx, id)
	if err != nil {
		return err
	}
	// The language names files here (LANG.srt, glossary-LANG.csv): take
	// only the codes Loa knows, whatever the server said.
	if !slices.Contains(pipeline.KnownLanguages, d.Job.Language) {
		return pipeline.Errorf(pipeline.CodeInvalid, "The server gave the job the language %q, which is not one Loa knows (%s); nothing was written.",
			d.Job.Language, strings.Join(pipeline.KnownLanguages, ", "))
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot create the folder %s: %v.", *dir, err)
	}
	progress := progressTo(env.stderr, *quiet)
	ext := strings.ToLower(filepath.Ext(d.Segment.OriginalName))
	if ext == "" || len(ext) > 6 {
		ext = map[pipeline.Kind]string{pipeline.KindTV: ".mp4", pipeline.KindRadio: ".mp3"}[d.Segment.Kind]
	}
	var written []string
	if l := d.Links["original"]; l != "" {
		name := filepath.Join(*dir, "source"+ext)
		if err := c.download(ctx, l, false, name, progress); err != nil {
			return err
		}
		written = append(written, name)
	}
	if l := d.Links["subtitles_vi"]; l != "" {
		name := filepath.Join(*dir, "vi.srt")
		if err := c.download(ctx, l, false, name, io.Discard); err != nil {
			return err
		}
		written = append(written, name)
	}
	if l := d.Links["prefill"]; l != "" {
		name := filepath.Join(*dir, d.Job.Language+".srt")
		if _, err := os.Stat(name); err == nil {
			fmt.Fprintf(env.stderr, "%s exists: kept your work, not overwritten\n", name)
		} else {
			if err := c.download(ctx, l, true, name, io.Discard); err != nil {
				return err
			}
			written = append(written, name)
		}
	}
	if len(d.Glossary) > 0 {
		name := filepath.Join(*dir, "glossary-"+d.Job.Language+".csv")
		var b bytes.Buffer
		if err := translation.WriteGlossaryCSV(&b, d.Glossary); err != nil {
			return err
		}
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			return pipeline.Errorf(pipeline.CodeInvalid, "Cannot write %s: %v.", name, err)
		}
		written = append(written, name)
	}
	for _, n := range written {
		fmt.Fprintln(env.stdout, n)
	}
	if p := d.Prefill; p != nil {
		fmt.Fprintf(env.stdout, "translation memory filled %d of %d cues; the others hold the Vietnamese to replace\n", p.Exact, p.Cues)
	}
	what := "the translated subtitle file"
	if d.Job.Kind == translation.KindVoiceover {
		what = "your recording (about " + (time.Duration(d.Segment.Probe.DurationMS) * time.Millisecond).Round(time.Second).String() + " long)"
	}
	fmt.Fprintf(env.stdout, "when done: loa jobs submit %s FILE  (FILE: %s)\n", d.Job.ID, what)
	return nil
}

// download writes a URL to a file (through a temporary name, so a broken
// download leaves no half file), with progress. API paths carry the token;
// presigned links must not.
func (c *client) download(ctx context.Context, link string, auth bool, dst string, progress io.Writer) error {
	if auth {
		link = strings.TrimRight(c.server, "/") + link
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", filepath.Base(dst), err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: fmt.Sprintf("Cannot download %s: %v.", filepath.Base(dst), err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb wire.ErrorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb) == nil && eb.Error.Code != "" {
			return &pipeline.Error{Code: eb.Error.Code, Message: eb.Error.Message}
		}
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Message: fmt.Sprintf("Downloading %s: the server answered %s; try again later.", filepath.Base(dst), resp.Status)}
	}
	tmp := dst + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot write %s: %v.", tmp, err)
	}
	bar := newBar(progress, "Downloading "+filepath.Base(dst), resp.ContentLength)
	_, err = io.Copy(f, &barReader{r: resp.Body, bar: bar})
	endBar(bar, progress, err == nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: fmt.Sprintf("The download of %s broke off: run the command again.", filepath.Base(dst))}
	}
	return os.Rename(tmp, dst)
}

// submitContentType guesses the type the server is told from the file
// name: subtitles by extension, audio by contentTypeFor.
func submitContentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".srt":
		return "application/x-subrip"
	case ".vtt":
		return "text/vtt"
	}
	return contentTypeFor(name)
}

func runJobsSubmit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs submit", "ID FILE")
	c := registerClient(fs, env)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give the job ID and the FILE to submit"}
	}
	id, path := pos[0], pos[1]
	progress := progressTo(env.stderr, *quiet)
	var res translation.SubmitResult
	// Sent again, whole, while the server is unavailable, as an upload is.
	err = retryUnavailable(ctx, env.stderr, func() error {
		f, err := os.Open(path)
		if err != nil {
			return pipeline.Errorf(pipeline.CodeInvalid, "Cannot open %s: %v.", path, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		bar := newBar(progress, "Submitting "+filepath.Base(path), st.Size())
		err = c.do(ctx, http.MethodPost, "/api/jobs/"+url.PathEscape(id)+"/submit?name="+url.QueryEscape(filepath.Base(path)),
			&barReader{r: f, bar: bar}, submitContentType(path), &res)
		endBar(bar, progress, err == nil)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, res)
	}
	s := res.Submission
	fmt.Fprintf(env.stdout, "submitted: job %s, submission %d (%s, sha256 %s)\n", res.Job.ID, s.N, size(s.Size), s.SHA256[:12])
	if s.DurationMS > 0 {
		fmt.Fprintf(env.stdout, "duration %s\n", time.Duration(s.DurationMS)*time.Millisecond)
	}
	if len(s.Findings) == 0 {
		fmt.Fprintln(env.stdout, "checks: no errors, no warnings")
	} else {
		fmt.Fprintf(env.stdout, "checks: no errors, %d warning(s) kept for the reviewer:\n", len(s.Findings))
		for _, f := range s.Findings {
			fmt.Fprintf(env.stdout, "  %s\n", f)
		}
	}
	fmt.Fprintln(env.stdout, "a reviewer of the language will look at it next")
	return nil
}

func runJobsReview(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "jobs review", "ID")
	c := registerClient(fs, env)
	approve := fs.Bool("approve", false, "approve the submission")
	changes := fs.String("request-changes", "", "send it back to the translator with this reason")
	asJSON := fs.Bool("json", false, "print the job as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "job ID")
	if err != nil {
		return err
	}
	asked := false // --request-changes given, even as ""
	fs.Visit(func(f *flag.Flag) { asked = asked || f.Name == "request-changes" })
	if asked && strings.TrimSpace(*changes) == "" {
		return usageError{"--request-changes needs the reason the translator can act on, e.g. --request-changes \"cue 12 is cut short\""}
	}
	if *approve && asked {
		return usageError{"give --approve or --request-changes, not both"}
	}
	d, err := c.jobDetail(ctx, id)
	if err != nil {
		return err
	}
	j := d.Job
	if j.State == translation.StateSubmitted {
		if j, err = c.jobAction(ctx, id, string(translation.ActionStartReview), ""); err != nil {
			return err
		}
	}
	switch {
	case *approve:
		j, err = c.jobAction(ctx, id, string(translation.ActionApprove), "")
	case *changes != "":
		j, err = c.jobAction(ctx, id, string(translation.ActionRequestChanges), *changes)
	default:
		if j.State != translation.StateInReview {
			return pipeline.Errorf(pipeline.CodeConflict, "Job %s is %s: there is no submission to review.", id, j.State)
		}
		if !*asJSON {
			fmt.Fprintf(env.stdout, "job %s is in review by you; the submission: %s\n", id, d.Links["submission"])
			fmt.Fprintf(env.stdout, "then: loa jobs review %s --approve, or --request-changes \"what to fix\"\n", id)
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, j)
	}
	if *approve || *changes != "" {
		fmt.Fprintf(env.stdout, "job %s is %s\n", j.ID, j.State)
	}
	return nil
}

func runGlossaryExport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "glossary export", "")
	c := registerClient(fs, env)
	lang := fs.String("lang", "", "blt (Thái) or hnj (Mông) (required)")
	out := fs.String("out", "", "file to write; default standard output")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *lang == "" {
		return usageError{"give --lang blt or --lang hnj"}
	}
	var terms []translation.Term
	if err := c.do(ctx, http.MethodGet, "/api/glossary/"+url.PathEscape(*lang), nil, "", &terms); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := translation.WriteGlossaryCSV(&b, terms); err != nil {
		return err
	}
	if *out == "" {
		_, err := env.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot write %s: %v.", *out, err)
	}
	fmt.Fprintf(env.stderr, "%d terms written to %s\n", len(terms), *out)
	return nil
}

func runGlossaryImport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "glossary import", "FILE")
	c := registerClient(fs, env)
	lang := fs.String("lang", "", "blt (Thái) or hnj (Mông) (required)")
	replace := fs.Bool("replace", false, "remove terms the file does not list")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneID(pos, "CSV FILE (term,translation[,note])")
	if err != nil {
		return err
	}
	if *lang == "" {
		return usageError{"give --lang blt or --lang hnj"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot read %s: %v.", path, err)
	}
	// Check locally first, so mistakes are shown with their line at once.
	if _, err := translation.ParseGlossaryCSV(data, *lang); err != nil {
		return err
	}
	q := ""
	if *replace {
		q = "?replace=1"
	}
	var res api.GlossaryImport
	if err := c.do(ctx, http.MethodPut, "/api/glossary/"+url.PathEscape(*lang)+q, bytes.NewReader(data), "text/csv; charset=utf-8", &res); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "imported %d terms; the %s glossary has %d\n", res.Imported, translation.LanguageName(res.Language), res.Total)
	return nil
}

func runUserEmail(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "user email", "NAME EMAIL")
	c := registerClient(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give the user NAME and the EMAIL address (\"\" to remove it)"}
	}
	b, _ := json.Marshal(api.EmailRequest{Email: pos[1]})
	if err := c.do(ctx, http.MethodPut, "/api/users/"+url.PathEscape(pos[0])+"/email", bytes.NewReader(b), "application/json", nil); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "notices for %s go to %q\n", pos[0], pos[1])
	return nil
}
