package broadcast_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
	"github.com/sonla-cchc/loa/schedules"
)

// nightlyKey is the claim key of the fixture's date.
func nightlyKey(now time.Time) string {
	return "nightly/" + schedules.DateOf(now.In(broadcast.Location())).String()
}

// addSegments puts a few ready segments in every language into db.
func addSegments(t *testing.T, f *fixture) {
	t.Helper()
	for i, lang := range [][]string{{"vi"}, {"vi", "blt"}, {"vi", "hnj"}, {"vi", "blt", "hnj"}} {
		broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Bản tin " + string(rune('A'+i)), Languages: lang, DurationMS: int64(90_000 + 7_000*i)})
	}
}

// wantHeld asserts that err is a *BuildHeldError naming owner (any
// owner when owner is "").
func wantHeld(t *testing.T, res broadcast.BuildResult, err error, owner string) *broadcast.BuildHeldError {
	t.Helper()
	var held *broadcast.BuildHeldError
	if !errors.As(err, &held) || (owner != "" && held.Owner != owner) || held.Owner == "" || res.Skipped {
		t.Fatalf("nightly build while %s holds the claim: %+v %v; want a BuildHeldError naming it", owner, res, err)
	}
	return held
}

// TestNightlyTakesOverAnExpiredClaim: a claim whose owner stopped
// renewing it (it died) is refused to others until its lease ends, then
// taken over by the next attempt, which builds every commune.
func TestNightlyTakesOverAnExpiredClaim(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addSegments(t, f)
	f.svc.BuildLease = 10 * time.Minute
	const dead = "dead-host/4242/0badc0de"
	if c, err := f.db.BeginBuild(ctx, nightlyKey(f.now), dead, f.svc.BuildLease); err != nil || !c.Claimed {
		t.Fatalf("claim as the owner that dies: %+v %v", c, err)
	}
	res, err := f.svc.Nightly(ctx, f.now)
	held := wantHeld(t, res, err, dead)
	if !held.RetryAt().Equal(f.now.Add(10 * time.Minute)) {
		t.Fatalf("retry at %s, want the dead owner's lease end %s", held.RetryAt(), f.now.Add(10*time.Minute))
	}
	f.now = held.RetryAt()
	res, err = f.svc.Nightly(ctx, f.now)
	if err != nil || res.Skipped || res.TakenFrom != dead || res.Communes != 7 || len(res.Changed) != 7 {
		t.Fatalf("nightly build after the dead owner's lease: %+v %v; want all 7 communes built, taken from %s", res, err, dead)
	}
	if again, err := f.svc.Nightly(ctx, f.now.Add(time.Minute)); err != nil || !again.Skipped {
		t.Fatalf("nightly build after it was done: %+v %v; want skipped", again, err)
	}
}

// renewSpy reports each renewal of the service's claim (the lease end it
// set) and holds the build at its first read until released.
type renewSpy struct {
	*sqlstore.DB
	renewed       chan time.Time
	inBuild, hold chan struct{}
	entered       atomic.Bool
}

func (s *renewSpy) RenewBuild(ctx context.Context, key, owner string, lease time.Duration) (time.Time, error) {
	until, err := s.DB.RenewBuild(ctx, key, owner, lease)
	if err == nil {
		select {
		case s.renewed <- until:
		case <-ctx.Done():
		}
	}
	return until, err
}

func (s *renewSpy) Registry(ctx context.Context, codes ...string) (*schedules.Registry, error) {
	if s.entered.CompareAndSwap(false, true) {
		close(s.inBuild)
		<-s.hold
	}
	return s.DB.Registry(ctx, codes...)
}

// TestNightlyRenewsItsClaim: a build that takes longer than its lease is
// not taken over while its owner is alive, because the owner renews it.
// The clock is moved by hand past the first lease's end; the renewal
// observed after that pushes the lease on, and a second attempt is told
// the build is held.
func TestNightlyRenewsItsClaim(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addSegments(t, f)
	var now atomic.Int64
	now.Store(f.now.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	f.db.Now = clock
	spy := &renewSpy{DB: f.db, renewed: make(chan time.Time), inBuild: make(chan struct{}), hold: make(chan struct{})}
	slow := &broadcast.Service{Store: spy, Now: clock, BuildLease: 300 * time.Millisecond}
	other := &broadcast.Service{Store: f.db, Now: clock, BuildLease: 300 * time.Millisecond}

	type result struct {
		res broadcast.BuildResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := slow.Nightly(ctx, f.now)
		done <- result{res, err}
	}()
	<-spy.inBuild
	later := clock().Add(time.Hour) // far past the first lease
	now.Store(later.UnixNano())
	give := time.After(time.Minute) // renewals come every 100 ms
	for renewed := false; !renewed; {
		select {
		case until := <-spy.renewed:
			renewed = until.After(later) // a renewal that read the moved clock
		case <-give:
			t.Fatal("the build's claim was not renewed in a minute (its lease is 300 ms)")
		}
	}
	res, err := other.Nightly(ctx, f.now)
	wantHeld(t, res, err, "")
	close(spy.hold)
	r := <-done
	if r.err != nil || r.res.Communes != 7 || r.res.TakenFrom != "" {
		t.Fatalf("the slow build: %+v %v", r.res, r.err)
	}
	if again, err := other.Nightly(ctx, f.now); err != nil || !again.Skipped {
		t.Fatalf("after the slow build: %+v %v; want skipped", again, err)
	}
}

// childDBEnv, when set, makes TestNightlyAfterKillAtClaim act as the
// process that claims the night and is killed: it holds the database path.
const childDBEnv = "LOA_TEST_NIGHTLY_CHILD_DB"

// claimThenHang is the killed process's store: it announces its claim's
// owner on stdout when the build starts reading, then hangs there.
type claimThenHang struct {
	*sqlstore.DB
	owner string
}

func (s *claimThenHang) BeginBuild(ctx context.Context, key, owner string, lease time.Duration) (pipeline.BuildClaim, error) {
	s.owner = owner
	return s.DB.BeginBuild(ctx, key, owner, lease)
}

func (s *claimThenHang) Registry(ctx context.Context, _ ...string) (*schedules.Registry, error) {
	os.Stdout.WriteString("CLAIMED " + s.owner + "\n")
	<-ctx.Done()
	time.Sleep(time.Hour)
	return nil, ctx.Err()
}

// nightlyChild runs in the re-executed test binary: it starts the nightly
// build on the parent's database, which announces the claim and hangs.
func nightlyChild(t *testing.T, path string, now time.Time) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return now }
	svc := &broadcast.Service{Store: &claimThenHang{DB: db}, Now: db.Now, BuildLease: time.Hour}
	_, err = svc.Nightly(ctx, now)
	t.Fatalf("the child's build returned (%v); it should have hung until killed", err)
}

// TestNightlyAfterKillAtClaim kills, with SIGKILL, a real process that has
// claimed the night's build and not finished it (this test binary run
// again). Its claim is refused to others while its lease runs, then taken
// over: the night's schedules are built, not logged as "already done".
func TestNightlyAfterKillAtClaim(t *testing.T) {
	f0 := time.Date(2025, 3, 3, 4, 0, 0, 0, broadcast.Location()).UTC()
	if path := os.Getenv(childDBEnv); path != "" {
		nightlyChild(t, path, f0)
		return
	}
	t.Parallel()
	ctx := context.Background()
	path := pgtest.Location(t, "loa.db")
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, now: f0}
	db.Now = func() time.Time { return f.now }
	f.svc = &broadcast.Service{Store: db, Now: func() time.Time { return f.now }}
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	f.producer = broadcasttest.Producer(t, db)
	addSegments(t, f)

	child := exec.Command(os.Args[0], "-test.run=^TestNightlyAfterKillAtClaim$", "-test.count=1")
	child.Env = append(os.Environ(), childDBEnv+"="+path)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	owner := ""
	lines := bufio.NewScanner(out)
	for owner == "" && lines.Scan() {
		owner, _ = strings.CutPrefix(lines.Text(), "CLAIMED ")
	}
	if owner == "" {
		t.Fatalf("the child ended without claiming the build: %v", lines.Err())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", child.ProcessState)
	}

	res, err := f.svc.Nightly(ctx, f.now)
	held := wantHeld(t, res, err, owner)
	f.now = held.RetryAt()
	res, err = f.svc.Nightly(ctx, f.now)
	if err != nil || res.Skipped || res.TakenFrom != owner || res.Communes != 7 || len(res.Changed) != 7 {
		t.Fatalf("nightly build after its claimer was killed: %+v %v; want all 7 communes built, taken from %s", res, err, owner)
	}
	if again, err := f.svc.Nightly(ctx, f.now.Add(time.Minute)); err != nil || !again.Skipped {
		t.Fatalf("nightly build after it was done: %+v %v; want skipped", again, err)
	}
}
