package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// TestWithdrawNeedsConfirm: DELETE /api/segments/{id} withdraws nothing
// unless confirm repeats the segment's id, as every other destructive
// route asks for a confirmation: a bare DELETE, or one confirming
// another id or the title, is refused (422, field confirm) with what to
// send, and the segment stays on air with its schedule. With confirm it
// is withdrawn; a segment of someone else is "not found" before any of
// this, and an already withdrawn one says so.
func TestWithdrawNeedsConfirm(t *testing.T) {
	sb := setupSchedules(t)
	ctx := context.Background()
	producer := sb.tokens[pipeline.RoleProducer]
	id := sb.segs[0]
	seg, err := sb.db.Segment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	head, err := sb.db.CommuneHead(ctx, "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	other, err := sb.db.CreateUser(ctx, pipeline.NewUser{Name: "bao-son-la", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := sb.db.CreateToken(ctx, other.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/segments/" + url.PathEscape(id)
	for _, c := range []struct{ name, query string }{
		{"bare DELETE", ""},
		{"reason only", "?reason=sai"},
		{"empty confirm", "?confirm=&reason=sai"},
		{"another segment's id", "?confirm=" + url.QueryEscape(sb.segs[1]) + "&reason=sai"},
		{"the title", "?confirm=" + url.QueryEscape(seg.Title)},
		{"yes", "?confirm=yes"},
	} {
		resp, body := sb.do(t, "DELETE", path+c.query, producer, nil, "")
		var e wire.ErrorBody
		if resp.StatusCode != http.StatusUnprocessableEntity || json.Unmarshal(body, &e) != nil || e.Error.Field != "confirm" {
			t.Errorf("%s: %d %s, want 422 on field confirm", c.name, resp.StatusCode, body)
			continue
		}
		for _, want := range []string{"Nothing was withdrawn", "confirm=" + id, "--yes"} {
			if !strings.Contains(e.Error.Message, want) {
				t.Errorf("%s: the refusal %q does not say %q", c.name, e.Error.Message, want)
			}
		}
	}
	if r, body := sb.do(t, "DELETE", path+"?confirm="+url.QueryEscape(id), otherTok, nil, ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("another producer's confirmed DELETE: %d %s, want 404", r.StatusCode, body)
	}
	if got, err := sb.db.Segment(ctx, id); err != nil || got.State == pipeline.StateWithdrawn {
		t.Fatalf("after the refusals the segment is %+v %v, want it on air", got.State, err)
	}
	if now, err := sb.db.CommuneHead(ctx, "muong-lan"); err != nil || now.ETag != head.ETag {
		t.Fatalf("after the refusals the schedule moved: %+v %v, was %+v", now, err, head)
	}

	if r, body := sb.do(t, "DELETE", path+"?confirm="+url.QueryEscape(id)+"&reason=sai", producer, nil, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("confirmed DELETE: %d %s", r.StatusCode, body)
	}
	if got, err := sb.db.Segment(ctx, id); err != nil || got.State != pipeline.StateWithdrawn {
		t.Fatalf("after the confirmed DELETE: %+v %v, want withdrawn", got.State, err)
	}
	if r, body := sb.do(t, "DELETE", path, producer, nil, ""); r.StatusCode != http.StatusConflict || !strings.Contains(string(body), "already withdrawn") {
		t.Errorf("DELETE of a withdrawn segment: %d %s, want 409 already withdrawn", r.StatusCode, body)
	}
}
