// Package subtitle reads, writes and checks SRT and WebVTT subtitle files
// for Loa: the Vietnamese subtitle a producer uploads with a segment, the
// Thái (blt) and Mông (hnj) subtitles translators submit, and the sidecars
// and ffmpeg inputs media processing writes. It is pure: no database,
// network or ffmpeg.
//
// # Reading
//
// Parse tells SRT from WebVTT by the WEBVTT signature; ParseSRT and ParseVTT
// read one format. Input comes from outside, so the readers refuse, with a
// *ParseError naming the source line and saying what to do:
//   - files that are not UTF-8, guessing which old Vietnamese encoding
//     (TCVN3/ABC, VNI, Windows-1258) or UTF-16 they are in (ErrNotUTF8);
//   - empty files, files over MaxBytes (2 MiB) or MaxCues (5,000) cues;
//   - broken or missing timestamps, text outside cues, "-->" in text, and
//     formatting tags nested absurdly deep.
//
// They accept a UTF-8 BOM, CRLF or CR line ends, SRT without cue numbers or
// blank lines between cues, '.' or ',' before the milliseconds, and
// timestamps without hours. Text is kept plain: formatting tags (<i>, <font>,
// {\an8}, WebVTT <c>, <v>) are removed, WebVTT character references decoded,
// lines trimmed and stored in NFC. Loa renders its own style, and plain text
// is what the checks count and what both writers can write back unchanged.
//
// The parser is written by hand rather than with github.com/asticode/go-astisub:
// astisub's items carry no source line numbers, so its errors cannot point a
// translator at the line to fix, and its SRT reader indexes past the end of
// a timing line with no end time ("00:00:01,000 -->"), which panics on
// hostile input.
//
// # Writing
//
// WriteSRT and WriteVTT write any parsed File so that it parses back to the
// same cues (FuzzParse checks this on arbitrary input).
//
// # Checking
//
// Check applies a Profile (ProfileFor("vi"), ("blt"), ("hnj")): at most 2
// lines, 42 characters per line, 17 characters per second, 833 ms to 7 s per
// cue, 80 ms between cues, no overlaps, and the scripts the language uses.
// Characters are grapheme clusters after NFC (CountChars), so Vietnamese
// tone marks and Tai Viet vowel signs count once whatever the encoding.
//
// Errors block a submission: empty cue, end not after start, overlap, too
// many lines, line too long, reading speed above HardMaxCPS (21), letters of
// a script the language does not use (Tai Viet or CJK in Mông, Tai Viet in
// Vietnamese, CJK or Cyrillic in Thái), a Thái line that reads as
// Vietnamese, and from CompareTiming a different cue count (each cue to
// add or remove named once when the cues line up by time) or times outside
// the tolerance. CheckMediaEnd holds cues to the media's length: a cue
// starting at or after its end, or ending more than the tolerance past
// it, is an error; one ending past it within the tolerance a warning. Warnings are shown and kept: reading speed between 17 and
// 21, cue shorter than 833 ms or longer than 7 s, gap under 80 ms (the
// translation inherits these from the source timings), a Mông line that
// reads as Vietnamese (the Mông 1961 script shares Vietnamese letters, so
// this is only a hint), and from CompareText a short line (under three
// words: names, numbers) identical to the source; longer identical text is
// an error.
//
// "Reads as Vietnamese" is a heuristic: at least two words, and a quarter
// of the line, are frequent Vietnamese function words written with
// Vietnamese diacritics (của, được, những, các...). Administrative terms
// borrowed as they are ("thủ tục hành chính") do not count.
package subtitle
