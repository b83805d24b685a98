package media

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// childCPU is the CPU time (user and system) of this process's children
// that have ended so far.
func childCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestScanCheaperThanLoudnorm: the upload scan decodes the whole file,
// finds its volumes and measures its loudness for processing in less than
// half the CPU a loudnorm analysis of the same file takes alone (loudnorm
// works at 192 kHz; the scan's ebur128 meter at 48 kHz, about a quarter
// of that). CPU time, not wall time: the test holds on a busy machine. It
// does not run in parallel, so no other test's ffmpeg is counted.
func TestScanCheaperThanLoudnorm(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	ctx := testCtx(t)
	clip := filepath.Join(dir, "speech-60s.mp3")
	ffmpegGen(t, "-stream_loop", "-1", "-i", "file:"+speechWAV(t, dir), "-t", "60", "-ac", "2", "-b:a", "128k", "file:"+clip)

	before := childCPU(t)
	scan, err := ScanAudio(ctx, clip)
	if err != nil || scan.Loudness == nil {
		t.Fatalf("scan %+v, %v", scan, err)
	}
	scanCPU := childCPU(t) - before
	before = childCPU(t)
	loudnormAnalysis(t, ctx, clip)
	loudnormCPU := childCPU(t) - before
	t.Logf("CPU: scan %v, loudnorm analysis %v", scanCPU, loudnormCPU)
	if scanCPU*2 > loudnormCPU {
		t.Errorf("the scan took %v of CPU, a loudnorm analysis of the same file %v: want the scan under half of it", scanCPU, loudnormCPU)
	}
}
