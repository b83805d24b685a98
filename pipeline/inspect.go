package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// SourceMediaRemedy is what a producer is told to do about a cue that
// starts after the media ends or runs on past it.
const SourceMediaRemedy = "check that the subtitle file is the one made for this media (not for a longer cut), then make every cue end by the end of the media, or remove the cues after it"

// CheckSourceSubtitles refuses a producer's subtitle file that cannot be
// parsed or that breaks a rule its translations will be held to and could
// only meet by changing the source's times or cues (subtitle.CheckSource:
// cue order, overlap, inverted or too short cues, empty text), or, when
// the media's length is known (media > 0; 0 before the media is
// inspected), that has a cue starting after the media ends or ending more
// than subtitle.DefaultTolerance past it (subtitle.CheckMediaEnd). The
// error lists every problem with its line, so one upload is enough to
// learn all of them; reading-speed and line-length findings are for the
// translation step, where the translator can shorten the text. A file it
// accepts may come with warnings: cues that end past the media within the
// tolerance, which players cut at its end.
func CheckSourceSubtitles(data []byte, media time.Duration) (warnings []subtitle.Finding, err error) {
	f, err := subtitle.Parse(data)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Field: "subtitles", Err: err,
			Message: "The subtitle file cannot be read: " + err.Error() + "."}
	}
	var fs []subtitle.Finding
	for _, fd := range append(subtitle.CheckSource(f), subtitle.CheckMediaEnd(f, media, subtitle.DefaultTolerance, SourceMediaRemedy)...) {
		if fd.Severity == subtitle.Error {
			fs = append(fs, fd)
		} else {
			warnings = append(warnings, fd)
		}
	}
	if len(fs) == 0 {
		return warnings, nil
	}
	slices.SortStableFunc(fs, func(a, b subtitle.Finding) int { return a.Cue - b.Cue })
	var b strings.Builder
	fmt.Fprintf(&b, "The subtitle file was not accepted: %d problem(s) to fix in it, then upload again. Translations keep these cues and times, so they must be right here.", len(fs))
	for _, fd := range fs {
		b.WriteString("\n  ")
		b.WriteString(fd.String())
	}
	return nil, &Error{Code: CodeInvalid, Field: "subtitles", Message: b.String(), Findings: fs}
}
