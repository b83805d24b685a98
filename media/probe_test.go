package media

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbeAudioAndVideo(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)

	wav := speechWAV(t, dir)
	info, err := Probe(ctx, wav)
	if err != nil {
		t.Fatalf("Probe(wav): %v", err)
	}
	if info.FormatName != "wav" || info.Audio == nil || info.Video != nil {
		t.Fatalf("Probe(wav) = %+v, want wav with audio only", info)
	}
	if info.Audio.Codec != "pcm_s16le" || info.Audio.SampleRate != 22050 || info.Audio.Channels != 1 {
		t.Errorf("wav audio = %+v, want pcm_s16le 22050 Hz mono", *info.Audio)
	}
	if info.Duration < 3*time.Second || info.Duration%time.Millisecond != 0 {
		t.Errorf("wav duration = %v, want several seconds rounded to the millisecond", info.Duration)
	}
	if info.BitRate < 300_000 || info.BitRate > 400_000 {
		t.Errorf("wav bit rate = %d, want about 352800", info.BitRate)
	}

	tv := tvMP4(t, dir)
	info, err = Probe(ctx, tv)
	if err != nil {
		t.Fatalf("Probe(mp4): %v", err)
	}
	if !strings.Contains(info.FormatName, "mp4") || info.Audio == nil || info.Video == nil {
		t.Fatalf("Probe(mp4) = %+v, want mp4 with audio and video", info)
	}
	if v := *info.Video; v.Codec != "h264" || v.Width != 320 || v.Height != 240 || v.FrameRate != 25 {
		t.Errorf("video = %+v, want h264 320x240 25 fps", v)
	}
	if info.Audio.Codec != "aac" {
		t.Errorf("audio codec = %q, want aac", info.Audio.Codec)
	}

	// An MP3 with cover art has a "video" stream that is an attached picture.
	cover := filepath.Join(dir, "cover.png")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1", "file:"+cover)
	mp3 := speechMP3(t, dir)
	withCover := filepath.Join(dir, "cover.mp3")
	ffmpegGen(t, "-i", "file:"+mp3, "-i", "file:"+cover, "-map", "0:a", "-map", "1:v", "-c", "copy",
		"-id3v2_version", "3", "-disposition:v", "attached_pic", "file:"+withCover)
	info, err = Probe(ctx, withCover)
	if err != nil {
		t.Fatalf("Probe(mp3 with cover): %v", err)
	}
	if info.FormatName != "mp3" || info.Audio == nil || info.Audio.Codec != "mp3" {
		t.Errorf("Probe(mp3 with cover) = %+v, want mp3 audio", info)
	}
	if info.Video != nil {
		t.Errorf("cover art reported as video: %+v", *info.Video)
	}

	info, err = Probe(ctx, videoOnlyMP4(t, dir))
	if err != nil {
		t.Fatalf("Probe(video only): %v", err)
	}
	if info.Audio != nil || info.Video == nil || info.Duration != 2*time.Second {
		t.Errorf("Probe(video only) = %+v, want video, no audio, 2s", info)
	}
}

func TestProbeNotMedia(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	random := make([]byte, 64<<10)
	rand.Read(random)
	cases := map[string]string{
		"random bytes":        writeFile(t, dir, "random.mp3", random),
		"zero length":         writeFile(t, dir, "empty.mp4", nil),
		"text":                writeFile(t, dir, "notes.wav", []byte("đây không phải âm thanh\n")),
		"mp4 cut before moov": truncated(t, tvMP4WithoutFaststart(t, dir), dir, "cut.mp4", 0.5),
		"missing file":        filepath.Join(dir, "does-not-exist.mp3"),
	}
	for name, path := range cases {
		_, err := Probe(ctx, path)
		if !errors.Is(err, ErrNotMedia) {
			t.Errorf("%s: Probe error = %v, want ErrNotMedia", name, err)
			continue
		}
		var te *ToolError
		if !errors.As(err, &te) || te.Stderr == "" || te.Tool != "ffprobe" {
			t.Errorf("%s: error %v does not carry ffprobe's stderr", name, err)
		}
	}
}

// tvMP4WithoutFaststart is a video whose index (moov) is at the end.
func tvMP4WithoutFaststart(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "tail-moov.mp4")
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2",
		"-f", "lavfi", "-i", "anoisesrc=duration=2", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "file:"+out)
	return out
}

func TestProbeHostileNames(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	src := speechMP3(t, dir)
	for _, name := range []string{
		`it's "quoted".mp3`,
		"colon:in:name.mp3",
		"concat:evil|x.mp3",
		"-leading-dash.mp3",
		"new\nline.mp3",
		"space and ; semicolon $(echo x) [brackets].mp3",
		"Bản tin cải cách hành chính.mp3",
	} {
		path := copyFile(t, src, dir, name)
		info, err := Probe(ctx, path)
		if err != nil || info.Audio == nil {
			t.Errorf("Probe(%q) = %+v, %v; want audio", name, info, err)
		}
		scan, err := ScanAudio(ctx, path)
		if err != nil || len(scan.DecodeErrors) > 0 {
			t.Errorf("ScanAudio(%q) = %+v, %v; want clean", name, scan, err)
		}
	}
	// A relative name that looks like a protocol is still a file name.
	if _, err := Probe(ctx, "pipe:0"); !errors.Is(err, ErrNotMedia) {
		t.Errorf("Probe(pipe:0) = %v, want ErrNotMedia (no such file)", err)
	}
}

func TestProbeURL(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	src := speechMP3(t, dir)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("X-Amz-Signature") != "secret" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.ServeFile(w, r, src)
	}))
	defer srv.Close()

	info, err := Probe(ctx, srv.URL+"/bucket/speech.mp3?X-Amz-Signature=secret")
	if err != nil || info.Audio == nil || info.FormatName != "mp3" {
		t.Fatalf("Probe(url) = %+v, %v; want mp3 audio", info, err)
	}
	scan, err := ScanAudio(ctx, srv.URL+"/bucket/speech.mp3?X-Amz-Signature=secret")
	if err != nil || scan.MaxVolumeDB < -20 {
		t.Fatalf("ScanAudio(url) = %+v, %v", scan, err)
	}
	_, err = Probe(ctx, srv.URL+"/bucket/speech.mp3?X-Amz-Signature=wrong")
	if err == nil {
		t.Fatal("Probe with a bad signature succeeded")
	}
	if strings.Contains(err.Error(), "X-Amz-Signature=wrong") {
		t.Errorf("error leaks the presigned query: %v", err)
	}
}

func TestProbeCancelled(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	src := speechWAV(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Probe(ctx, src); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotMedia) {
		t.Errorf("Probe(cancelled) = %v, want context.Canceled and not ErrNotMedia", err)
	}
	if _, err := ScanAudio(ctx, src); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotMedia) {
		t.Errorf("ScanAudio(cancelled) = %v, want context.Canceled and not ErrNotMedia", err)
	}
}

func TestParseProbe(t *testing.T) {
	t.Parallel()
	// No format duration: fall back to the longest stream.
	info, err := parseProbe([]byte(`{"streams":[{"codec_type":"audio","codec_name":"opus","sample_rate":"48000","channels":2,"duration":"1.2345"},
		{"codec_type":"video","codec_name":"mjpeg","width":600,"height":600,"disposition":{"attached_pic":1}},
		{"codec_type":"video","codec_name":"vp9","width":1280,"height":720,"avg_frame_rate":"0/0","r_frame_rate":"30000/1001"}],
		"format":{"format_name":"matroska,webm","duration":"N/A"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if info.Duration != 1235*time.Millisecond {
		t.Errorf("duration = %v, want 1.235s", info.Duration)
	}
	if info.Video == nil || info.Video.Codec != "vp9" || info.Video.FrameRate < 29.97 || info.Video.FrameRate > 29.98 {
		t.Errorf("video = %+v, want vp9 at 29.97 fps (not the cover art)", info.Video)
	}
	if _, err := parseProbe([]byte(`{}`)); !errors.Is(err, ErrNotMedia) {
		t.Errorf("parseProbe({}) = %v, want ErrNotMedia", err)
	}
}
