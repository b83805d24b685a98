package broadcast_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// rebuildSpy stands for the worker's queue as the store's RebuildTx: it
// records the rebuilds asked for inside the changes' transactions, and
// runs them (every commune) when the test says the queued job runs.
type rebuildSpy struct {
	mu   sync.Mutex
	segs []string
	fail error
}

func (q *rebuildSpy) RebuildTx(ctx context.Context, tx *sql.Tx, segmentID string) error {
	if tx == nil {
		return errors.New("RebuildTx without the change's transaction")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	q.segs = append(q.segs, segmentID)
	return nil
}

// take returns and forgets the rebuilds asked for so far.
func (q *rebuildSpy) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.segs
	q.segs = nil
	return out
}

// airing maps each commune to how its current version airs segment id
// on any of its days: the item kinds and priorities ("segment/normal",
// "segment/emergency", "interrupt/emergency"), empty when it does not
// name it.
func (f *fixture) airing(t *testing.T, id string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	cs, err := f.db.Communes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, c := range cs {
		head, err := f.db.CommuneHead(ctx, c.Code)
		if err != nil {
			t.Fatal(err)
		}
		items, err := f.db.VersionItems(ctx, head.VersionID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, it := range items {
			if it.SegmentID == id {
				kinds = append(kinds, it.Kind+"/"+it.Priority)
			}
		}
		out[c.Code] = slices.Compact(slices.Sorted(slices.Values(kinds)))
	}
	return out
}

// TestEmergencyFollowUpRebuild: a segment in every commune's rotation is
// raised as an emergency on two communes, then ended. The raise and the
// end rebuild the targets in the request and queue, in their
// transaction, a rebuild of every commune; once it has run no commune
// outside the targets airs it as a normal item while the emergency is
// in force (an emergency with targets airs only there), and after the
// end no commune names it at all, whether the raise's rebuild ran before
// the end or not. Setting its priority again puts it back everywhere
// through the same queued rebuild. A queue that fails rolls the raise
// back: nothing is on air and nothing was rebuilt.
func TestEmergencyFollowUpRebuild(t *testing.T) {
	t.Parallel()
	targets := []string{"ngoc-chien", "to-hieu"}
	for _, c := range []struct {
		name string
		// runBetween runs the raise's queued rebuild before the end.
		runBetween bool
	}{
		{"raise's rebuild runs before the end", true},
		{"raise's rebuild still queued at the end", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			ctx := context.Background()
			q := &rebuildSpy{}
			f.db.RebuildTx = q.RebuildTx
			followUp := func(want ...string) {
				t.Helper()
				if got := q.take(); !slices.Equal(got, want) {
					t.Fatalf("rebuilds queued in the changes' transactions: %v, want %v", got, want)
				}
				if err := (broadcast.Jobs{S: f.svc}).Rebuild(ctx, f.now, nil); err != nil {
					t.Fatal(err)
				}
			}
			all := func(t *testing.T, airs map[string][]string, want []string, who func(code string) bool) {
				t.Helper()
				for code, kinds := range airs {
					if who(code) && !slices.Equal(kinds, want) {
						t.Errorf("%s airs the segment as %v, want %v", code, kinds, want)
					}
				}
			}
			everyone := func(string) bool { return true }
			isTarget := func(code string) bool { return slices.Contains(targets, code) }
			notTarget := func(code string) bool { return !isTarget(code) }

			s2 := broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thủ tục đất đai", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 60_000})
			broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thường", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 90_000})
			if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
				t.Fatal(err)
			}
			airs := f.airing(t, s2)
			if len(airs) != 7 {
				t.Fatalf("communes: %v", airs)
			}
			all(t, airs, []string{"segment/normal"}, everyone)
			if t.Failed() {
				t.FailNow()
			}

			f.now = f.now.Add(2 * time.Hour) // 06:00, after the morning slot
			res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: s2, Communes: []string{"to-hieu", "ngoc-chien"}, Reason: "lũ quét", By: f.producer})
			if err != nil {
				t.Fatal(err)
			}
			// The fast path rebuilds the targets only.
			if got := slices.Sorted(slices.Values(res.Build.Changed)); !slices.Equal(got, targets) {
				t.Fatalf("the raise rebuilt %v in the request, want %v", got, targets)
			}
			all(t, f.airing(t, s2), []string{"interrupt/emergency", "segment/emergency"}, isTarget)
			if c.runBetween {
				followUp(s2)
				airs := f.airing(t, s2)
				all(t, airs, []string{"interrupt/emergency", "segment/emergency"}, isTarget)
				all(t, airs, nil, notTarget)
			}

			f.now = f.now.Add(10 * time.Minute)
			end, err := f.svc.EndEmergency(ctx, s2, "báo động nhầm", f.producer)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(slices.Values(end.Build.Changed)); !slices.Equal(got, targets) {
				t.Fatalf("the end rebuilt %v in the request, want %v", got, targets)
			}
			all(t, f.airing(t, s2), nil, isTarget)
			if c.runBetween {
				followUp(s2)
			} else {
				// The raise and the end each queued one (in production
				// the worker merges them into one job per debounce
				// window); one full rebuild runs.
				followUp(s2, s2)
			}
			// No commune names it any more: not from the end on, and
			// not in today's slots before the end either (an emergency
			// over is out of the catalog, as a segment whose window
			// ended).
			all(t, f.airing(t, s2), nil, everyone)

			// Its producer puts it back on the air: the same queued
			// rebuild takes it to every commune again.
			if _, err := f.db.SetPriority(ctx, s2, f.producer.ID, pipeline.PriorityNormal); err != nil {
				t.Fatal(err)
			}
			followUp(s2)
			all(t, f.airing(t, s2), []string{"segment/normal"}, everyone)

			// A queue that cannot take the rebuild rolls the raise back.
			q.fail = errors.New("queue down")
			before := f.heads(t)
			if _, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: s2, Communes: []string{"to-hieu"}, Reason: "lũ quét", By: f.producer}); err == nil {
				t.Fatal("the raise succeeded although its rebuild could not be queued")
			}
			if _, err := f.db.EmergencyInForce(ctx, s2, f.now); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Fatalf("emergency after the failed raise: %v, want none in force", err)
			}
			if got := f.heads(t); !mapsEqual(got, before) {
				t.Fatalf("the failed raise changed schedules: %v -> %v", before, got)
			}
		})
	}
}
