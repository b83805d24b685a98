package translation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// Kind is the work a job asks for.
type Kind string

// The job kinds.
const (
	// KindSubtitle: translate the Vietnamese subtitle file, keeping its
	// timings (TV segments with a Vietnamese subtitle file).
	KindSubtitle Kind = "subtitle"
	// KindVoiceover: record the segment read in the target language (radio,
	// and TV too, since loudspeakers play audio).
	KindVoiceover Kind = "voiceover"
)

// State is where a job is in its life.
type State string

// The job states.
const (
	StateOpen             State = "open"              // waiting for a translator
	StateClaimed          State = "claimed"           // a translator holds it under a lease
	StateSubmitted        State = "submitted"         // waiting for a reviewer
	StateInReview         State = "in_review"         // a reviewer holds it
	StateChangesRequested State = "changes_requested" // back with the same translator, under a lease
	StateApproved         State = "approved"          // done; the translation becomes the segment's variant
	StateCancelled        State = "cancelled"         // the segment was withdrawn, or an admin cancelled it
)

// States lists every state in lifecycle order.
var States = []State{StateOpen, StateClaimed, StateSubmitted, StateInReview, StateChangesRequested, StateApproved, StateCancelled}

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return s == StateApproved || s == StateCancelled }

// leased reports whether a translator holds a job in s under a lease.
func (s State) leased() bool { return s == StateClaimed || s == StateChangesRequested }

// Action is something done to a job.
type Action string

// The actions. Each is allowed from some states, by some people; Apply
// says which.
const (
	ActionOpen           Action = "open"            // the system opens a job for a processed segment
	ActionClaim          Action = "claim"           // a translator of the language takes an open job
	ActionExtend         Action = "extend"          // the translator holding the job renews the lease
	ActionRelease        Action = "release"         // the holder gives the job back (claimed → open, in_review → submitted)
	ActionSubmit         Action = "submit"          // the translator hands in a translation
	ActionStartReview    Action = "start_review"    // a reviewer of the language, not the translator, takes a submission
	ActionApprove        Action = "approve"         // the reviewer accepts the translation
	ActionRequestChanges Action = "request_changes" // the reviewer sends it back with a reason
	ActionCancel         Action = "cancel"          // the segment was withdrawn, or an admin cancels
	ActionExpire         Action = "expire"          // the sweep returns a job whose lease ran out
	ActionFlagOverdue    Action = "flag_overdue"    // the sweep marks a job past its deadline
	// ActionRenderFailed is recorded by the worker, not applied through a
	// Policy: the approved translation could not be rendered (the job
	// stays approved; its reason and this event say why).
	ActionRenderFailed Action = "render_failed"
	// ActionRerender asks for the render of an approved translation
	// again, after it failed (render_failed): an administrator or a
	// reviewer of the language, once the cause (a missing font, a store
	// that was down) is dealt with. The job stays approved; the render job
	// is queued again in the same transaction (Desk.Rerender).
	ActionRerender Action = "rerender"
	// ActionRetime is recorded by the store, not applied through a
	// Policy: the segment's priority rose (to priority, or an emergency
	// was raised) and the job's deadline was brought forward to the new
	// priority's deadline from then. The job keeps its state.
	ActionRetime Action = "retime"
)

// RenderFailed reports whether events (a job's, in order) end with its
// approved translation's render failed: a render_failed event with no
// rerender after it. The worker does not render such a job again until
// someone asks for it (ActionRerender).
func RenderFailed(events []Event) bool {
	failed := false
	for _, e := range events {
		switch e.Action {
		case ActionRenderFailed:
			failed = true
		case ActionRerender:
			failed = false
		}
	}
	return failed
}

// Job is one translation or subtitle job: one segment, one target
// language, one kind.
type Job struct {
	ID        string `json:"id"`
	SegmentID string `json:"segment_id"`
	Language  string `json:"language"`
	Kind      Kind   `json:"kind"`
	State     State  `json:"state"`
	// TranslatorID is the translator holding the job or who submitted it;
	// 0 when open.
	TranslatorID int64  `json:"translator_id,omitempty"`
	Translator   string `json:"translator,omitempty"`
	// ReviewerID is the reviewer who took it into review; 0 before.
	ReviewerID int64  `json:"reviewer_id,omitempty"`
	Reviewer   string `json:"reviewer,omitempty"`
	// LeaseUntil is when a claim runs out; zero when no one holds it.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	Deadline   time.Time `json:"deadline"`
	Overdue    bool      `json:"overdue"`
	// Extensions counts lease extensions since the claim.
	Extensions int `json:"extensions"`
	// Submissions counts the translations handed in.
	Submissions int `json:"submissions"`
	// Reason is the latest reviewer's request for changes or cancel reason.
	Reason string `json:"reason,omitempty"`
	// Priority is the segment's as its jobs are due: normal once its
	// emergency is over (ended early or run out) though the segment
	// still says emergency; EmergencyEnded marks that case.
	Priority       string    `json:"priority"`
	EmergencyEnded bool      `json:"emergency_ended,omitempty"`
	Title          string    `json:"title"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Event records one transition: who did what, when and why.
type Event struct {
	JobID   string    `json:"job_id"`
	At      time.Time `json:"at"`
	ActorID int64     `json:"actor_id"` // 0 for the system (sweep, withdrawal cascade)
	Actor   string    `json:"actor,omitempty"`
	Action  Action    `json:"action"`
	From    State     `json:"from"`
	To      State     `json:"to"`
	Reason  string    `json:"reason,omitempty"`
	// Note, on a system event, is Reason as a message key and arguments,
	// for pages to say in their reader's language; nil on a person's
	// event and on events recorded before notes existed.
	Note *Note `json:"note,omitempty"`
}

// Policy holds the numbers the state machine applies.
type Policy struct {
	// Lease is how long a claim (or an extension, or a request for
	// changes) lets the translator hold the job.
	Lease time.Duration
	// MaxExtensions caps lease extensions per claim; 0 means no cap.
	MaxExtensions int
	// MaxClaims caps the jobs one translator may hold at once (claimed or
	// sent back for changes); 0 means no cap.
	MaxClaims int
}

// DefaultPolicy is a 48-hour lease, extendable 3 times, and 3 jobs held
// at once per translator.
func DefaultPolicy() Policy {
	return Policy{Lease: 48 * time.Hour, MaxExtensions: 3, MaxClaims: 3}
}

// Request is one attempt to change a job.
type Request struct {
	Action Action
	// By is who asks; the zero User is the system (sweep, withdrawal).
	By     pipeline.User
	Reason string
	Now    time.Time
	// Held is how many jobs By holds now (claimed or changes requested);
	// the store counts it inside the claiming transaction.
	Held int
}

// system reports whether the request comes from Loa itself.
func (r Request) system() bool { return r.By.ID == 0 }

// MaxReasonLen is the longest reason kept, in characters.
const MaxReasonLen = 2000

// Apply checks that r may change j and returns the job after the change
// and the event recording it. A refusal is a *pipeline.Error: conflict
// when the job's state does not allow the action, forbidden when the
// person may not do it, invalid when the request lacks something.
func (p Policy) Apply(j Job, r Request) (Job, Event, error) {
	reason, err := pipeline.CleanText("reason", "The reason", r.Reason, true)
	if err != nil {
		return j, Event{}, err
	}
	if len([]rune(reason)) > MaxReasonLen {
		return j, Event{}, pipeline.FieldError("reason", "The reason is longer than %d characters: shorten it.", MaxReasonLen)
	}
	next := j
	next.UpdatedAt = r.Now
	ev := Event{JobID: j.ID, At: r.Now, ActorID: r.By.ID, Actor: r.By.Name, Action: r.Action, From: j.State, Reason: reason}
	fail := func(err error) (Job, Event, error) { return j, Event{}, err }
	if r.Action == ActionRerender {
		// The one action on an approved job: it changes no state.
		if r.system() || (r.By.Role != pipeline.RoleAdmin && (r.By.Role != pipeline.RoleReviewer || !slices.Contains(r.By.Languages, j.Language))) {
			return fail(pipeline.Errorf(pipeline.CodeForbidden, "Only an administrator or a reviewer of %s can have job %s rendered again.", LanguageName(j.Language), j.ID))
		}
		if j.State != StateApproved {
			return fail(stateError(j, "rendered again", "only an approved translation is rendered"))
		}
		next.Reason = "" // the failure's reason; a new failure records its own
		ev.To = j.State
		return next, ev, nil
	}
	if j.State.Terminal() {
		return fail(pipeline.Errorf(pipeline.CodeConflict, "Job %s is %s: nothing more can be done with it.", j.ID, j.State))
	}
	switch r.Action {
	case ActionClaim:
		if err := p.needTranslator(j, r); err != nil {
			return fail(err)
		}
		if j.State != StateOpen {
			return fail(stateError(j, "claimed", "only open jobs can be claimed; pick another with 'loa jobs list --state open'"))
		}
		if p.MaxClaims > 0 && r.Held >= p.MaxClaims {
			return fail(pipeline.Errorf(pipeline.CodeConflict, "You already hold %d jobs, the most one translator may hold at once: submit or release one first.", r.Held))
		}
		next.State, next.TranslatorID, next.Translator = StateClaimed, r.By.ID, r.By.Name
		next.ReviewerID, next.Reviewer = 0, ""
		next.LeaseUntil, next.Extensions, next.Reason = r.Now.Add(p.Lease), 0, ""
	case ActionExtend:
		if err := p.needHolder(j, r, "extended"); err != nil {
			return fail(err)
		}
		if p.MaxExtensions > 0 && j.Extensions >= p.MaxExtensions {
			return fail(pipeline.Errorf(pipeline.CodeConflict, "The lease of job %s was already extended %d times, the most allowed: submit what you have, or release the job.", j.ID, j.Extensions))
		}
		next.LeaseUntil, next.Extensions = r.Now.Add(p.Lease), j.Extensions+1
	case ActionSubmit:
		if err := p.needHolder(j, r, "submitted"); err != nil {
			return fail(err)
		}
		next.State, next.LeaseUntil, next.Submissions = StateSubmitted, time.Time{}, j.Submissions+1
	case ActionRelease:
		switch {
		case j.State.leased() && j.TranslatorID == r.By.ID && !r.system():
			next.State, next.TranslatorID, next.Translator, next.LeaseUntil, next.Extensions = StateOpen, 0, "", time.Time{}, 0
		case j.State == StateInReview && j.ReviewerID == r.By.ID && !r.system():
			next.State, next.ReviewerID, next.Reviewer = StateSubmitted, 0, ""
		default:
			return fail(pipeline.Errorf(pipeline.CodeConflict, "You do not hold job %s (it is %s), so you cannot release it.", j.ID, j.State))
		}
	case ActionStartReview:
		if err := p.needReviewer(j, r); err != nil {
			return fail(err)
		}
		if j.State != StateSubmitted {
			return fail(stateError(j, "taken into review", "only submitted jobs can be reviewed"))
		}
		next.State, next.ReviewerID, next.Reviewer = StateInReview, r.By.ID, r.By.Name
	case ActionApprove, ActionRequestChanges:
		if j.State != StateInReview {
			return fail(stateError(j, "reviewed", "take a submitted job into review first ('loa jobs review ID')"))
		}
		if r.system() || j.ReviewerID != r.By.ID {
			return fail(pipeline.Errorf(pipeline.CodeForbidden, "Job %s is in review by %s, not by you.", j.ID, nameOr(j.Reviewer, "another reviewer")))
		}
		if r.Action == ActionApprove {
			next.State = StateApproved
			break
		}
		if reason == "" {
			return fail(pipeline.FieldError("reason", "Say what must change: a request for changes needs a reason the translator can act on."))
		}
		next.State, next.LeaseUntil, next.Extensions, next.Reason = StateChangesRequested, r.Now.Add(p.Lease), 0, reason
	case ActionCancel:
		if !r.system() && r.By.Role != pipeline.RoleAdmin {
			return fail(pipeline.Errorf(pipeline.CodeForbidden, "Only an administrator can cancel a job (withdrawing the segment cancels its jobs)."))
		}
		if reason == "" {
			return fail(pipeline.FieldError("reason", "Say why the job is cancelled."))
		}
		next.State, next.LeaseUntil, next.Reason = StateCancelled, time.Time{}, reason
	case ActionExpire:
		if !r.system() {
			return fail(pipeline.Errorf(pipeline.CodeForbidden, "Leases run out by themselves; release the job instead."))
		}
		if !j.State.leased() || j.LeaseUntil.After(r.Now) {
			return fail(pipeline.Errorf(pipeline.CodeConflict, "The lease of job %s has not run out.", j.ID))
		}
		next.State, next.TranslatorID, next.Translator, next.LeaseUntil, next.Extensions = StateOpen, 0, "", time.Time{}, 0
		if ev.Reason == "" {
			ev = ev.WithNote(&Note{NoteLeaseRanOut, []NoteArg{timeArg(j.LeaseUntil)}})
		}
	case ActionFlagOverdue:
		if !r.system() {
			return fail(pipeline.Errorf(pipeline.CodeForbidden, "Only the sweep flags jobs overdue."))
		}
		if j.Overdue || j.Deadline.After(r.Now) {
			return fail(pipeline.Errorf(pipeline.CodeConflict, "Job %s is not newly overdue.", j.ID))
		}
		next.Overdue = true
		if ev.Reason == "" {
			ev = ev.WithNote(&Note{NoteDeadlinePassed, []NoteArg{timeArg(j.Deadline)}})
		}
	default:
		return fail(pipeline.Errorf(pipeline.CodeInvalid, "Unknown action %q.", r.Action))
	}
	ev.To = next.State
	return next, ev, nil
}

func (p Policy) needTranslator(j Job, r Request) error {
	if r.system() || r.By.Role != pipeline.RoleTranslator {
		return pipeline.Errorf(pipeline.CodeForbidden, "Only translators claim jobs; your role is %s.", nameOr(string(r.By.Role), "none"))
	}
	if !slices.Contains(r.By.Languages, j.Language) {
		return pipeline.Errorf(pipeline.CodeForbidden, "Job %s is in %s, which is not one of your languages (%s).", j.ID, LanguageName(j.Language), strings.Join(r.By.Languages, ", "))
	}
	return nil
}

func (p Policy) needHolder(j Job, r Request, done string) error {
	if done == "submitted" && (j.State == StateSubmitted || j.State == StateInReview) && !r.system() && j.TranslatorID == r.By.ID {
		// A second tab or the back button: the translation is already
		// handed in. Say so, and what comes next, not that it is not held.
		return pipeline.Errorf(pipeline.CodeConflict, "Job %s was already submitted and is waiting for review, so a new file cannot be submitted now: wait for the reviewer's decision; if the reviewer sends it back for changes, submit the new version then.", j.ID).
			WithKey("job_already_submitted")
	}
	if !j.State.leased() {
		return stateError(j, done, "only a job you hold (claimed, or sent back for changes) can be "+done)
	}
	if r.system() || j.TranslatorID != r.By.ID {
		return pipeline.Errorf(pipeline.CodeForbidden, "Job %s is held by %s, not by you.", j.ID, nameOr(j.Translator, "another translator"))
	}
	if !j.LeaseUntil.After(r.Now) {
		return pipeline.Errorf(pipeline.CodeConflict, "Your lease on job %s ran out at %s: claim it again if it is still open.", j.ID, j.LeaseUntil.UTC().Format(time.RFC3339))
	}
	return nil
}

func (p Policy) needReviewer(j Job, r Request) error {
	if r.system() || r.By.Role != pipeline.RoleReviewer {
		return pipeline.Errorf(pipeline.CodeForbidden, "Only reviewers review jobs; your role is %s.", nameOr(string(r.By.Role), "none"))
	}
	if !slices.Contains(r.By.Languages, j.Language) {
		return pipeline.Errorf(pipeline.CodeForbidden, "Job %s is in %s, which is not one of your languages (%s).", j.ID, LanguageName(j.Language), strings.Join(r.By.Languages, ", "))
	}
	if j.TranslatorID == r.By.ID {
		return pipeline.Errorf(pipeline.CodeForbidden, "You translated job %s, so someone else must review it.", j.ID)
	}
	return nil
}

func stateError(j Job, what, hint string) error {
	return pipeline.Errorf(pipeline.CodeConflict, "Job %s is %s, so it cannot be %s: %s.", j.ID, j.State, what, hint)
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// LanguageName is the name of a language code in messages.
func LanguageName(code string) string {
	switch code {
	case pipeline.LangThai:
		return "Thái (blt)"
	case pipeline.LangHmong:
		return "Mông (hnj)"
	case pipeline.LangVietnamese:
		return "Vietnamese (vi)"
	}
	return fmt.Sprintf("%q", code)
}

// Due reports whether j should be flagged overdue at now.
func (j Job) Due(now time.Time) bool {
	return !j.State.Terminal() && !j.Overdue && !j.Deadline.After(now)
}

// Expired reports whether j's lease has run out at now.
func (j Job) Expired(now time.Time) bool {
	return j.State.leased() && !j.LeaseUntil.After(now)
}
