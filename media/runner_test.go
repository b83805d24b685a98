package media

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// noiseJob renders seconds of pink noise to out as MP3; realtime paces it
// at playback speed (-re) so a test can catch it running.
func noiseJob(out string, seconds string, realtime bool) Job {
	in := ffmpeg.KwArgs{"f": "lavfi"}
	if realtime {
		in["re"] = ""
	}
	s := ffmpeg.Input("anoisesrc=color=pink:duration="+seconds, in).
		Output(fileOutput(out), ffmpeg.KwArgs{"c:a": "libmp3lame", "b:a": "64k"})
	return Job{Args: StreamArgs(s), Outputs: []string{out}}
}

func TestStreamArgs(t *testing.T) {
	t.Parallel()
	s := fileInput("/tmp/in put.wav").Audio().
		Filter("aresample", ffmpeg.Args{"48000"}).
		Output(fileOutput("/tmp/out.mp3"), ffmpeg.KwArgs{"b:a": "64k", "ac": 1})
	want := []string{"-format_whitelist", MediaDemuxers, "-protocol_whitelist", "file", "-i", "file:/tmp/in put.wav",
		"-filter_complex", "[0:a]aresample=48000[s0]", "-map", "[s0]", "-ac", "1", "-b:a", "64k", "file:/tmp/out.mp3"}
	if got := StreamArgs(s); !slices.Equal(got, want) {
		t.Errorf("StreamArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestRunnerProgress(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	out := filepath.Join(t.TempDir(), "noise.mp3")
	job := noiseJob(out, "3", false)
	job.Duration = 3 * time.Second
	var got []Progress
	job.Progress = func(p Progress) { got = append(got, p) }
	if err := r.Run(testCtx(t), job); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) == 0 || !got[len(got)-1].Done {
		t.Fatalf("progress = %+v, want a final Done report", got)
	}
	final := got[len(got)-1]
	if final.OutTime < 2900*time.Millisecond || final.Fraction() < 0.96 {
		t.Errorf("final progress = %+v (%.2f), want about 3s", final, final.Fraction())
	}
	for i := 1; i < len(got); i++ {
		if got[i].OutTime < got[i-1].OutTime {
			t.Errorf("progress went backwards: %v then %v", got[i-1].OutTime, got[i].OutTime)
		}
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("output missing: %v", err)
	}
}

func TestRunnerErrorKeepsStderrTail(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mp3")
	s := fileInput(filepath.Join(dir, "missing.wav")).Output(fileOutput(out))
	err := r.Run(testCtx(t), Job{Args: StreamArgs(s), Outputs: []string{out}})
	var te *ToolError
	if !errors.As(err, &te) || te.ExitCode == 0 || te.Tool != "ffmpeg" {
		t.Fatalf("Run(missing input) = %v, want a ToolError", err)
	}
	if !containsFold(te.Stderr, "No such file") || !containsFold(err.Error(), "No such file") {
		t.Errorf("stderr tail %q / error %q should say the input is missing", te.Stderr, err)
	}
}

func TestRunnerCancel(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{Grace: 3 * time.Second})
	out := filepath.Join(t.TempDir(), "long.mp3")
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	job := noiseJob(out, "60", true)
	var once sync.Once
	started := make(chan struct{})
	job.Progress = func(p Progress) {
		if p.OutTime > 0 {
			once.Do(func() { close(started) })
		}
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, job) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("job ended before it was cancelled: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no progress within 20s")
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("output not being written while running: %v", err)
	}
	begin := time.Now()
	cancel()
	err := <-done
	stopped := time.Since(begin)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	if stopped > 2*time.Second {
		t.Errorf("ffmpeg took %v to stop after SIGTERM", stopped)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial output left behind: %v", err)
	}
	t.Logf("ffmpeg stopped %v after cancel", stopped)
}

// TestRunnerKillsAfterGrace uses a stand-in "ffmpeg" that ignores SIGTERM:
// the Runner must kill it after the grace period.
func TestRunnerKillsAfterGrace(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("needs /bin/sh")
	}
	dir := t.TempDir()
	stubborn := writeFile(t, dir, "stubborn-ffmpeg", []byte("#!/bin/sh\ntrap '' TERM\nexec sleep 60\n"))
	if err := os.Chmod(stubborn, 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Config{FFmpegPath: stubborn, Grace: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := r.Run(ctx, Job{Args: []string{"-i", "x"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("Run returned after %v; the grace period was 300ms", took)
	}
}

func TestRunnerLimitsConcurrency(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	r := NewRunner(Config{MaxProcs: 1})
	dir := t.TempDir()
	type span struct{ start, end time.Time }
	spans := make([]span, 3)
	var wg sync.WaitGroup
	for i := range spans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := noiseJob(filepath.Join(dir, string(rune('a'+i))+".mp3"), "0.6", true)
			job.Progress = func(p Progress) {
				now := time.Now()
				if spans[i].start.IsZero() {
					spans[i].start = now
				}
				spans[i].end = now
			}
			if err := r.Run(testCtx(t), job); err != nil {
				t.Errorf("job %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start.Before(spans[i-1].end) {
			t.Errorf("with MaxProcs 1, job %d started at %v before job %d ended at %v",
				i, spans[i].start.Format(time.StampMilli), i-1, spans[i-1].end.Format(time.StampMilli))
		}
	}

	// A job waiting for a slot gives up when its context ends.
	hold := make(chan struct{})
	go func() {
		job := noiseJob(filepath.Join(dir, "hold.mp3"), "5", true)
		job.Progress = func(Progress) {
			select {
			case <-hold:
			default:
				close(hold)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = r.Run(ctx, job)
	}()
	<-hold
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx, noiseJob(filepath.Join(dir, "queued.mp3"), "1", false)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Run = %v, want DeadlineExceeded while waiting for a slot", err)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// TestRunnerNice: a Niced runner's processes run at its niceness, the
// runner it came from leaves its own at the worker's, and the two do not
// share process slots (work held in one does not hold the other back).
func TestRunnerNice(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("niceness is set on Linux only")
	}
	own := niceOf(t, "/proc/self/stat")
	if own >= 10 {
		t.Skipf("the test runs at niceness %d already", own)
	}
	dir := t.TempDir()
	// A stand-in for ffmpeg that writes its niceness to the file named by
	// NICE_OUT; with HOLD set it then waits until that file is removed.
	fake := writeFile(t, dir, "nice-ffmpeg", []byte("#!/bin/sh\nawk '{print $19}' /proc/$$/stat > \"$NICE_OUT\"\n"+
		"[ -z \"$HOLD\" ] || while [ -e \"$HOLD\" ]; do sleep 0.05; done\n"))
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	urgent := NewRunner(Config{FFmpegPath: fake, MaxProcs: 1})
	background := urgent.Niced(10)
	for _, tc := range []struct {
		name string
		r    *Runner
		want int
	}{
		{"urgent", urgent, own},
		{"background", background, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			if err := tc.r.Run(testCtx(t), Job{Env: []string{"NICE_OUT=" + out}}); err != nil {
				t.Fatal(err)
			}
			if got := niceOf(t, out); got != tc.want {
				t.Errorf("process ran at niceness %d, want %d", got, tc.want)
			}
		})
	}
	// The background runner's one slot held: urgent work still runs.
	hold := writeFile(t, dir, "hold", nil)
	held := make(chan error, 1)
	go func() {
		held <- background.Run(testCtx(t), Job{Env: []string{"NICE_OUT=" + filepath.Join(dir, "held"), "HOLD=" + hold}})
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) { // it holds the slot
		if _, err := os.Stat(filepath.Join(dir, "held")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held background work did not start")
		}
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer cancel()
	if err := urgent.Run(ctx, Job{Env: []string{"NICE_OUT=" + filepath.Join(dir, "beside")}}); err != nil {
		t.Errorf("urgent work beside held background work: %v", err)
	}
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Errorf("held background work: %v", err)
	}
}

// niceOf reads a niceness: field 19 of a /proc/PID/stat file, or the
// whole of a file the fake ffmpeg wrote.
func niceOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(path, "/proc/") {
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
		s = f[19-3]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("niceness in %s: %v", path, err)
	}
	return n
}
