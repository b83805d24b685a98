package media

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Segment kinds accepted by [Validate].
const (
	KindRadio = "radio" // audio segment; a video stream, if any, is ignored
	KindTV    = "tv"    // video segment; needs a video and an audio stream
)

// RefusalCode names why an upload was refused, for programs (HTTP mapping,
// metrics). People read [Refusal.Reason].
type RefusalCode string

// Refusal codes returned by [Validate] and [Inspect].
const (
	RefuseNotMedia      RefusalCode = "not_media"
	RefuseNoAudio       RefusalCode = "no_audio"
	RefuseNoVideo       RefusalCode = "no_video"
	RefuseNoDuration    RefusalCode = "no_duration"
	RefuseTooLong       RefusalCode = "too_long"
	RefuseBadDimensions RefusalCode = "bad_dimensions"
	RefuseBadSampleRate RefusalCode = "bad_sample_rate"
	RefuseBadChannels   RefusalCode = "bad_channels"
	RefuseSilent        RefusalCode = "silent"
	RefuseCorrupt       RefusalCode = "corrupt"
	RefuseCancels       RefusalCode = "channels_cancel"
)

// Refusal is the error returned when an upload is not acceptable media. Its
// Reason is written for the producer who uploaded it: what was wrong and
// what to do. Check for it with errors.As.
type Refusal struct {
	Code   RefusalCode
	Reason string
	// Tool is the ffprobe or ffmpeg failure the refusal was decided on,
	// if any (its stderr tail is in it): for the log, not the producer.
	Tool error
}

// Error implements error.
func (r *Refusal) Error() string {
	msg := "media refused (" + string(r.Code) + "): " + r.Reason
	if r.Tool != nil {
		msg += " [" + r.Tool.Error() + "]"
	}
	return msg
}

// Limits bounds what [Validate] accepts. A zero field takes its value from
// [DefaultLimits].
type Limits struct {
	MaxDuration     time.Duration // default 2h
	MinWidth        int           // default 16
	MinHeight       int           // default 16
	MaxWidth        int           // default 7680
	MaxHeight       int           // default 4320
	MinSampleRate   int           // default 8000 Hz
	MaxSampleRate   int           // default 192000 Hz
	MaxChannels     int           // default 8
	SilenceMaxDB    float64       // loudest peak below this is "silence"; default -60 dBFS
	MaxDecodeErrors int           // decode errors tolerated; default 0 (negative: none tolerated either)
}

// DefaultLimits returns the limits Loa uses unless configured otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxDuration:   2 * time.Hour,
		MinWidth:      16,
		MinHeight:     16,
		MaxWidth:      7680,
		MaxHeight:     4320,
		MinSampleRate: 8000,
		MaxSampleRate: 192000,
		MaxChannels:   8,
		SilenceMaxDB:  -60,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MinWidth <= 0 {
		l.MinWidth = d.MinWidth
	}
	if l.MinHeight <= 0 {
		l.MinHeight = d.MinHeight
	}
	if l.MaxWidth <= 0 {
		l.MaxWidth = d.MaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = d.MaxHeight
	}
	if l.MinSampleRate <= 0 {
		l.MinSampleRate = d.MinSampleRate
	}
	if l.MaxSampleRate <= 0 {
		l.MaxSampleRate = d.MaxSampleRate
	}
	if l.MaxChannels <= 0 {
		l.MaxChannels = d.MaxChannels
	}
	if l.SilenceMaxDB == 0 {
		l.SilenceMaxDB = d.SilenceMaxDB
	}
	if l.MaxDecodeErrors < 0 {
		l.MaxDecodeErrors = 0
	}
	return l
}

// refuse builds a *Refusal.
func refuse(code RefusalCode, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Validate decides whether probed and scanned media is acceptable as a
// segment of kind ([KindRadio] or [KindTV]). It returns nil, or a *[Refusal]
// naming the first problem found, or a plain error for an unknown kind.
func Validate(info Info, scan Scan, kind string, limits Limits) error {
	l := limits.withDefaults()
	if kind != KindRadio && kind != KindTV {
		return fmt.Errorf("validate: unknown segment kind %q (want %q or %q)", kind, KindRadio, KindTV)
	}
	a := info.Audio
	if a == nil {
		if kind == KindTV {
			return refuse(RefuseNoAudio, "the video file has no sound track; export it again with its audio (AAC or MP3) included")
		}
		return refuse(RefuseNoAudio, "the file has no audio stream; upload a recording such as MP3, WAV, M4A or OGG")
	}
	if kind == KindTV && info.Video == nil {
		return refuse(RefuseNoVideo, "a TV segment needs a video stream but this file has only audio (or only a cover picture); upload it as a radio segment, or upload the video file (for example MP4)")
	}
	if info.Duration <= 0 {
		return refuse(RefuseNoDuration, "the file has no playable length (duration is zero or unknown); check that the export finished and upload it again")
	}
	if info.Duration > l.MaxDuration {
		return refuse(RefuseTooLong, "the segment is %s long, over the limit of %s; cut it into shorter segments and upload them separately", fmtDuration(info.Duration), fmtDuration(l.MaxDuration))
	}
	if a.SampleRate < l.MinSampleRate || a.SampleRate > l.MaxSampleRate {
		return refuse(RefuseBadSampleRate, "the audio sample rate is %d Hz, outside %d–%d Hz; export the audio again at 44100 or 48000 Hz", a.SampleRate, l.MinSampleRate, l.MaxSampleRate)
	}
	if a.Channels < 1 || a.Channels > l.MaxChannels {
		return refuse(RefuseBadChannels, "the audio has %d channels, outside 1–%d; export it again as mono or stereo", a.Channels, l.MaxChannels)
	}
	if v := info.Video; kind == KindTV && v != nil {
		if v.Width < l.MinWidth || v.Height < l.MinHeight || v.Width > l.MaxWidth || v.Height > l.MaxHeight {
			return refuse(RefuseBadDimensions, "the video is %dx%d pixels, outside %dx%d to %dx%d; export it again at a normal size such as 1920x1080 or 1280x720", v.Width, v.Height, l.MinWidth, l.MinHeight, l.MaxWidth, l.MaxHeight)
		}
	}
	if n := len(scan.DecodeErrors); n > l.MaxDecodeErrors {
		return refuse(RefuseCorrupt, "the file is damaged or cut short (the decoder reported: %s); upload the complete file again, or export it again from the editing software", summarizeErrors(scan.DecodeErrors))
	}
	if scan.MaxVolumeDB < l.SilenceMaxDB {
		if scan.MaxVolumeDB <= NoSamplesDB {
			return refuse(RefuseSilent, "no sound could be decoded from the audio track; check the recording and upload it again")
		}
		return refuse(RefuseSilent, "the audio is silent (loudest peak %.1f dBFS, below %.0f dBFS); check that the microphone or the audio track was not muted and upload it again", scan.MaxVolumeDB, l.SilenceMaxDB)
	}
	if scan.ChannelsCancel(l.SilenceMaxDB) {
		return refuse(RefuseCancels, "%s: the mix loudspeakers play is %s; in the editing software invert the phase of one channel (or keep one channel only), export again and upload it", ChannelsCancelReason, monoLevel(scan))
	}
	return nil
}

// ChannelsCancelReason is how a refusal or a failure names audio whose
// channels cancel in the mono downmix, for the producer.
const ChannelsCancelReason = "the two channels cancel when mixed to mono (one is the other turned upside down, phase-inverted), so the commune loudspeakers, which play one mono mix, would be silent or nearly so"

// monoLevel says how quiet the mono downmix is next to the channels.
func monoLevel(s Scan) string {
	if s.MonoMaxVolumeDB <= NoSamplesDB+30 {
		return "silence"
	}
	return fmt.Sprintf("%.0f dB quieter than the channels", s.MeanVolumeDB-s.MonoMeanVolumeDB)
}

// summarizeErrors shows the first decode errors briefly.
func summarizeErrors(errs []string) string {
	const show = 2
	parts := errs
	if len(parts) > show {
		parts = parts[:show]
	}
	s := strings.Join(parts, "; ")
	if len(errs) > show {
		s += fmt.Sprintf("; %d more", len(errs)-show)
	}
	return s
}

// fmtDuration prints a duration as people read it: 2h0m0s -> "2h00m00s".
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}

// Inspect probes, scans and validates input in one call, the order ingest
// needs: a file ffprobe cannot read, or one without an audio stream, is
// refused without decoding it. Media problems come back as a *[Refusal]
// (errors.As); other errors (tool missing, context cancelled, network) are
// returned wrapped as they are, so the caller can retry them.
func Inspect(ctx context.Context, input, kind string, limits Limits) (Info, Scan, error) {
	info, err := Probe(ctx, input)
	if errors.Is(err, ErrNotMedia) {
		r := refuse(RefuseNotMedia, "the file is not audio or video that can be read (it may be empty, cut short before its index, or another kind of file); upload the original MP3, WAV, M4A, OGG or MP4 file")
		r.Tool = err
		return Info{}, Scan{}, r
	}
	if err != nil {
		return Info{}, Scan{}, fmt.Errorf("inspect: %w", err)
	}
	if info.Audio == nil {
		return info, Scan{}, Validate(info, Scan{}, kind, limits)
	}
	// Refuse on what the header already says before spending a full decode.
	if err := Validate(info, Scan{MeanVolumeDB: 0, MaxVolumeDB: 0}, kind, limits); err != nil {
		return info, Scan{}, err
	}
	scan, err := ScanAudio(ctx, input)
	if errors.Is(err, ErrNotMedia) || errors.Is(err, ErrNoAudio) {
		r := refuse(RefuseCorrupt, "the audio track could not be decoded; upload the complete original file again")
		r.Tool = err
		return info, Scan{}, r
	}
	if err != nil {
		return info, Scan{}, fmt.Errorf("inspect: %w", err)
	}
	return info, scan, Validate(info, scan, kind, limits)
}
