package media

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// Inspector is the pipeline.Inspector ingest uses: it runs ffprobe and a
// full audio decode ([Inspect]) within Limits and turns a [Refusal] into a
// pipeline.Error (CodeInvalid, field "file") the producer can act on.
type Inspector struct{ Limits Limits }

// Inspect probes and scans the media at url and checks it for kind.
func (m Inspector) Inspect(ctx context.Context, url string, kind pipeline.Kind) (pipeline.ProbeFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	info, scan, err := Inspect(ctx, url, string(kind), m.Limits)
	var ref *Refusal
	if errors.As(err, &ref) {
		return pipeline.ProbeFacts{}, &pipeline.Error{Code: pipeline.CodeInvalid, Field: "file", Err: ref,
			Message: "Refused (" + string(ref.Code) + "): " + upperFirst(ref.Reason) + ".", Findings: []subtitle.Finding{ref.Finding()}}
	}
	if errors.Is(err, ErrFetch) {
		return pipeline.ProbeFacts{}, &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: "The stored upload could not be read back for inspection (the media store answered with an error). Nothing was kept; send the file again in a minute."}
	}
	if err != nil {
		return pipeline.ProbeFacts{}, fmt.Errorf("inspect upload: %w", err)
	}
	f := pipeline.ProbeFacts{
		Format: info.FormatName, DurationMS: info.Duration.Milliseconds(), BitRate: info.BitRate,
		MeanVolumeDB: scan.MeanVolumeDB, MaxVolumeDB: scan.MaxVolumeDB, Loudness: scan.Loudness,
	}
	if a := info.Audio; a != nil {
		f.AudioCodec, f.SampleRate, f.Channels = a.Codec, a.SampleRate, a.Channels
	}
	if v := info.Video; v != nil && kind == pipeline.KindTV {
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
