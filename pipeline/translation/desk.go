package translation

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// Filter narrows a job listing.
type Filter struct {
	// Languages, when not nil, keeps jobs in these languages only.
	Languages []string
	State     State
	Kind      Kind
	SegmentID string
	// HolderID, when not zero, keeps jobs this user holds or reviews.
	HolderID int64
	// Live keeps only jobs still in progress (not approved or cancelled).
	Live bool
	// Limit caps the number returned; 0 means 200.
	Limit int
}

// Submission is one translation handed in for a job.
type Submission struct {
	JobID       string             `json:"job_id"`
	N           int                `json:"n"` // 1 for the first submission, then 2, ...
	Key         string             `json:"key"`
	FileName    string             `json:"file_name"`
	ContentType string             `json:"content_type"`
	Size        int64              `json:"size_bytes"`
	SHA256      string             `json:"sha256"`
	DurationMS  int64              `json:"duration_ms,omitempty"`
	Findings    []subtitle.Finding `json:"findings"`
	By          int64              `json:"by"`
	At          time.Time          `json:"at"`
}

// Store is what the Desk needs from the metadata store. ApplyJob runs the
// policy on the job's current row inside one write transaction (counting
// the claims the actor holds for a claim), writes the new row only if the
// state is still the one read, records the event, then runs then in the
// same transaction.
type Store interface {
	Segment(ctx context.Context, id string) (pipeline.Segment, error)
	Job(ctx context.Context, id string) (Job, error)
	Jobs(ctx context.Context, f Filter) ([]Job, error)
	JobEvents(ctx context.Context, id string) ([]Event, error)
	ApplyJob(ctx context.Context, id string, p Policy, r Request, then func(tx *sql.Tx, j Job) error) (Job, error)
	Submissions(ctx context.Context, jobID string) ([]Submission, error)
	AddSubmissionTx(ctx context.Context, tx *sql.Tx, s Submission) error
	Memory(ctx context.Context, lang string, limit int) ([]MemoryEntry, error)
	AddMemoryTx(ctx context.Context, tx *sql.Tx, es []MemoryEntry) error
	Glossary(ctx context.Context, lang string) ([]Term, error)
	BeginUpload(ctx context.Context, key string, userID int64) error
	EndUpload(ctx context.Context, key string) error
}

// Objects is what the Desk needs from the object store.
type Objects interface {
	pipeline.ObjectStore
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Prober reads a stored voice-over (by URL) with ffprobe.
type Prober func(ctx context.Context, url string) (media.Info, error)

// Scanner decodes a stored voice-over (by URL) fully and measures it
// (media.ScanAudio): its level on the channels and on the mono downmix
// loudspeakers play, and its decode errors.
type Scanner func(ctx context.Context, url string) (media.Scan, error)

// Desk is where translators and reviewers work: it lists and shows jobs
// to the people allowed to see them, applies their actions, checks and
// stores submissions, and feeds the translation memory on approval.
type Desk struct {
	Store   Store
	Objects Objects
	// Probe reads voice-overs; media.Probe when nil.
	Probe Prober
	// Scan decodes voice-overs, so that one the loudspeakers could not
	// play (silent, channels that cancel in mono, damaged) is refused as
	// an upload would be; media.ScanAudio when nil.
	Scan Scanner
	// Limits are the upload's media limits (media.Validate), applied to
	// voice-overs as to radio segments; zero fields take the defaults.
	Limits media.Limits
	Policy Policy
	// Renditions queues what an approval asks for; Approve refuses
	// without it.
	Renditions Renditions
	// Renders tells what became of an approved job's render, so Rerender
	// also accepts a render that was lost without a render_failed event;
	// when nil, only a failed render is asked for again.
	Renders RenderStates
	// SubtitleTolerance is how far a translated cue may move from the
	// source's times; 0 means subtitle.DefaultTolerance.
	SubtitleTolerance time.Duration
	// VoiceoverSlack is how far a voice-over's length may be from the
	// source's, as a fraction of it (0.2: 20 % longer or shorter), but at
	// least VoiceoverMinSlack.
	VoiceoverSlack    float64
	VoiceoverMinSlack time.Duration
	// MaxSubtitleBytes and MaxVoiceoverBytes cap submissions.
	MaxSubtitleBytes  int64
	MaxVoiceoverBytes int64
	Now               func() time.Time
	Log               *slog.Logger
}

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now().UTC()
}

func (d *Desk) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// CanSee reports whether u may see jobs in lang: admins see all,
// translators and reviewers their own languages, nobody else any.
func CanSee(u pipeline.User, lang string) bool {
	switch u.Role {
	case pipeline.RoleAdmin:
		return true
	case pipeline.RoleTranslator, pipeline.RoleReviewer:
		return slices.Contains(u.Languages, lang)
	}
	return false
}

// List returns the jobs u may see that match f.
func (d *Desk) List(ctx context.Context, u pipeline.User, f Filter) ([]Job, error) {
	if u.Role != pipeline.RoleAdmin {
		langs := []string{}
		for _, l := range u.Languages {
			if f.Languages == nil || slices.Contains(f.Languages, l) {
				langs = append(langs, l)
			}
		}
		f.Languages = langs
	}
	return d.Store.Jobs(ctx, f)
}

// job returns the job if u may see it; otherwise not found, so ids of
// other languages' jobs do not leak.
func (d *Desk) job(ctx context.Context, u pipeline.User, id string) (Job, error) {
	j, err := d.Store.Job(ctx, id)
	if err != nil {
		return j, err
	}
	if !CanSee(u, j.Language) {
		return Job{}, pipeline.Errorf(pipeline.CodeNotFound, "No job %q among the jobs in your languages.", id)
	}
	return j, nil
}

// Detail is everything a translator or reviewer needs about one job.
type Detail struct {
	Job         Job              `json:"job"`
	Segment     pipeline.Segment `json:"segment"`
	Events      []Event          `json:"events"`
	Submissions []Submission     `json:"submissions"`
	Glossary    []Term           `json:"glossary"`
	// Prefill says how much of a subtitle job's target file the memory
	// filled in, and lists close matches for the rest.
	Prefill *Prefill `json:"prefill,omitempty"`
	// Render, for an approved job whose render has not failed (no
	// render_failed event since the last rerender), is what became of its
	// render when the desk can tell (Desk.Renders): made, queued, running,
	// or lost (then Rerender accepts it). Empty otherwise.
	Render RenderState `json:"render,omitempty"`
}

// Get returns one job with its segment, history, submissions, glossary
// and, for subtitle jobs, the translation-memory pre-fill.
func (d *Desk) Get(ctx context.Context, u pipeline.User, id string) (Detail, error) {
	j, err := d.job(ctx, u, id)
	if err != nil {
		return Detail{}, err
	}
	det := Detail{Job: j}
	if det.Segment, err = d.Store.Segment(ctx, j.SegmentID); err != nil {
		return det, err
	}
	if det.Events, err = d.Store.JobEvents(ctx, id); err != nil {
		return det, err
	}
	if det.Submissions, err = d.Store.Submissions(ctx, id); err != nil {
		return det, err
	}
	if det.Glossary, err = d.Store.Glossary(ctx, j.Language); err != nil {
		return det, err
	}
	if d.Renders != nil && j.State == StateApproved && len(det.Submissions) > 0 && !RenderFailed(det.Events) && det.Segment.State != pipeline.StateWithdrawn {
		st, err := d.Renders.RenderState(ctx, j, det.Submissions[len(det.Submissions)-1])
		if err != nil {
			// The page still shows; only the render's state is unknown.
			d.log().Warn("job render state", "job", id, "err", err)
		}
		det.Render = st
	}
	if j.Kind == KindSubtitle && det.Segment.SubtitleKey != "" {
		p, err := d.prefill(ctx, j, det.Segment)
		if err != nil {
			return det, err
		}
		det.Prefill = &p
	}
	return det, nil
}

// maxMemory bounds the memory entries read for one pre-fill.
const maxMemory = 50_000

func (d *Desk) prefill(ctx context.Context, j Job, seg pipeline.Segment) (Prefill, error) {
	src, err := d.source(ctx, seg)
	if err != nil {
		return Prefill{}, err
	}
	mem, err := d.Store.Memory(ctx, j.Language, maxMemory)
	if err != nil {
		return Prefill{}, err
	}
	return BuildPrefill(src, mem), nil
}

// PrefillFile returns a subtitle job's target file to start from: the
// Vietnamese source with the cues the memory knows already translated,
// as SRT.
func (d *Desk) PrefillFile(ctx context.Context, u pipeline.User, id string) ([]byte, error) {
	j, err := d.job(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if j.Kind != KindSubtitle {
		return nil, pipeline.Errorf(pipeline.CodeNotFound, "Job %s is a voice-over: it has no subtitle file to fill in.", id)
	}
	seg, err := d.Store.Segment(ctx, j.SegmentID)
	if err != nil {
		return nil, err
	}
	p, err := d.prefill(ctx, j, seg)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := subtitle.WriteSRT(&b, p.File); err != nil {
		return nil, fmt.Errorf("prefill %s: %w", id, err)
	}
	return b.Bytes(), nil
}

// source reads and parses the segment's Vietnamese subtitle file.
func (d *Desk) source(ctx context.Context, seg pipeline.Segment) (*subtitle.File, error) {
	if seg.SubtitleKey == "" {
		return nil, pipeline.Errorf(pipeline.CodeConflict, "Segment %s has no Vietnamese subtitle file to translate.", seg.ID)
	}
	data, err := d.read(ctx, seg.SubtitleKey, 8<<20)
	if err != nil {
		return nil, err
	}
	f, err := subtitle.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("source subtitles of %s: %w", seg.ID, err)
	}
	return f, nil
}

func (d *Desk) read(ctx context.Context, key string, limit int64) ([]byte, error) {
	rc, err := d.Objects.Get(ctx, key)
	if err != nil {
		return nil, &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: "The media store did not return a file this job needs; try again in a minute."}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: "Reading from the media store failed; try again in a minute."}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: over %d bytes", key, limit)
	}
	return data, nil
}

// Act applies an action that carries no file: claim, extend, release,
// start_review, request_changes, cancel.
func (d *Desk) Act(ctx context.Context, u pipeline.User, id string, a Action, reason string) (Job, error) {
	switch a {
	case ActionClaim, ActionExtend, ActionRelease, ActionStartReview, ActionRequestChanges, ActionCancel:
	default:
		return Job{}, pipeline.Errorf(pipeline.CodeInvalid, "%s is not done this way.", a)
	}
	if _, err := d.job(ctx, u, id); err != nil {
		return Job{}, err
	}
	return d.Store.ApplyJob(ctx, id, d.Policy, Request{Action: a, By: u, Reason: reason, Now: d.now()}, nil)
}

// Renditions queues the rendition that makes an approved translation a
// segment's variant in its language, inside the transaction that approves
// the job, so the work exists exactly when the approval commits;
// *worker.Worker has it.
type Renditions interface {
	// QueueRenditionTx queues the rendition of submission s of job j,
	// approved by the user whose ID is approvedBy.
	QueueRenditionTx(ctx context.Context, tx *sql.Tx, j Job, s Submission, approvedBy int64) error
}

// RenderState is what became of the render of an approved job's
// submission, as RenderStates tell it.
type RenderState string

const (
	// RenderMade: the renditions made from the approved submission are
	// recorded (and, for a voice-over, are the language's variant).
	RenderMade RenderState = "made"
	// RenderQueued: a render job for the job waits in the queue
	// (available, scheduled, retryable or pending).
	RenderQueued RenderState = "queued"
	// RenderRunning: a worker is rendering it now.
	RenderRunning RenderState = "running"
	// RenderLost: nothing is made and no render job for it is live any
	// more (discarded after its attempts, cancelled, or removed by the
	// queue's cleaner): nothing will make it unless it is asked for again.
	RenderLost RenderState = "lost"
)

// RenderStates tells what became of the render of submission s of
// approved job j: whether its renditions are recorded, and whether a
// render job for j is still live in the queue (worker.RenderLookup is
// one). An error is the catalog's or the queue's, to be retried.
type RenderStates interface {
	RenderState(ctx context.Context, j Job, s Submission) (RenderState, error)
}

// Approve approves a job in review by u and queues its rendition through
// d.Renditions in the same transaction: nothing is ready to air before a
// reviewer approves, and if queueing fails, nothing is approved. For a
// subtitle job, the approved cues feed the translation memory in that
// transaction too. Without d.Renditions it refuses with CodeUnavailable.
func (d *Desk) Approve(ctx context.Context, u pipeline.User, id string) (Job, error) {
	if d.Renditions == nil {
		return Job{}, pipeline.Errorf(pipeline.CodeUnavailable, "The job queue is not set up on this server, so nothing can be approved now.")
	}
	j, err := d.job(ctx, u, id)
	if err != nil {
		return Job{}, err
	}
	// A dry run refuses early, before the submission is read.
	if _, _, err := d.Policy.Apply(j, Request{Action: ActionApprove, By: u, Now: d.now()}); err != nil {
		return Job{}, err
	}
	subs, err := d.Store.Submissions(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if len(subs) == 0 {
		return Job{}, pipeline.Errorf(pipeline.CodeConflict, "Job %s has no submission to approve.", id)
	}
	last := subs[len(subs)-1]
	var mem []MemoryEntry
	if j.Kind == KindSubtitle {
		seg, err := d.Store.Segment(ctx, j.SegmentID)
		if err != nil {
			return Job{}, err
		}
		src, err := d.source(ctx, seg)
		if err != nil {
			return Job{}, err
		}
		data, err := d.read(ctx, last.Key, 8<<20)
		if err != nil {
			return Job{}, err
		}
		tgt, err := subtitle.Parse(data)
		if err != nil {
			return Job{}, fmt.Errorf("approve %s: submission %d: %w", id, last.N, err)
		}
		mem = MemoryPairs(j.Language, j.ID, src, tgt)
	}
	return d.Store.ApplyJob(ctx, id, d.Policy, Request{Action: ActionApprove, By: u, Now: d.now()}, func(tx *sql.Tx, nj Job) error {
		if err := d.Store.AddMemoryTx(ctx, tx, mem); err != nil {
			return err
		}
		return d.Renditions.QueueRenditionTx(ctx, tx, nj, last, u.ID)
	})
}

// Rerender queues the render of approved job id's translation again,
// through the same River job an approval queues, for an administrator or
// a reviewer of the job's language, once the cause is dealt with. It is
// accepted when the render failed (a render_failed event with no
// rerender since), or when it was lost: its renditions were never
// recorded and no render job for it is live any more (d.Renders says
// so; River discarded the job after its attempts while the store was
// down, so not even the failure could be recorded). The rerender event is
// recorded in the same transaction, so the worker renders it instead of
// finding it failed before. A job whose render is still queued or
// running, or already made, or whose segment is withdrawn, is a conflict
// whose message says which: there is nothing to redo. Without d.Renders
// only a failed render is accepted.
func (d *Desk) Rerender(ctx context.Context, u pipeline.User, id string) (Job, error) {
	if d.Renditions == nil {
		return Job{}, pipeline.Errorf(pipeline.CodeUnavailable, "The job queue is not set up on this server, so nothing can be rendered now.")
	}
	j, err := d.job(ctx, u, id)
	if err != nil {
		return Job{}, err
	}
	if _, _, err := d.Policy.Apply(j, Request{Action: ActionRerender, By: u, Now: d.now()}); err != nil {
		return Job{}, err
	}
	evs, err := d.Store.JobEvents(ctx, id)
	if err != nil {
		return Job{}, err
	}
	seg, err := d.Store.Segment(ctx, j.SegmentID)
	if err != nil {
		return Job{}, err
	}
	if seg.State == pipeline.StateWithdrawn {
		return Job{}, pipeline.Errorf(pipeline.CodeConflict, "Segment %s of job %s is withdrawn: nothing of it is rendered any more.", seg.ID, id)
	}
	subs, err := d.Store.Submissions(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if len(subs) == 0 {
		return Job{}, pipeline.Errorf(pipeline.CodeConflict, "Job %s has no submission to render.", id)
	}
	last := subs[len(subs)-1]
	why := "render_failed"
	if !RenderFailed(evs) {
		if err := d.renderLost(ctx, j, last); err != nil {
			return Job{}, err
		}
		why = "lost"
	}
	approvedBy := j.ReviewerID // the voice-over variant names who approved it, not who asked again
	if approvedBy == 0 {
		approvedBy = u.ID
	}
	nj, err := d.Store.ApplyJob(ctx, id, d.Policy, Request{Action: ActionRerender, By: u, Now: d.now()}, func(tx *sql.Tx, nj Job) error {
		return d.Renditions.QueueRenditionTx(ctx, tx, nj, last, approvedBy)
	})
	if err != nil {
		return Job{}, err
	}
	d.log().Info("job render asked again", "job", id, "kind", j.Kind, "lang", j.Language, "user", u.Name, "render", why)
	return nj, nil
}

// renderLost returns nil when the render of submission s of approved job
// j was lost (RenderLost), and otherwise the conflict that says what
// became of it.
func (d *Desk) renderLost(ctx context.Context, j Job, s Submission) error {
	if d.Renders == nil {
		return pipeline.Errorf(pipeline.CodeConflict, "The render of job %s has not failed (or was already asked for again): there is nothing to redo. 'loa jobs show %s' lists its events.", j.ID, j.ID)
	}
	st, err := d.Renders.RenderState(ctx, j, s)
	if err != nil {
		return fmt.Errorf("rerender %s: what became of its render: %w", j.ID, err)
	}
	switch st {
	case RenderLost:
		return nil
	case RenderMade:
		return pipeline.Errorf(pipeline.CodeConflict, "The render of job %s has not failed: its renditions are made already, so there is nothing to redo. 'loa jobs show %s' lists its events.", j.ID, j.ID)
	case RenderRunning:
		return pipeline.Errorf(pipeline.CodeConflict, "The render of job %s has not failed: a worker is rendering it now. Wait for it to end; 'loa jobs show %s' lists its events.", j.ID, j.ID)
	case RenderQueued:
		return pipeline.Errorf(pipeline.CodeConflict, "The render of job %s has not failed: it is still queued and a worker will render it. Check that a worker runs ('loa worker').", j.ID)
	}
	return fmt.Errorf("rerender %s: unknown render state %q", j.ID, st)
}

// Upload is one submission as it arrives.
type Upload struct {
	Body        io.Reader
	FileName    string // the translator's file name; for display and the format only
	ContentType string
}

// SubmitResult is an accepted submission with its warnings.
type SubmitResult struct {
	Job        Job        `json:"job"`
	Submission Submission `json:"submission"`
}

// Submit checks a translation and, when it passes, stores it under a key
// Loa makes and marks the job submitted. Subtitle files are checked
// against the language's profile, the Vietnamese source and the glossary;
// voice-overs are streamed to the store and probed, and their length must
// be near the source's. Errors refuse the submission with every finding;
// warnings are kept with it. A refused submission leaves no object.
func (d *Desk) Submit(ctx context.Context, u pipeline.User, id string, up Upload) (SubmitResult, error) {
	j, err := d.job(ctx, u, id)
	if err != nil {
		return SubmitResult{}, err
	}
	if _, _, err := d.Policy.Apply(j, Request{Action: ActionSubmit, By: u, Now: d.now()}); err != nil {
		return SubmitResult{}, err
	}
	seg, err := d.Store.Segment(ctx, j.SegmentID)
	if err != nil {
		return SubmitResult{}, err
	}
	sub := Submission{JobID: j.ID, N: j.Submissions + 1, FileName: cleanName(up.FileName), By: u.ID}
	// The object key is unique per attempt, not derived from the job as
	// read before the body arrived: two submissions at once store two
	// objects, the one that loses the transaction removes only its own,
	// and the key the stored submission refers to is never deleted.
	attempt, err := uuid.NewV7()
	if err != nil {
		return SubmitResult{}, fmt.Errorf("submit %s: attempt id: %w", j.ID, err)
	}
	prefix := "segments/" + seg.ID + "/jobs/" + j.ID + "/submission-" + fmt.Sprint(sub.N) + "-" + attempt.String()
	if j.Kind == KindSubtitle {
		err = d.submitSubtitle(ctx, j, seg, up, prefix, &sub)
	} else {
		err = d.submitVoiceover(ctx, j, seg, up, prefix, &sub)
	}
	if err != nil {
		return SubmitResult{}, err
	}
	sub.At = d.now()
	nj, err := d.Store.ApplyJob(ctx, id, d.Policy, Request{Action: ActionSubmit, By: u, Now: sub.At}, func(tx *sql.Tx, next Job) error {
		sub.N = next.Submissions // numbered from the job as it is in this transaction
		return d.Store.AddSubmissionTx(ctx, tx, sub)
	})
	if err != nil {
		d.remove(ctx, sub.Key)
		return SubmitResult{}, err
	}
	d.log().Info("job submitted", "job", j.ID, "kind", j.Kind, "lang", j.Language, "n", sub.N, "user", u.Name, "warnings", len(sub.Findings))
	return SubmitResult{Job: nj, Submission: sub}, nil
}

// MaxSubmitBytes is the largest submission the desk takes: the larger of
// MaxSubtitleBytes (default 2 MiB) and MaxVoiceoverBytes; 0 when a
// voice-over has no limit.
func (d *Desk) MaxSubmitBytes() int64 {
	if d.MaxVoiceoverBytes <= 0 {
		return 0
	}
	sub := d.MaxSubtitleBytes
	if sub <= 0 {
		sub = 2 << 20
	}
	return max(sub, d.MaxVoiceoverBytes)
}

func (d *Desk) submitSubtitle(ctx context.Context, j Job, seg pipeline.Segment, up Upload, prefix string, sub *Submission) error {
	limit := d.MaxSubtitleBytes
	if limit <= 0 {
		limit = 2 << 20
	}
	data, err := io.ReadAll(io.LimitReader(up.Body, limit+1))
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The upload was interrupted before the whole file arrived: submit it again.")
	}
	if int64(len(data)) > limit {
		return pipeline.FieldError("file", "The subtitle file is over %d KiB: a segment's subtitles are far smaller; check that it is the right file.", limit>>10)
	}
	src, err := d.source(ctx, seg)
	if err != nil {
		return err
	}
	terms, err := d.Store.Glossary(ctx, j.Language)
	if err != nil {
		return err
	}
	f, findings, err := SubtitleCheck{Language: j.Language, Source: src, Tolerance: d.SubtitleTolerance, Glossary: terms,
		Media: time.Duration(seg.Probe.DurationMS) * time.Millisecond}.Check(data)
	if err != nil {
		return err
	}
	if Blocking(findings) {
		return RefusalError("subtitle file", findings)
	}
	ext := ".srt"
	if f.Format == subtitle.VTT {
		ext = ".vtt"
	}
	sub.Key, sub.Findings = prefix+ext, nonNil(findings)
	sub.ContentType = "text/plain; charset=utf-8"
	if err := d.Store.BeginUpload(ctx, sub.Key, sub.By); err != nil {
		return fmt.Errorf("submit %s: %w", j.ID, err)
	}
	stored, err := pipeline.StreamToStore(ctx, d.Objects, sub.Key, bytes.NewReader(data), int64(len(data)), limit, sub.ContentType)
	if err != nil {
		d.remove(ctx, sub.Key)
		return err
	}
	sub.Size, sub.SHA256 = stored.Size, stored.SHA256
	return nil
}

func (d *Desk) submitVoiceover(ctx context.Context, j Job, seg pipeline.Segment, up Upload, prefix string, sub *Submission) error {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(up.ContentType, ";", 2)[0]))
	if !strings.HasPrefix(ct, "audio/") {
		ct = "application/octet-stream"
	}
	sub.Key, sub.ContentType = prefix+".audio", ct
	if err := d.Store.BeginUpload(ctx, sub.Key, sub.By); err != nil {
		return fmt.Errorf("submit %s: %w", j.ID, err)
	}
	refuse := func(err error) error {
		d.remove(ctx, sub.Key)
		return err
	}
	stored, err := pipeline.StreamToStore(ctx, d.Objects, sub.Key, up.Body, -1, d.MaxVoiceoverBytes, ct)
	if err != nil {
		return refuse(err)
	}
	if stored.Size == 0 {
		return refuse(pipeline.FieldError("file", "The voice-over file is empty (0 bytes): choose the recording again and submit it."))
	}
	sub.Size, sub.SHA256 = stored.Size, stored.SHA256
	url, err := d.Objects.InternalURL(ctx, sub.Key, time.Hour)
	if err != nil {
		return refuse(&pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: "The media store is not available; nothing was kept, try again in a minute."})
	}
	probe := d.Probe
	if probe == nil {
		probe = media.Probe
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	info, err := probe(pctx, url)
	if err != nil {
		if errors.Is(err, media.ErrNotMedia) {
			return refuse(pipeline.FieldError("file", "The voice-over is not an audio file Loa can read: record or export it as MP3, WAV, M4A or Opus and submit again."))
		}
		return refuse(fmt.Errorf("probe voice-over of %s: %w", j.ID, err))
	}
	sub.DurationMS = info.Duration.Milliseconds()
	if fs := VoiceoverFindings(info, time.Duration(seg.Probe.DurationMS)*time.Millisecond, d.VoiceoverSlack, d.VoiceoverMinSlack); Blocking(fs) {
		return refuse(RefusalError("voice-over", fs))
	}
	scan := d.Scan
	if scan == nil {
		scan = media.ScanAudio
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Minute)
	defer scancel()
	sc, err := scan(sctx, url)
	if errors.Is(err, media.ErrNotMedia) || errors.Is(err, media.ErrNoAudio) {
		return refuse(RefusalError("voice-over", []subtitle.Finding{{Severity: subtitle.Error, Code: string(media.RefuseCorrupt),
			Message: "the audio could not be decoded: export the recording again (MP3, WAV, M4A or Opus) and submit it", Key: media.FindingKey(media.RefuseCorrupt)}}))
	}
	if err != nil {
		return refuse(fmt.Errorf("scan voice-over of %s: %w", j.ID, err))
	}
	if fs := AirableFindings(info, sc, d.Limits); Blocking(fs) {
		return refuse(RefusalError("voice-over", fs))
	}
	sub.Findings = []subtitle.Finding{}
	return nil
}

// AirableFindings holds a probed and scanned voice-over to the checks a
// producer's radio upload passes (media.Validate): a voice-over that is
// silent, whose channels cancel in the mono mix loudspeakers play, or that
// is damaged could never be rendered, so it is refused at submission with
// the upload's reason (its code is the media.RefusalCode). A problem the
// check cannot name is returned as an error finding too.
func AirableFindings(info media.Info, scan media.Scan, limits media.Limits) []subtitle.Finding {
	err := media.Validate(info, scan, media.KindRadio, limits)
	if err == nil {
		return nil
	}
	var ref *media.Refusal
	if errors.As(err, &ref) {
		return []subtitle.Finding{ref.Finding()}
	}
	return []subtitle.Finding{{Severity: subtitle.Error, Code: CodeAudio, Message: err.Error()}}
}

// VoiceoverFindings checks a probed voice-over against the source's
// length: it needs an audio stream, and its duration must be within slack
// (a fraction of the source, but at least minSlack) of the source's.
func VoiceoverFindings(info media.Info, source time.Duration, slack float64, minSlack time.Duration) []subtitle.Finding {
	if info.Audio == nil {
		return []subtitle.Finding{{Severity: subtitle.Error, Code: CodeAudio, Message: "the file has no audio stream: submit the recording itself", Key: KeyNoAudio}}
	}
	if slack <= 0 {
		slack = 0.2
	}
	if minSlack <= 0 {
		minSlack = 3 * time.Second
	}
	allowed := max(time.Duration(float64(source)*slack), minSlack)
	if diff := info.Duration - source; diff > allowed || -diff > allowed {
		return []subtitle.Finding{{Severity: subtitle.Error, Code: CodeDuration, Message: fmt.Sprintf(
			"the recording lasts %s but the segment lasts %s; it must be within %s of it: read at the segment's pace, trim long silences, or record again",
			info.Duration.Round(100*time.Millisecond), source.Round(100*time.Millisecond), allowed.Round(100*time.Millisecond)),
			Key: KeyDuration, Args: []string{seconds(info.Duration), seconds(source), seconds(allowed)}}}
	}
	return nil
}

// remove deletes a refused submission's object and its upload row; a
// failure leaves the row for the sweep.
func (d *Desk) remove(ctx context.Context, key string) {
	if key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := d.Objects.Remove(ctx, key); err != nil {
		d.log().Warn("remove refused submission", "key", key, "err", err)
		return
	}
	if err := d.Store.EndUpload(ctx, key); err != nil {
		d.log().Warn("end refused submission", "key", key, "err", err)
	}
}

func nonNil(fs []subtitle.Finding) []subtitle.Finding {
	if fs == nil {
		return []subtitle.Finding{}
	}
	return fs
}

// cleanName keeps a display-safe base name of a client file name.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if r := []rune(name); len(r) > 120 {
		name = string(r[:120])
	}
	if name == "." || name == "/" {
		return ""
	}
	return name
}
