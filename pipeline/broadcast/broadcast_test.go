package broadcast_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/schedules"
)

type fixture struct {
	db       *sqlstore.DB
	svc      *broadcast.Service
	producer pipeline.User
	now      time.Time
}

// setup opens a real SQLite store with the Sơn La demo registry and a
// service whose clock stands at Monday 3 March 2025, 04:00 in Sơn La.
func setup(t *testing.T) *fixture {
	t.Helper()
	db := sqlstoretest.New(t)
	f := &fixture{db: db, now: time.Date(2025, 3, 3, 4, 0, 0, 0, broadcast.Location()).UTC()}
	db.Now = func() time.Time { return f.now }
	f.svc = &broadcast.Service{Store: db, Now: func() time.Time { return f.now }}
	broadcasttest.LoadRegistry(t, db, "../../schedules/testdata/sonla-demo.yaml")
	f.producer = broadcasttest.Producer(t, db)
	return f
}

func (f *fixture) heads(t *testing.T) map[string]string {
	t.Helper()
	cs, err := f.db.Communes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range cs {
		out[c.Code] = c.ETag
	}
	return out
}

func TestBuildStoresAVersionOnlyWhenContentChanges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for i, lang := range [][]string{{"vi"}, {"vi", "blt"}, {"vi", "hnj"}, {"vi", "blt", "hnj"}} {
		broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Bản tin " + string(rune('A'+i)), Languages: lang, DurationMS: int64(90_000 + 7_000*i)})
	}
	res, err := f.svc.Nightly(ctx, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Communes != 7 || len(res.Changed) != 7 || res.Start != "2025-03-03" {
		t.Fatalf("first build: %+v", res)
	}
	first := f.heads(t)
	// The nightly build runs once per date, however often it is asked.
	if again, err := f.svc.Nightly(ctx, f.now.Add(time.Minute)); err != nil || !again.Skipped {
		t.Fatalf("second nightly build of the same date: %+v %v", again, err)
	}
	// A rebuild with nothing changed stores nothing and keeps the ETags.
	res, err = f.svc.Build(ctx, f.now, nil, "rebuild")
	if err != nil || len(res.Changed) != 0 {
		t.Fatalf("rebuild without changes: %+v %v", res, err)
	}
	if got := f.heads(t); !mapsEqual(got, first) {
		t.Fatalf("ETags changed without a change: %v -> %v", first, got)
	}
	// A new Mông segment changes the communes with Mông clusters.
	broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Tiếng Mông", Languages: []string{"hnj"}, DurationMS: 45_000})
	res, err = f.svc.Build(ctx, f.now, nil, "rebuild")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Changed, "suoi-to") || slices.Contains(res.Changed, "to-hieu") {
		t.Fatalf("after a Mông segment, changed %v: want suoi-to (Mông) and not to-hieu (no Mông cluster)", res.Changed)
	}
	// Every stored item fits its slot and has audio.
	head, _ := f.db.CommuneHead(ctx, "muong-lan")
	items, err := f.db.VersionItems(ctx, head.VersionID, "", "")
	if err != nil || len(items) == 0 {
		t.Fatalf("items: %d %v", len(items), err)
	}
	for _, it := range items {
		if it.Kind == "segment" && (it.SHA256 == "" || it.AudioKey == "") {
			t.Errorf("segment item without audio: %+v", it)
		}
	}
	// The account, made when asked, is of the current version: the
	// builder run for one commune makes what the whole build stored.
	expl, err := f.svc.Explain(ctx, head, nil)
	if err != nil || !strings.HasPrefix(expl, "Current version "+head.VersionID) || !strings.Contains(expl, "cluster trung-tam") {
		t.Fatalf("explain: %v\n%s", err, expl)
	}
	// After a change not yet built, it says the version is out of date.
	broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Mới", Priority: pipeline.PriorityPriority, Languages: []string{"vi", "blt"}, DurationMS: 30_000})
	if expl, err = f.svc.Explain(ctx, head, nil); err != nil || !strings.HasPrefix(expl, "The current version "+head.VersionID) || !strings.Contains(expl, "rebuild is due") {
		t.Fatalf("explain after a change: %v\n%.300s", err, expl)
	}
}

func TestEmergencyChangesOnlyTargetedCommunes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for i := range 6 {
		broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thường " + string(rune('A'+i)), Languages: []string{"vi", "blt", "hnj"}, DurationMS: int64(100_000 + 1000*i)})
	}
	if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
		t.Fatal(err)
	}
	before := f.heads(t)
	events, stop := f.svc.Subscribe("muong-lan")
	defer stop()
	other, stopOther := f.svc.Subscribe("to-hieu")
	defer stopOther()

	f.now = f.now.Add(2 * time.Hour) // 06:00, after the morning slot
	fire := broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Cháy rừng", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
	res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: fire, Communes: []string{"muong-lan"}, Reason: "lũ quét", By: f.producer})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Build.Changed, []string{"muong-lan"}) {
		t.Fatalf("changed %v, want only muong-lan", res.Build.Changed)
	}
	after := f.heads(t)
	for code, tag := range before {
		if code == "muong-lan" && tag == after[code] {
			t.Errorf("targeted commune kept its ETag")
		}
		if code != "muong-lan" && tag != after[code] {
			t.Errorf("untargeted commune %s changed ETag", code)
		}
	}
	select {
	case e := <-events:
		if e.ETag != after["muong-lan"] || e.Reason != "emergency" {
			t.Fatalf("event %+v", e)
		}
	default:
		t.Fatal("no event for the targeted commune")
	}
	select {
	case e := <-other:
		t.Fatalf("untargeted commune got %+v", e)
	default:
	}
	head, _ := f.db.CommuneHead(ctx, "muong-lan")
	today := schedules.DateOf(f.now.In(broadcast.Location()))
	items, err := f.db.VersionItems(ctx, head.VersionID, "trung-tam", today.String())
	if err != nil {
		t.Fatal(err)
	}
	// First: the interrupt, in Thái (the cluster's first language).
	var interrupt, evening *pipeline.ScheduleItem
	for i := range items {
		it := &items[i]
		if it.Kind == "interrupt" && interrupt == nil {
			interrupt = it
		}
		if it.SlotStart == 17*3600 && it.Kind == "segment" && evening == nil {
			evening = it
		}
	}
	if interrupt == nil || interrupt.SegmentID != fire || interrupt.Language != "blt" {
		t.Fatalf("interrupt entry: %+v", interrupt)
	}
	if evening == nil || evening.SegmentID != fire || evening.Priority != "emergency" {
		t.Fatalf("first segment of the next slot: %+v, want the emergency", evening)
	}
	// An untargeted commune does not get it, even after a full rebuild.
	if _, err := f.svc.Build(ctx, f.now, nil, "rebuild"); err != nil {
		t.Fatal(err)
	}
	h2, _ := f.db.CommuneHead(ctx, "to-hieu")
	if h2.ETag != before["to-hieu"] {
		t.Fatalf("a full rebuild changed an untargeted commune")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestEmergencyReachesDevicesOfAnotherReplica: two replicas on one
// database, each following the change feed. An emergency raised through
// A reaches a device subscribed on C within a second, with the ETag C's
// head cache gives at once; an untargeted commune's device hears nothing.
func TestEmergencyReachesDevicesOfAnotherReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := sqlstoretest.Replicas(t, 2)
	a, c := dbs[0], dbs[1]
	now := time.Date(2025, 3, 3, 4, 0, 0, 0, broadcast.Location()).UTC()
	clock := func() time.Time { return now }
	a.Now, c.Now = clock, clock
	svcA := &broadcast.Service{Store: a, Feed: a, Now: clock}
	svcC := &broadcast.Service{Store: c, Feed: c, Now: clock}
	broadcasttest.LoadRegistry(t, a, "../../schedules/testdata/sonla-demo.yaml")
	producer := broadcasttest.Producer(t, a)
	broadcasttest.AddReady(t, a, nil, producer, broadcasttest.Segment{Title: "Thường", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 100_000})
	if _, err := svcA.Build(ctx, now, nil, "nightly"); err != nil {
		t.Fatal(err)
	}
	sqlstoretest.CaughtUp(t, a, c)                 // the set-up's changes are not this test's events
	before, err := c.CommuneHead(ctx, "muong-lan") // cached on C from now on
	if err != nil || before.ETag == "" {
		t.Fatalf("head on C: %+v %v", before, err)
	}
	events, stop := svcC.Subscribe("muong-lan")
	defer stop()
	other, stopOther := svcC.Subscribe("to-hieu")
	defer stopOther()

	now = now.Add(2 * time.Hour)
	fire := broadcasttest.AddReady(t, a, nil, producer, broadcasttest.Segment{Title: "Cháy rừng", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
	raised := time.Now()
	if _, err := svcA.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: fire, Communes: []string{"muong-lan"}, Reason: "cháy rừng", By: producer}); err != nil {
		t.Fatal(err)
	}
	built := time.Now()
	// The event must come; how fast (the bar is a second) is a figure for
	// the log, not a guess of this machine's load: the wait is a quarter
	// of the test's remaining time.
	wait := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d) / 4
	}
	deadline := time.After(wait)
	for {
		var e broadcast.Event
		select {
		case e = <-events:
		case <-deadline:
			t.Fatalf("no event on C within %s of the emergency's build", wait)
		}
		t.Logf("figure: emergency raised on A heard by a device on C %s after the build stored it (%s after it was raised; bar 1s)", time.Since(built), time.Since(raised))
		head, err := c.CommuneHead(ctx, "muong-lan")
		if err != nil {
			t.Fatal(err)
		}
		if e.Reason != "emergency" || e.ETag != head.ETag {
			t.Fatalf("event %+v; C's head %+v, before %s", e, head, before.ETag)
		}
		break
	}
	for {
		select {
		case e := <-other:
			if e.Reason == "nightly" {
				continue
			}
			t.Fatalf("untargeted commune's device got %+v", e)
		case <-time.After(300 * time.Millisecond):
		}
		break
	}
}

// TestEmergencyRetargetedLeavesDroppedCommunes: raising a segment's
// emergency again on other communes takes it off the communes dropped, at
// once: their playlists lose the interrupt without waiting for a full
// build.
func TestEmergencyRetargetedLeavesDroppedCommunes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Thường", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 100_000})
	if _, err := f.svc.Build(ctx, f.now, nil, "nightly"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(2 * time.Hour)
	fire := broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Cháy rừng", Languages: []string{"vi", "blt", "hnj"}, DurationMS: 30_000})
	interrupted := func(code string) bool {
		t.Helper()
		head, err := f.db.CommuneHead(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		items, err := f.db.VersionItems(ctx, head.VersionID, "trung-tam", schedules.DateOf(f.now.In(broadcast.Location())).String())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.SegmentID == fire {
				return true
			}
		}
		return false
	}
	if _, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: fire, Communes: []string{"muong-lan"}, Reason: "cháy rừng", By: f.producer}); err != nil {
		t.Fatal(err)
	}
	if !interrupted("muong-lan") {
		t.Fatal("the targeted commune does not air the emergency")
	}
	res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: fire, Communes: []string{"to-hieu"}, Reason: "cháy lan sang Tô Hiệu", By: f.producer, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(res.Build.Changed)), []string{"muong-lan", "to-hieu"}) {
		t.Errorf("changed %v, want the dropped and the new commune", res.Build.Changed)
	}
	if interrupted("muong-lan") {
		t.Error("the dropped commune still airs the emergency")
	}
	if !interrupted("to-hieu") {
		t.Error("the new target does not air the emergency")
	}
}

// TestSmallEmergenciesAddUp: a producer's emergencies in force count
// together toward the administrator's confirmation, whether they are on
// one segment raised again or on several: three then one more commune of
// the 7 is more than half and waits. Raising the same segment again
// counts its new targets only, and another person's emergencies do not
// count.
func TestSmallEmergenciesAddUp(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	var codes []string
	for c := range f.heads(t) {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	seg := func(title string) string {
		return broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: title, Languages: []string{"vi"}, DurationMS: 30_000})
	}
	a, b := seg("Lũ A"), seg("Lũ B")
	other := broadcasttest.Producer(t, f.db)
	for _, tc := range []struct {
		name    string
		segment string
		by      pipeline.User
		targets []string
		replace bool
		pending bool
	}{
		{"three communes: at once", a, f.producer, codes[0:3], false, false},
		{"the same segment replaced by three others: at once", a, f.producer, codes[3:6], true, false},
		{"one more on another segment: four of seven, waits", b, f.producer, codes[6:7], false, true},
		{"another producer's one commune: at once", b, other, codes[6:7], false, false},
	} {
		res, err := f.svc.Emergency(ctx, broadcast.EmergencyRequest{SegmentID: tc.segment, Communes: tc.targets, Reason: "lũ quét", By: tc.by, Replace: tc.replace})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Pending != tc.pending {
			t.Fatalf("%s: pending %v (%s), want %v", tc.name, res.Pending, res.Message, tc.pending)
		}
		if tc.pending && !strings.Contains(res.Message, "on 1 commune ("+codes[6]+") (4 with your other emergencies in force)") {
			t.Errorf("%s: the message does not count the others: %s", tc.name, res.Message)
		}
	}
}
