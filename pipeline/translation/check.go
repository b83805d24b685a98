package translation

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// Finding codes added to media/subtitle's.
const (
	CodeGlossary = "glossary" // warning: a glossary term's approved translation is missing
	CodeDuration = "duration" // error: a voice-over's length is too far from the source's
	CodeAudio    = "audio"    // error: a voice-over has no sound to play
)

// Blocking reports whether any finding is an error.
func Blocking(fs []subtitle.Finding) bool {
	for _, f := range fs {
		if f.Severity == subtitle.Error {
			return true
		}
	}
	return false
}

// RefusalError is the refusal of a submission with its findings: a
// pipeline.Error whose Findings are fs and whose message lists them,
// errors first, each with its line.
func RefusalError(what string, fs []subtitle.Finding) error {
	var errs, warns []string
	for _, f := range fs {
		if f.Severity == subtitle.Error {
			errs = append(errs, "  "+f.String())
		} else {
			warns = append(warns, "  "+f.String())
		}
	}
	msg := fmt.Sprintf("The %s was not accepted: %d error(s) to fix, then submit again.\n%s", what, len(errs), strings.Join(errs, "\n"))
	if len(warns) > 0 {
		msg += "\nWarnings (shown, not blocking):\n" + strings.Join(warns, "\n")
	}
	return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "file", Message: msg, Findings: append([]subtitle.Finding(nil), fs...)}
}

// ParseSubtitle parses a subtitle file, turning a refusal (not UTF-8, a
// legacy Vietnamese encoding, broken timing) into a user-facing error
// that names the line.
func ParseSubtitle(data []byte, what string) (*subtitle.File, error) {
	if len(data) == 0 {
		return nil, pipeline.FieldError("file", "The %s is empty: send the SRT or WebVTT file.", what)
	}
	f, err := subtitle.Parse(data)
	if err != nil {
		var pe *subtitle.ParseError
		if errors.As(err, &pe) {
			return nil, &pipeline.Error{Code: pipeline.CodeInvalid, Field: "file", Err: err,
				Message: fmt.Sprintf("The %s cannot be read: %s.", what, strings.TrimRight(pe.Error(), "."))}
		}
		return nil, fmt.Errorf("parse %s: %w", what, err)
	}
	return f, nil
}

// SubtitleCheck is what checking a translated subtitle file needs.
type SubtitleCheck struct {
	Language string
	// Source is the Vietnamese subtitle file of the segment.
	Source *subtitle.File
	// Tolerance is how far a cue's times may move from the source's;
	// 0 means subtitle.DefaultTolerance.
	Tolerance time.Duration
	// Glossary holds the approved translations of terms for Language.
	Glossary []Term
	// Media is the length of the segment's media; cues must start before
	// it ends and end by then, give or take Tolerance
	// (subtitle.CheckMediaEnd). 0 when not known: not checked.
	Media time.Duration
}

// translationMediaRemedy is what a translator is told to do about a cue
// past the end of the media.
const translationMediaRemedy = "end it by the end of the media, keeping to the source cue's times"

// Check parses a translated subtitle file and checks it: the language's
// quality profile (lines, characters by grapheme cluster, reading speed,
// durations, gaps, overlaps, script), cue count and timings against the
// source, cues after the end of the media (when Media is known), text
// left in Vietnamese, and glossary terms. It returns the
// parsed file and the findings in line order; a file that cannot be
// parsed is an error.
func (c SubtitleCheck) Check(data []byte) (*subtitle.File, []subtitle.Finding, error) {
	target, err := ParseSubtitle(data, "subtitle file")
	if err != nil {
		return nil, nil, err
	}
	tol := c.Tolerance
	if tol <= 0 {
		tol = subtitle.DefaultTolerance
	}
	var fs []subtitle.Finding
	fs = append(fs, subtitle.Check(target, subtitle.ProfileFor(c.Language))...)
	fs = append(fs, subtitle.CheckMediaEnd(target, c.Media, tol, translationMediaRemedy)...)
	if c.Source != nil {
		srcErrs := sourceErrors(c.Source, c.Media, tol)
		if len(c.Source.Cues) == len(target.Cues) {
			// Cues pair by position only when the counts agree.
			fs = relaxInherited(fs, srcErrs)
		}
		fs = append(fs, subtitle.CompareTiming(c.Source, target, tol)...)
		fs = append(fs, subtitle.CompareText(c.Source, target)...)
		fs = dropRemoved(fs)
		fs = noteBrokenSource(fs, c.Source, srcErrs, len(c.Source.Cues) == len(target.Cues))
		if len(c.Source.Cues) != len(target.Cues) {
			fs = emptyWhenCountsDiffer(fs)
		}
	}
	out := append([]subtitle.Finding{}, fs...)
	if c.Source != nil && len(c.Source.Cues) == len(target.Cues) {
		out = append(out, GlossaryFindings(c.Glossary, c.Source, target)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Cue < out[j].Cue
	})
	return target, out, nil
}

// dropRemoved keeps, for a cue the file must remove (a cue-count finding
// on that cue: the source has no cue at its time), that finding alone:
// advice on its text or times ("write its text", "shorten it") would
// contradict removing it.
func dropRemoved(fs []subtitle.Finding) []subtitle.Finding {
	remove := map[int]bool{}
	for _, f := range fs {
		if f.Code == subtitle.CodeCueCount && f.Cue > 0 {
			remove[f.Cue] = true
		}
	}
	if len(remove) == 0 {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Code == subtitle.CodeCueCount || !remove[f.Cue] {
			out = append(out, f)
		}
	}
	return out
}

// emptyWhenCountsDiffer rewords the empty-cue findings of a file whose
// cues do not line up with the source's: subtitle.Check's advice to keep
// the cue holds only when the file has one cue for each source cue, and
// here the cue may be one the source does not have.
func emptyWhenCountsDiffer(fs []subtitle.Finding) []subtitle.Finding {
	for i, f := range fs {
		if f.Code == subtitle.CodeEmptyCue {
			fs[i].Message = fmt.Sprintf("%s has no text; write its translation if the source has a cue at its time, otherwise remove it", f.CueRef())
		}
	}
	return fs
}

// inheritable are the codes of findings a translation inherits from a
// source that breaks subtitle.CheckSource: with the source's times and
// cues kept, as CompareTiming demands, the translator cannot avoid them.
var inheritable = map[string]bool{
	subtitle.CodeOrder: true, subtitle.CodeOverlap: true, subtitle.CodeBadTiming: true, subtitle.CodeEmptyCue: true,
	subtitle.CodePastEnd: true,
}

// sourceErrors are the errors the upload check finds in a source
// (pipeline.CheckSourceSubtitles): subtitle.CheckSource's, and cues past
// the end of the media when its length is known.
func sourceErrors(source *subtitle.File, media, tol time.Duration) []subtitle.Finding {
	fs := subtitle.CheckSource(source)
	for _, f := range subtitle.CheckMediaEnd(source, media, tol, "") {
		if f.Severity == subtitle.Error {
			fs = append(fs, f)
		}
	}
	return fs
}

// relaxInherited turns into warnings the errors of a translation that the
// source has at the same cue (sourceErrs, from sourceErrors). Sources are
// checked at upload (pipeline.CheckSourceSubtitles), but one accepted
// before that check, or by another path, must still let a translator
// submit a faithful translation; the warning says the source is broken
// there, that keeping it is accepted and that the fix is the producer's
// (its page text: KeyInherited + the problem's kind).
func relaxInherited(fs, sourceErrs []subtitle.Finding) []subtitle.Finding {
	type key struct {
		cue  int
		code string
	}
	inSource := map[key]subtitle.Finding{}
	for _, f := range sourceErrs {
		inSource[key{f.Cue, f.Code}] = f
	}
	for i, f := range fs {
		if f.Severity != subtitle.Error || !inheritable[f.Code] {
			continue
		}
		src, ok := inSource[key{f.Cue, f.Code}]
		if !ok {
			continue
		}
		p, ok := problemOf(f)
		if !ok {
			p, _ = problemOf(src)
		}
		// The check's own words say what is wrong; its advice (after
		// the last "; ") is not the translator's to follow here.
		desc := f.Message
		if j := strings.LastIndex(desc, "; "); j > 0 {
			desc = desc[:j]
		}
		fs[i].Severity = subtitle.Warning
		fs[i].Message = fmt.Sprintf("%s — as %s of the Vietnamese source does (its line %d): keeping it as in the source is accepted; the source is wrong there and the producer should correct the source",
			desc, src.CueRef(), src.Line)
		fs[i].Key, fs[i].Args = KeyInherited+p.kind, []string{firstArg(f), firstArg(src), strconv.Itoa(src.Line)}
		fs[i].NoteKey, fs[i].NoteArgs = "", nil
	}
	return fs
}

// problem is what is wrong with a cue, as a kind (the suffix of the
// pages' keys KeyInherited and KeySourceBroken) and in words.
type problem struct{ kind, what string }

// The kinds of problem a source accepted before the upload check can
// have at a cue, and that its translations inherit.
const (
	ProblemInverted = "inverted"
	ProblemShort    = "short"
	ProblemEmpty    = "empty"
	ProblemOrder    = "order"
	ProblemOverlap  = "overlap"
	ProblemPastEnd  = "past_end"
)

// problemOf names the problem finding f reports, by its page key.
func problemOf(f subtitle.Finding) (problem, bool) {
	switch f.Key {
	case subtitle.KeyInverted:
		return problem{ProblemInverted, "ends before it starts"}, true
	case subtitle.KeyTooShortCue:
		return problem{ProblemShort, "is too short to read"}, true
	case subtitle.KeyEmptySource, subtitle.KeyEmpty:
		return problem{ProblemEmpty, "has no text"}, true
	case subtitle.KeyOrder:
		return problem{ProblemOrder, "starts before the cue before it (the cues are out of order)"}, true
	case subtitle.KeyOverlap:
		return problem{ProblemOverlap, "starts before the cue before it ends"}, true
	case subtitle.KeyStartsAfter, subtitle.KeyRunsPast:
		return problem{ProblemPastEnd, "runs past the end of the media"}, true
	}
	return problem{}, false
}

// firstArg is the cue a finding's Args name first ("" when none).
func firstArg(f subtitle.Finding) string {
	if len(f.Args) == 0 {
		return ""
	}
	return f.Args[0]
}

// noteBrokenSource tells a translator who corrected, removed or retimed a
// cue that the source itself breaks (sourceErrs) why the file is still
// refused: the source cue is broken, only the producer can correct it,
// and meanwhile the cue is to be kept as the source has it (a faithful
// translation is accepted with a warning, relaxInherited). The note goes
// at the end of the error's Message and, for pages, in its NoteKey
// (KeySourceBroken + the problem's kind) and NoteArgs (the source cue,
// its line, its start and end). It is added to the errors on a cue at
// the same position as a broken source cue (samePositions: the counts
// agree) and to the cue-count errors that ask for a broken source cue
// back.
func noteBrokenSource(fs []subtitle.Finding, source *subtitle.File, sourceErrs []subtitle.Finding, samePositions bool) []subtitle.Finding {
	broken := map[int]subtitle.Finding{} // by the source cue's position
	for _, f := range sourceErrs {
		if _, ok := problemOf(f); ok && f.Cue > 0 {
			if _, seen := broken[f.Cue]; !seen {
				broken[f.Cue] = f
			}
		}
	}
	if len(broken) == 0 {
		return fs
	}
	for i, f := range fs {
		if f.Severity != subtitle.Error || f.NoteKey != "" {
			continue
		}
		pos := 0
		switch {
		case f.Key == subtitle.KeyMissingCue || f.Key == subtitle.KeyMissingLast:
			// The source cue to add back: named by its Ref and start.
			for j, c := range source.Cues {
				if len(f.Args) > 1 && c.Ref() == f.Args[0] && subtitle.FormatTimestamp(c.Start) == f.Args[1] {
					pos = j + 1
					break
				}
			}
		case samePositions && f.Cue > 0 && f.Code != subtitle.CodeCueCount:
			switch f.Code {
			case subtitle.CodeTiming, subtitle.CodeBadTiming, subtitle.CodeOrder, subtitle.CodeOverlap, subtitle.CodePastEnd:
				pos = f.Cue
			}
		}
		src, ok := broken[pos]
		if !ok {
			continue
		}
		p, _ := problemOf(src)
		sc := source.Cues[pos-1]
		keep := fmt.Sprintf("keep this cue as the source has it (%s --> %s)", subtitle.FormatTimestamp(sc.Start), subtitle.FormatTimestamp(sc.End))
		if p.kind == ProblemEmpty {
			keep = fmt.Sprintf("keep a cue with no text at its times (%s --> %s)", subtitle.FormatTimestamp(sc.Start), subtitle.FormatTimestamp(sc.End))
		}
		fs[i].Message = strings.TrimRight(f.Message, ". ") + fmt.Sprintf(". But %s of the Vietnamese source (its line %d) is itself broken: it %s. Only the producer can correct the source; until then %s, which is accepted with a warning",
			src.CueRef(), src.Line, p.what, keep)
		fs[i].NoteKey = KeySourceBroken + p.kind
		fs[i].NoteArgs = []string{sc.Ref(), strconv.Itoa(src.Line), subtitle.FormatTimestamp(sc.Start), subtitle.FormatTimestamp(sc.End)}
	}
	return fs
}

// GlossaryFindings warns, for each pair of cues at the same position, when
// the Vietnamese cue contains a glossary term and the translated cue lacks
// the term's approved translation. Matching ignores case and is done after
// NFC, on whole words.
func GlossaryFindings(terms []Term, source, target *subtitle.File) []subtitle.Finding {
	var out []subtitle.Finding
	for i, sc := range source.Cues {
		if i >= len(target.Cues) {
			break
		}
		tc := target.Cues[i]
		src, dst := " "+foldWords(sc.Text())+" ", " "+foldWords(tc.Text())+" "
		for _, t := range terms {
			if !strings.Contains(src, " "+foldWords(t.Term)+" ") {
				continue
			}
			if strings.Contains(dst, " "+foldWords(t.Translation)+" ") {
				continue
			}
			out = append(out, subtitle.Finding{Severity: subtitle.Warning, Code: CodeGlossary, Cue: tc.Index, Line: tc.Line,
				Message: fmt.Sprintf("the source says %q; the glossary's approved translation %q is not in this cue: use it, or tell the reviewer why not", t.Term, t.Translation),
				Key:     KeyGlossary, Args: []string{t.Term, t.Translation}})
		}
	}
	return out
}

// foldWords lower-cases s after NFC and reduces it to words separated by
// single spaces, dropping punctuation.
func foldWords(s string) string {
	s = strings.ToLower(norm.NFC.String(s))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !isWordRune(r)
	}), " ")
}

// The catalogue keys (subtitle.Finding.Key) of this package's own
// findings; each one's Args are in its comment.
const (
	KeyGlossary = "glossary"           // the source's term, its approved translation
	KeyNoAudio  = "voiceover_no_audio" // none
	KeyDuration = "voiceover_duration" // the recording's length, the segment's, the difference allowed (seconds, one decimal)
)

// The prefixes of the keys of a finding about a source accepted before
// the upload check; each is followed by a problem kind (ProblemInverted
// ...). KeyInherited + kind is a faithful translation's warning (Args:
// the cue, the source cue, its line); KeySourceBroken + kind is the
// note (Finding.NoteKey) on an error of a translation that departs from
// a broken source cue (NoteArgs: the source cue, its line, its start,
// its end).
const (
	KeyInherited    = "inherited_"
	KeySourceBroken = "source_broken_"
)

// problemKinds are the kinds KeyInherited and KeySourceBroken take.
var problemKinds = []string{ProblemInverted, ProblemShort, ProblemEmpty, ProblemOrder, ProblemOverlap, ProblemPastEnd}

// FindingKeys lists the keys of this package's own findings and notes.
func FindingKeys() []string {
	keys := []string{KeyGlossary, KeyNoAudio, KeyDuration}
	for _, k := range problemKinds {
		keys = append(keys, KeyInherited+k, KeySourceBroken+k)
	}
	return keys
}

// seconds writes d as seconds with one decimal, for a finding's Args.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }
