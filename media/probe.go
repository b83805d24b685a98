package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNotMedia means ffprobe or ffmpeg could not read the input as media at
// all: random bytes, an empty file, a container cut before its index.
var ErrNotMedia = errors.New("not a readable media file")

// maxProbeOutput bounds ffprobe's JSON held in memory (a hostile file can
// declare very many streams).
const maxProbeOutput = 8 << 20

// Tool names looked up on PATH.
const (
	ffprobeBin = "ffprobe"
	ffmpegBin  = "ffmpeg"
)

// Info is what ffprobe says about one media input.
type Info struct {
	FormatName string        // ffprobe format_name, e.g. "mp3", "mov,mp4,m4a,3gp,3g2,mj2", "wav"
	Duration   time.Duration // to the millisecond
	BitRate    int64         // bits per second of the whole container, 0 when unknown
	Audio      *AudioStream  // first audio stream, nil when none
	Video      *VideoStream  // first real video stream (not an attached picture / cover art), nil when none
}

// AudioStream describes the first audio stream of an input.
type AudioStream struct {
	Codec      string // ffprobe codec_name, e.g. "mp3", "aac", "pcm_s16le"
	SampleRate int    // Hz
	Channels   int
}

// VideoStream describes the first real video stream of an input.
type VideoStream struct {
	Codec     string // ffprobe codec_name, e.g. "h264"
	Width     int    // coded pixels
	Height    int    // coded pixels
	FrameRate float64
	// SARNum/SARDen is the sample (pixel) aspect ratio; 1/1 for square
	// pixels, and when the file does not say.
	SARNum, SARDen int
	// Rotation is how far players turn the picture counter-clockwise to
	// show it upright, in degrees 0, 90, 180 or 270 (a phone's display
	// matrix or "rotate" tag).
	Rotation   int
	PixFmt     string // ffprobe pix_fmt, e.g. "yuv420p"
	FieldOrder string // ffprobe field_order: "progressive", "tt", "bb", "tb", "bt" or ""
}

// Interlaced reports whether the stream is stored as fields (ffprobe's
// field_order tt, bb, tb or bt).
func (v VideoStream) Interlaced() bool {
	switch v.FieldOrder {
	case "tt", "bb", "tb", "bt":
		return true
	}
	return false
}

// DisplayAspect is the width-to-height ratio a player shows: the coded
// size stretched by the sample aspect ratio and turned by the rotation.
func (v VideoStream) DisplayAspect() float64 {
	if v.Width <= 0 || v.Height <= 0 {
		return 0
	}
	num, den := v.SARNum, v.SARDen
	if num <= 0 || den <= 0 {
		num, den = 1, 1
	}
	a := float64(v.Width) * float64(num) / (float64(v.Height) * float64(den))
	if v.Rotation == 90 || v.Rotation == 270 {
		a = 1 / a
	}
	return a
}

// DisplaySize is the picture as a player shows it, in square pixels: the
// coded size stretched (never shrunk) by the sample aspect ratio and
// turned by the rotation.
func (v VideoStream) DisplaySize() (w, h int) {
	w, h = v.Width, v.Height
	num, den := v.SARNum, v.SARDen
	switch {
	case num <= 0 || den <= 0 || num == den:
	case num > den:
		w = int(float64(w)*float64(num)/float64(den) + 0.5)
	default:
		h = int(float64(h)*float64(den)/float64(num) + 0.5)
	}
	if v.Rotation == 90 || v.Rotation == 270 {
		w, h = h, w
	}
	return w, h
}

// ffprobeOutput is the subset of `ffprobe -print_format json` we read.
type ffprobeOutput struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		Duration     string `json:"duration"`
		SAR          string `json:"sample_aspect_ratio"`
		PixFmt       string `json:"pix_fmt"`
		FieldOrder   string `json:"field_order"`
		Tags         struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
		Disposition struct {
			AttachedPic     int `json:"attached_pic"`
			TimedThumbnails int `json:"timed_thumbnails"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

// Probe asks ffprobe what input holds. input is a local path or an http(s)
// URL (for example a presigned S3 link). The error wraps [ErrNotMedia] when
// ffprobe cannot read the input, and carries ffprobe's stderr tail (see
// [ToolError]).
func Probe(ctx context.Context, input string) (Info, error) {
	return probe(ctx, input, toolCmd{path: ffprobeBin})
}

// probe is Probe with the tool invocation given (path, grace).
func probe(ctx context.Context, input string, base toolCmd) (Info, error) {
	name := displayName(input)
	in, err := inputArgs(input)
	if err != nil {
		return Info{}, fmt.Errorf("probe %s: %w", name, err)
	}
	args := append([]string{"-v", "error", "-hide_banner",
		"-print_format", "json", "-show_format", "-show_streams"}, in...)
	out := &capBuffer{max: maxProbeOutput}
	cmd := base
	cmd.args, cmd.stdout, cmd.redact = args, out, redactions(input)
	err = cmd.run(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil, notStarted(err):
		return Info{}, fmt.Errorf("probe %s: %w", name, err)
	case fetchFault(input, err):
		return Info{}, fmt.Errorf("probe %s: %w: %w", name, ErrFetch, err)
	default:
		return Info{}, inputError(fmt.Errorf("probe %s: %w: %w", name, ErrNotMedia, err))
	}
	if out.truncated {
		return Info{}, inputError(fmt.Errorf("probe %s: %w: ffprobe output over %d bytes", name, ErrNotMedia, maxProbeOutput))
	}
	info, err := parseProbe(out.buf)
	if err != nil {
		return Info{}, inputError(fmt.Errorf("probe %s: %w", name, err))
	}
	return info, nil
}

// parseProbe turns ffprobe's JSON into an Info.
func parseProbe(data []byte) (Info, error) {
	var p ffprobeOutput
	if err := json.Unmarshal(data, &p); err != nil {
		return Info{}, fmt.Errorf("%w: decode ffprobe json: %v", ErrNotMedia, err)
	}
	if p.Format.FormatName == "" && len(p.Streams) == 0 {
		return Info{}, fmt.Errorf("%w: ffprobe found no format and no streams", ErrNotMedia)
	}
	info := Info{FormatName: p.Format.FormatName}
	info.BitRate, _ = strconv.ParseInt(p.Format.BitRate, 10, 64)
	secs := parseSeconds(p.Format.Duration)
	var longestStream float64
	for _, s := range p.Streams {
		longestStream = max(longestStream, parseSeconds(s.Duration))
		switch s.CodecType {
		case "audio":
			if info.Audio == nil {
				rate, _ := strconv.Atoi(s.SampleRate)
				info.Audio = &AudioStream{Codec: s.CodecName, SampleRate: rate, Channels: s.Channels}
			}
		case "video":
			if info.Video == nil && s.Disposition.AttachedPic == 0 && s.Disposition.TimedThumbnails == 0 {
				fps := parseRate(s.AvgFrameRate)
				if fps == 0 {
					fps = parseRate(s.RFrameRate)
				}
				v := &VideoStream{Codec: s.CodecName, Width: s.Width, Height: s.Height, FrameRate: fps,
					PixFmt: s.PixFmt, FieldOrder: s.FieldOrder, SARNum: 1, SARDen: 1}
				if n, d, ok := parseRatio(s.SAR); ok {
					v.SARNum, v.SARDen = n, d
				}
				rot, _ := strconv.ParseFloat(s.Tags.Rotate, 64)
				for _, sd := range s.SideData {
					if sd.Rotation != nil {
						rot = *sd.Rotation
					}
				}
				v.Rotation = normalizeRotation(rot)
				info.Video = v
			}
		}
	}
	if secs == 0 {
		secs = longestStream
	}
	info.Duration = secondsToDuration(secs)
	return info, nil
}

// parseSeconds parses an ffprobe duration ("7.540045"); "N/A", "" and
// nonsense give 0.
func parseSeconds(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

// secondsToDuration rounds seconds to the millisecond.
func secondsToDuration(secs float64) time.Duration {
	const maxSecs = float64(math.MaxInt64 / int64(time.Second))
	if secs <= 0 {
		return 0
	}
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(math.Round(secs*1000)) * time.Millisecond
}

// parseRatio parses a positive ratio such as "64:45"; "0:1", "N/A" and
// nonsense are not ok.
func parseRatio(s string) (num, den int, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	d, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 || n > 1<<16 || d > 1<<16 {
		return 0, 0, false
	}
	return n, d, true
}

// normalizeRotation rounds degrees to a quarter turn in 0..270. ffprobe's
// display-matrix rotation is counter-clockwise and may be negative (-90).
func normalizeRotation(deg float64) int {
	if math.IsNaN(deg) || math.IsInf(deg, 0) {
		return 0
	}
	q := int(math.Round(deg/90)) % 4
	if q < 0 {
		q += 4
	}
	return q * 90
}

// parseRate parses an ffprobe rational such as "25/1" or "30000/1001".
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseSeconds(s)
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 || n <= 0 {
		return 0
	}
	return n / d
}

// isURL reports whether input is an http(s) URL rather than a local path.
func isURL(input string) bool {
	l := strings.ToLower(input)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// MediaDemuxers are the only demuxers ffmpeg and ffprobe may use on an
// input (ffmpeg's -format_whitelist): containers of audio, video and SRT
// subtitles that hold their data themselves. Demuxers that follow
// references to other files or URLs (hls, dash, concat, image2, tee, sdp,
// rtsp...) are left out, so a crafted upload or voice-over cannot make
// the server open anything but the object being checked. image2 (the
// posters Loa makes are measured) reads only the file named, since Loa
// names its files without % patterns.
const MediaDemuxers = "mov,mp3,wav,w64,matroska,flac,ogg,aac,avi,asf,mpegts,mpeg,amr,aiff,caf,flv,ac3,eac3,wv,srt,image2,jpeg_pipe,png_pipe"

// inputArgs returns the ffmpeg/ffprobe arguments that open input and
// nothing else: a local path is passed as "file:<path>" (so a colon or a
// leading dash in the name is not read as a protocol or an option) with
// only the file protocol allowed; a URL (the one presigned link) with only
// the protocols that link needs. Either way only [MediaDemuxers] may read
// it, so a playlist or concat list inside an upload cannot make ffmpeg
// read other files or the network.
func inputArgs(input string) ([]string, error) {
	if input == "" {
		return nil, errors.New("empty input name")
	}
	if strings.ContainsRune(input, 0) {
		return nil, errors.New("input name contains a NUL byte")
	}
	if isURL(input) {
		return []string{"-protocol_whitelist", "http,https,tcp,tls", "-format_whitelist", MediaDemuxers, "-i", input}, nil
	}
	return []string{"-protocol_whitelist", "file", "-format_whitelist", MediaDemuxers, "-i", "file:" + input}, nil
}

// redactions lists the strings to hide from kept stderr: a presigned URL is
// a bearer credential until it expires.
func redactions(input string) []string {
	if isURL(input) {
		return []string{input}
	}
	return nil
}

// displayName is the name used in error messages, which reach the people
// who sent the file: the base name of a local path or of a URL's path —
// never a directory, the store's address or a signed query.
func displayName(input string) string {
	if isURL(input) {
		if i := strings.IndexAny(input, "?#"); i >= 0 {
			input = input[:i]
		}
		return strconv.Quote(path.Base(input))
	}
	return strconv.Quote(filepath.Base(input))
}
