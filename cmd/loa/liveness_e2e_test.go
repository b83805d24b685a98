package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// lockedLog collects a process's stderr; safe to read while it runs.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

// Write makes lockedLog an io.Writer, for an app's log.
func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWorker runs `loa worker` for in and waits until it has started.
// It is killed with SIGKILL when the test ends.
func startWorker(t *testing.T, in *instance, limit time.Duration, extraEnv ...string) (*exec.Cmd, *lockedLog) {
	t.Helper()
	cmd := exec.Command(loaBin, "worker")
	cmd.Env = append(in.env(), extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedLog{}
	started := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := sync.Once{}
		for sc.Scan() {
			logs.add(sc.Text())
			if strings.Contains(sc.Text(), "worker started") {
				once.Do(func() { close(started) })
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-started:
	case err := <-exited:
		exited <- err
		t.Fatalf("loa worker exited: %v\n%s", err, logs)
	case <-time.After(limit):
		t.Fatalf("loa worker did not start within %v\n%s", limit, logs)
	}
	return cmd, logs
}

// TestKilledWorkerTakenOver runs two Loa processes on one database (the
// PostgreSQL server under make test-postgres, else one SQLite file): a
// `loa serve` that takes an upload and starts its ffmpeg, and a `loa
// worker`. The serve is killed with SIGKILL in the middle of ffmpeg; the
// worker must take the job over once its lease lapses (not an hour later,
// and not before the lease could have lapsed) and finish it exactly once:
// one "processed" event, each rendition stored once, no object outside the
// catalog, no unfinished upload.
func TestKilledWorkerTakenOver(t *testing.T) {
	mediatest.Need(t)
	const leaseEvery, deadAfter = time.Second, 4 * time.Second
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	loc := pgtest.Location(t, "loa.db")
	lease := []string{"LOA_DB=" + loc, "LOA_LEASE_EVERY=" + leaseEvery.String(), "LOA_DEAD_AFTER=" + deadAfter.String()}
	a := newInstance(t, s3)
	a.extra = lease
	token := a.bootstrap()
	a.start()

	id := a.uploadLongTV(token, "Tiếp quản khi tiến trình chết")

	db, err := sqlstore.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	row := func() (state, step string) {
		s, err := db.Segment(ctx, id)
		if err != nil {
			return "", err.Error()
		}
		return string(s.State), s.ProcessStep
	}
	job := func() (attempt int, state string) {
		err := db.SQL().QueryRowContext(ctx, "SELECT attempt, state FROM river_job WHERE kind = 'process_segment'").Scan(&attempt, &state)
		if err != nil {
			return 0, err.Error()
		}
		return attempt, state
	}
	eventuallyWithin(t, budget(t, 0.3), "ffmpeg running on the segment in loa serve", func() (bool, string) {
		state, step := row()
		return step == "loudspeaker", state + "/" + step
	})

	b := newInstance(t, s3)
	b.extra = lease
	_, blog := startWorker(t, b, budget(t, 0.2))

	// A's lease may have been renewed up to one period before the kill.
	a.stop(syscall.SIGKILL)
	killed := time.Now()
	if state, _ := row(); state != "probed" {
		t.Fatalf("state after the kill: %s, want probed (unfinished)", state)
	}
	eventuallyWithin(t, budget(t, 0.4), "the job taken over by loa worker", func() (bool, string) {
		attempt, state := job()
		return attempt == 2 && state == "running" || state == "completed", fmt.Sprintf("attempt %d, %s", attempt, state)
	})
	takeover := time.Since(killed)
	if takeover < deadAfter-leaseEvery {
		t.Errorf("the job was taken over %v after the kill, before its lease (%v, renewed every %v) could lapse", takeover, deadAfter, leaseEvery)
	}
	eventuallyWithin(t, budget(t, 0.5), "the segment processed by loa worker", func() (bool, string) {
		state, step := row()
		return state == "processed", state + "/" + step
	})
	processed := time.Since(killed)
	seg, err := db.Segment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, budget(t, 0.5), "the poster and preview made", func() (bool, string) {
		s, err := db.Segment(ctx, id)
		return err == nil && s.ProcessStep == "", fmt.Sprint(s.ProcessStep, err)
	})
	t.Logf("kill -9 → taken over in %v, processed in %v (lease renewed every %v, dead after %v)",
		takeover.Round(100*time.Millisecond), processed.Round(100*time.Millisecond), leaseEvery, deadAfter)

	if !strings.Contains(blog.String(), "took back a job whose worker died") {
		t.Errorf("loa worker did not log the takeover:\n%s", blog)
	}
	rs, err := db.Renditions(ctx, seg.ID)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range rs {
		count[r.Name]++
	}
	for _, name := range []string{"loudspeaker_mp3", "loudspeaker_opus", "poster_jpg", "preview_mp4"} {
		if count[name] != 1 {
			t.Errorf("rendition %s recorded %d times, want once (all: %v)", name, count[name], count)
		}
	}
	if up, rend, partial := segmentObjects(t, s3); up != 1 || rend != 4 || partial != 0 {
		t.Errorf("bucket holds %d uploads, %d renditions and %d partial uploads, want 1, 4 and 0", up, rend, partial)
	}
	var events int
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM segment_events WHERE segment_id = ? AND action = 'processed'", id).Scan(&events); err != nil || events != 1 {
		t.Errorf("processed events: %d (%v), want 1", events, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(b.data, "tmp")); len(entries) != 0 {
		t.Errorf("work folders left by loa worker: %v", entries)
	}
}
