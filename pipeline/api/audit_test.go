package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestAuditNamesActors: a user and a token an admin makes through the API,
// and the jobs a producer's withdrawal cancels, are in the audit log with
// who did them; the job's events name the producer too.
func TestAuditNamesActors(t *testing.T) {
	b, _, seg := jobsSetup(t)
	admin, producer := b.users[pipeline.RoleAdmin], b.users[pipeline.RoleProducer]
	before := b.db.Now()
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users", `{"name":"new-translator","role":"translator","password":"mat-khau-dai-du","languages":["blt"]}`, "application/json", 201, nil)
	b.call(t, pipeline.RoleAdmin, "POST", "/api/users/new-translator/tokens?label=laptop", "", "", 201, nil)
	var list []translation.Job
	b.call(t, pipeline.RoleAdmin, "GET", "/api/jobs", "", "", 200, &list)
	job := jobOf(t, list, seg.ID, translation.KindVoiceover)
	b.call(t, pipeline.RoleProducer, "DELETE", "/api/segments/"+seg.ID+"?confirm="+seg.ID+"&reason=sai+so+lieu", "", "", 200, nil)

	// The actions fall in the month of before or of now (the test may run
	// across a month's end): read both.
	var entries []pipeline.AuditEntry
	seen := map[string]bool{}
	for _, at := range []pipeline.User{{CreatedAt: before}, {CreatedAt: b.db.Now()}} {
		p := report.PeriodOf(report.Month, at.CreatedAt).Name
		if seen[p] {
			continue
		}
		seen[p] = true
		var got []pipeline.AuditEntry
		b.call(t, pipeline.RoleAdmin, "GET", "/api/audit?period="+p, "", "", 200, &got)
		entries = append(entries, got...)
	}
	tests := []struct {
		action, subject, actor string
	}{
		{"user.create", "new-translator", admin.Name},
		{"token.create", "new-translator", admin.Name},
		{"segment.withdraw", seg.ID, producer.Name},
		{"job.cancel", job.ID, producer.Name},
	}
	for _, tc := range tests {
		found := false
		for _, e := range entries {
			if e.Action == tc.action && e.Subject == tc.subject {
				found = true
				if e.Actor != tc.actor {
					t.Errorf("%s %s: actor %q, want %q", tc.action, tc.subject, e.Actor, tc.actor)
				}
			}
		}
		if !found {
			t.Errorf("no %s of %s in the audit log: %+v", tc.action, tc.subject, entries)
		}
	}
	var d translation.Detail
	b.call(t, pipeline.RoleAdmin, "GET", "/api/jobs/"+job.ID, "", "", 200, &d)
	if last := d.Events[len(d.Events)-1]; last.Action != translation.ActionCancel || last.ActorID != producer.ID || d.Job.State != translation.StateCancelled {
		t.Fatalf("job after withdrawal: %+v, last event %+v", d.Job, last)
	}
}

// TestDeviceAddNamesActor: devices added through the API (loa device
// add) are in the audit log, their accounts and their tokens, with the
// calling admin as the actor (it was empty).
func TestDeviceAddNamesActor(t *testing.T) {
	sb := setupSchedules(t)
	before := sb.db.Now().Add(-time.Minute)
	made := map[string]string{} // device account → who made it
	for _, commune := range []string{"muong-lan", "to-hieu"} {
		role := pipeline.RoleAdmin
		resp, body := sb.do(t, "POST", "/api/communes/"+commune+"/devices?label=loa", sb.tokens[role], nil, "")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s adds a device: %d %s", role, resp.StatusCode, body)
		}
		var dev api.DeviceResponse
		if err := json.Unmarshal(body, &dev); err != nil {
			t.Fatal(err)
		}
		made[dev.User.Name] = sb.users[role].Name
	}
	entries, err := sb.db.Audit(context.Background(), before, sb.db.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for name, actor := range made {
		for _, action := range []string{"user.create", "token.create"} {
			found := false
			for _, e := range entries {
				if e.Action == action && e.Subject == name {
					found = true
					if e.Actor != actor {
						t.Errorf("%s %s: actor %q, want %q", action, name, e.Actor, actor)
					}
				}
			}
			if !found {
				t.Errorf("no %s of %s in the audit log", action, name)
			}
		}
	}
}
