package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// clock is a controllable clock for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jobBundle is a store with a producer, Thái and Mông translators and
// reviewers, and a clock.
type jobBundle struct {
	db    *DB
	clock *clock
	users map[string]pipeline.User
}

func setupJobs(t testing.TB) *jobBundle {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)}
	db.Now = c.Now
	b := &jobBundle{db: db, clock: c, users: map[string]pipeline.User{}}
	for _, n := range []pipeline.NewUser{
		{Name: "dai-ptth", Role: pipeline.RoleProducer},
		{Name: "admin", Role: pipeline.RoleAdmin},
		{Name: "lo-van-a", Role: pipeline.RoleTranslator, Languages: []string{"blt"}},
		{Name: "cam-thi-b", Role: pipeline.RoleTranslator, Languages: []string{"blt"}},
		{Name: "giang-a-c", Role: pipeline.RoleTranslator, Languages: []string{"hnj"}},
		{Name: "duyet", Role: pipeline.RoleReviewer, Languages: []string{"blt", "hnj"}},
	} {
		b.users[n.Name] = fastUser(t, db, n.Name, n.Role, n.Languages...)
	}
	return b
}

// fastUser adds a user without hashing a password (bcrypt is slow under
// -race, and these users never sign in).
func fastUser(t testing.TB, db *DB, name string, role pipeline.Role, langs ...string) pipeline.User {
	t.Helper()
	var id int64
	err := db.sql.QueryRowContext(context.Background(), `INSERT INTO users (name, role, password_hash, languages, created_at)
		VALUES (?, ?, 'x', ?, ?) RETURNING id`, name, string(role), strings.Join(langs, ","), db.Now()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.User{ID: id, Name: name, Role: role, Languages: langs}
}

// segment records a processed segment and opens its jobs.
func (b *jobBundle) segment(t testing.TB, id string, kind pipeline.Kind, prio pipeline.Priority, subs bool) pipeline.Segment {
	t.Helper()
	ctx := context.Background()
	now := b.clock.Now()
	seg := pipeline.Segment{ID: id, SHA256: "sha-" + id, Title: "Một cửa liên thông " + id, Kind: kind, Topic: "procedures",
		Priority: prio, AirFrom: now, AirUntil: now.Add(720 * time.Hour), Languages: []string{"vi", "blt", "hnj"},
		State: pipeline.StateProbed, ProducerID: b.users["dai-ptth"].ID, OriginalKey: "segments/" + id + "/original",
		OriginalName: "a.mp3", ContentType: "audio/mpeg", Size: 10, Probe: pipeline.ProbeFacts{DurationMS: 8000},
		CreatedAt: now, UpdatedAt: now}
	if subs {
		seg.SubtitleKey = "segments/" + id + "/subtitles/vi-source"
	}
	if _, _, err := b.db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	err := b.db.SaveProcessed(ctx, id, nil, nil, func(tx *sql.Tx) error {
		return b.db.OpenJobsTx(ctx, tx, seg, JobOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

func (b *jobBundle) jobOf(t testing.TB, seg, lang string, kind translation.Kind) translation.Job {
	t.Helper()
	js, err := b.db.Jobs(context.Background(), translation.Filter{SegmentID: seg, Languages: []string{lang}, Kind: kind})
	if err != nil || len(js) != 1 {
		t.Fatalf("jobs of %s %s %s: %v %v", seg, lang, kind, js, err)
	}
	return js[0]
}

func (b *jobBundle) apply(t testing.TB, id string, a translation.Action, by, reason string) (translation.Job, error) {
	t.Helper()
	return b.db.ApplyJob(context.Background(), id, translation.DefaultPolicy(), translation.Request{Action: a, By: b.users[by], Reason: reason, Now: b.clock.Now()}, nil)
}

func TestOpenJobsTx(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "radio", pipeline.KindRadio, pipeline.PriorityNormal, false)
	b.segment(t, "tv", pipeline.KindTV, pipeline.PriorityEmergency, true)
	b.segment(t, "tv-nosubs", pipeline.KindTV, pipeline.PriorityPriority, false)
	all, err := b.db.Jobs(ctx, translation.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{}
	for _, j := range all {
		got[j.SegmentID+"/"+j.Language+"/"+string(j.Kind)] = j.Deadline.Sub(b.clock.Now())
		if j.State != translation.StateOpen || j.Title == "" {
			t.Errorf("job %+v", j)
		}
	}
	want := map[string]time.Duration{
		"radio/blt/voiceover": 72 * time.Hour, "radio/hnj/voiceover": 72 * time.Hour,
		"tv/blt/voiceover": 4 * time.Hour, "tv/hnj/voiceover": 4 * time.Hour, "tv/blt/subtitle": 4 * time.Hour, "tv/hnj/subtitle": 4 * time.Hour,
		"tv-nosubs/blt/voiceover": 24 * time.Hour, "tv-nosubs/hnj/voiceover": 24 * time.Hour,
	}
	if len(got) != len(want) {
		t.Fatalf("jobs %v, want %v", got, want)
	}
	for k, d := range want {
		if got[k] != d {
			t.Errorf("%s due in %s, want %s", k, got[k], d)
		}
	}
	// Processing again opens nothing new.
	seg, _ := b.db.Segment(ctx, "tv")
	if err := b.db.SaveProcessed(ctx, "tv", nil, nil, func(tx *sql.Tx) error { return b.db.OpenJobsTx(ctx, tx, seg, JobOptions{}) }); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.db.Jobs(ctx, translation.Filter{}); len(again) != len(all) {
		t.Fatalf("re-processing opened %d jobs, had %d", len(again), len(all))
	}
	ev, err := b.db.JobEvents(ctx, all[0].ID)
	if err != nil || len(ev) != 1 || ev[0].Action != translation.ActionOpen || ev[0].Reason == "" {
		t.Fatalf("open event: %+v %v", ev, err)
	}
}

// TestJobLifecycle runs a job through claim, extend, submit, review,
// changes, resubmit and approval, and checks the history and notices.
func TestJobLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "s1", pipeline.KindTV, pipeline.PriorityNormal, true)
	j := b.jobOf(t, "s1", "blt", translation.KindSubtitle)
	steps := []struct {
		action translation.Action
		by     string
		reason string
		want   translation.State
	}{
		{translation.ActionClaim, "lo-van-a", "", translation.StateClaimed},
		{translation.ActionExtend, "lo-van-a", "", translation.StateClaimed},
		{translation.ActionSubmit, "lo-van-a", "", translation.StateSubmitted},
		{translation.ActionStartReview, "duyet", "", translation.StateInReview},
		{translation.ActionRequestChanges, "duyet", "Dòng 2: dùng thuật ngữ trong bảng.", translation.StateChangesRequested},
		{translation.ActionSubmit, "lo-van-a", "", translation.StateSubmitted},
		{translation.ActionStartReview, "duyet", "", translation.StateInReview},
		{translation.ActionApprove, "duyet", "", translation.StateApproved},
	}
	for _, s := range steps {
		b.clock.Add(time.Minute)
		got, err := b.apply(t, j.ID, s.action, s.by, s.reason)
		if err != nil {
			t.Fatalf("%s by %s: %v", s.action, s.by, err)
		}
		if got.State != s.want {
			t.Fatalf("%s: state %s, want %s", s.action, got.State, s.want)
		}
	}
	got, _ := b.db.Job(ctx, j.ID)
	if got.State != translation.StateApproved || got.Translator != "lo-van-a" || got.Reviewer != "duyet" || got.Submissions != 2 {
		t.Fatalf("final job %+v", got)
	}
	ev, err := b.db.JobEvents(ctx, j.ID)
	if err != nil || len(ev) != len(steps)+1 {
		t.Fatalf("events %d %v", len(ev), err)
	}
	if ev[5].Action != translation.ActionRequestChanges || ev[5].Actor != "duyet" || ev[5].Reason == "" || ev[5].From != translation.StateInReview {
		t.Fatalf("changes event %+v", ev[5])
	}
	if _, err := b.apply(t, j.ID, translation.ActionClaim, "cam-thi-b", ""); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("claim approved: %v", err)
	}
	var kinds []string
	n, err := b.db.TakeNotices(ctx, 100, func(tx *sql.Tx, m notify.Message) error {
		kinds = append(kinds, m.Kind+">"+m.To.Name)
		return nil
	})
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	for _, want := range []string{"new_job>lo-van-a", "new_job>cam-thi-b", "new_job>giang-a-c", "submitted>duyet", "changes_requested>lo-van-a", "approved>lo-van-a"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s notice among %v", want, kinds)
		}
	}
	if slices.Contains(kinds, "new_job>duyet") || slices.Contains(kinds, "submitted>lo-van-a") {
		t.Errorf("notices to the wrong people: %v", kinds)
	}
	if again, _ := b.db.TakeNotices(ctx, 100, func(*sql.Tx, notify.Message) error { return nil }); again != 0 {
		t.Fatalf("notices taken twice: %d", again)
	}
}

func TestWithdrawCancelsJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "s1", pipeline.KindTV, pipeline.PriorityNormal, true)
	claimed := b.jobOf(t, "s1", "blt", translation.KindSubtitle)
	if _, err := b.apply(t, claimed.ID, translation.ActionClaim, "lo-van-a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.WithdrawSegment(ctx, "s1", b.users["dai-ptth"].ID, "sai số liệu"); err != nil {
		t.Fatal(err)
	}
	all, _ := b.db.Jobs(ctx, translation.Filter{SegmentID: "s1"})
	if len(all) != 4 {
		t.Fatalf("%d jobs", len(all))
	}
	for _, j := range all {
		if j.State != translation.StateCancelled || j.Reason != "segment withdrawn: sai số liệu" {
			t.Errorf("job %s: %s %q", j.ID, j.State, j.Reason)
		}
	}
	if live, _ := b.db.Jobs(ctx, translation.Filter{SegmentID: "s1", Live: true}); len(live) != 0 {
		t.Fatalf("live jobs of a withdrawn segment: %+v", live)
	}
	ev, _ := b.db.JobEvents(ctx, claimed.ID)
	// The cancellation names who withdrew the segment.
	if last := ev[len(ev)-1]; last.Action != translation.ActionCancel || last.From != translation.StateClaimed || last.ActorID != b.users["dai-ptth"].ID {
		t.Fatalf("cancel event %+v", last)
	}
	var cancelled []string
	b.db.TakeNotices(ctx, 100, func(tx *sql.Tx, m notify.Message) error {
		if m.Kind == notify.KindCancelled {
			cancelled = append(cancelled, m.To.Name)
		}
		return nil
	})
	if !slices.Equal(cancelled, []string{"lo-van-a"}) {
		t.Fatalf("cancel notices to %v", cancelled)
	}
}

// TestSweepJobs drives lease expiry, deadline warnings and overdue flags
// with a controllable clock: no sleeping.
func TestSweepJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "s1", pipeline.KindRadio, pipeline.PriorityNormal, false) // due in 72 h
	j := b.jobOf(t, "s1", "blt", translation.KindVoiceover)
	if _, err := b.apply(t, j.ID, translation.ActionClaim, "lo-van-a", ""); err != nil { // lease 48 h
		t.Fatal(err)
	}
	sweep := func() translation.Sweep {
		t.Helper()
		r, err := b.db.SweepJobs(ctx, b.clock.Now(), 24*time.Hour, translation.DeadlineWarning)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := sweep(); r != (translation.Sweep{}) {
		t.Fatalf("fresh sweep did %+v", r)
	}
	b.clock.Add(48*time.Hour - time.Second)
	if r := sweep(); r.Expired != 0 || r.Warned != 0 {
		t.Fatalf("a second before the lease ends: %+v", r)
	}
	b.clock.Add(time.Second)
	if r := sweep(); r.Expired != 1 || r.Warned != 2 {
		t.Fatalf("lease end, 24 h before the deadline: %+v, want 1 expired and 2 warned", r)
	}
	if got, _ := b.db.Job(ctx, j.ID); got.State != translation.StateOpen || got.TranslatorID != 0 || !got.LeaseUntil.IsZero() {
		t.Fatalf("after expiry: %+v", got)
	}
	if r := sweep(); r != (translation.Sweep{}) {
		t.Fatalf("sweeping again did %+v", r)
	}
	if _, err := b.apply(t, j.ID, translation.ActionExtend, "lo-van-a", ""); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("extend after expiry: %v", err)
	}
	b.clock.Add(24 * time.Hour)
	if r := sweep(); r.Overdue != 2 {
		t.Fatalf("at the deadline: %+v", r)
	}
	if got, _ := b.db.Job(ctx, j.ID); !got.Overdue || got.State != translation.StateOpen {
		t.Fatalf("not flagged: %+v", got)
	}
	if r := sweep(); r != (translation.Sweep{}) {
		t.Fatalf("flagged twice: %+v", r)
	}
	ev, _ := b.db.JobEvents(ctx, j.ID)
	var actions []translation.Action
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	if !slices.Equal(actions, []translation.Action{translation.ActionOpen, translation.ActionClaim, translation.ActionExpire, translation.ActionFlagOverdue}) {
		t.Fatalf("history %v", actions)
	}
	var kinds []string
	b.db.TakeNotices(ctx, 100, func(tx *sql.Tx, m notify.Message) error {
		kinds = append(kinds, m.Kind+">"+m.To.Name)
		return nil
	})
	for _, want := range []string{"lease_expired>lo-van-a", "deadline_soon>cam-thi-b", "deadline_soon>giang-a-c"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s among %v", want, kinds)
		}
	}
}

// TestEmergencyNotWarnedAgain: a job opened with less time than the
// warning window is not warned about on top of its announcement.
func TestEmergencyNotWarnedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	b.segment(t, "e1", pipeline.KindRadio, pipeline.PriorityEmergency, false) // due in 4 h
	r, err := b.db.SweepJobs(ctx, b.clock.Now(), 24*time.Hour, translation.DeadlineWarning)
	if err != nil || r.Warned != 0 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	b.clock.Add(4 * time.Hour)
	if r, _ := b.db.SweepJobs(ctx, b.clock.Now(), 24*time.Hour, translation.DeadlineWarning); r.Overdue != 2 || r.Warned != 0 {
		t.Fatalf("at the deadline: %+v", r)
	}
}

// TestConcurrentClaims has 50 translators claim 20 open jobs at once on
// the real database (run under -race): every job is claimed exactly once,
// the per-translator cap holds, and the losers hear "conflict".
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupJobs(t)
	for i := range 10 {
		b.segment(t, fmt.Sprintf("s%02d", i), pipeline.KindRadio, pipeline.PriorityNormal, false)
	}
	open, err := b.db.Jobs(ctx, translation.Filter{State: translation.StateOpen})
	if err != nil || len(open) != 20 {
		t.Fatalf("%d open jobs: %v", len(open), err)
	}
	var claimers []pipeline.User
	for i := range 50 {
		claimers = append(claimers, fastUser(t, b.db, fmt.Sprintf("dich-%02d", i), pipeline.RoleTranslator, "blt", "hnj"))
	}
	policy := translation.Policy{Lease: time.Hour, MaxClaims: 1}
	var mu sync.Mutex
	won := map[string][]string{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Each translator tries the jobs from a different starting
			// point until one claim succeeds.
			for k := range open {
				j := open[(i+k)%len(open)]
				_, err := b.db.ApplyJob(ctx, j.ID, policy, translation.Request{Action: translation.ActionClaim, By: u, Now: b.clock.Now()}, nil)
				if err == nil {
					mu.Lock()
					won[j.ID] = append(won[j.ID], u.Name)
					mu.Unlock()
					return
				}
				if pipeline.ErrorCode(err) != pipeline.CodeConflict {
					t.Errorf("%s claiming %s: %v", u.Name, j.ID, err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != len(open) {
		t.Fatalf("%d jobs claimed, want %d", len(won), len(open))
	}
	holders := map[string]bool{}
	for id, names := range won {
		if len(names) != 1 {
			t.Errorf("job %s claimed by %v", id, names)
		}
		if holders[names[0]] {
			t.Errorf("%s holds two jobs despite the cap", names[0])
		}
		holders[names[0]] = true
		j, _ := b.db.Job(ctx, id)
		ev, _ := b.db.JobEvents(ctx, id)
		claims := 0
		for _, e := range ev {
			if e.Action == translation.ActionClaim {
				claims++
			}
		}
		if j.State != translation.StateClaimed || j.Translator != names[0] || claims != 1 {
			t.Errorf("job %s: state %s holder %s, %d claim events", id, j.State, j.Translator, claims)
		}
	}
}

// BenchmarkClaim50 measures claims with 50 concurrent claimers on SQLite:
// each claimer takes the next job from a shared list of open jobs. It
// reports claims per second and the 99th-percentile claim latency.
func BenchmarkClaim50(b *testing.B) {
	ctx := context.Background()
	jb := setupJobs(b)
	jb.db.Now = func() time.Time { return time.Now().UTC() }
	var claimers []pipeline.User
	for i := range 50 {
		claimers = append(claimers, fastUser(b, jb.db, fmt.Sprintf("dich-%02d", i), pipeline.RoleTranslator, "blt", "hnj"))
	}
	segs := (b.N + 1) / 2
	for i := range segs {
		jb.segment(b, fmt.Sprintf("s%07d", i), pipeline.KindRadio, pipeline.PriorityNormal, false)
	}
	// Jobs lists at most 1000 at a time; read all ids directly.
	var ids []string
	rows, err := jb.db.sql.QueryContext(ctx, "SELECT id FROM jobs WHERE state = 'open' ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	work := make(chan string, len(ids))
	for _, id := range ids[:b.N] {
		work <- id
	}
	close(work)
	policy := translation.Policy{Lease: time.Hour}
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, u := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for id := range work {
				t0 := time.Now()
				if _, err := jb.db.ApplyJob(ctx, id, policy, translation.Request{Action: translation.ActionClaim, By: u, Now: time.Now().UTC()}, nil); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "claims/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}
