package subtitle

import "strconv"

// FindingKeys lists every Finding.Key this package's checks set, so the
// pages' catalogues can be checked to have a text ("fm_" + key) for each.
// Each key's text takes the finding's Args in the order the comment
// gives (a cue as Cue.Ref writes it, times as FormatTimestamp does,
// lengths in ms).
func FindingKeys() []string {
	return []string{
		KeyGap,           // cue, ms, previous cue, its line, minimum ms
		KeyEmpty,         // cue
		KeyEmptySource,   // cue
		KeyTooManyLines,  // cue, lines, limit
		KeyLineTooLong,   // line of the cue, cue, characters, limit
		KeyTooShort,      // cue, ms, minimum ms
		KeyTooLong,       // cue, seconds, maximum seconds
		KeyCPSHard,       // cue, characters per second, limit, characters that fit
		KeyCPS,           // cue, characters per second, limit, characters that fit
		KeyOrder,         // cue, start, previous cue, its line, its start
		KeyOverlap,       // cue, start, previous cue, its line, its end
		KeyInverted,      // cue, end, start
		KeyTooShortCue,   // cue, ms, start, end, minimum ms
		KeyScript,        // line of the cue, cue, the scripts found, language, scripts allowed
		KeyVietnamese,    // line of the cue, cue, language
		KeyTiming,        // cue, start, end, source cue, its start, its end, tolerance ms
		KeyExtraCue,      // cue, start, end, cues in the file, cues in the source
		KeyExtraEmpty,    // cue, start, end, cues in the file, cues in the source
		KeyMissingCue,    // source cue, start, end, its text, cues in the file, cues in the source, the file's cue it goes before
		KeyMissingLast,   // source cue, start, end, its text, cues in the file, cues in the source
		KeyCueCount,      // cues in the file, cues in the source
		KeySameCue,       // cue (an error: three words or more)
		KeySameCueShort,  // cue (a warning)
		KeySameLine,      // line of the cue, cue (an error)
		KeySameLineShort, // line of the cue, cue (a warning)
		KeyStartsAfter,   // cue, start, media end
		KeyRunsPast,      // cue, start, end, ms past, media end, tolerance ms
		KeyEndsPast,      // cue, end, ms past, media end
	}
}

// The finding keys (see FindingKeys for each one's Args).
const (
	KeyGap           = "gap"
	KeyEmpty         = "empty_cue"
	KeyEmptySource   = "empty_cue_source"
	KeyTooManyLines  = "too_many_lines"
	KeyLineTooLong   = "line_too_long"
	KeyTooShort      = "too_short"
	KeyTooLong       = "too_long"
	KeyCPSHard       = "cps_hard"
	KeyCPS           = "cps"
	KeyOrder         = "order"
	KeyOverlap       = "overlap"
	KeyInverted      = "inverted"
	KeyTooShortCue   = "too_short_source"
	KeyScript        = "script"
	KeyVietnamese    = "reads_vietnamese"
	KeyTiming        = "timing"
	KeyExtraCue      = "extra_cue"
	KeyExtraEmpty    = "extra_cue_empty"
	KeyMissingCue    = "missing_cue"
	KeyMissingLast   = "missing_cue_last"
	KeyCueCount      = "cue_count"
	KeySameCue       = "same_cue"
	KeySameCueShort  = "same_cue_short"
	KeySameLine      = "same_line"
	KeySameLineShort = "same_line_short"
	KeyStartsAfter   = "starts_after_end"
	KeyRunsPast      = "runs_past_end"
	KeyEndsPast      = "ends_past_end"
)

// Ref names c in a finding's Args: its SRT number or WebVTT identifier
// (quoted when not a number), else its position, so a page can say
// "cue 150" or "câu 150" in its own words.
func (c Cue) Ref() string {
	if c.ID != "" {
		if isDigits(c.ID) {
			return c.ID
		}
		return strconv.Quote(truncate(c.ID))
	}
	return strconv.Itoa(c.Index)
}

// keyed sets f's catalogue key and arguments and returns f.
func (f Finding) keyed(key string, args ...string) Finding {
	f.Key, f.Args = key, args
	return f
}

func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
