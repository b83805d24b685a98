package pipeline

import (
	"fmt"
	"strings"

	"github.com/sonla-cchc/loa/media/subtitle"
)

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
	return &Error{Code: CodeInvalid, Field: "subtitles", Message: b.String(), Findings: fs}
}
