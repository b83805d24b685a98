package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/subtitle"
)

// taiVietLine is a Thái (Tai Dam) line in Tai Viet script.
const taiVietLine = "ꪼꪕ ꪁꪾ ꪚꪴ ꪻꪒ"

// oneCue is a subtitle with one cue of the given lines over [from, to).
func oneCue(from, to time.Duration, lines ...string) *subtitle.File {
	return &subtitle.File{Format: subtitle.SRT, Cues: []subtitle.Cue{{Index: 1, Start: from, End: to, Lines: lines}}}
}

// grayClip writes a 1 s 320x240 flat dark-gray H.264 clip without sound:
// anything drawn on it stands out.
func grayClip(t testing.TB, dir string) string {
	t.Helper()
	return mediatest.Generate(t, dir, "gray.mp4", "-f", "lavfi", "-i", "color=c=0x404040:s=320x240:r=25:d=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
}

// grayFrame decodes the frame at 0.5 s of path as 8-bit luma.
func grayFrame(t testing.TB, path string) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "file:"+path,
		"-ss", "0.5", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("decode a frame of %s: %v\n%s", path, err, stderr.String())
	}
	return out.Bytes()
}

// changed is the fraction of pixels in rows [y0, y1) of two w-wide luma
// frames whose values differ by more than 40 (out of 255).
func changed(a, b []byte, w, y0, y1 int) float64 {
	n, diff := 0, 0
	for i := y0 * w; i < y1*w && i < len(a) && i < len(b); i++ {
		n++
		d := int(a[i]) - int(b[i])
		if d > 40 || d < -40 {
			diff++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(diff) / float64(n)
}

// listDir returns the names in dir, sorted.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// probeStreams returns ffprobe's streams of path: codec type, codec name
// and tags.
func probeStreams(t testing.TB, path string) []probedStream {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", "file:"+path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p struct{ Streams []probedStream }
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p.Streams
}

type probedStream struct {
	CodecType   string            `json:"codec_type"`
	CodecName   string            `json:"codec_name"`
	NbFrames    string            `json:"nb_frames"`
	Tags        map[string]string `json:"tags"`
	Disposition map[string]int    `json:"disposition"`
}

func TestMP4Language(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"vi": "vie", "VI": "vie", "vie": "vie", "blt": "blt", "hnj": "hnj", " hnj ": "hnj", "": "und", "en": "eng"} {
		if got, err := MP4Language(in); err != nil || got != want {
			t.Errorf("MP4Language(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"xx", "vi-VN", "b'l", "thai", "bl:t", "ꪼꪕꪁ"} {
		if got, err := MP4Language(bad); err == nil {
			t.Errorf("MP4Language(%q) = %q, want an error", bad, got)
		}
	}
}

func TestEscapeASS(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain ꪼꪕ`:          `plain ꪼꪕ`,
		`{\fs200}big`:       `\{\fs200\}big`,
		`a\Nb \n \h`:        "a\\\u2060Nb \\\u2060n \\\u2060h",
		`\{x\}`:             `\\{x\\}`,
		"two\nlines\r\x00x": "two lines  x",
		`c:\path;[0:v]'x'`:  `c:\path;[0:v]'x'`,
	} {
		if got := escapeASS(in); got != want {
			t.Errorf("escapeASS(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteASSNoInjection(t *testing.T) {
	t.Parallel()
	sub := oneCue(0, time.Second, "first\n[Events]\nDialogue: 0,0:00:00.00,0:00:09.00,Default,,0,0,0,,INJECTED",
		"Style: Evil,Comic Sans,200")
	var b bytes.Buffer
	if err := writeASS(&b, sub, 320, 240, "Noto Sans", 18); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if n := strings.Count(s, "\nDialogue:"); n != 1 {
		t.Errorf("script has %d Dialogue lines, want 1:\n%s", n, s)
	}
	if n := strings.Count(s, "\nStyle:"); n != 1 {
		t.Errorf("script has %d Style lines, want 1:\n%s", n, s)
	}
	if !strings.Contains(s, "PlayResX: 384\nPlayResY: 288") {
		t.Errorf("script size is not 384x288 for a 4:3 picture:\n%s", s)
	}
}

func TestWriteWebVTT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := oneCue(time.Second, 3*time.Second, taiVietLine, "a < b & c")
	path := filepath.Join(dir, "blt.vtt")
	if err := WriteWebVTT(path, sub); err != nil {
		t.Fatal(err)
	}
	back, err := LoadSubtitle(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Format != subtitle.VTT || len(back.Cues) != 1 || !slices.Equal(back.Cues[0].Lines, sub.Cues[0].Lines) {
		t.Errorf("read back %+v, want %+v", back, sub)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"blt.vtt"}) {
		t.Errorf("folder holds %q, want only blt.vtt", names)
	}
}

func TestLoadSubtitleRefusesHuge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "huge.srt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("1\n00:00:00,000 --> 00:00:02,000\n" + strings.Repeat("a", 1000) + "\n")
	if err := f.Truncate(50 << 20); err != nil { // 50 MB, sparse
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	_, err = LoadSubtitle(path)
	if err == nil || !strings.Contains(err.Error(), "over 2 MiB") {
		t.Fatalf("LoadSubtitle(50 MB) = %v, want a size refusal", err)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
}

func TestSoftSubtitles(t *testing.T) {
	t.Parallel()
	mediatest.Need(t)
	dir := t.TempDir()
	tv := mediatest.TVMP4(t, dir)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "soft.mp4")
	tracks := []SubtitleTrack{
		{Lang: "vi", File: oneCue(0, 2*time.Second, "Cải cách hành chính")},
		{Lang: "blt", File: oneCue(0, 2*time.Second, taiVietLine)},
		{Lang: "hnj", File: oneCue(0, 2*time.Second, "Kev hloov kho")},
	}
	var calls atomic.Int32
	start := time.Now()
	rd, err := NewRunner(Config{}).SoftSubtitles(testCtx(t), tv, out, tracks, SoftSubOptions{
		TempDir:  work,
		Progress: func(Progress) { calls.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soft-sub MP4 in %v: %d bytes, %v", time.Since(start), rd.Size, rd.Duration)
	if calls.Load() == 0 {
		t.Error("no progress reported")
	}
	if names := listDir(t, work); len(names) != 0 {
		t.Errorf("work folder left %q", names)
	}
	src, got := probeStreams(t, tv), probeStreams(t, out)
	var subs []string
	for _, s := range got {
		switch s.CodecType {
		case "subtitle":
			if s.CodecName != "mov_text" {
				t.Errorf("subtitle codec %s, want mov_text", s.CodecName)
			}
			subs = append(subs, s.Tags["language"])
		case "video", "audio":
			var orig *probedStream
			for i := range src {
				if src[i].CodecType == s.CodecType {
					orig = &src[i]
				}
			}
			if orig == nil || orig.CodecName != s.CodecName || orig.NbFrames != s.NbFrames {
				t.Errorf("%s stream %s with %s frames, want the source's copied (%+v)", s.CodecType, s.CodecName, s.NbFrames, orig)
			}
		}
	}
	if want := []string{"vie", "blt", "hnj"}; !slices.Equal(subs, want) {
		t.Errorf("subtitle languages %q, want %q", subs, want)
	}
	// The text reads back from the MP4 unchanged.
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", "file:"+out, "-map", "0:s:1", "-f", "srt", "pipe:1")
	b, err := cmd.Output()
	if err != nil || !strings.Contains(string(b), taiVietLine) {
		t.Errorf("Thái track reads back as %q, %v", b, err)
	}
}

// TestBurnTaiVietNotBoxes fails when a Thái line burns in as empty boxes:
// it renders the same frame with no subtitle, with the line and Loa's
// fonts folder, and with the line and a folder holding only DejaVu Sans
// (no Tai Viet glyphs, so libass draws boxes), and measures the subtitle
// area of each.
func TestBurnTaiVietNotBoxes(t *testing.T) {
	t.Parallel()
	mediatest.Need(t)
	dir := t.TempDir()
	clip := grayClip(t, dir)
	real := fontsFolder(t, notoSans, notoTaiViet)
	boxes := fontsFolder(t, dejaVuSans)
	sub := oneCue(0, time.Second, taiVietLine)
	r := NewRunner(Config{})
	ctx := testCtx(t)

	start := time.Now()
	glyphOut := filepath.Join(dir, "glyphs.mp4")
	if _, err := r.BurnSubtitles(ctx, clip, glyphOut, sub, BurnOptions{Lang: "blt", FontsDir: real, FontSize: 28, TempDir: dir}); err != nil {
		t.Fatal(err)
	}
	t.Logf("burned in 1 s in %v", time.Since(start))
	boxOut := filepath.Join(dir, "boxes.mp4")
	if _, err := r.burn(ctx, clip, boxOut, sub, BurnOptions{Lang: "blt", FontsDir: boxes, FontSize: 28, TempDir: dir}, false); err != nil {
		t.Fatal(err)
	}
	none, glyphs, box := grayFrame(t, clip), grayFrame(t, glyphOut), grayFrame(t, boxOut)
	const w, h = 320, 240
	if len(none) != w*h || len(glyphs) != w*h || len(box) != w*h {
		t.Fatalf("frame sizes %d, %d, %d, want %d", len(none), len(glyphs), len(box), w*h)
	}
	y0 := h * 2 / 3 // bottom third, where the subtitle sits
	inkGlyphs := changed(none, glyphs, w, y0, h)
	inkBoxes := changed(none, box, w, y0, h)
	glyphsVsBoxes := changed(glyphs, box, w, y0, h)
	above := changed(none, glyphs, w, 0, y0)
	t.Logf("bottom third, pixels changed by more than 40/255: glyphs vs none %.2f%%, boxes vs none %.2f%%, glyphs vs boxes %.2f%%; above the subtitle %.3f%%",
		100*inkGlyphs, 100*inkBoxes, 100*glyphsVsBoxes, 100*above)
	if inkGlyphs < 0.01 {
		t.Errorf("the Thái line drew on %.2f%% of the subtitle area, want at least 1%%: nothing rendered", 100*inkGlyphs)
	}
	if inkBoxes < 0.01 {
		t.Errorf("the DejaVu-only render drew on %.2f%% of the subtitle area: the boxes comparison proves nothing", 100*inkBoxes)
	}
	if glyphsVsBoxes < 0.5*min(inkGlyphs, inkBoxes) {
		t.Errorf("glyph and box renders differ on %.2f%% of the subtitle area, under half the ink (%.2f%%): Tai Viet rendered as boxes",
			100*glyphsVsBoxes, 100*min(inkGlyphs, inkBoxes))
	}
	if above > 0.001 {
		t.Errorf("%.3f%% of the picture above the subtitle changed", 100*above)
	}
	if names := listDir(t, dir); slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "loa-") }) {
		t.Errorf("work folders left behind: %q", names)
	}
}

func TestBurnRefusesWithoutTaiVietFont(t *testing.T) {
	t.Parallel()
	mediatest.Need(t)
	dir := t.TempDir()
	boxes := fontsFolder(t, dejaVuSans)
	r := NewRunner(Config{})
	out := filepath.Join(dir, "out.mp4")
	for _, tc := range []struct {
		lang string
		sub  *subtitle.File
	}{
		{"blt", oneCue(0, time.Second, "Tai Dam in Latin letters")}, // Thái needs the font whatever the text
		{"vi", oneCue(0, time.Second, taiVietLine)},                 // Tai Viet letters need it whatever the tag
	} {
		_, err := r.BurnSubtitles(testCtx(t), filepath.Join(dir, "never-opened.mp4"), out, tc.sub,
			BurnOptions{Lang: tc.lang, FontsDir: boxes, TempDir: dir})
		if !errors.Is(err, ErrNoTaiVietFont) || !strings.Contains(err.Error(), "fonts-noto-core") {
			t.Errorf("%s: BurnSubtitles without a Tai Viet font = %v, want ErrNoTaiVietFont saying what to install", tc.lang, err)
		}
		t.Log(err)
	}
	// A character no font has is refused too, before ffmpeg runs.
	_, err := r.BurnSubtitles(testCtx(t), filepath.Join(dir, "never-opened.mp4"), out, oneCue(0, time.Second, "漢字"),
		BurnOptions{Lang: "vi", FontsDir: boxes, TempDir: dir})
	if err == nil || !strings.Contains(err.Error(), "U+6F22") {
		t.Errorf("BurnSubtitles(CJK with DejaVu) = %v, want a refusal naming U+6F22", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("refusals left %q", names)
	}
}

// TestBurnHostile runs hostile file names and subtitle text through both
// subtitle renditions: each run renders the text (ink in the picture, so
// no override block or filter option was taken from it) or is refused
// with a clear error, and ffmpeg writes nothing but the asked-for outputs.
func TestBurnHostile(t *testing.T) {
	t.Parallel()
	mediatest.Need(t)
	base := t.TempDir()
	fonts := fontsFolder(t, notoSans, notoTaiViet)
	src := grayClip(t, base)
	none := grayFrame(t, src)
	r := NewRunner(Config{})

	cases := []struct{ name, line string }{
		{`in'put:[0:v];x=y,z\w.mp4`, `'; drawtext=text=pwned:fontfile=/etc/passwd [out]`},
		{"new\nline; rm -rf ~.mp4", `{\alpha&HFF&}VISIBLE`}, // an override would hide the line
		{`-i file:etc%3Apasswd [s]'.mp4`, `C:\Windows\N; a\nb \h [0:v] , 'q' "dq" %{pts} $(touch x)`},
		{`subtitles=evil.srt:force_style='Fontsize=99'.mp4`, `<font color="red">x</font> <i>i</i> -- > & &amp;`},
		{`ass=f.ass:shaping=simple,format=gray.mp4`, strings.Repeat("ꪼꪕ very long line ", 400)},
	}
	for i, tc := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(base, "case"+strconv.Itoa(i))
			work := filepath.Join(dir, "work")
			if err := os.MkdirAll(work, 0o755); err != nil {
				t.Fatal(err)
			}
			in := copyFile(t, src, dir, tc.name)
			subPath := writeFile(t, dir, strings.TrimSuffix(tc.name, ".mp4")+".srt",
				[]byte("1\n00:00:00,000 --> 00:00:01,000\n"+tc.line+"\n"))
			sub, err := LoadSubtitle(subPath)
			if err != nil {
				t.Fatalf("LoadSubtitle(%q): %v", tc.name, err)
			}
			burned := filepath.Join(dir, "burn "+tc.name)
			if _, err := r.BurnSubtitles(testCtx(t), in, burned, sub, BurnOptions{Lang: "vi", FontsDir: fonts, TempDir: work}); err != nil {
				t.Fatalf("BurnSubtitles(%q): %v", tc.name, err)
			}
			ink := changed(none, grayFrame(t, burned), 320, 0, 240)
			t.Logf("%.2f%% of the picture changed", 100*ink)
			if ink < 0.001 {
				t.Errorf("line %q drew on %.2f%% of the picture: not rendered", tc.line[:min(len(tc.line), 40)], 100*ink)
			}
			soft := filepath.Join(dir, "soft "+tc.name)
			if _, err := r.SoftSubtitles(testCtx(t), in, soft, []SubtitleTrack{{Lang: "vi", File: sub}}, SoftSubOptions{TempDir: work}); err != nil {
				t.Errorf("SoftSubtitles(%q): %v", tc.name, err)
			}
			want := []string{filepath.Base(burned), filepath.Base(in), filepath.Base(subPath), filepath.Base(soft), "work"}
			slices.Sort(want)
			if got := listDir(t, dir); !slices.Equal(got, want) {
				t.Errorf("folder holds %q, want %q", got, want)
			}
			if got := listDir(t, work); len(got) != 0 {
				t.Errorf("work folder left %q", got)
			}
		})
	}

	// Parsing strips SRT tags and {\...} blocks; text that reaches the
	// renderer some other way is drawn literally, braces and all.
	t.Run("override", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ink := map[string]float64{}
		for _, line := range []string{`VISIBLE`, `{\alpha&HFF&}VISIBLE`} {
			out := filepath.Join(dir, "out.mp4")
			if _, err := r.BurnSubtitles(testCtx(t), src, out, oneCue(0, time.Second, line), BurnOptions{Lang: "vi", FontsDir: fonts, TempDir: dir}); err != nil {
				t.Fatal(err)
			}
			ink[line] = changed(none, grayFrame(t, out), 320, 0, 240)
		}
		t.Logf("ink: %v", ink)
		if ink[`{\alpha&HFF&}VISIBLE`] < 1.3*ink[`VISIBLE`] {
			t.Errorf("the override block was not drawn as text: ink %v", ink)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// A subtitle too big for any segment is refused before ffmpeg runs.
		huge := oneCue(0, time.Second, strings.Repeat("x", 50<<20))
		start := time.Now()
		if _, err := r.BurnSubtitles(testCtx(t), src, filepath.Join(dir, "huge.mp4"), huge, BurnOptions{Lang: "vi", FontsDir: fonts, TempDir: dir}); err == nil || !strings.Contains(err.Error(), "MiB") {
			t.Errorf("BurnSubtitles(50 MB line) = %v, want a size refusal", err)
		}
		if _, err := r.SoftSubtitles(testCtx(t), src, filepath.Join(dir, "huge.mp4"), []SubtitleTrack{{Lang: "vi", File: huge}}, SoftSubOptions{TempDir: dir}); err == nil || !strings.Contains(err.Error(), "MiB") {
			t.Errorf("SoftSubtitles(50 MB line) = %v, want a size refusal", err)
		}
		t.Logf("50 MB refused twice in %v", time.Since(start))
		// SRT cannot carry "-->" in text: the soft rendition says so.
		_, err := r.SoftSubtitles(testCtx(t), src, filepath.Join(dir, "arrow.mp4"), []SubtitleTrack{{Lang: "vi", File: oneCue(0, time.Second, "a --> b")}}, SoftSubOptions{TempDir: dir})
		if err == nil || !strings.Contains(err.Error(), `contains "-->"`) {
			t.Errorf(`SoftSubtitles("a --> b") = %v, want a refusal naming "-->"`, err)
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Errorf("refusals left %q", names)
		}
	})
	t.Cleanup(func() {
		if _, err := os.Stat("x"); err == nil {
			t.Error(`a file named "x" appeared in the working directory`)
		}
	})
}

func TestBurnCancel(t *testing.T) {
	t.Parallel()
	mediatest.Need(t)
	dir := t.TempDir()
	fonts := fontsFolder(t, notoSans, notoTaiViet)
	clip := mediatest.Generate(t, dir, "long.mp4", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=30",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	out := filepath.Join(dir, "out.mp4")
	start := time.Now()
	var last atomic.Int64
	_, err := NewRunner(Config{Grace: time.Second}).BurnSubtitles(ctx, clip, out, oneCue(0, 30*time.Second, taiVietLine),
		BurnOptions{Lang: "blt", FontsDir: fonts, TempDir: work, Progress: func(p Progress) {
			last.Store(int64(p.OutTime))
			if p.OutTime > 0 {
				cancel()
			}
		}})
	t.Logf("cancelled at %v of 30s after %v: %v", time.Duration(last.Load()), time.Since(start), err)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("BurnSubtitles after cancel = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial output left: %v", err)
	}
	if names := listDir(t, work); len(names) != 0 {
		t.Errorf("work folder left %q", names)
	}
}

func TestMissingGlyph(t *testing.T) {
	t.Parallel()
	for line, want := range map[string]rune{
		"[Parsed_ass_0 @ 0x55] fontselect: failed to find any fallback with glyph 0xAABC for font: (Noto Sans, 400, 0)": 0xAABC,
		"[Parsed_ass_0 @ 0x55] fontselect: failed to find any fallback with glyph 0x2060 for font: (Noto Sans, 400, 0)": 0, // invisible
		"[Parsed_ass_0 @ 0x55] Glyph 0xAABC not found, selecting one more font for (Noto Sans, 400, 0)":                 0, // a fallback may still have it
	} {
		got, ok := missingGlyph(line)
		if got != want || ok != (want != 0) {
			t.Errorf("missingGlyph(%q) = %U, %v; want %U", line, got, ok, want)
		}
	}
}
