package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestRerenderFailedRender: an approved translation whose render failed
// (a render_failed event, as the worker records it) can be rendered
// again by a reviewer of its language or an admin through POST
// /api/jobs/{id}/rerender, which queues the same rendition an approval
// queues (the approved submission, the approver recorded), records a
// rerender event and clears the failure's reason; the route table's
// roles hold (translators and producers 403), and a render that has not
// failed, or was asked for again already, is a 409 with nothing queued.
func TestRerenderFailedRender(t *testing.T) {
	ctx := context.Background()
	b, rec, seg := jobsSetup(t)
	tr, rv, ad := pipeline.RoleTranslator, pipeline.RoleReviewer, pipeline.RoleAdmin
	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs?state=open", "", "", 200, &list)
	job := jobOf(t, list, seg.ID, translation.KindSubtitle)
	path := "/api/jobs/" + job.ID
	good := "1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ\n\n2\n00:00:03,700 --> 00:00:07,000\nꪶꪎꪙ ꪹꪕꪉ\n"
	b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)
	var res translation.SubmitResult
	b.call(t, tr, "POST", path+"/submit?name=blt.srt", good, "application/x-subrip", 200, &res)
	b.call(t, rv, "POST", path+"/review", "", "", 200, nil)
	b.call(t, rv, "POST", path+"/approve", "", "", 200, nil)
	if n := len(rec.queued()); n != 1 {
		t.Fatalf("approval queued %d renditions, want 1", n)
	}

	// Rendered fine (nothing recorded against it): nothing to redo.
	if msg := b.call(t, rv, "POST", path+"/rerender", "", "", 409, nil); !strings.Contains(msg, "has not failed") {
		t.Errorf("a render that has not failed: %s", msg)
	}
	if err := b.db.RecordTranslationFailed(ctx, seg.ID, job.ID, pipeline.RenditionFailure{Language: "blt", What: "subtitles", Reason: "no Tai Viet font in the fonts folder"}); err != nil {
		t.Fatal(err)
	}
	b.call(t, tr, "POST", path+"/rerender", "", "", 403, nil)
	b.call(t, pipeline.RoleProducer, "POST", path+"/rerender", "", "", 403, nil)
	if n := len(rec.queued()); n != 1 {
		t.Fatalf("refused rerenders queued %d renditions, want still 1", n)
	}

	var got translation.Job
	b.call(t, rv, "POST", path+"/rerender", "", "", 200, &got)
	q := rec.queued()
	if len(q) != 2 {
		t.Fatalf("rerender queued %d renditions in all, want 2", len(q))
	}
	if a := q[1]; a.job.ID != job.ID || a.sub.Key != res.Submission.Key || a.approvedBy != b.users[rv].ID || a.job.Kind != translation.KindSubtitle {
		t.Errorf("rerender queued %#v, want the approved submission %s approved by the reviewer", a, res.Submission.Key)
	}
	if got.State != translation.StateApproved || got.Reason != "" {
		t.Errorf("job after rerender: %s, reason %q; want approved with the failure's reason cleared", got.State, got.Reason)
	}
	var det api.JobDetailView
	b.call(t, rv, "GET", path, "", "", 200, &det)
	if last := det.Events[len(det.Events)-1]; last.Action != translation.ActionRerender || last.Actor != b.users[rv].Name {
		t.Errorf("last event %+v, want rerender by the reviewer", last)
	}
	if translation.RenderFailed(det.Events) {
		t.Errorf("the job still reads as render failed after the rerender")
	}
	b.call(t, rv, "POST", path+"/rerender", "", "", 409, nil) // asked again already

	// It fails again: an admin may ask once more.
	if err := b.db.RecordTranslationFailed(ctx, seg.ID, job.ID, pipeline.RenditionFailure{Language: "blt", What: "subtitles", Reason: "still no font"}); err != nil {
		t.Fatal(err)
	}
	b.call(t, ad, "POST", path+"/rerender", "", "", 200, nil)
	if n := len(rec.queued()); n != 3 {
		t.Fatalf("the admin's rerender: %d queued in all, want 3", n)
	}

	// A job not approved cannot be rendered.
	other := jobOf(t, list, seg.ID, translation.KindVoiceover)
	b.call(t, ad, "POST", "/api/jobs/"+other.ID+"/rerender", "", "", 409, nil)

	// Nor can one of a withdrawn segment, even after a failure.
	if err := b.db.RecordTranslationFailed(ctx, seg.ID, job.ID, pipeline.RenditionFailure{Language: "blt", What: "subtitles", Reason: "no font again"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.WithdrawSegment(ctx, seg.ID, b.users[ad].ID, "sai thông tin"); err != nil {
		t.Fatal(err)
	}
	if msg := b.call(t, ad, "POST", path+"/rerender", "", "", 409, nil); !strings.Contains(msg, "withdrawn") {
		t.Errorf("rerender of a withdrawn segment's job: %s", msg)
	}
	if n := len(rec.queued()); n != 3 {
		t.Fatalf("after the withdrawal: %d queued in all, want still 3", n)
	}
}
