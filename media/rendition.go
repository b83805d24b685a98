package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"
)

// Rendition is one output file as measured by ffprobe after it was written.
type Rendition struct {
	Path  string
	Size  int64        // bytes
	Info               // measured from the rendition itself
	Level *OutputLevel // loudness and true peak measured from the file; set for loudspeaker renditions
}

// Of is l with the output figures of rd's own measured level (when it
// has one): the loudness facts of one rendition.
func (l Loudness) Of(rd *Rendition) Loudness {
	if rd != nil && rd.Level != nil {
		l.OutputI, l.OutputTP, l.OutputLRA = rd.Level.IntegratedLUFS, rd.Level.TruePeakDBTP, rd.Level.LRA
	}
	return l
}

// measureRendition probes a written output.
func (r *Runner) measureRendition(ctx context.Context, path string) (Rendition, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Rendition{}, fmt.Errorf("measure rendition: %w", err)
	}
	info, err := r.Probe(ctx, path)
	if err != nil {
		return Rendition{}, fmt.Errorf("measure rendition: %w", err)
	}
	return Rendition{Path: path, Size: st.Size(), Info: info}, nil
}

// LossyHeadroomDB is how far under the true-peak ceiling [Runner.Loudspeaker]
// normalizes, so that MP3 and Opus encoding overshoot stays under it.
const LossyHeadroomDB = 2.0

// OpusOvershootDB is how far under the ceiling LossyHeadroomDB leaves
// the Opus file's own peak limiter sits (dB; the MP3 has none). Opus at
// 24 kb/s overshoots its input's true peak by 1.9 to 2.5 dB on ordinary
// espeak-ng speech (WAV and 96 kb/s MP3), all of LossyHeadroomDB and
// more: with the shared limit alone its files landed at the -1.5 dBTP
// ceiling, and both of the benchmark's clips were re-limited and encoded
// again. Its own limit keeps them at -2.0 dBTP or under, at -16.5 to
// -17.0 LUFS (TestOrdinarySpeechNoRelimit).
const OpusOvershootDB = 1.1

// LoudspeakerOptions configures [Runner.Loudspeaker].
type LoudspeakerOptions struct {
	Target      LoudnessTarget // zero value: LoudspeakerLoudness()
	MP3BitRate  int            // bits per second, CBR; default 64000
	OpusBitRate int            // bits per second; default 24000
	Progress    func(Progress) // optional, for the encoding pass
	// Measured, when not nil and valid, is the input's loudness as the
	// upload scan measured it ([Scan.Loudness]): the measuring pass is
	// skipped and processing goes straight to the encode (unless the
	// input needs a peak limiter, whose output is measured again).
	Measured *LoudnessMeasurement
}

// LoudspeakerResult is what [Runner.Loudspeaker] produced.
type LoudspeakerResult struct {
	Loudness Loudness
	MP3      *Rendition // nil when not asked for
	Opus     *Rendition // nil when not asked for
}

// Loudspeaker makes the commune loudspeaker renditions of input's first
// audio stream: mono, normalized by two-pass EBU R128 normalization
// (linear: one gain, after a peak limiter when the ceiling needs it) to
// opt.Target (with [LossyHeadroomDB] more true-peak headroom), as a CBR
// MP3 (44.1 kHz) at mp3Path and an Opus file (48 kHz, speech mode; name
// it .ogg or .opus) at opusPath, both encoded in one ffmpeg pass, the
// Opus file's signal through its own peak limiter [OpusOvershootDB]
// lower. Either
// path may be "" to skip it. Each written file's loudness and true peak
// are measured from it (Rendition.Level; one decode of both files) and a
// file over opt.Target's true-peak ceiling is re-limited and encoded
// again, so none is stored over it. Durations, bit rates and channels
// are measured from the written files. On error no output is left.
func (r *Runner) Loudspeaker(ctx context.Context, input, mp3Path, opusPath string, opt LoudspeakerOptions) (LoudspeakerResult, error) {
	name := displayName(input)
	if mp3Path == "" && opusPath == "" {
		return LoudspeakerResult{}, fmt.Errorf("loudspeaker rendition %s: no output asked for", name)
	}
	if opt.Target == (LoudnessTarget{}) {
		opt.Target = LoudspeakerLoudness()
	}
	if opt.MP3BitRate <= 0 {
		opt.MP3BitRate = 64000
	}
	if opt.OpusBitRate <= 0 {
		opt.OpusBitRate = 24000
	}
	mp3Rate := "44100"
	if opt.MP3BitRate < 32000 {
		mp3Rate = "22050" // MPEG-2 layer III: low bit rates need a low sample rate
	}
	// The graph is built as text rather than with ffmpeg-go (encodeArgs):
	// one chain feeding two encoders through asplit is clearer as text,
	// and every value in it is a number this package generated.
	var outs []encodeOutput
	if mp3Path != "" {
		outs = append(outs, encodeOutput{path: mp3Path, label: "mp3", args: []string{"-c:a", "libmp3lame", "-b:a", strconv.Itoa(opt.MP3BitRate),
			"-ar", mp3Rate, "-ac", "1", "-map_metadata", "-1", "-write_xing", "1"}})
	}
	if opusPath != "" {
		outs = append(outs, encodeOutput{path: opusPath, label: "opus", args: []string{"-c:a", "libopus", "-b:a", strconv.Itoa(opt.OpusBitRate),
			"-application", "voip", "-ar", "48000", "-ac", "1", "-map_metadata", "-1", "-f", "ogg"},
			underDB: OpusOvershootDB})
	}
	// Low-bit-rate encoders overshoot peaks (Opus at 24k by 2 dB and more
	// on speech): normalize under a lower ceiling so the encoded files
	// usually stay under it (Opus, which overshoots by more, through its
	// own limiter lower still); each written file is measured, and one
	// over the ceiling is re-limited (normalizeTo).
	t := opt.Target
	t.TruePeakDBTP = max(-9, t.TruePeakDBTP-LossyHeadroomDB)
	// A stored measurement holds for any target: the input's statistics
	// do not depend on it.
	l, levels, err := r.normalizeTo(ctx, "loudspeaker", input, MonoDownmix, t, opt.Target.TruePeakDBTP, opt.Measured, opt.Progress, outs)
	if err != nil {
		return LoudspeakerResult{}, fmt.Errorf("loudspeaker rendition %s: %w", name, err)
	}
	res := LoudspeakerResult{Loudness: l}
	for _, o := range []struct {
		path string
		dst  **Rendition
	}{{mp3Path, &res.MP3}, {opusPath, &res.Opus}} {
		if o.path == "" {
			continue
		}
		rd, err := r.measureRendition(ctx, o.path)
		if err != nil {
			removeAll([]string{mp3Path, opusPath})
			return LoudspeakerResult{}, fmt.Errorf("loudspeaker rendition %s: %w", name, err)
		}
		level := levels[0]
		levels = levels[1:]
		rd.Level = &level
		*o.dst = &rd
	}
	return res, nil
}

// PosterOptions configures [Runner.Poster].
type PosterOptions struct {
	At       time.Duration // frame time; default a third of the way in, at most 10s
	MaxWidth int           // default 1280; the height keeps the aspect ratio
}

// Poster writes one JPEG frame of input's video to output and returns it
// as measured.
func (r *Runner) Poster(ctx context.Context, input, output string, opt PosterOptions) (Rendition, error) {
	name := displayName(input)
	info, err := r.Probe(ctx, input)
	if err != nil {
		return Rendition{}, fmt.Errorf("poster %s: %w", name, err)
	}
	if info.Video == nil {
		return Rendition{}, fmt.Errorf("poster %s: no video stream", name)
	}
	if opt.MaxWidth <= 0 {
		opt.MaxWidth = 1280
	}
	at := opt.At
	if at <= 0 || at >= info.Duration {
		at = min(info.Duration/3, 10*time.Second)
	}
	video, _, _ := uprightVideo(fileInput(input, ffmpeg.KwArgs{"ss": strconv.FormatFloat(at.Seconds(), 'f', 3, 64)}).Video(), *info.Video, opt.MaxWidth)
	s := video.Output(fileOutput(output), ffmpeg.KwArgs{"frames:v": 1, "q:v": 3, "f": "image2", "update": 1})
	if err := r.Run(ctx, Job{Step: "poster", Args: StreamArgs(s), Outputs: []string{output}}); err != nil {
		return Rendition{}, fmt.Errorf("poster %s: %w", name, err)
	}
	rd, err := r.measureRendition(ctx, output)
	if err == nil && rd.Video == nil {
		err = errors.New("poster has no picture")
	}
	if err != nil {
		removeAll([]string{output})
		return Rendition{}, fmt.Errorf("poster %s: %w", name, err)
	}
	return rd, nil
}

// PreviewOptions configures [Runner.WebPreview].
type PreviewOptions struct {
	MaxWidth     int            // default 640
	CRF          int            // x264 quality, default 28
	AudioBitRate int            // AAC bits per second, default 96000
	Progress     func(Progress) // optional
}

// WebPreview writes a small H.264 + AAC MP4 of input (video scaled to at
// most opt.MaxWidth wide, yuv420p, +faststart so a browser can start
// playing before the download ends) and returns it as measured.
func (r *Runner) WebPreview(ctx context.Context, input, output string, opt PreviewOptions) (Rendition, error) {
	name := displayName(input)
	info, err := r.Probe(ctx, input)
	if err != nil {
		return Rendition{}, fmt.Errorf("web preview %s: %w", name, err)
	}
	if info.Video == nil || info.Audio == nil {
		return Rendition{}, fmt.Errorf("web preview %s: needs a video and an audio stream", name)
	}
	if opt.MaxWidth <= 0 {
		opt.MaxWidth = 640
	}
	if opt.CRF <= 0 {
		opt.CRF = 28
	}
	if opt.AudioBitRate <= 0 {
		opt.AudioBitRate = 96000
	}
	in := fileInput(input)
	video, _, _ := uprightVideo(in.Get("v:0"), *info.Video, opt.MaxWidth)
	audio := in.Get("a:0")
	s := ffmpeg.Output([]*ffmpeg.Stream{video, audio}, fileOutput(output), ffmpeg.KwArgs{
		"c:v": "libx264", "preset": "veryfast", "crf": opt.CRF, "pix_fmt": "yuv420p", "profile:v": "main",
		"c:a": "aac", "b:a": opt.AudioBitRate, "ac": 2, "ar": 48000,
		"movflags": "+faststart", "map_metadata": -1, "sn": "", "dn": "",
	})
	job := Job{Step: "preview", Args: StreamArgs(s), Outputs: []string{output}, Duration: info.Duration, Progress: opt.Progress}
	if err := r.Run(ctx, job); err != nil {
		return Rendition{}, fmt.Errorf("web preview %s: %w", name, err)
	}
	rd, err := r.measureRendition(ctx, output)
	if err != nil {
		removeAll([]string{output})
		return Rendition{}, fmt.Errorf("web preview %s: %w", name, err)
	}
	return rd, nil
}

// uprightVideo is the one way every video rendition is drawn: s (the
// input's video, which ffmpeg has already turned upright by its rotation,
// as it does by default when it decodes) deinterlaced when v is stored as
// fields, scaled to square pixels at v's display size fitted to maxW wide
// (0: no limit) with both sides even, and marked square (setsar=1). It
// returns the stream and the picture's size. So a rendition is upright,
// progressive, even-sized and shaped like the source on any player,
// whatever the source's size, sample aspect ratio, rotation or
// interlacing.
func uprightVideo(s *ffmpeg.Stream, v VideoStream, maxW int) (*ffmpeg.Stream, int, int) {
	w, h := v.DisplaySize()
	w, h = fitWidth(w, h, maxW)
	if v.Interlaced() {
		s = s.Filter("yadif", ffmpeg.Args{}) // one frame per frame, fields detected
	}
	s = s.Filter("scale", ffmpeg.Args{strconv.Itoa(w), strconv.Itoa(h)}).Filter("setsar", ffmpeg.Args{"1"})
	return s, w, h
}

// plainVideo reports whether v can be copied as it is into a rendition
// that must be upright, progressive, even-sized, square-pixelled H.264
// 4:2:0, which every player shows the same way.
func plainVideo(v VideoStream) bool {
	return v.Codec == "h264" && v.PixFmt == "yuv420p" && v.Width%2 == 0 && v.Height%2 == 0 &&
		v.SARNum == v.SARDen && v.Rotation == 0 && !v.Interlaced()
}

// fitWidth scales w x h down to at most maxW wide (0: no limit), keeping
// the aspect ratio, with both sides even (H.264 4:2:0 needs that).
func fitWidth(w, h, maxW int) (int, int) {
	if w <= 0 || h <= 0 {
		return 2, 2
	}
	if maxW > 0 && w > maxW {
		h = int(float64(h)*float64(maxW)/float64(w) + 0.5)
		w = maxW
	}
	return max(2, w&^1), max(2, h&^1)
}
