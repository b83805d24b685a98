package player

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline/player/mpv"
	"github.com/sonla-cchc/loa/schedules"
)

// lateBound is how late these tests let a start or a preemption be. The
// player's bar (within 1 s of plan) is a figure of the machine it runs on
// and is reported by the tests' logs and the soak, not asserted here: a
// test fails only when the player is later than any load explains (a
// missed event, a wrong clock).
const lateBound = 10 * time.Second

func needMPV(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real mpv: not in -short")
	}
	mediatest.Need(t)
	if _, err := exec.LookPath("mpv"); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("mpv is missing (make deps installs it)")
		}
		t.Skip("mpv is missing (make deps installs it)")
	}
}

// toneData makes an MP3 tone of the given length (seconds) at freq Hz.
func toneData(t *testing.T, seconds, freq string) string {
	t.Helper()
	p := mediatest.Generate(t, t.TempDir(), "tone.mp3", "-f", "lavfi", "-i", "sine=frequency="+freq+":duration="+seconds, "-ac", "1", "-b:a", "64k")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// writeOut writes the bundle to a folder.
func (b *testBundle) writeOut(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	for name, f := range b.fs {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// at is an entry of the test slot starting at start, lasting d.
func at(id string, start time.Time, d time.Duration, sha string) schedules.Entry {
	return schedules.Entry{ID: id, Kind: schedules.EntrySegment, Start: start, DurationMS: d.Milliseconds(), SegmentID: "seg-" + id,
		SHA256: sha, URL: "media/" + sha + ".mp3"}
}

// runners runs one runner per cluster until the test ends; it returns
// the journal and a function that stops the runners.
func runners(t *testing.T, cur *Current, clusters ...string) (*Journal, func()) {
	t.Helper()
	j := openJournal(t, filepath.Join(t.TempDir(), "journal"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	for _, c := range clusters {
		r := &Runner{Cluster: c, Current: cur, Journal: j, MPV: mpv.Options{AO: "null", SocketDir: t.TempDir()}, Now: time.Now, Log: log}
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return j, stop
}

// waitFor polls the journal until cond holds, for at most a quarter of the
// time the test has left (go test -timeout): it waits for events, it does
// not time them (lateBound and the logs do).
func waitFor(t *testing.T, j *Journal, what string, cond func([]Record) bool) []Record {
	t.Helper()
	deadline := time.Now().Add(budget(t, 0.25))
	for {
		recs := j.Records(0)
		if cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, r := range recs {
				lines = append(lines, string(r.Kind)+" "+r.Cluster+" "+r.Entry+" "+r.Reason)
			}
			t.Fatalf("%s did not happen; journal:\n%s", what, strings.Join(lines, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// budget is the part of the test's remaining time (before go test's
// -timeout; 10 minutes without one) one wait may use.
func budget(t *testing.T, share float64) time.Duration {
	t.Helper()
	d, ok := t.Deadline()
	if !ok {
		return 10 * time.Minute
	}
	return time.Duration(float64(time.Until(d)) * share)
}

func count(kind Kind) func([]Record) int {
	return func(recs []Record) int {
		n := 0
		for _, r := range recs {
			if r.Kind == kind {
				n++
			}
		}
		return n
	}
}

// TestRunnerPlaysOnTime: two clusters with overlapping slots play their
// items in order, each start within 1 s of plan, each to its end; a
// tampered file is refused and reported, and the rest still plays.
func TestRunnerPlaysOnTime(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	a, c, e := b.media(toneData(t, "2", "440")), b.media(toneData(t, "2", "660")), b.media(toneData(t, "2", "880"))
	base := time.Now().Add(4 * time.Second).Truncate(time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam",
		at("2025-03-03T05:30#1", base, 2*time.Second, a),
		at("2025-03-03T05:30#2", base.Add(2500*time.Millisecond), 2*time.Second, c),
		at("2025-03-03T05:30#3", base.Add(5*time.Second), 2*time.Second, e),
	)
	b.playlist(t, "ban-a",
		at("2025-03-03T05:30#1", base.Add(time.Second), 2*time.Second, c),
		at("2025-03-03T05:30#2", base.Add(3500*time.Millisecond), 2*time.Second, e),
	)
	dir := b.writeOut(t)
	// Tamper with a file after verification: it must still be refused.
	tampered := filepath.Join(dir, "media", e+".mp3")
	data, _ := os.ReadFile(tampered)
	data[len(data)/2] ^= 0xff
	os.WriteFile(tampered, data, 0o644)
	plan := mustPlan(t, b)
	cur := NewCurrent()
	cur.Set(plan, dir)
	j, _ := runners(t, cur, "trung-tam", "ban-a")
	recs := waitFor(t, j, "3 items played and 2 refused", func(r []Record) bool {
		return count(Finished)(r) == 3 && count(Failed)(r) == 2
	})
	var order []string
	for _, r := range recs {
		switch r.Kind {
		case Started:
			late := r.At.Sub(r.Planned)
			t.Logf("%s %s started %s after plan", r.Cluster, r.Entry, late)
			if late < -100*time.Millisecond || late > lateBound {
				t.Errorf("%s %s started %s after plan: want within %s", r.Cluster, r.Entry, late, lateBound)
			}
			if r.Cluster == "trung-tam" {
				order = append(order, r.Entry)
			}
		case Failed:
			if !strings.Contains(r.Reason, "checksum") || !strings.HasSuffix(r.Entry, "#3") && !strings.HasSuffix(r.Entry, "#2") {
				t.Errorf("failed %s %s: %s", r.Cluster, r.Entry, r.Reason)
			}
			if r.Report().Status != schedules.Failed {
				t.Errorf("a failed record reports %s", r.Report().Status)
			}
		case Finished:
			if d := r.At.Sub(r.Started); d < 1400*time.Millisecond {
				t.Errorf("%s %s finished after %s of a 2 s item", r.Cluster, r.Entry, d)
			}
		}
	}
	if !slices.Equal(order, []string{"2025-03-03T05:30#1", "2025-03-03T05:30#2"}) {
		t.Errorf("trung-tam played %v", order)
	}
}

// TestRunnerCutsAtTheSlotEnd: an item longer than its window (the next
// entry of its slot starts before it ends) is stopped at the window's
// end and reported failed with the reason.
func TestRunnerCutsAtTheSlotEnd(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	long := b.media(toneData(t, "8", "440"))
	base := time.Now().Add(3 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 8*time.Second, long),
		schedules.Entry{ID: "2025-03-03T05:30#2", Kind: schedules.EntryRelay, Start: base.Add(2 * time.Second), DurationMS: 1000})
	dir := b.writeOut(t)
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), dir)
	j, _ := runners(t, cur, "trung-tam")
	recs := waitFor(t, j, "the cut", func(r []Record) bool { return count(Failed)(r) == 1 })
	last := recs[len(recs)-1]
	if !strings.Contains(last.Reason, "cut at the end of its time") {
		t.Fatalf("reason %q", last.Reason)
	}
	if over := last.At.Sub(base.Add(2 * time.Second)); over > 500*time.Millisecond {
		t.Fatalf("stopped %s after the slot's end", over)
	}
}

// TestRunnerKillsAStalledMPV: an mpv whose position stops moving is
// killed by the watchdog and the item reported failed with the reason.
func TestRunnerKillsAStalledMPV(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	a := b.media(toneData(t, "20", "440"))
	base := time.Now().Add(3 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 20*time.Second, a))
	dir := b.writeOut(t)
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), dir)
	j, _ := runners(t, cur, "trung-tam")
	waitFor(t, j, "the start", func(r []Record) bool { return count(Started)(r) == 1 })
	// Freeze every mpv playing this file (as a hung audio driver would).
	time.Sleep(500 * time.Millisecond)
	out, _ := exec.Command("pgrep", "-f", a+".mp3").Output()
	if len(strings.Fields(string(out))) == 0 {
		t.Fatal("no mpv found")
	}
	for _, pid := range strings.Fields(string(out)) {
		exec.Command("kill", "-STOP", pid).Run()
		defer exec.Command("kill", "-KILL", pid).Run()
	}
	frozen := time.Now()
	recs := waitFor(t, j, "the watchdog", func(r []Record) bool { return count(Failed)(r) == 1 })
	last := recs[len(recs)-1]
	if !strings.Contains(last.Reason, "stalled") {
		t.Fatalf("reason %q", last.Reason)
	}
	if took := last.At.Sub(frozen); took > 5*time.Second {
		t.Fatalf("the watchdog took %s", took)
	}
}

// TestRunnerEmergencyPreempts: a new plan with an interrupt stops the
// playing item within 1 s, plays the emergency, then the slot continues
// where the schedule is: the preempted item from its scheduled offset.
func TestRunnerEmergencyPreempts(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	long, em := b.media(toneData(t, "14", "440")), b.media(toneData(t, "2", "880"))
	base := time.Now().Add(3 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 14*time.Second, long))
	dir := b.writeOut(t)
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), dir)
	j, _ := runners(t, cur, "trung-tam")
	waitFor(t, j, "the start", func(r []Record) bool { return count(Started)(r) == 1 })
	time.Sleep(time.Second)
	// The emergency arrives: the same bundle plus an interrupt.
	raisedAt := time.Now()
	b2 := newTestBundle()
	b2.m.ValidUntil = b.m.ValidUntil
	b2.media(toneData(t, "14", "440"))
	b2.media(toneData(t, "2", "880"))
	b2.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 14*time.Second, long),
		schedules.Entry{ID: "2025-03-03T053000!em", Kind: schedules.EntryInterrupt, Start: raisedAt, DurationMS: 2000, SegmentID: "em", SHA256: em, URL: "media/" + em + ".mp3"})
	plan2, dir2 := mustPlan(t, b2), b2.writeOut(t)
	raised := time.Now()
	cur.Set(plan2, dir2)
	recs := waitFor(t, j, "preempt, emergency, resume", func(r []Record) bool {
		return count(Preempted)(r) == 1 && count(Finished)(r) == 2
	})
	var preempted, emStart, resumed *Record
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Kind == Preempted:
			preempted = r
		case r.Kind == Started && strings.Contains(r.Entry, "!em"):
			emStart = r
		case r.Kind == Started && emStart != nil && strings.HasSuffix(r.Entry, "#1"):
			resumed = r
		}
	}
	if preempted == nil || emStart == nil || resumed == nil {
		t.Fatalf("preempted %v, emergency %v, resumed %v", preempted, emStart, resumed)
	}
	t.Logf("stopped %s and emergency sounding %s after the new plan", preempted.At.Sub(raised), emStart.At.Sub(raised))
	if d := emStart.At.Sub(raised); d > lateBound {
		t.Errorf("the emergency started %s after it arrived: want within %s", d, lateBound)
	}
	// Resumed where the schedule is: the offset is the time since the start.
	if want := resumed.At.Sub(base); time.Duration(resumed.OffsetMS)*time.Millisecond < want-300*time.Millisecond || time.Duration(resumed.OffsetMS)*time.Millisecond > want+100*time.Millisecond {
		t.Errorf("resumed at offset %d ms, %s after its start", resumed.OffsetMS, want)
	}
}

// syncBuffer is a log destination safe for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunnerExpiredBundleIsNotPlayed: past its valid_until a bundle is
// not played, and the player says so.
func TestRunnerExpiredBundleIsNotPlayed(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	a := b.media(toneData(t, "2", "440"))
	base := time.Now().Add(time.Second)
	b.m.ValidUntil = time.Now().Add(-time.Minute)
	b.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 2*time.Second, a))
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), b.writeOut(t))
	j := openJournal(t, filepath.Join(t.TempDir(), "journal"))
	var logs syncBuffer
	r := &Runner{Cluster: "trung-tam", Current: cur, Journal: j, MPV: mpv.Options{AO: "null", SocketDir: t.TempDir()}, Now: time.Now,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	r.Run(ctx)
	if recs := j.Records(0); len(recs) != 0 {
		t.Fatalf("an expired bundle was played: %+v", recs)
	}
	if !strings.Contains(logs.String(), "NOT PLAYING") {
		t.Fatalf("the player did not say why it is silent: %s", logs.String())
	}
}

// TestRunnerShortAudioIsNotPlayed: mpv reaching the end of a file far
// sooner than the schedule says is no proof of play: the item is
// reported failed with the reason.
func TestRunnerShortAudioIsNotPlayed(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	short := b.media(toneData(t, "1", "440"))
	base := time.Now().Add(2 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam", at("2025-03-03T05:30#1", base, 6*time.Second, short)) // says 6 s, lasts 1
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), b.writeOut(t))
	j, _ := runners(t, cur, "trung-tam")
	recs := waitFor(t, j, "the end", func(r []Record) bool { return count(Failed)(r)+count(Finished)(r) == 1 })
	if last := recs[len(recs)-1]; last.Kind != Failed || !strings.Contains(last.Reason, "shorter") {
		t.Fatalf("%s: %q", last.Kind, last.Reason)
	}
}

// TestRunnerSoak measures the start-time error over many back-to-back
// items on two clusters at once (LOA_PLAYER_SOAK_ITEMS per cluster; the
// test is skipped without it): each start within 1 s of plan.
func TestRunnerSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LOA_PLAYER_SOAK_ITEMS"))
	if n <= 0 {
		t.Skip("set LOA_PLAYER_SOAK_ITEMS to run the soak")
	}
	needMPV(t)
	b := newTestBundle()
	shas := []string{b.media(toneData(t, "2", "440")), b.media(toneData(t, "2", "550")), b.media(toneData(t, "2", "660"))}
	base := time.Now().Add(6 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	for _, cluster := range []string{"trung-tam", "ban-a"} {
		var entries []schedules.Entry
		for i := range n {
			entries = append(entries, at(fmt.Sprintf("2025-03-03T05:30#%d", i+1), base.Add(time.Duration(i)*2100*time.Millisecond), 2100*time.Millisecond, shas[i%3]))
		}
		b.playlist(t, cluster, entries...)
	}
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), b.writeOut(t))
	j, _ := runners(t, cur, "trung-tam", "ban-a")
	recs := waitFor(t, j, "the soak", func(r []Record) bool { return count(Finished)(r)+count(Failed)(r) == 2*n })
	var lates []time.Duration
	for _, r := range recs {
		if r.Kind == Started {
			lates = append(lates, r.At.Sub(r.Planned))
		}
		if r.Kind == Failed {
			t.Errorf("%s %s failed: %s", r.Cluster, r.Entry, r.Reason)
		}
	}
	slices.Sort(lates)
	t.Logf("start error over %d items: median %s, worst %s", len(lates), lates[len(lates)/2], lates[len(lates)-1])
	if len(lates) != 2*n || lates[len(lates)-1] > lateBound {
		t.Errorf("%d starts, worst %s", len(lates), lates[len(lates)-1])
	}
}

// TestRunnerBackToBack: when an item runs to its window's end and is
// cut there, the next one (preloaded) starts at once from its beginning,
// not reloaded at the offset its late start would give.
func TestRunnerBackToBack(t *testing.T) {
	needMPV(t)
	b := newTestBundle()
	a, c := b.media(toneData(t, "3", "440")), b.media(toneData(t, "3", "660"))
	base := time.Now().Add(6 * time.Second)
	b.m.ValidUntil = base.Add(time.Hour)
	b.playlist(t, "trung-tam",
		at("2025-03-03T05:30#1", base, 1500*time.Millisecond, a), // the file is longer than its window
		at("2025-03-03T05:30#2", base.Add(1500*time.Millisecond), 3*time.Second, c))
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), b.writeOut(t))
	j, _ := runners(t, cur, "trung-tam")
	// The second item ends finished, or cut at its window's end when a busy
	// machine started it late; either way it started from its beginning.
	recs := waitFor(t, j, "both items", func(r []Record) bool { return count(Finished)(r)+count(Failed)(r) == 2 })
	for _, r := range recs {
		if r.Kind == Started && r.Entry == "2025-03-03T05:30#2" {
			t.Logf("second item %s after plan", r.At.Sub(r.Planned))
			if r.OffsetMS != 0 || r.At.Sub(r.Planned) > lateBound {
				t.Fatalf("second item started at offset %d ms, %s after plan: want the preloaded item from its start", r.OffsetMS, r.At.Sub(r.Planned))
			}
		}
	}
}

// TestRunnerNewerEmergencyPreemptsOlder: a second, different emergency
// arriving while one sounds stops it at once (the newer warning is the
// more recent word), plays to its end, and then the older warning plays
// again from its start, so both are heard whole.
func TestRunnerNewerEmergencyPreemptsOlder(t *testing.T) {
	needMPV(t)
	older, newer := toneData(t, "8", "440"), toneData(t, "2", "880")
	interruptAt := func(id string, start time.Time, d time.Duration, sha string) schedules.Entry {
		return schedules.Entry{ID: "2025-03-03T053000!" + id, Kind: schedules.EntryInterrupt, Start: start, DurationMS: d.Milliseconds(),
			SegmentID: id, SHA256: sha, URL: "media/" + sha + ".mp3"}
	}
	b := newTestBundle()
	a := b.media(older)
	raisedA := time.Now()
	b.m.ValidUntil = raisedA.Add(time.Hour)
	b.playlist(t, "trung-tam", interruptAt("a", raisedA, 8*time.Second, a))
	cur := NewCurrent()
	cur.Set(mustPlan(t, b), b.writeOut(t))
	j, _ := runners(t, cur, "trung-tam")
	waitFor(t, j, "the first warning's start", func(r []Record) bool { return count(Started)(r) == 1 })
	time.Sleep(time.Second)

	b2 := newTestBundle()
	b2.m.ValidUntil = b.m.ValidUntil
	b2.media(older)
	bb := b2.media(newer)
	raisedB := time.Now()
	b2.playlist(t, "trung-tam", interruptAt("a", raisedA, 8*time.Second, a), interruptAt("b", raisedB, 2*time.Second, bb))
	cur.Set(mustPlan(t, b2), b2.writeOut(t))
	startedB := func(r Record) bool { return r.Kind == Started && strings.HasSuffix(r.Entry, "!b") }
	recs := waitFor(t, j, "the newer warning played", func(r []Record) bool {
		return slices.ContainsFunc(r, func(r Record) bool { return r.Kind == Finished && strings.HasSuffix(r.Entry, "!b") })
	})
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Kind)+" "+r.Entry[strings.Index(r.Entry, "!"):])
	}
	iB := slices.IndexFunc(recs, startedB)
	iPre := slices.IndexFunc(recs, func(r Record) bool { return r.Kind == Preempted && strings.HasSuffix(r.Entry, "!a") })
	if iPre < 0 || iPre > iB {
		t.Fatalf("the sounding warning was not preempted by the newer one; journal: %v", kinds)
	}
	if d := recs[iB].At.Sub(raisedB); d > lateBound {
		t.Errorf("the newer warning started %s after it arrived: want within %s", d, lateBound)
	}
	t.Logf("older warning stopped %s, newer sounding %s after the new plan", recs[iPre].At.Sub(raisedB), recs[iB].At.Sub(raisedB))
	recs = waitFor(t, j, "the older warning heard whole after it", func(r []Record) bool {
		return slices.ContainsFunc(r, func(r Record) bool { return r.Kind == Finished && strings.HasSuffix(r.Entry, "!a") })
	})
	for _, r := range recs {
		if r.Kind == Started && strings.HasSuffix(r.Entry, "!a") && r.OffsetMS != 0 {
			t.Errorf("the older warning started at offset %d ms: want from its start", r.OffsetMS)
		}
	}
}
