package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// bareProcess does the same transforms with the fewest plain ffmpeg
// commands, the minimum a person at a shell needs: one loudnorm measuring
// pass, one loudnorm applying pass writing the MP3 and the Opus file, and
// for TV a poster and a preview. It is the peer processing is compared
// with.
func bareProcess(b *testing.B, in, dir string, tv bool) string {
	b.Helper()
	start := time.Now()
	var laps []string
	lap := func(name string) {
		laps = append(laps, fmt.Sprintf("%s=%s", name, time.Since(start).Round(time.Millisecond)))
		start = time.Now()
	}
	chain := "aformat=channel_layouts=mono,loudnorm=I=-16:TP=-3.5:LRA=11"
	out := bareFFmpeg(b, "-i", in, "-map", "0:a:0", "-af", chain+":print_format=json", "-f", "null", "-")
	var m map[string]string
	if err := json.Unmarshal([]byte(loudnormJSON.FindString(out)), &m); err != nil {
		b.Fatalf("loudnorm json: %v\n%s", err, out)
	}
	lap("measure")
	apply := fmt.Sprintf("%s:measured_I=%s:measured_TP=%s:measured_LRA=%s:measured_thresh=%s:offset=%s:linear=true",
		chain, m["input_i"], m["input_tp"], m["input_lra"], m["input_thresh"], m["target_offset"])
	bareFFmpeg(b, "-i", in, "-filter_complex", "[0:a:0]"+apply+",asplit=2[mp3][opus]",
		"-map", "[mp3]", "-c:a", "libmp3lame", "-b:a", "64000", "-ar", "44100", "-ac", "1", filepath.Join(dir, "bare.mp3"),
		"-map", "[opus]", "-c:a", "libopus", "-b:a", "24000", "-application", "voip", "-ar", "48000", "-ac", "1", "-f", "ogg", filepath.Join(dir, "bare.opus"))
	lap("mp3+opus")
	if tv {
		bareFFmpeg(b, "-ss", "10", "-i", in, "-frames:v", "1", "-q:v", "3", "-vf", "scale=640:360", filepath.Join(dir, "bare.jpg"))
		lap("poster")
		bareFFmpeg(b, "-i", in, "-map", "0:v:0", "-map", "0:a:0", "-vf", "scale=640:360,setsar=1", "-c:v", "libx264", "-preset", "veryfast",
			"-crf", "28", "-pix_fmt", "yuv420p", "-profile:v", "main", "-c:a", "aac", "-b:a", "96000", "-ac", "2", "-ar", "48000",
			"-movflags", "+faststart", filepath.Join(dir, "bare.mp4"))
		lap("preview")
	}
	return strings.Join(laps, " ")
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
// the peer (the bar: ratio at most 1.00). Run by `make bench`;
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
	var validate, process, bare time.Duration
	for i := 0; i < b.N; i++ {
		for _, c := range []struct {
			path string
			kind pipeline.Kind
		}{{radio, pipeline.KindRadio}, {tv, pipeline.KindTV}} {
			id, v := seed(i, c.path, c.kind)
			validate += v
			start := time.Now()
			// Without a worker's queue, Process makes the poster, preview
			// and subtitle renditions right after the audio.
			if err := p.Process(ctx, id); err != nil {
				b.Fatal(err)
			}
			process += time.Since(start)
			start = time.Now()
			b.Logf("bare ffmpeg, %s: %s", c.kind, bareProcess(b, c.path, b.TempDir(), c.kind == pipeline.KindTV))
			bare += time.Since(start)
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
}
