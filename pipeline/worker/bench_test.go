package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// bareFFmpeg runs ffmpeg the plain way, as a person would at a shell.
func bareFFmpeg(b *testing.B, args ...string) string {
	b.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-hide_banner", "-y"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var loudnormJSON = regexp.MustCompile(`(?s)\{[^{}]*"input_i"[^{}]*\}`)

// peerLaps times the commands of a peer one after another, for the log.
type peerLaps struct {
	start time.Time
	done  []string
}

// newPeerLaps starts timing now.
func newPeerLaps() *peerLaps { return &peerLaps{start: time.Now()} }

// lap records the time since the last lap under name.
func (l *peerLaps) lap(name string) {
	l.done = append(l.done, fmt.Sprintf("%s=%s", name, time.Since(l.start).Round(time.Millisecond)))
	l.start = time.Now()
}

// String is the laps as "name=time" words.
func (l *peerLaps) String() string { return strings.Join(l.done, " ") }

// loudnormPass is loudnorm's print_format=json block out of ffmpeg's
// output.
func loudnormPass(b *testing.B, out string) map[string]string {
	b.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(loudnormJSON.FindString(out)), &m); err != nil {
		b.Fatalf("loudnorm json: %v\n%s", err, out)
	}
	return m
}

// bareProcess does the same transforms with the fewest plain ffmpeg
// commands, the minimum a person at a shell needs: one loudnorm measuring
// pass, one loudnorm applying pass writing the MP3 and the Opus file, and
// for TV a poster and a preview (bareVideo). It is the peer processing is
// compared with. linear says whether the applying pass ran linear, as
// asked, or fell back to dynamic mode (its JSON's normalization_type).
func bareProcess(b *testing.B, in, dir string, tv bool) (log string, linear bool) {
	b.Helper()
	l := newPeerLaps()
	chain := "aformat=channel_layouts=mono,loudnorm=I=-16:TP=-3.5:LRA=11"
	m := loudnormPass(b, bareFFmpeg(b, "-i", in, "-map", "0:a:0", "-af", chain+":print_format=json", "-f", "null", "-"))
	l.lap("measure")
	apply := fmt.Sprintf("%s:measured_I=%s:measured_TP=%s:measured_LRA=%s:measured_thresh=%s:offset=%s:linear=true:print_format=json",
		chain, m["input_i"], m["input_tp"], m["input_lra"], m["input_thresh"], m["target_offset"])
	m2 := loudnormPass(b, bareFFmpeg(b, "-i", in, "-filter_complex", "[0:a:0]"+apply+",asplit=2[mp3][opus]",
		"-map", "[mp3]", "-c:a", "libmp3lame", "-b:a", "64000", "-ar", "44100", "-ac", "1", filepath.Join(dir, "bare.mp3"),
		"-map", "[opus]", "-c:a", "libopus", "-b:a", "24000", "-application", "voip", "-ar", "48000", "-ac", "1", "-f", "ogg", filepath.Join(dir, "bare.opus")))
	l.lap("mp3+opus")
	if tv {
		bareVideo(b, in, dir, l)
	}
	return fmt.Sprintf("%s (pass 2: %s, output %s LUFS)", l, m2["normalization_type"], m2["output_i"]), m2["normalization_type"] == "linear"
}

// bareVideo makes a TV clip's poster and preview with one plain ffmpeg
// command each, timed as laps "poster" and "preview"; both peers use it.
func bareVideo(b *testing.B, in, dir string, l *peerLaps) {
	b.Helper()
	bareFFmpeg(b, "-ss", "10", "-i", in, "-frames:v", "1", "-q:v", "3", "-vf", "scale=640:360", filepath.Join(dir, "bare.jpg"))
	l.lap("poster")
	bareFFmpeg(b, "-i", in, "-map", "0:v:0", "-map", "0:a:0", "-vf", "scale=640:360,setsar=1", "-c:v", "libx264", "-preset", "veryfast",
		"-crf", "28", "-pix_fmt", "yuv420p", "-profile:v", "main", "-c:a", "aac", "-b:a", "96000", "-ac", "2", "-ar", "48000",
		"-movflags", "+faststart", filepath.Join(dir, "bare.mp4"))
	l.lap("preview")
}

// The ebur128 filter's summary lines: integrated loudness (LUFS) and true
// peak (dBFS, rounded to 0.1 dB). ffmpeg may log an empty summary of a
// graph it configured before the run; the last one counts.
var (
	ebur128I    = regexp.MustCompile(`(?m)^\s*I:\s+(-?[0-9.]+) LUFS`)
	ebur128Peak = regexp.MustCompile(`(?m)^\s*Peak:\s+(-?[0-9.]+) dBFS`)
)

// ebur128Last is the last value re finds in ffmpeg's output out.
func ebur128Last(b *testing.B, re *regexp.Regexp, out string) float64 {
	b.Helper()
	all := re.FindAllStringSubmatch(out, -1)
	if len(all) == 0 {
		b.Fatalf("no %s in the ebur128 summary:\n%s", re, out)
	}
	v, err := strconv.ParseFloat(all[len(all)-1][1], 64)
	if err != nil {
		b.Fatalf("ebur128 summary: %v", err)
	}
	return v
}

// leanLimiterHeadroomDB is how far under the true-peak ceiling Loa's
// limiter limits (dB): media's limiterHeadroomDB, which is not exported.
const leanLimiterHeadroomDB = 0.5

// leanProcess is the cheapest plain ffmpeg a person could write for the
// same outputs, a second, leaner peer: one measuring pass with Loa's
// meter (the mono downmix into ebur128 with the true peak, at 48 kHz, as
// media's upload scan measures), then one encoding pass that applies the
// gain to the loudspeaker target (media.LoudspeakerLoudness, -16 LUFS)
// with volume, into the limiter Loa uses (alimiter at 48 kHz limiting at
// the ceiling, -1.5 dBTP less media.LossyHeadroomDB, less Loa's limiter
// headroom), writing the MP3 and the Opus file as bareProcess does; for
// TV the same poster and preview (bareVideo). It runs the limiter always
// and measures once: it does not check how much loudness limiting took.
// It returns its laps, and the gain and the measured true peak moved by
// it (dBTP; above the ceiling, the limiter had work to do).
func leanProcess(b *testing.B, in, dir string, tv bool) (log string, gainDB, peakDB float64) {
	b.Helper()
	l := newPeerLaps()
	target := media.LoudspeakerLoudness()
	ceiling := target.TruePeakDBTP - media.LossyHeadroomDB
	out := bareFFmpeg(b, "-i", in, "-map", "0:a:0", "-af", media.MonoDownmix+",ebur128=peak=true:framelog=verbose", "-f", "null", "-")
	i, peak := ebur128Last(b, ebur128I, out), ebur128Last(b, ebur128Peak, out)
	l.lap("measure")
	gainDB = target.IntegratedLUFS - i
	limit := math.Pow(10, (ceiling-leanLimiterHeadroomDB)/20)
	chain := fmt.Sprintf("%s,aresample=48000,volume=%.2fdB,alimiter=limit=%.4f:level=false:latency=true,aformat=sample_rates=48000",
		media.MonoDownmix, gainDB, limit)
	bareFFmpeg(b, "-i", in, "-filter_complex", "[0:a:0]"+chain+",asplit=2[mp3][opus]",
		"-map", "[mp3]", "-c:a", "libmp3lame", "-b:a", "64000", "-ar", "44100", "-ac", "1", filepath.Join(dir, "lean.mp3"),
		"-map", "[opus]", "-c:a", "libopus", "-b:a", "24000", "-application", "voip", "-ar", "48000", "-ac", "1", "-f", "ogg", filepath.Join(dir, "lean.opus"))
	l.lap("mp3+opus")
	if tv {
		bareVideo(b, in, dir, l)
	}
	return l.String(), gainDB, peak + gainDB
}

// outputLUFS is the integrated loudness of a written file (LUFS), checked
// after the timing so the log shows whether a peer reached its target.
func outputLUFS(b *testing.B, path string) float64 {
	b.Helper()
	return ebur128Last(b, ebur128I, bareFFmpeg(b, "-i", path, "-af", "ebur128=framelog=verbose", "-f", "null", "-"))
}

// benchClipSeconds is the radio clip's length (the TV clip is twice
// it): 300 s, or LOA_BENCH_PROCESS_SECONDS to check the benchmark on a
// small clip.
func benchClipSeconds(b *testing.B) int {
	b.Helper()
	v := os.Getenv("LOA_BENCH_PROCESS_SECONDS")
	if v == "" {
		return 300
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 12 {
		b.Fatalf("LOA_BENCH_PROCESS_SECONDS=%q: want a whole number of seconds, at least 12", v)
	}
	return n
}

// BenchmarkProcessOverhead takes a 5-minute radio clip and a 10-minute
// 720p TV clip through what Loa does with an upload once it is stored:
// the upload validation (ffprobe and the full decode that also measures
// the loudness, read back from MinIO as ingest does) and then processing
// (download, the loudspeaker encode, poster, preview, upload, catalog).
// The peer, in the same run, is the bare ffmpeg minimum for the same
// outputs: one measuring pass, one encoding pass writing the MP3 and the
// Opus file, and for TV a poster and a preview. Loa runs the validation
// the peer has no counterpart for and still should come in at or under
// the peer (the bar: ratio at most 1.00). A second, leaner peer
// (leanProcess: Loa's meter, then one volume and limiter pass) is timed in
// the same run for information (ratio-lean), and peer-linear says whether
// the first peer's loudnorm pass 2 ran linear (1) or fell back to its
// heavier dynamic mode (0). Run by `make bench`;
// LOA_BENCH_PROCESS_SECONDS=20 checks it on a small clip.
func BenchmarkProcessOverhead(b *testing.B) {
	mediatest.Need(b)
	ctx := context.Background()
	dir := b.TempDir()
	secs := benchClipSeconds(b)
	speech := mediatest.SpeechWAV(b, dir)
	radio := mediatest.Generate(b, dir, "radio.mp3", "-stream_loop", "-1", "-i", speech, "-t", strconv.Itoa(secs), "-ac", "1", "-b:a", "96k")
	tv := mediatest.Generate(b, dir, "tv.mp4", "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25", "-stream_loop", "-1", "-i", speech,
		"-t", strconv.Itoa(2*secs), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")

	store, _ := objectstest.New(b)
	db := sqlstoretest.New(b)
	u := sqlstoretest.User(b, db, "p", pipeline.RoleProducer)
	var logs bytes.Buffer
	// Each ffmpeg step's runs and time, to show where Loa's time goes (a
	// limit_measure is the ebur128 measurement of the limited signal of an
	// input that needs the peak limiter; the upload measured the rest, so
	// a loudness_measure here is a full measuring pass too many).
	var mu sync.Mutex
	runs, spent := map[string]int{}, map[string]time.Duration{}
	observe := func(step string, d time.Duration, _ error) {
		mu.Lock()
		defer mu.Unlock()
		runs[step]++
		spent[step] += d
	}
	p := &Processor{Catalog: db, Objects: store, Runner: media.NewRunner(media.Config{Observe: observe}), TempDir: b.TempDir(),
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	inspector := media.Inspector{}
	// seed stores the clip and validates it as ingest does (by URL from
	// the store), returning the segment and the validation's time.
	seed := func(i int, path string, kind pipeline.Kind) (string, time.Duration) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		id := fmt.Sprintf("bench-%s-%d-%d", kind, i, time.Now().UnixNano())
		key := "segments/" + id + "/original"
		if _, err := store.Put(ctx, key, f, -1, "application/octet-stream"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		url, err := store.InternalURL(ctx, key, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		facts, err := inspector.Inspect(ctx, url, kind)
		if err != nil {
			b.Fatal(err)
		}
		validate := time.Since(start)
		now := time.Now().UTC()
		seg := pipeline.Segment{ID: id, SHA256: id, Title: id, Kind: kind, Topic: "budget", Priority: pipeline.PriorityNormal,
			AirFrom: now, AirUntil: now.Add(time.Hour), Languages: []string{"vi"}, State: pipeline.StateProbed, ProducerID: u.ID,
			OriginalKey: key, OriginalName: filepath.Base(path), ContentType: "application/octet-stream", CreatedAt: now, UpdatedAt: now,
			Probe: facts, Loudness: facts.Loudness}
		if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
			b.Fatal(err)
		}
		return id, validate
	}
	var validate, process, bare, lean time.Duration
	peerLinear := 1.0 // 0 once the peer's loudnorm pass 2 fell back to dynamic mode
	// The CPU of this process and its ffmpeg runs, Loa's and the peer's.
	var loaCPU, bareCPU time.Duration
	for i := 0; i < b.N; i++ {
		for _, c := range []struct {
			path string
			kind pipeline.Kind
		}{{radio, pipeline.KindRadio}, {tv, pipeline.KindTV}} {
			cpu := cpuSpent(b)
			id, v := seed(i, c.path, c.kind)
			validate += v
			start := time.Now()
			// Without a worker's queue, Process makes the poster, preview
			// and subtitle renditions right after the audio.
			if err := p.Process(ctx, id); err != nil {
				b.Fatal(err)
			}
			process += time.Since(start)
			loaCPU += cpuSpent(b) - cpu
			cpu = cpuSpent(b)
			start = time.Now()
			log, linear := bareProcess(b, c.path, b.TempDir(), c.kind == pipeline.KindTV)
			bare += time.Since(start)
			bareCPU += cpuSpent(b) - cpu
			b.Logf("bare ffmpeg, %s: %s", c.kind, log)
			if !linear {
				peerLinear = 0
			}
			leanDir := b.TempDir()
			start = time.Now()
			log, gain, peak := leanProcess(b, c.path, leanDir, c.kind == pipeline.KindTV)
			lean += time.Since(start)
			b.Logf("lean ffmpeg, %s: %s (gain %+.2f dB, true peak %.1f dBTP before the limiter; output %.1f LUFS)",
				c.kind, log, gain, peak, outputLUFS(b, filepath.Join(leanDir, "lean.mp3")))
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "segment processed") || strings.Contains(line, "segment renditions made") {
			b.Log(line) // the time of each step
		}
	}
	mu.Lock()
	var steps []string
	for step, n := range runs {
		steps = append(steps, fmt.Sprintf("%s=%d/%.1fs", step, n, spent[step].Seconds()))
	}
	mu.Unlock()
	slices.Sort(steps)
	b.Logf("Loa's ffmpeg runs in processing (step=runs/time): %s", strings.Join(steps, " "))
	loa := validate + process
	ratio := loa.Seconds() / bare.Seconds()
	verdict := "pass"
	if ratio > 1.0 {
		verdict = "short"
	}
	n := float64(b.N)
	b.Logf("processing overhead (%d s radio + %d s TV): Loa %.1f s (upload validation %.1f s + processing %.1f s) against bare ffmpeg %.1f s (measure + one encode to MP3 and Opus, poster, preview): %.2fx, bar 1.00: %s",
		secs, 2*secs, loa.Seconds()/n, validate.Seconds()/n, process.Seconds()/n, bare.Seconds()/n, ratio, verdict)
	b.ReportMetric(loa.Seconds()/n, "loa-s/op")
	b.ReportMetric(validate.Seconds()/n, "loa-validate-s/op")
	b.ReportMetric(bare.Seconds()/n, "bare-ffmpeg-s/op")
	b.ReportMetric(ratio, "ratio")
	cpuRatio := loaCPU.Seconds() / bareCPU.Seconds()
	b.Logf("CPU (this process and its ffmpeg runs; MinIO's own not counted): Loa %.1f s against bare ffmpeg %.1f s: %.2fx",
		loaCPU.Seconds()/n, bareCPU.Seconds()/n, cpuRatio)
	b.ReportMetric(cpuRatio, "cpu-ratio")
	ratioLean := loa.Seconds() / lean.Seconds()
	b.Logf("against the lean peer (ebur128 measure + one volume/alimiter encode to MP3 and Opus, poster, preview) %.1f s: %.2fx (info); peer's loudnorm pass 2 linear: %v",
		lean.Seconds()/n, ratioLean, peerLinear == 1)
	b.ReportMetric(lean.Seconds()/n, "lean-peer-s")
	b.ReportMetric(ratioLean, "ratio-lean")
	b.ReportMetric(peerLinear, "peer-linear")
}

// cpuSpent is the CPU time (user and system) this process and its ended
// children (the ffmpeg runs, once waited for) have used so far.
func cpuSpent(b *testing.B) time.Duration {
	b.Helper()
	var self, children syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children); err != nil {
		b.Fatal(err)
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
