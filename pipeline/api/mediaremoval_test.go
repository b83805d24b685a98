package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/worker"
)

// TestMediaRemovalPending: a withdrawn segment whose objects the move job
// has not moved yet (the store refusing writes, the worker behind) says
// so in its answer, since the withdrawal; once they are moved it no
// longer does. A segment on air never says so.
func TestMediaRemovalPending(t *testing.T) {
	sb := setupSchedules(t)
	producer := sb.tokens[pipeline.RoleProducer]
	id := sb.segs[0]
	segment := func() api.SegmentView {
		t.Helper()
		r, body := sb.get(t, "/api/segments/"+id, producer)
		var v api.SegmentView
		if r.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("segment: %d %s", r.StatusCode, body)
		}
		return v
	}
	v := segment()
	if v.MediaRemoval != nil {
		t.Fatalf("a segment on air: media removal %+v", v.MediaRemoval)
	}
	// The set-up stores only the loudspeaker audio; the original too.
	if _, err := sb.store.Put(context.Background(), v.OriginalKey, strings.NewReader("x"), 1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	if r, body := sb.do(t, "DELETE", "/api/segments/"+id+"?confirm="+id+"&reason=sai", producer, nil, ""); r.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", r.StatusCode, body)
	}
	v = segment()
	if v.MediaRemoval == nil || v.MediaRemoval.Objects < 2 || v.WithdrawnAt == nil || !v.MediaRemoval.Since.Equal(*v.WithdrawnAt) {
		t.Fatalf("withdrawn, nothing moved yet: media removal %+v (withdrawn at %v), want pending since the withdrawal", v.MediaRemoval, v.WithdrawnAt)
	}
	wd := &worker.Withdrawal{Catalog: sb.db, Objects: sb.store.(worker.WithdrawnObjects)}
	if moved, _, err := wd.Move(context.Background(), id); err != nil || moved == 0 {
		t.Fatalf("move: %d %v", moved, err)
	}
	if v := segment(); v.MediaRemoval != nil {
		t.Fatalf("after the move: media removal %+v, want none", v.MediaRemoval)
	}
}
