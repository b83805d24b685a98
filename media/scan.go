package media

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoAudio means the input has no audio stream to decode.
var ErrNoAudio = errors.New("no audio stream")

// NoSamplesDB is the volume [ScanAudio] reports when not a single audio
// sample could be decoded. It is a finite number so a Scan can be stored as
// JSON.
const NoSamplesDB = -120.0

// maxDecodeErrors bounds how many decode error lines a Scan keeps.
const maxDecodeErrors = 20

// Scan is what decoding the first audio stream fully found.
type Scan struct {
	MeanVolumeDB float64 // volumedetect mean_volume over all channels, dBFS
	MaxVolumeDB  float64 // volumedetect max_volume, dBFS; NoSamplesDB when nothing decoded
	// MonoMeanVolumeDB and MonoMaxVolumeDB measure the mono downmix
	// loudspeakers play (MonoDownmix), not the channels: two channels
	// that cancel in it are loud above and silent here. Both are 0 when
	// not measured.
	MonoMeanVolumeDB float64
	MonoMaxVolumeDB  float64
	DecodeErrors     []string // decoder/demuxer errors (truncation, corruption), at most 20 plus a count
	// Loudness is loudnorm's measurement of the mono downmix, made in the
	// same decode, for the loudspeaker target; nil when nothing loud
	// enough to measure was decoded.
	Loudness *LoudnessMeasurement
}

// MonoDownmix is the filter that makes the mono signal every loudspeaker
// rendition is made from; the upload scan measures the same signal.
const MonoDownmix = "aformat=channel_layouts=mono"

// MonoLossMaxDB is how much quieter than the channels the mono downmix may
// be before the channels are taken to cancel. Two unrelated channels lose
// about 3 dB in a downmix, one silent channel about 3 dB; a channel that is
// the other inverted loses everything.
const MonoLossMaxDB = 12.0

// ChannelsCancel reports whether the scan's mono downmix is silent or far
// quieter than its channels: one channel is (mostly) the other inverted.
// A scan without the mono measurement never cancels.
func (s Scan) ChannelsCancel(silenceMaxDB float64) bool {
	if s.MonoMeanVolumeDB == 0 && s.MonoMaxVolumeDB == 0 {
		return false
	}
	return s.MaxVolumeDB >= silenceMaxDB &&
		(s.MonoMaxVolumeDB < silenceMaxDB || s.MonoMeanVolumeDB < s.MeanVolumeDB-MonoLossMaxDB)
}

// ScanAudio decodes the first audio stream of input fully (ffmpeg -i input
// with volumedetect on the channels and on the mono downmix), reporting
// decode errors (truncation, corruption) and both volumes, so that the caller can refuse
// broken or silent uploads with [Validate]. The same decode measures the
// mono downmix's loudness (Scan.Loudness) for [LoudspeakerOptions.Measured]. input is a local path or an
// http(s) URL. The error wraps [ErrNoAudio] when there is no audio stream and
// [ErrNotMedia] when ffmpeg cannot open the input at all.
//
// ScanAudio runs ffmpeg without a concurrency limit; use [Runner.ScanAudio]
// to share one.
func ScanAudio(ctx context.Context, input string) (Scan, error) {
	return scanAudio(ctx, input, toolCmd{path: ffmpegBin})
}

// volumeLine matches the result lines of the two volumedetect instances
// scanAudio names: "chan" (all channels) and "mono" (the downmix).
var volumeLine = regexp.MustCompile(`^\[volumedetect@(chan|mono) @ 0x[0-9a-f]+\] \[info\] (mean_volume|max_volume): (\S+) dB`)

// scanAudio is ScanAudio with the tool invocation given (path, grace).
func scanAudio(ctx context.Context, input string, base toolCmd) (Scan, error) {
	name := displayName(input)
	in, err := inputArgs(input)
	if err != nil {
		return Scan{}, fmt.Errorf("scan audio %s: %w", name, err)
	}
	scan := Scan{MeanVolumeDB: NoSamplesDB, MaxVolumeDB: NoSamplesDB, MonoMeanVolumeDB: NoSamplesDB, MonoMaxVolumeDB: NoSamplesDB}
	extraErrors := 0
	noStream := false
	loud := ebur128Collector{peak: true}
	lw := &lineWriter{fn: func(line string) {
		if loud.line(line); loud.in {
			return
		}
		if m := volumeLine.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil || math.IsNaN(v) || v < NoSamplesDB {
				v = NoSamplesDB
			}
			switch m[1] + " " + m[2] {
			case "chan mean_volume":
				scan.MeanVolumeDB = v
			case "chan max_volume":
				scan.MaxVolumeDB = v
			case "mono mean_volume":
				scan.MonoMeanVolumeDB = v
			case "mono max_volume":
				scan.MonoMaxVolumeDB = v
			}
			return
		}
		if strings.Contains(line, "matches no streams") {
			noStream = true
		}
		if msg, ok := decodeError(line); ok {
			// ffmpeg names the input in some messages: show the base name
			// only, never a local directory or a signed URL.
			msg = strings.ReplaceAll(msg, in[len(in)-1], name)
			if bare, _, cut := strings.Cut(input, "?"); cut && isURL(input) {
				msg = strings.ReplaceAll(msg, bare, name)
			}
			if len(scan.DecodeErrors) < maxDecodeErrors {
				scan.DecodeErrors = append(scan.DecodeErrors, msg)
			} else {
				extraErrors++
			}
		}
	}}
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-loglevel", "repeat+level+info"}
	args = append(args, in...)
	// One decode measures the channels and the mono downmix loudspeakers
	// will play, and the downmix's loudness; the volumedetect filters are
	// named so their results can be told apart. The loudness meter gets a
	// branch of its own with the downmix right before it, as in the
	// loudspeaker's own measuring pass: a filter in between changes how
	// ffmpeg converts to mono (by 3 dB for a stereo input), and the
	// measurement must be of what pass 2 reads.
	args = append(args, "-filter_complex",
		"[0:a:0]asplit=3[c][m][l];[m]"+MonoDownmix+",volumedetect@mono,anullsink;[l]"+MonoDownmix+","+ebur128Measure+",anullsink;[c]volumedetect@chan[out]",
		"-map", "[out]", "-f", "null", "-")
	cmd := base
	cmd.args = args
	cmd.stderr = lw
	cmd.redact = redactions(input)
	err = cmd.run(ctx)
	lw.flush()
	switch {
	case err == nil:
	case ctx.Err() != nil, notStarted(err):
		return Scan{}, fmt.Errorf("scan audio %s: %w", name, err)
	case fetchFault(input, err):
		return Scan{}, fmt.Errorf("scan audio %s: %w: %w", name, ErrFetch, err)
	case noStream:
		return Scan{}, inputError(fmt.Errorf("scan audio %s: %w: %w", name, ErrNoAudio, err))
	default:
		return Scan{}, inputError(fmt.Errorf("scan audio %s: %w: %w", name, ErrNotMedia, err))
	}
	if extraErrors > 0 {
		scan.DecodeErrors = append(scan.DecodeErrors, fmt.Sprintf("... and %d more", extraErrors))
	}
	if sum, err := loud.summary(); err == nil {
		if m := sum.stats().measurement(); m.Valid() {
			scan.Loudness = &m
		}
	}
	return scan, nil
}

// ctxPrefix matches ffmpeg's "[aac @ 0x55d1c...] " log context prefix.
var ctxPrefix = regexp.MustCompile(`^\[([^\]@]+?) @ 0x[0-9a-f]+\] `)

// decodeError reports whether a stderr line logged with -loglevel level+info
// is a sign of a damaged input, and returns it without pointer noise:
// everything at error level or worse, and "corrupt" warnings (a truncated
// WAV only warns "Packet corrupt").
func decodeError(line string) (string, bool) {
	component := ""
	if m := ctxPrefix.FindStringSubmatch(line); m != nil {
		component = m[1]
		line = line[len(m[0]):]
	}
	level, msg, ok := strings.Cut(line, "] ")
	if !ok || !strings.HasPrefix(level, "[") {
		return "", false
	}
	switch strings.TrimPrefix(level, "[") {
	case "error", "fatal", "panic":
	case "warning":
		if !strings.Contains(strings.ToLower(msg), "corrupt") {
			return "", false
		}
	default:
		return "", false
	}
	msg = strings.TrimSpace(msg)
	if component != "" {
		msg = component + ": " + msg
	}
	return msg, true
}
