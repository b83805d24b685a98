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
	"strings"
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
// commands: loudnorm measure, loudnorm apply into MP3 + Opus, and for TV a
// poster and a preview. It is the peer processing is compared with.
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
	apply := fmt.Sprintf("%s:measured_I=%s:measured_TP=%s:measured_LRA=%s:measured_thresh=%s:offset=%s:linear=true",
		chain, m["input_i"], m["input_tp"], m["input_lra"], m["input_thresh"], m["target_offset"])
	bareFFmpeg(b, "-i", in, "-filter_complex", "[0:a:0]"+apply+",asplit=2[mp3][opus]",
		"-map", "[mp3]", "-c:a", "libmp3lame", "-b:a", "64000", "-ar", "44100", "-ac", "1", filepath.Join(dir, "bare.mp3"),
		"-map", "[opus]", "-c:a", "libopus", "-b:a", "24000", "-application", "voip", "-ar", "48000", "-ac", "1", "-f", "ogg", filepath.Join(dir, "bare.opus"))
	lap("loudness+mp3+opus")
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

// BenchmarkProcessOverhead processes a 5-minute radio clip and a 10-minute
// 720p TV clip through Loa (download from MinIO, every ffmpeg pass, measuring,
// upload, catalog) and, as the peer in the same run, the bare ffmpeg
// commands for the same transforms; it reports the ratio (the bar: at most
// 1.10). Run by `make bench`.
func BenchmarkProcessOverhead(b *testing.B) {
	mediatest.Need(b)
	ctx := context.Background()
	dir := b.TempDir()
	speech := mediatest.SpeechWAV(b, dir)
	radio := mediatest.Generate(b, dir, "radio.mp3", "-stream_loop", "-1", "-i", speech, "-t", "300", "-ac", "1", "-b:a", "96k")
	tv := mediatest.Generate(b, dir, "tv.mp4", "-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25", "-stream_loop", "-1", "-i", speech,
		"-t", "600", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")

	store, _ := objectstest.New(b)
	db := sqlstoretest.New(b)
	u := sqlstoretest.User(b, db, "p", pipeline.RoleProducer)
	var logs bytes.Buffer
	p := &Processor{Catalog: db, Objects: store, Runner: media.NewRunner(media.Config{}), TempDir: b.TempDir(),
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	seed := func(i int, path string, kind pipeline.Kind) string {
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
		now := time.Now().UTC()
		seg := pipeline.Segment{ID: id, SHA256: id, Title: id, Kind: kind, Topic: "budget", Priority: pipeline.PriorityNormal,
			AirFrom: now, AirUntil: now.Add(time.Hour), Languages: []string{"vi"}, State: pipeline.StateProbed, ProducerID: u.ID,
			OriginalKey: key, OriginalName: filepath.Base(path), ContentType: "application/octet-stream", CreatedAt: now, UpdatedAt: now}
		if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
			b.Fatal(err)
		}
		return id
	}
	var loa, bare time.Duration
	for i := 0; i < b.N; i++ {
		for _, c := range []struct {
			path string
			kind pipeline.Kind
		}{{radio, pipeline.KindRadio}, {tv, pipeline.KindTV}} {
			id := seed(i, c.path, c.kind)
			start := time.Now()
			if err := p.Process(ctx, id); err != nil {
				b.Fatal(err)
			}
			loa += time.Since(start)
			start = time.Now()
			b.Logf("bare ffmpeg, %s: %s", c.kind, bareProcess(b, c.path, b.TempDir(), c.kind == pipeline.KindTV))
			bare += time.Since(start)
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "segment processed") {
			b.Log(line) // the time of each step
		}
	}
	b.ReportMetric(loa.Seconds()/float64(b.N), "loa-s/op")
	b.ReportMetric(bare.Seconds()/float64(b.N), "bare-ffmpeg-s/op")
	b.ReportMetric(loa.Seconds()/bare.Seconds(), "ratio")
}
