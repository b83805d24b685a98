package translation

import (
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

var (
	t0        = time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	policy    = Policy{Lease: 2 * time.Hour, MaxExtensions: 2, MaxClaims: 2}
	thai      = pipeline.User{ID: 10, Name: "lo-van-a", Role: pipeline.RoleTranslator, Languages: []string{"blt"}}
	thai2     = pipeline.User{ID: 11, Name: "cam-thi-b", Role: pipeline.RoleTranslator, Languages: []string{"blt"}}
	mong      = pipeline.User{ID: 12, Name: "giang-a-c", Role: pipeline.RoleTranslator, Languages: []string{"hnj"}}
	reviewer  = pipeline.User{ID: 20, Name: "duyet", Role: pipeline.RoleReviewer, Languages: []string{"blt", "hnj"}}
	reviewer2 = pipeline.User{ID: 21, Name: "duyet-2", Role: pipeline.RoleReviewer, Languages: []string{"blt"}}
	mongRev   = pipeline.User{ID: 22, Name: "duyet-mong", Role: pipeline.RoleReviewer, Languages: []string{"hnj"}}
	admin     = pipeline.User{ID: 1, Name: "admin", Role: pipeline.RoleAdmin}
	producer  = pipeline.User{ID: 2, Name: "dai", Role: pipeline.RoleProducer}
	system    = pipeline.User{}
)

// job returns a Thái job in state s as it would be there: held by thai
// when leased, reviewed by reviewer when in review.
func job(s State) Job {
	j := Job{ID: "j1", SegmentID: "s1", Language: "blt", Kind: KindSubtitle, State: s, Deadline: t0.Add(72 * time.Hour), CreatedAt: t0}
	switch s {
	case StateClaimed, StateChangesRequested:
		j.TranslatorID, j.Translator, j.LeaseUntil = thai.ID, thai.Name, t0.Add(time.Hour)
	case StateSubmitted, StateApproved:
		j.TranslatorID, j.Translator = thai.ID, thai.Name
	case StateInReview:
		j.TranslatorID, j.Translator, j.ReviewerID, j.Reviewer = thai.ID, thai.Name, reviewer.ID, reviewer.Name
	}
	return j
}

func TestApplyAllowed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		from   Job
		req    Request
		to     State
		verify func(t *testing.T, j Job)
	}{
		{"claim open", job(StateOpen), Request{Action: ActionClaim, By: thai, Held: 1}, StateClaimed, func(t *testing.T, j Job) {
			if j.TranslatorID != thai.ID || !j.LeaseUntil.Equal(t0.Add(2*time.Hour)) {
				t.Fatalf("holder %d lease %s", j.TranslatorID, j.LeaseUntil)
			}
		}},
		{"claim with no cap", job(StateOpen), Request{Action: ActionClaim, By: thai, Held: 99}, StateClaimed, nil},
		{"extend claimed", job(StateClaimed), Request{Action: ActionExtend, By: thai}, StateClaimed, func(t *testing.T, j Job) {
			if j.Extensions != 1 || !j.LeaseUntil.Equal(t0.Add(2*time.Hour)) {
				t.Fatalf("extensions %d lease %s", j.Extensions, j.LeaseUntil)
			}
		}},
		{"extend changes requested", job(StateChangesRequested), Request{Action: ActionExtend, By: thai}, StateChangesRequested, nil},
		{"release claimed", job(StateClaimed), Request{Action: ActionRelease, By: thai}, StateOpen, func(t *testing.T, j Job) {
			if j.TranslatorID != 0 || !j.LeaseUntil.IsZero() {
				t.Fatalf("still held: %+v", j)
			}
		}},
		{"reviewer releases review", job(StateInReview), Request{Action: ActionRelease, By: reviewer}, StateSubmitted, func(t *testing.T, j Job) {
			if j.ReviewerID != 0 || j.TranslatorID != thai.ID {
				t.Fatalf("after release: %+v", j)
			}
		}},
		{"submit claimed", job(StateClaimed), Request{Action: ActionSubmit, By: thai}, StateSubmitted, func(t *testing.T, j Job) {
			if j.Submissions != 1 || !j.LeaseUntil.IsZero() || j.TranslatorID != thai.ID {
				t.Fatalf("after submit: %+v", j)
			}
		}},
		{"resubmit after changes", job(StateChangesRequested), Request{Action: ActionSubmit, By: thai}, StateSubmitted, nil},
		{"start review", job(StateSubmitted), Request{Action: ActionStartReview, By: reviewer}, StateInReview, func(t *testing.T, j Job) {
			if j.ReviewerID != reviewer.ID {
				t.Fatalf("reviewer %d", j.ReviewerID)
			}
		}},
		{"approve", job(StateInReview), Request{Action: ActionApprove, By: reviewer}, StateApproved, nil},
		{"request changes", job(StateInReview), Request{Action: ActionRequestChanges, By: reviewer, Reason: "  dòng 3 sai thuật ngữ  "}, StateChangesRequested, func(t *testing.T, j Job) {
			if j.TranslatorID != thai.ID || j.Reason != "dòng 3 sai thuật ngữ" || !j.LeaseUntil.Equal(t0.Add(2*time.Hour)) {
				t.Fatalf("back to the same translator with a lease: %+v", j)
			}
		}},
		{"system cancels open", job(StateOpen), Request{Action: ActionCancel, By: system, Reason: "segment withdrawn"}, StateCancelled, nil},
		{"admin cancels in review", job(StateInReview), Request{Action: ActionCancel, By: admin, Reason: "trùng"}, StateCancelled, nil},
		{"expire claimed", job(StateClaimed), Request{Action: ActionExpire, By: system, Now: t0.Add(time.Hour)}, StateOpen, func(t *testing.T, j Job) {
			if j.TranslatorID != 0 || !j.LeaseUntil.IsZero() {
				t.Fatalf("still held: %+v", j)
			}
		}},
		{"expire changes requested", job(StateChangesRequested), Request{Action: ActionExpire, By: system, Now: t0.Add(2 * time.Hour)}, StateOpen, nil},
		{"flag overdue", job(StateSubmitted), Request{Action: ActionFlagOverdue, By: system, Now: t0.Add(72 * time.Hour)}, StateSubmitted, func(t *testing.T, j Job) {
			if !j.Overdue {
				t.Fatal("not flagged")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.req.Now.IsZero() {
				c.req.Now = t0
			}
			p := policy
			if c.name == "claim with no cap" {
				p.MaxClaims = 0
			}
			got, ev, err := p.Apply(c.from, c.req)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.State != c.to || ev.From != c.from.State || ev.To != c.to || ev.Action != c.req.Action || ev.ActorID != c.req.By.ID || !ev.At.Equal(c.req.Now) {
				t.Fatalf("got state %s, event %+v; want %s", got.State, ev, c.to)
			}
			if c.req.Action == ActionExpire || c.req.Action == ActionFlagOverdue {
				if ev.Reason == "" {
					t.Fatal("system event without a reason")
				}
			}
			if c.verify != nil {
				c.verify(t, got)
			}
		})
	}
}

func TestApplyRefused(t *testing.T) {
	t.Parallel()
	expired := job(StateClaimed)
	expired.LeaseUntil = t0
	extended := job(StateClaimed)
	extended.Extensions = 2
	overdue := job(StateSubmitted)
	overdue.Overdue = true
	mongJob := job(StateOpen)
	mongJob.Language = "hnj"
	selfReview := job(StateSubmitted)
	selfReview.TranslatorID = reviewer.ID
	cases := []struct {
		name string
		from Job
		req  Request
		code pipeline.Code
		msg  string
	}{
		{"claim claimed", job(StateClaimed), Request{Action: ActionClaim, By: thai2}, pipeline.CodeConflict, "only open jobs"},
		{"claim another language", mongJob, Request{Action: ActionClaim, By: thai}, pipeline.CodeForbidden, "not one of your languages"},
		{"reviewer claims", job(StateOpen), Request{Action: ActionClaim, By: reviewer}, pipeline.CodeForbidden, "Only translators"},
		{"admin claims", job(StateOpen), Request{Action: ActionClaim, By: admin}, pipeline.CodeForbidden, "Only translators"},
		{"system claims", job(StateOpen), Request{Action: ActionClaim, By: system}, pipeline.CodeForbidden, "Only translators"},
		{"over the claim cap", job(StateOpen), Request{Action: ActionClaim, By: thai, Held: 2}, pipeline.CodeConflict, "already hold 2"},
		{"extend open", job(StateOpen), Request{Action: ActionExtend, By: thai}, pipeline.CodeConflict, "cannot be extended"},
		{"extend someone else's", job(StateClaimed), Request{Action: ActionExtend, By: thai2}, pipeline.CodeForbidden, "held by lo-van-a"},
		{"extend expired", expired, Request{Action: ActionExtend, By: thai}, pipeline.CodeConflict, "ran out"},
		{"extend too often", extended, Request{Action: ActionExtend, By: thai}, pipeline.CodeConflict, "already extended 2 times"},
		{"submit open", job(StateOpen), Request{Action: ActionSubmit, By: thai}, pipeline.CodeConflict, "cannot be submitted"},
		{"submit someone else's", job(StateClaimed), Request{Action: ActionSubmit, By: thai2}, pipeline.CodeForbidden, "not by you"},
		{"submit expired", expired, Request{Action: ActionSubmit, By: thai}, pipeline.CodeConflict, "ran out"},
		{"submit twice", job(StateSubmitted), Request{Action: ActionSubmit, By: thai}, pipeline.CodeConflict, "cannot be submitted"},
		{"release open", job(StateOpen), Request{Action: ActionRelease, By: thai}, pipeline.CodeConflict, "do not hold"},
		{"release someone else's", job(StateClaimed), Request{Action: ActionRelease, By: thai2}, pipeline.CodeConflict, "do not hold"},
		{"release someone else's review", job(StateInReview), Request{Action: ActionRelease, By: reviewer2}, pipeline.CodeConflict, "do not hold"},
		{"review claimed", job(StateClaimed), Request{Action: ActionStartReview, By: reviewer}, pipeline.CodeConflict, "only submitted jobs"},
		{"review in review", job(StateInReview), Request{Action: ActionStartReview, By: reviewer2}, pipeline.CodeConflict, "only submitted jobs"},
		{"translator reviews", job(StateSubmitted), Request{Action: ActionStartReview, By: thai2}, pipeline.CodeForbidden, "Only reviewers"},
		{"reviewer of another language", job(StateSubmitted), Request{Action: ActionStartReview, By: mongRev}, pipeline.CodeForbidden, "not one of your languages"},
		{"review own work", selfReview, Request{Action: ActionStartReview, By: reviewer}, pipeline.CodeForbidden, "someone else must review"},
		{"approve submitted", job(StateSubmitted), Request{Action: ActionApprove, By: reviewer}, pipeline.CodeConflict, "review first"},
		{"approve someone else's review", job(StateInReview), Request{Action: ActionApprove, By: reviewer2}, pipeline.CodeForbidden, "in review by duyet"},
		{"translator approves", job(StateInReview), Request{Action: ActionApprove, By: thai}, pipeline.CodeForbidden, "not by you"},
		{"request changes without reason", job(StateInReview), Request{Action: ActionRequestChanges, By: reviewer, Reason: "  "}, pipeline.CodeInvalid, "needs a reason"},
		{"request changes on claimed", job(StateClaimed), Request{Action: ActionRequestChanges, By: reviewer, Reason: "x"}, pipeline.CodeConflict, "cannot be reviewed"},
		{"approve approved", job(StateApproved), Request{Action: ActionApprove, By: reviewer}, pipeline.CodeConflict, "nothing more"},
		{"claim cancelled", job(StateCancelled), Request{Action: ActionClaim, By: thai}, pipeline.CodeConflict, "nothing more"},
		{"cancel approved", job(StateApproved), Request{Action: ActionCancel, By: system, Reason: "x"}, pipeline.CodeConflict, "nothing more"},
		{"producer cancels", job(StateOpen), Request{Action: ActionCancel, By: producer, Reason: "x"}, pipeline.CodeForbidden, "administrator"},
		{"translator cancels", job(StateClaimed), Request{Action: ActionCancel, By: thai, Reason: "x"}, pipeline.CodeForbidden, "administrator"},
		{"cancel without reason", job(StateOpen), Request{Action: ActionCancel, By: admin}, pipeline.CodeInvalid, "why"},
		{"expire live lease", job(StateClaimed), Request{Action: ActionExpire, By: system}, pipeline.CodeConflict, "not run out"},
		{"expire open", job(StateOpen), Request{Action: ActionExpire, By: system}, pipeline.CodeConflict, "not run out"},
		{"expire in review", job(StateInReview), Request{Action: ActionExpire, By: system, Now: t0.Add(1000 * time.Hour)}, pipeline.CodeConflict, "not run out"},
		{"translator expires", expired, Request{Action: ActionExpire, By: thai}, pipeline.CodeForbidden, "run out by themselves"},
		{"flag before deadline", job(StateSubmitted), Request{Action: ActionFlagOverdue, By: system}, pipeline.CodeConflict, "not newly overdue"},
		{"flag twice", overdue, Request{Action: ActionFlagOverdue, By: system, Now: t0.Add(100 * time.Hour)}, pipeline.CodeConflict, "not newly overdue"},
		{"flag by a person", job(StateSubmitted), Request{Action: ActionFlagOverdue, By: admin, Now: t0.Add(100 * time.Hour)}, pipeline.CodeForbidden, "sweep"},
		{"unknown action", job(StateOpen), Request{Action: "dance", By: thai}, pipeline.CodeInvalid, "Unknown action"},
		{"reason with a right-to-left override", job(StateInReview), Request{Action: ActionRequestChanges, By: reviewer, Reason: "Sửa dòng 3\n\u202eđảo"}, pipeline.CodeInvalid,
			"The reason has an invisible or control character, U+202E RIGHT-TO-LEFT OVERRIDE, at character 12"},
		{"reason with a zero-width space", job(StateOpen), Request{Action: ActionCancel, By: admin, Reason: "rút\u200b"}, pipeline.CodeInvalid, "U+200B ZERO WIDTH SPACE"},
		{"reason too long", job(StateInReview), Request{Action: ActionRequestChanges, By: reviewer, Reason: strings.Repeat("x", MaxReasonLen+1)}, pipeline.CodeInvalid, "longer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.req.Now.IsZero() {
				c.req.Now = t0
			}
			got, ev, err := policy.Apply(c.from, c.req)
			if err == nil {
				t.Fatalf("allowed: %+v %+v", got, ev)
			}
			if pipeline.ErrorCode(err) != c.code || !strings.Contains(pipeline.ErrorMessage(err), c.msg) {
				t.Fatalf("got %s %q, want %s mentioning %q", pipeline.ErrorCode(err), pipeline.ErrorMessage(err), c.code, c.msg)
			}
			if got.State != c.from.State || got.TranslatorID != c.from.TranslatorID {
				t.Fatalf("a refused request changed the job: %+v", got)
			}
		})
	}
}

// TestEveryStateAction walks every (state, action) pair with the person
// best placed to do it and checks the outcome against the table of
// allowed transitions: nothing outside it is ever allowed.
func TestEveryStateAction(t *testing.T) {
	t.Parallel()
	allowed := map[State]map[Action]State{
		StateOpen:             {ActionClaim: StateClaimed, ActionCancel: StateCancelled},
		StateClaimed:          {ActionExtend: StateClaimed, ActionRelease: StateOpen, ActionSubmit: StateSubmitted, ActionCancel: StateCancelled, ActionExpire: StateOpen},
		StateSubmitted:        {ActionStartReview: StateInReview, ActionCancel: StateCancelled},
		StateInReview:         {ActionApprove: StateApproved, ActionRequestChanges: StateChangesRequested, ActionRelease: StateSubmitted, ActionCancel: StateCancelled},
		StateChangesRequested: {ActionExtend: StateChangesRequested, ActionRelease: StateOpen, ActionSubmit: StateSubmitted, ActionCancel: StateCancelled, ActionExpire: StateOpen},
		StateApproved:         {},
		StateCancelled:        {},
	}
	actions := []Action{ActionClaim, ActionExtend, ActionRelease, ActionSubmit, ActionStartReview, ActionApprove, ActionRequestChanges, ActionCancel, ActionExpire}
	best := map[Action]pipeline.User{
		ActionClaim: thai, ActionExtend: thai, ActionSubmit: thai, ActionStartReview: reviewer2, ActionApprove: reviewer,
		ActionRequestChanges: reviewer, ActionCancel: system, ActionExpire: system,
	}
	for _, s := range States {
		for _, a := range actions {
			by := best[a]
			if a == ActionRelease {
				by = thai
				if s == StateInReview {
					by = reviewer
				}
			}
			now := t0
			if a == ActionExpire {
				now = t0.Add(time.Hour)
			}
			got, _, err := policy.Apply(job(s), Request{Action: a, By: by, Reason: "lý do", Now: now})
			want, ok := allowed[s][a]
			switch {
			case ok && err != nil:
				t.Errorf("%s --%s--> refused: %v", s, a, err)
			case ok && got.State != want:
				t.Errorf("%s --%s--> %s, want %s", s, a, got.State, want)
			case !ok && err == nil:
				t.Errorf("%s --%s--> %s allowed, want refused", s, a, got.State)
			}
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	radio := pipeline.Segment{ID: "r", Kind: pipeline.KindRadio, Priority: pipeline.PriorityNormal, Languages: []string{"vi", "blt", "hnj"}}
	tv := pipeline.Segment{ID: "t", Kind: pipeline.KindTV, Priority: pipeline.PriorityEmergency, Languages: []string{"vi", "hnj"}, SubtitleKey: "segments/t/subtitles/vi-source"}
	tvNoSubs := pipeline.Segment{ID: "n", Kind: pipeline.KindTV, Priority: pipeline.PriorityPriority, Languages: []string{"blt"}}
	o := DefaultOpenOptions()
	count := func(js []Job) map[string]int {
		m := map[string]int{}
		for _, j := range js {
			m[j.Language+"/"+string(j.Kind)]++
			if j.State != StateOpen || j.ID == "" {
				t.Errorf("job %+v", j)
			}
		}
		return m
	}
	if got := count(Plan(radio, o, t0)); len(got) != 2 || got["blt/voiceover"] != 1 || got["hnj/voiceover"] != 1 {
		t.Errorf("radio: %v", got)
	}
	tvJobs := Plan(tv, o, t0)
	if got := count(tvJobs); len(got) != 2 || got["hnj/subtitle"] != 1 || got["hnj/voiceover"] != 1 {
		t.Errorf("tv: %v", got)
	}
	if !tvJobs[0].Deadline.Equal(t0.Add(4 * time.Hour)) {
		t.Errorf("emergency deadline %s", tvJobs[0].Deadline)
	}
	noSubs := Plan(tvNoSubs, o, t0)
	if got := count(noSubs); len(got) != 1 || got["blt/voiceover"] != 1 || !noSubs[0].Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("tv without subtitles: %v %v", got, noSubs)
	}
	if got := Plan(radio, OpenOptions{Languages: []string{"hnj"}, Deadline: time.Hour}, t0); len(got) != 1 || !got[0].Deadline.Equal(t0.Add(time.Hour)) {
		t.Errorf("configured languages and deadline: %+v", got)
	}
	if got := Plan(pipeline.Segment{Languages: []string{"vi"}}, o, t0); len(got) != 0 {
		t.Errorf("Vietnamese only: %+v", got)
	}
}
