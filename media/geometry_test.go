package media

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// shownVideo is a video stream as ffprobe reports it, reduced to what a
// player's picture depends on.
type shownVideo struct {
	Width, Height int
	SAR           string
	Rotation      float64 // display-matrix rotation, 0 when none
	FieldOrder    string
	PixFmt        string
}

func probeShown(t *testing.T, path string) shownVideo {
	t.Helper()
	out, err := exec.Command(ffprobeBin, "-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", "file:"+path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p struct {
		Streams []struct {
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			SAR        string `json:"sample_aspect_ratio"`
			FieldOrder string `json:"field_order"`
			PixFmt     string `json:"pix_fmt"`
			SideData   []struct {
				Rotation float64 `json:"rotation"`
			} `json:"side_data_list"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe %s: %v %s", path, err, out)
	}
	s := p.Streams[0]
	v := shownVideo{Width: s.Width, Height: s.Height, SAR: s.SAR, FieldOrder: s.FieldOrder, PixFmt: s.PixFmt}
	for _, sd := range s.SideData {
		v.Rotation = sd.Rotation
	}
	return v
}

// aspect is the display aspect ratio of v: width times SAR over height,
// turned by a quarter-turn rotation.
func (v shownVideo) aspect() float64 {
	num, den := 1.0, 1.0
	if a, b, ok := parseRatio(v.SAR); ok {
		num, den = float64(a), float64(b)
	}
	r := float64(v.Width) * num / (float64(v.Height) * den)
	if q := int(math.Round(v.Rotation/90)) % 2; q != 0 {
		r = 1 / r
	}
	return r
}

var idetRE = regexp.MustCompile(`Multi frame detection: TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)`)

// interlacedShare runs ffmpeg's idet filter over path's video and returns
// the share of frames it finds combed (fields of different instants).
func interlacedShare(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command(ffmpegBin, "-hide_banner", "-nostats", "-i", "file:"+path, "-map", "0:v:0", "-vf", "idet", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("idet %s: %v\n%s", path, err, out)
	}
	m := idetRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("idet %s printed no summary:\n%s", path, out)
	}
	var n [3]float64
	for i := range n {
		n[i], _ = strconv.ParseFloat(string(m[i+1]), 64)
	}
	return (n[0] + n[1]) / max(1, n[0]+n[1]+n[2])
}

// TestVideoGeometry renders every video rendition (poster, web preview,
// burned-in and soft subtitles) of sources producers really send, and
// checks each output with ffprobe: even sides, the source's display
// aspect ratio, no rotation left for the player to apply (so the picture
// itself is upright), square pixels, and (by ffmpeg's idet) no combing
// from interlaced fields. Sources: the bug report's G (853x480, odd
// width, yuv444p), a phone clip stored landscape with a 90° rotation, a
// PAL-style anamorphic 16:9 picture (360x288, SAR 64:45), and interlaced
// video (top field first, moving).
func TestVideoGeometry(t *testing.T) {
	t.Parallel()
	needFFmpeg(t)
	dir := t.TempDir()
	tone := []string{"-f", "lavfi", "-i", "sine=f=440:d=2"}
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"}
	landscape := filepath.Join(dir, "landscape.mp4")
	ffmpegGen(t, append(append(append([]string{"-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2"}, tone...), x264...), "-pix_fmt", "yuv420p", "file:"+landscape)...)
	rotated := filepath.Join(dir, "rotated.mp4")
	ffmpegGen(t, "-i", "file:"+landscape, "-c", "copy", "-metadata:s:v:0", "rotate=90", "file:"+rotated)
	anamorphic := filepath.Join(dir, "anamorphic.mp4")
	ffmpegGen(t, append(append(append([]string{"-f", "lavfi", "-i", "testsrc=size=360x288:rate=25:duration=2"}, tone...), x264...), "-vf", "setsar=64/45", "-pix_fmt", "yuv420p", "file:"+anamorphic)...)
	interlaced := filepath.Join(dir, "interlaced.mp4")
	ffmpegGen(t, append(append(append([]string{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50:duration=2"}, tone...), x264...),
		"-vf", "tinterlace=mode=interleave_top,setfield=tff", "-flags", "+ildct+ilme", "-x264opts", "tff=1", "-pix_fmt", "yuv420p", "file:"+interlaced)...)

	sources := []struct {
		name, path string
		aspect     float64 // as a viewer sees the source
		fields     bool
		length     time.Duration
	}{
		{"G odd width 853x480 yuv444p", filepath.Join("testdata", "G-odd-853x480.mp4"), 853.0 / 480, false, 8 * time.Second},
		{"rotated phone clip", rotated, 180.0 / 320, false, 2 * time.Second},
		{"anamorphic 16:9", anamorphic, 16.0 / 9, false, 2 * time.Second},
		{"interlaced", interlaced, 4.0 / 3, true, 2 * time.Second},
	}
	subData, err := os.ReadFile(filepath.Join("testdata", "G-vi.srt"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := subtitle.Parse(subData)
	if err != nil {
		t.Fatal(err)
	}
	fonts := filepath.Join(dir, "fonts")
	if err := PrepareFonts(fonts); err != nil {
		t.Fatalf("fonts: %v (make deps installs fonts-noto-core)", err)
	}
	r := NewRunner(Config{})
	renditions := []struct {
		name  string
		video bool // moving picture (idet applies)
		make  func(ctx context.Context, in, out string) error
	}{
		{"poster", false, func(ctx context.Context, in, out string) error {
			_, err := r.Poster(ctx, in, out+".jpg", PosterOptions{})
			return err
		}},
		{"preview", true, func(ctx context.Context, in, out string) error {
			_, err := r.WebPreview(ctx, in, out+".mp4", PreviewOptions{})
			return err
		}},
		{"burned", true, func(ctx context.Context, in, out string) error {
			_, err := r.BurnSubtitles(ctx, in, out+".mp4", sub, BurnOptions{Lang: "vi", FontsDir: fonts, TempDir: dir})
			return err
		}},
		{"soft", true, func(ctx context.Context, in, out string) error {
			_, err := r.SoftSubtitles(ctx, in, out+".mp4", []SubtitleTrack{{Lang: "vi", File: sub}}, SoftSubOptions{TempDir: dir})
			return err
		}},
	}
	for i, src := range sources {
		if src.fields {
			if share := interlacedShare(t, src.path); share < 0.5 {
				t.Fatalf("the interlaced fixture is not combed (idet %.2f): the test would prove nothing", share)
			}
		}
		for _, rd := range renditions {
			t.Run(src.name+"/"+rd.name, func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("%d-%s", i, rd.name))
				if err := rd.make(runCtx(t, src.length), src.path, out); err != nil {
					t.Fatalf("%s: %v", rd.name, err)
				}
				if rd.name == "poster" {
					out += ".jpg"
				} else {
					out += ".mp4"
				}
				v := probeShown(t, out)
				if v.Width%2 != 0 || v.Height%2 != 0 {
					t.Errorf("%dx%d: a side is odd", v.Width, v.Height)
				}
				if v.Rotation != 0 {
					t.Errorf("rotation %v left for the player: the picture itself is not upright", v.Rotation)
				}
				if a, b, ok := parseRatio(v.SAR); ok && a != b {
					t.Errorf("sample aspect ratio %s, want square pixels", v.SAR)
				}
				if got := v.aspect(); math.Abs(got/src.aspect-1) > 0.01 {
					t.Errorf("display aspect %.4f (%dx%d, SAR %s), source %.4f", got, v.Width, v.Height, v.SAR, src.aspect)
				}
				if rd.video {
					if v.PixFmt != "yuv420p" {
						t.Errorf("pixel format %s, want yuv420p", v.PixFmt)
					}
					if share := interlacedShare(t, out); share > 0.2 {
						t.Errorf("%.0f%% of frames are combed: not deinterlaced", 100*share)
					}
				}
			})
		}
	}
}

// FuzzParseRatio: ffprobe's sample_aspect_ratio comes from the uploaded
// file; whatever it says, parseRatio never panics and accepts only a
// bounded positive ratio, and normalizeRotation gives a quarter turn.
func FuzzParseRatio(f *testing.F) {
	for _, s := range []string{"1:1", "64:45", "0:1", "N/A", "-1:2", "99999999999999999999:1", ":"} {
		f.Add(s, 90.0)
	}
	f.Fuzz(func(t *testing.T, s string, deg float64) {
		if n, d, ok := parseRatio(s); ok && (n < 1 || d < 1 || n > 1<<16 || d > 1<<16) {
			t.Fatalf("parseRatio(%q) = %d, %d", s, n, d)
		}
		if r := normalizeRotation(deg); r != 0 && r != 90 && r != 180 && r != 270 {
			t.Fatalf("normalizeRotation(%v) = %d", deg, r)
		}
	})
}
