package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/player"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// playerClip is a ready segment's audio as the schedule refers to it.
type playerClip struct {
	segment string
	key     string
	sha     string
	size    int64
	ms      int64
}

// playerProc is one running `loa player`.
type playerProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// playerLateBound is how late this test lets a start or a preemption be:
// the 1 s bar depends on the machine and is logged, not asserted; a
// failure here means an event was missed, not a busy machine.
const playerLateBound = 10 * time.Second

func startPlayer(t *testing.T, in *instance, token, dir string) *playerProc {
	t.Helper()
	cmd := exec.Command(loaBin, "player", "--commune", "muong-lan", "--dir", dir, "--ao", "null", "--sync-every", "10s")
	cmd.Env = append(os.Environ(), "LOA_SERVER="+in.url, "LOA_TOKEN="+token)
	p := &playerProc{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *playerProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// journal reads a running player's journal.
func readPlayerJournal(t *testing.T, dir string) []player.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, player.JournalLog))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := player.ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	return res.Records
}

func waitJournal(t *testing.T, dir string, p *playerProc, limit time.Duration, what string, cond func([]player.Record) bool) []player.Record {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		recs := readPlayerJournal(t, dir)
		if cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			var lines []string
			for _, r := range recs {
				lines = append(lines, fmt.Sprintf("%s %s %s %s", r.Kind, r.Cluster, r.Entry, r.Reason))
			}
			p.kill() // its output is read whole once it has ended
			t.Fatalf("%s did not happen; journal:\n%s\nplayer log:\n%s", what, strings.Join(lines, "\n"), p.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func closing(recs []player.Record, kind player.Kind, entry string) []player.Record {
	var out []player.Record
	for _, r := range recs {
		if r.Kind == kind && (entry == "" || r.Entry == entry) {
			out = append(out, r)
		}
	}
	return out
}

// TestPlayerEndToEnd runs the real `loa player` (real mpv, null audio
// output) against a real `loa serve`: items a few seconds apart play in
// order, each start within 1 s of plan by the journal; with the server
// stopped, playing goes on and every report arrives once after it
// returns; after kill -9 mid-item the player resumes that item at its
// offset and replays nothing finished; an emergency raised through the
// API preempts within 1 s.
func TestPlayerEndToEnd(t *testing.T) {
	mediatest.Need(t)
	if _, err := exec.LookPath("mpv"); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("mpv is missing (make deps installs it)")
		}
		t.Skip("mpv is missing (make deps installs it)")
	}
	store, s3 := objectstest.New(t)
	in := newInstance(t, s3)
	producerTok := in.bootstrap()
	admin := in.userToken("so-noi-vu", "admin", "")
	// A fixed port, so the player finds the server again after a restart;
	// the nightly build runs at start only (its cron is once a year).
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	serverEnv := []string{"LOA_ADDR=" + addr, "LOA_CRON_SCHEDULES=0 3 1 1 *"}
	in.start(serverEnv...)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(in.data, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loc := broadcast.Location()
	today := schedules.DateOf(time.Now().In(loc))
	eventually(t, "the start-up nightly build", func() (bool, string) {
		c, err := db.BeginBuild(ctx, "nightly/"+today.String(), "e2e-probe", time.Minute)
		if c.Claimed {
			db.FinishBuild(ctx, "nightly/"+today.String(), "e2e-probe", 0, 0, true)
		}
		return err == nil && c.Done, fmt.Sprintf("%+v %v", c, err)
	})
	// A server restart runs the nightly build again for its date: mark
	// tomorrow's done too, so a test running across midnight in Sơn La
	// keeps its own schedule.
	if c, err := db.BeginBuild(ctx, "nightly/"+today.AddDays(1).String(), "e2e-probe", time.Minute); err != nil || !c.Claimed {
		t.Fatalf("claim tomorrow's nightly build: %+v %v", c, err)
	}
	if err := db.FinishBuild(ctx, "nightly/"+today.AddDays(1).String(), "e2e-probe", 0, 0, false); err != nil {
		t.Fatal(err)
	}
	broadcasttest.LoadRegistry(t, db, "../../schedules/testdata/sonla-demo.yaml")
	producer, err := db.UserByName(ctx, "dai-ptth")
	if err != nil {
		t.Fatal(err)
	}
	clip := func(seconds, freq string) playerClip {
		t.Helper()
		path := mediatest.Generate(t, t.TempDir(), "tone.mp3", "-f", "lavfi", "-i", "sine=frequency="+freq+":duration="+seconds, "-ac", "1", "-b:a", "64k")
		id := broadcasttest.AddReady(t, db, store, producer, broadcasttest.Segment{Title: "Tiếng " + freq + " Hz", Languages: []string{"vi", "blt", "hnj"}, Audio: path,
			AirFrom: time.Now().Add(-48 * time.Hour)})
		data, _ := os.ReadFile(path)
		sum := sha256.Sum256(data)
		info, err := media.Probe(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return playerClip{segment: id, key: "segments/" + id + "/vi/loudspeaker.mp3", sha: hex.EncodeToString(sum[:]), size: int64(len(data)), ms: info.Duration.Milliseconds()}
	}
	short1, short2, short3, long := clip("3", "440"), clip("3", "550"), clip("3", "660"), clip("10", "330")
	emergency := clip("3", "990")
	warning := clip("10", "1100")  // phase e: raised, then ended as a false alarm while it sounds
	warning2 := clip("30", "1300") // phase f: sounding when the player is killed, ended while it is down

	// schedule stores a version of Mường Lạn with the given items; each
	// is (cluster, entry id, start, clip). It is built for today and
	// tomorrow (a test may run across midnight in Sơn La): the player
	// asks for 3 days and takes the 2 built, as the server signs no day
	// it has not built.
	type planned struct {
		cluster, id string
		at          time.Time
		c           playerClip
	}
	version := 0
	schedule := func(items ...planned) {
		t.Helper()
		version++
		var rows []pipeline.ScheduleItem
		for i, p := range items {
			rows = append(rows, pipeline.ScheduleItem{Cluster: p.cluster, Date: schedules.DateOf(p.at.In(loc)).String(), SlotStart: 0, Position: i, EntryID: p.id,
				Kind: "segment", Start: p.at.UTC(), DurationMS: p.c.ms, SegmentID: p.c.segment, Language: "vi", Title: "tone",
				AudioKey: p.c.key, SHA256: p.c.sha, Size: p.c.size})
		}
		etag := fmt.Sprintf("player-test-%d-%d", version, time.Now().UnixNano())
		if err := db.SaveVersions(ctx, []pipeline.VersionWrite{{Version: pipeline.ScheduleVersion{Commune: "muong-lan", ETag: etag,
			Start: today.String(), Days: 2, Reason: "test"}, Items: rows}}); err != nil {
			t.Fatal(err)
		}
		// The server caches a commune's head for a second: wait until it
		// serves this version, as it would a version it built itself.
		eventually(t, "the server serving the new version", func() (bool, string) {
			req, _ := http.NewRequest("GET", in.url+"/api/communes/muong-lan", nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			var v api.CommuneView
			json.NewDecoder(resp.Body).Decode(&v)
			return v.ETag == etag, v.ETag
		})
	}
	// Entry ids start with their date, as the builder's do; the date is
	// the start's in Sơn La (a test may run across midnight there).
	id := func(phase string, n int, at time.Time) string {
		return fmt.Sprintf("%sT%s#%d", schedules.DateOf(at.In(loc)), phase, n)
	}

	devTok := strings.TrimSpace(in.must(admin, "device", "add", "--commune", "muong-lan", "--label", "may-phat-xa"))
	dir := t.TempDir()

	// 1. On time: two clusters, items a few seconds apart, overlapping.
	base := time.Now().Add(12 * time.Second).Truncate(time.Second)
	schedule(
		planned{"trung-tam", id("a", 1, base), base, short1},
		planned{"trung-tam", id("a", 2, base), base.Add(4 * time.Second), short2},
		planned{"trung-tam", id("a", 3, base), base.Add(8 * time.Second), short3},
		planned{"ban-mong", id("a", 1, base), base.Add(1500 * time.Millisecond), short2},
		planned{"ban-mong", id("a", 2, base), base.Add(5500 * time.Millisecond), short3},
	)
	pl := startPlayer(t, in, devTok, dir)
	recs := waitJournal(t, dir, pl, 60*time.Second, "five items played", func(r []player.Record) bool { return len(closing(r, player.Finished, "")) == 5 })
	var lates []time.Duration
	var order []string
	for _, r := range recs {
		if r.Kind != player.Started {
			continue
		}
		late := r.At.Sub(r.Planned)
		lates = append(lates, late)
		if late < -50*time.Millisecond || late > playerLateBound {
			t.Errorf("%s %s started %s from plan, want within %s", r.Cluster, r.Entry, late, playerLateBound)
		}
		if r.Cluster == "trung-tam" {
			order = append(order, r.Entry)
		}
	}
	if !slices.Equal(order, []string{id("a", 1, base), id("a", 2, base), id("a", 3, base)}) {
		t.Errorf("trung-tam played %v", order)
	}
	slices.Sort(lates)
	t.Logf("start error over %d items: median %s, worst %s", len(lates), lates[len(lates)/2], lates[len(lates)-1])
	if out := in.must("", "player", "status", "--dir", dir); !strings.Contains(out, "muong-lan") || !strings.Contains(out, "last sync") {
		t.Errorf("player status: %s", out)
	}

	// 2. The server stops; the next items play all the same, and their
	// reports arrive once it is back.
	base = time.Now().Add(22 * time.Second)
	// A media file changed on the device is refused and reported; the
	// rest plays.
	schedule(
		planned{"trung-tam", id("b", 1, base), base, short1},
		planned{"trung-tam", id("b", 2, base), base.Add(4 * time.Second), short2},
		planned{"trung-tam", id("b", 3, base), base.Add(8 * time.Second), short3},
	)
	waitJournal(t, dir, pl, 19*time.Second, "phase b's bundle on the device", func([]player.Record) bool { return bundleHas(dir, id("b", 1, base)) })
	tampered := filepath.Join(dir, player.BundleDir, broadcast.MediaPath(short3.sha))
	data, err := os.ReadFile(tampered)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(tampered, data, 0o644); err != nil {
		t.Fatal(err)
	}
	in.stop(syscall.SIGTERM)
	recs = waitJournal(t, dir, pl, 40*time.Second, "phase b with the server down", func(r []player.Record) bool {
		return len(closing(r, player.Finished, id("b", 1, base))) == 1 && len(closing(r, player.Finished, id("b", 2, base))) == 1 &&
			len(closing(r, player.Failed, id("b", 3, base))) == 1
	})
	if f := closing(recs, player.Failed, id("b", 3, base)); !strings.Contains(f[0].Reason, "checksum") {
		t.Errorf("the tampered item failed with %q, want the checksum named", f[0].Reason)
	}
	in.start(serverEnv...)

	// 3. kill -9 mid-item: the item resumes at its offset, nothing
	// finished plays again.
	base = time.Now().Add(8 * time.Second)
	schedule(
		planned{"trung-tam", id("c", 1, base), base, short3},
		planned{"trung-tam", id("c", 2, base), base.Add(4 * time.Second), long},
		planned{"trung-tam", id("c", 3, base), base.Add(15 * time.Second), short1},
	)
	pl.kill()
	pl = startPlayer(t, in, devTok, dir) // pulls the new version at start
	waitJournal(t, dir, pl, 30*time.Second, "the long item playing", func(r []player.Record) bool { return len(closing(r, player.Started, id("c", 2, base))) == 1 })
	time.Sleep(3 * time.Second)
	pl.kill()
	killed := time.Now()
	pl = startPlayer(t, in, devTok, dir)
	recs = waitJournal(t, dir, pl, 40*time.Second, "the rest of phase c", func(r []player.Record) bool {
		return len(closing(r, player.Finished, id("c", 3, base))) == 1
	})
	// c1 plays the file tampered with in phase b: the sync repaired it.
	if n := len(closing(recs, player.Finished, id("c", 1, base))); n != 1 {
		t.Errorf("the repaired item %s finished %d times, want 1", id("c", 1, base), n)
	}
	if n := len(closing(recs, player.Started, id("c", 1, base))); n != 1 {
		t.Errorf("the finished item %s started %d times", id("c", 1, base), n)
	}
	if n := len(closing(recs, player.Interrupted, id("c", 2, base))); n != 1 {
		t.Errorf("%s closed as interrupted %d times, want 1", id("c", 2, base), n)
	}
	starts := closing(recs, player.Started, id("c", 2, base))
	if len(starts) != 2 || starts[1].OffsetMS < 3000 {
		t.Errorf("after kill -9, %s started %d times, the second at offset %v ms (want about %s)", id("c", 2, base), len(starts), starts[len(starts)-1].OffsetMS, time.Since(base.Add(4*time.Second)))
	} else {
		t.Logf("resumed %s at offset %d ms, %s after kill -9", id("c", 2, base), starts[1].OffsetMS, starts[1].At.Sub(killed))
	}

	// 4. An emergency raised through the API preempts within 1 s.
	base = time.Now().Add(12 * time.Second)
	schedule(planned{"trung-tam", id("d", 1, base), base, long}, planned{"ban-mong", id("d", 1, base), base, long})
	waitJournal(t, dir, pl, 40*time.Second, "phase d playing", func(r []player.Record) bool { return len(closing(r, player.Started, id("d", 1, base))) == 2 })
	time.Sleep(time.Second)
	body, _ := json.Marshal(api.EmergencyRequest{Communes: []string{"muong-lan"}, Reason: "Lũ quét", Confirm: true})
	req, _ := http.NewRequest("POST", in.url+"/api/segments/"+emergency.segment+"/emergency", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+producerTok)
	req.Header.Set("Content-Type", "application/json")
	raised := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("emergency: %s", resp.Status)
	}
	recs = waitJournal(t, dir, pl, 30*time.Second, "the emergency on both clusters", func(r []player.Record) bool {
		n := 0
		for _, x := range r {
			if x.Kind == player.Started && strings.Contains(x.Entry, "!") {
				n++
			}
		}
		return n == 2 && len(closing(r, player.Preempted, id("d", 1, base))) == 2
	})
	for _, r := range recs {
		if r.Kind == player.Preempted {
			t.Logf("%s: stopped %s after the API was called", r.Cluster, r.At.Sub(raised))
			if d := r.At.Sub(raised); d > playerLateBound {
				t.Errorf("%s stopped %s after the emergency was raised: want within %s", r.Cluster, d, playerLateBound)
			}
		}
		if r.Kind == player.Started && strings.Contains(r.Entry, "!") {
			t.Logf("%s: emergency sounding %s after the API was called", r.Cluster, r.At.Sub(raised))
			if d := r.At.Sub(raised); d > playerLateBound {
				t.Errorf("%s: the emergency started %s after it was raised: want within %s", r.Cluster, d, playerLateBound)
			}
		}
	}

	// Idle between slots (listening to the events stream, polling every
	// 10 s): the player's own CPU time and memory.
	waitJournal(t, dir, pl, 30*time.Second, "the emergency played", func(r []player.Record) bool {
		n := 0
		for _, x := range r {
			if x.Kind == player.Finished && strings.Contains(x.Entry, "!") {
				n++
			}
		}
		return n == 2
	})
	cpu0 := cpuTime(t, pl.cmd.Process.Pid)
	time.Sleep(20 * time.Second)
	cpu := cpuTime(t, pl.cmd.Process.Pid) - cpu0
	rss := rssKiB(t, pl.cmd.Process.Pid)
	t.Logf("idle player: %s of CPU (%.2f %% of one core) over 20 s, RSS %d KiB", cpu, 100*cpu.Seconds()/20, rss)
	if cpu > 400*time.Millisecond || rss > 128<<10 {
		t.Errorf("idle player used %s of CPU in 20 s and %d KiB of memory", cpu, rss)
	}

	// 5. An emergency ended early (a false alarm) while its interrupt
	// sounds stops at once on both clusters: journalled stopped with the
	// reason, never finished, and reported failed.
	in.must(producerTok, "segments", "emergency", warning.segment, "--communes", "muong-lan", "--reason", "Lũ quét", "--yes")
	isWarning := func(r player.Record) bool { return r.SegmentID == warning.segment && strings.Contains(r.Entry, "!") }
	waitJournal(t, dir, pl, 30*time.Second, "the warning sounding on both clusters", func(r []player.Record) bool {
		n := 0
		for _, x := range r {
			if x.Kind == player.Started && isWarning(x) {
				n++
			}
		}
		return n == 2
	})
	time.Sleep(2500 * time.Millisecond)
	ended := time.Now()
	in.must(producerTok, "segments", "emergency", warning.segment, "--end", "--reason", "báo động nhầm", "--yes")
	recs = waitJournal(t, dir, pl, 30*time.Second, "the warning stopped on both clusters", func(r []player.Record) bool {
		n := 0
		for _, x := range r {
			if x.Kind != player.Started && isWarning(x) {
				n++
			}
		}
		return n == 2
	})
	stoppedPlays := map[string]bool{}
	for _, r := range recs {
		if r.Kind == player.Started || !isWarning(r) {
			continue
		}
		t.Logf("%s: the warning %s %s after the end was asked for (%s)", r.Cluster, r.Kind, r.At.Sub(ended), r.Reason)
		if r.Kind != player.Stopped || !strings.Contains(r.Reason, "no longer has this item") {
			t.Errorf("%s: the ended warning closed %s %q, want stopped with the reason", r.Cluster, r.Kind, r.Reason)
		}
		if d := r.At.Sub(ended); d > playerLateBound {
			t.Errorf("%s: the warning stopped %s after its emergency ended: want within %s", r.Cluster, d, playerLateBound)
		}
		stoppedPlays[r.Play] = true
	}

	// Every report reached the server, each once.
	want := map[string]player.Record{}
	eventually(t, "every report on the server", func() (bool, string) {
		for _, r := range readPlayerJournal(t, dir) {
			if r.Uploads() {
				want[r.Play] = r
			}
		}
		var got []pipeline.PlayRecord
		for _, d := range []schedules.Date{today, today.AddDays(1)} {
			day, err := db.PlayReports(ctx, "muong-lan", d.String())
			if err != nil {
				return false, err.Error()
			}
			got = append(got, day...)
		}
		seen := map[string]int{}
		for _, g := range got {
			seen[g.ID]++
		}
		for p, r := range want {
			if seen[p] != 1 {
				return false, fmt.Sprintf("report %s (%s %s %s) stored %d times", p, r.Kind, r.Cluster, r.Entry, seen[p])
			}
		}
		return len(got) == len(want), fmt.Sprintf("%d stored, %d in the journal", len(got), len(want))
	})
	// The stopped warning is on the server as not played, with the reason.
	for _, d := range []schedules.Date{today, today.AddDays(1)} {
		day, err := db.PlayReports(ctx, "muong-lan", d.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range day {
			if stoppedPlays[g.ID] {
				delete(stoppedPlays, g.ID)
				if g.Status != string(schedules.Failed) || !strings.Contains(g.Reason, "no longer has this item") {
					t.Errorf("the stopped warning on %s is reported %s %q, want failed with the reason", g.Cluster, g.Status, g.Reason)
				}
			}
		}
	}
	if len(stoppedPlays) != 0 {
		t.Errorf("%d stopped plays not on the server", len(stoppedPlays))
	}

	// The server keeps the device's latest heartbeat: online, the bundle
	// in force, nothing left to upload.
	eventually(t, "the device's heartbeat on the server", func() (bool, string) {
		head, err := db.CommuneHead(ctx, "muong-lan")
		if err != nil {
			return false, err.Error()
		}
		devs, err := db.DeviceHeartbeats(ctx, "muong-lan")
		if err != nil || len(devs) != 1 || devs[0].Heartbeat == nil {
			return false, fmt.Sprintf("devices %+v, %v", devs, err)
		}
		hb := devs[0].Heartbeat
		state := schedules.DeviceStateOf(devs[0].ReceivedAt, hb.Every(), time.Now())
		return state == schedules.DeviceOnline && hb.BundleVersion == head.VersionID && hb.Backlog == 0 && hb.PlayerVersion != "" && hb.FreeBytes > 0,
			fmt.Sprintf("%s, heartbeat %+v (server's version %s)", state, hb, head.VersionID)
	})
	// Columns: commune, device, state, last heartbeat, ago, version, reports waiting.
	if out := in.must(admin, "device", "list"); !strings.HasPrefix(out, "COMMUNE ") ||
		!regexp.MustCompile(`(?m)^muong-lan\s+\S+\s+online\s+20\d\d-\d\d-\d\d \d\d:\d\d \+07:00\s+\S+\s+\S+\s+0\s`).MatchString(out) {
		t.Errorf("loa device list: %s", out)
	}
	if out := in.must("", "player", "status", "--dir", dir); !strings.Contains(out, "last heartbeat received by the server 20") {
		t.Errorf("player status does not show the last heartbeat: %s", out)
	}

	// 6. kill -9 of the player while a warning sounds, and the warning
	// ended as a false alarm while the player is down: its mpv die with
	// it, and the player started again neither sounds the ended warning
	// nor reports it failed (it syncs before it plays from its bundle).
	in.must(producerTok, "segments", "emergency", warning2.segment, "--communes", "muong-lan", "--reason", "Lũ quét", "--yes")
	isWarning2 := func(r player.Record) bool { return r.SegmentID == warning2.segment && strings.Contains(r.Entry, "!") }
	waitJournal(t, dir, pl, 30*time.Second, "the second warning sounding on both clusters", func(r []player.Record) bool {
		return len(slices.DeleteFunc(closing(r, player.Started, ""), func(x player.Record) bool { return !isWarning2(x) })) == 2
	})
	mpvs := mpvChildren(pl.cmd.Process.Pid)
	if len(mpvs) < 2 {
		t.Fatalf("mpv children of the player sounding the warning: %v, want one a cluster", mpvs)
	}
	pl.kill()
	for _, pid := range mpvs {
		eventuallyWithin(t, 10*time.Second, fmt.Sprintf("mpv %d ended with its player", pid), func() (bool, string) {
			state := procState(pid)
			return state == "" || state == "Z", "state " + state
		})
	}
	in.must(producerTok, "segments", "emergency", warning2.segment, "--end", "--reason", "báo động nhầm khi mất điện", "--yes")
	seen := len(readPlayerJournal(t, dir))
	pl = startPlayer(t, in, devTok, dir)
	waitJournal(t, dir, pl, 30*time.Second, "the killed plays closed as interrupted", func(r []player.Record) bool {
		return len(r) >= seen+2
	})
	eventually(t, "the restarted player synced", func() (bool, string) {
		head, err := db.CommuneHead(ctx, "muong-lan")
		if err != nil {
			return false, err.Error()
		}
		data, _ := os.ReadFile(filepath.Join(dir, player.StatusFile))
		var st player.StatusDoc
		json.Unmarshal(data, &st)
		return st.Version == head.VersionID, fmt.Sprintf("player at %q, server at %q", st.Version, head.VersionID)
	})
	// What a runner starting from the stale bundle would do, it does at
	// once: give it a moment.
	time.Sleep(3 * time.Second)
	for _, r := range readPlayerJournal(t, dir)[seen:] {
		if isWarning2(r) && r.Kind != player.Interrupted {
			t.Errorf("%s: the warning ended while the player was down was %s after the restart (%s)", r.Cluster, r.Kind, r.Reason)
		}
	}
}

// bundleHas reports whether the player's bundle has an entry.
func bundleHas(dir, entry string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, player.BundleDir, "*.json"))
	for _, m := range matches {
		data, _ := os.ReadFile(m)
		if bytes.Contains(data, []byte(`"`+entry+`"`)) {
			return true
		}
	}
	return false
}

// cpuTime is a process's user plus system CPU time (Linux /proc).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command's closing parenthesis; utime and stime are
	// the 14th and 15th of the whole line, in clock ticks (100 a second).
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rssKiB is a process's resident memory.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &n)
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// procState is process pid's state letter in /proc ("" when it is gone).
func procState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	st := string(data)
	// pid (comm) STATE PPID ...: comm may hold spaces and ')'.
	i := strings.LastIndexByte(st, ')')
	if i < 0 || len(st) < i+3 {
		return ""
	}
	return st[i+2 : i+3]
}

// mpvChildren lists the running mpv processes whose parent is ppid.
func mpvChildren(ppid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		st := string(data)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(st[end+1:])
		if st[open+1:end] != "mpv" || len(fields) < 2 || fields[1] != strconv.Itoa(ppid) || fields[0] == "Z" {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(st[:open])); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
