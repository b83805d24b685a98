package broadcast_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestRemovedClusterLeavesNothingBroken removes a cluster that has a
// built schedule (an import with removals allowed) and checks what
// names it afterwards: the commune's rebuild drops it, its playlist then
// answers not found naming the clusters left, what its device played
// before the removal is still taken as proof of play (and counted in the
// report), and a cluster the commune never had is still refused.
func TestRemovedClusterLeavesNothingBroken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Nộp hồ sơ trực tuyến", Languages: []string{"vi", "hnj", "blt"}, DurationMS: 90_000})
	if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
		t.Fatal(err)
	}
	const commune, gone = "muong-lan", "ban-mong"
	head, err := f.db.CommuneHead(ctx, commune)
	if err != nil {
		t.Fatal(err)
	}
	today := schedules.DateOf(f.now.In(broadcast.Location()))
	items, err := f.db.VersionItems(ctx, head.VersionID, gone, today.String())
	if err != nil || len(items) == 0 {
		t.Fatalf("%s/%s on %s: %d items, %v", commune, gone, today, len(items), err)
	}
	played := items[0]

	reg, err := f.db.Registry(ctx, commune)
	if err != nil {
		t.Fatal(err)
	}
	var kept []schedules.Cluster
	for _, cl := range reg.Communes[0].Clusters {
		if cl.ID != gone {
			kept = append(kept, cl)
		}
	}
	reg.Communes[0].Clusters = kept
	if _, err := f.svc.Import(ctx, reg, schedules.ImportOptions{}); pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(pipeline.ErrorMessage(err), commune+"/"+gone) {
		t.Fatalf("import without removals allowed: %v", err)
	}
	res, err := f.svc.Import(ctx, reg, schedules.ImportOptions{AllowRemovals: true})
	if err != nil || len(res.Removed) != 1 || res.Removed[0] != (schedules.ClusterRef{Commune: commune, Cluster: gone}) {
		t.Fatalf("import with removals allowed: %+v %v", res, err)
	}

	// What the cluster played before it was removed is proof of play.
	f.now = played.Start.Add(2 * time.Minute)
	op := sqlstoretest.User(t, f.db, "xa-muong-lan", pipeline.RoleOperator)
	rep := schedules.PlayReport{ID: "r-1", Entry: played.EntryID, Cluster: gone, SegmentID: played.SegmentID, Status: schedules.Played,
		Started: played.Start, Finished: played.Start.Add(time.Duration(played.DurationMS) * time.Millisecond)}
	rr, err := f.svc.Report(ctx, head, op, []schedules.PlayReport{rep})
	if err != nil || rr.New != 1 || len(rr.Refused) != 0 {
		t.Fatalf("report of removed cluster %s's play: %+v %v", gone, rr, err)
	}
	// A cluster the commune never had is still a misconfigured device.
	rep.ID, rep.Cluster = "r-2", "ban-khong-co"
	if _, err := f.svc.Report(ctx, head, op, []schedules.PlayReport{rep}); pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(pipeline.ErrorMessage(err), "no cluster") {
		t.Fatalf("report of an unknown cluster: %v", err)
	}

	// The rebuild drops the cluster; its playlist is then not found.
	b, err := f.svc.Build(ctx, f.now, []string{commune}, "rebuild")
	if err != nil || len(b.Changed) != 1 {
		t.Fatalf("rebuild after the removal: %+v %v", b, err)
	}
	head, err = f.db.CommuneHead(ctx, commune)
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.db.VersionItems(ctx, head.VersionID, "", "")
	if err != nil || len(all) == 0 {
		t.Fatalf("items after the rebuild: %d %v", len(all), err)
	}
	for _, it := range all {
		if it.Cluster == gone {
			t.Fatalf("the rebuilt version still lists removed cluster %s: %+v", gone, it)
		}
	}
	_, err = f.svc.Playlist(ctx, head, gone, today)
	var pe *pipeline.Error
	if !errors.As(err, &pe) || pe.Code != pipeline.CodeNotFound || !strings.Contains(pe.Message, "its clusters are: trung-tam") {
		t.Fatalf("playlist of the removed cluster: %v", err)
	}

	// The report counts the removed cluster's play.
	r, err := report.Build(ctx, f.db, report.PeriodOf(report.Month, f.now), commune, f.now)
	if err != nil {
		t.Fatal(err)
	}
	var playedMS int64
	for _, row := range r.Broadcast {
		if row.Cluster == gone {
			playedMS += row.PlayedMS
		}
	}
	if playedMS != played.DurationMS {
		t.Errorf("report: %s played %d ms, want %d", gone, playedMS, played.DurationMS)
	}
}
