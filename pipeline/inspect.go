package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/subtitle"
)

// MediaInspector is the Inspector that runs ffprobe and a full audio
// decode (media.Inspect) and turns media refusals into user-facing errors.
type MediaInspector struct{ Limits media.Limits }

// Inspect probes and scans the media at url and checks it for kind.
func (m MediaInspector) Inspect(ctx context.Context, url string, kind Kind) (ProbeFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	info, scan, err := media.Inspect(ctx, url, string(kind), m.Limits)
	var ref *media.Refusal
	if errors.As(err, &ref) {
		return ProbeFacts{}, &Error{Code: CodeInvalid, Field: "file", Err: ref,
			Message: "Refused (" + string(ref.Code) + "): " + upperFirst(ref.Reason) + "."}
	}
	if err != nil {
		return ProbeFacts{}, fmt.Errorf("inspect upload: %w", err)
	}
	f := ProbeFacts{
		Format: info.FormatName, DurationMS: info.Duration.Milliseconds(), BitRate: info.BitRate,
		MeanVolumeDB: scan.MeanVolumeDB, MaxVolumeDB: scan.MaxVolumeDB, Loudness: scan.Loudness,
	}
	if a := info.Audio; a != nil {
		f.AudioCodec, f.SampleRate, f.Channels = a.Codec, a.SampleRate, a.Channels
	}
	if v := info.Video; v != nil && kind == KindTV {
		f.VideoCodec, f.Width, f.Height, f.FrameRate = v.Codec, v.Width, v.Height, v.FrameRate
	}
	return f, nil
}

func upperFirst(s string) string {
	s = strings.TrimRight(s, ". ")
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// CheckSourceSubtitles refuses a producer's subtitle file that cannot be
// parsed or that breaks a rule its translations will be held to and could
// only meet by changing the source's times or cues (subtitle.CheckSource:
// cue order, overlap, inverted or too short cues, empty text). The error
// lists every problem with its line, so one upload is enough to learn all
// of them; reading-speed and line-length findings are for the translation
// step, where the translator can shorten the text.
func CheckSourceSubtitles(data []byte) error {
	f, err := subtitle.Parse(data)
	if err != nil {
		return &Error{Code: CodeInvalid, Field: "subtitles", Err: err,
			Message: "The subtitle file cannot be read: " + err.Error() + "."}
	}
	fs := subtitle.CheckSource(f)
	if len(fs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The subtitle file was not accepted: %d problem(s) to fix in it, then upload again. Translations keep these cues and times, so they must be right here.", len(fs))
	for _, fd := range fs {
		b.WriteString("\n  ")
		b.WriteString(fd.String())
	}
	return &Error{Code: CodeInvalid, Field: "subtitles", Message: b.String()}
}
