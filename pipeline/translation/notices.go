package translation

import (
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/notify"
)

func describeJob(j Job) string {
	return fmt.Sprintf("%s %s job %s for %q", LanguageName(j.Language), j.Kind, j.ID, j.Title)
}

// NoticesFor returns the notices a transition gives rise to: a new job
// to the translators of its language, a submission to its reviewers, a
// request for changes, an approval, a lost lease or a cancellation to the
// translator concerned. before is the job as it was, after as it is now.
func NoticesFor(before, after Job, ev Event) []notify.Notice {
	n := notify.Notice{JobID: after.ID, Language: after.Language, CreatedAt: ev.At}
	due := after.Deadline.In(localtime.Location()).Format("2006-01-02 15:04")
	switch ev.Action {
	case ActionOpen:
		n.Kind, n.Role = notify.KindNewJob, string(pipeline.RoleTranslator)
		n.Subject = fmt.Sprintf("New %s job: %s", LanguageName(after.Language), after.Title)
		n.Body = fmt.Sprintf("A new %s is open, due %s (priority %s).\nClaim it with: loa jobs claim %s", describeJob(after), due, after.Priority, after.ID)
	case ActionSubmit:
		n.Kind, n.Role = notify.KindSubmitted, string(pipeline.RoleReviewer)
		n.Subject = fmt.Sprintf("To review: %s", after.Title)
		n.Body = fmt.Sprintf("%s submitted the %s (submission %d), due %s.\nReview it with: loa jobs review %s", nameOr(ev.Actor, "A translator"), describeJob(after), after.Submissions, due, after.ID)
	case ActionRequestChanges:
		n.Kind, n.UserID = notify.KindChangesRequired, after.TranslatorID
		n.Subject = fmt.Sprintf("Changes requested: %s", after.Title)
		n.Body = fmt.Sprintf("%s asks for changes to the %s:\n\n%s\n\nSubmit again by %s with: loa jobs submit %s FILE",
			nameOr(ev.Actor, "The reviewer"), describeJob(after), ev.Reason, after.LeaseUntil.In(localtime.Location()).Format("2006-01-02 15:04"), after.ID)
	case ActionApprove:
		n.Kind, n.UserID = notify.KindApproved, after.TranslatorID
		n.Subject = fmt.Sprintf("Approved: %s", after.Title)
		n.Body = fmt.Sprintf("%s approved your %s. Thank you.", nameOr(ev.Actor, "The reviewer"), describeJob(after))
	case ActionExpire:
		n.Kind, n.UserID = notify.KindLeaseExpired, before.TranslatorID
		n.Subject = fmt.Sprintf("Lease ran out: %s", after.Title)
		n.Body = fmt.Sprintf("Your lease on the %s ran out, so the job is open again for any translator. Claim it again if you are still on it: loa jobs claim %s", describeJob(after), after.ID)
	case ActionCancel:
		if before.TranslatorID == 0 {
			return nil
		}
		n.Kind, n.UserID = notify.KindCancelled, before.TranslatorID
		n.Subject = fmt.Sprintf("Cancelled: %s", after.Title)
		n.Body = fmt.Sprintf("The %s was cancelled: %s. Stop work on it.", describeJob(after), ev.Reason)
	default:
		return nil
	}
	if n.UserID != 0 {
		n.Role, n.Language = "", after.Language
	}
	if n.UserID == 0 && n.Role == "" {
		return nil
	}
	return []notify.Notice{n}
}

// Sweep counts what one sweep of the jobs did.
type Sweep struct {
	Expired int `json:"expired"` // leases that ran out: the jobs are open again
	Overdue int `json:"overdue"` // jobs newly past their deadline
	Warned  int `json:"warned"`  // deadline warnings queued
	// Relaxed counts jobs of emergencies that ran out given back the
	// normal deadline (as ending one early does).
	Relaxed int `json:"relaxed"`
}

// DeadlineWarning is the warning a sweep at now gives job j, found due
// within the warning window warn: its DeadlineNotice, or none (false) for
// a job opened with less time than the window (an emergency), whose
// opening notice gave its deadline already. Either way the job is not
// warned again.
func DeadlineWarning(j Job, now time.Time, warn time.Duration) (notify.Notice, bool) {
	if j.Deadline.Sub(j.CreatedAt) <= warn {
		return notify.Notice{}, false
	}
	return DeadlineNotice(j, now), true
}

// DeadlineNotice warns of a deadline within the warning window: the
// translator holding the job, or the translators of its language when
// nobody holds it.
func DeadlineNotice(j Job, now time.Time) notify.Notice {
	n := notify.Notice{Kind: notify.KindDeadlineSoon, JobID: j.ID, Language: j.Language, CreatedAt: now,
		Subject: fmt.Sprintf("Due %s: %s", j.Deadline.In(localtime.Location()).Format("2006-01-02 15:04"), j.Title)}
	left := j.Deadline.Sub(now).Round(time.Minute)
	switch {
	case j.State.leased():
		n.UserID = j.TranslatorID
		n.Body = fmt.Sprintf("The %s you hold is due in %s. Submit it with: loa jobs submit %s FILE", describeJob(j), left, j.ID)
	case j.State == StateOpen:
		n.Role = string(pipeline.RoleTranslator)
		n.Body = fmt.Sprintf("The %s is still open and due in %s. Claim it with: loa jobs claim %s", describeJob(j), left, j.ID)
	default:
		n.Role = string(pipeline.RoleReviewer)
		n.Body = fmt.Sprintf("The %s is waiting for review and due in %s: loa jobs review %s", describeJob(j), left, j.ID)
	}
	return n
}
