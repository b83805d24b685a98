package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ffmpeg "github.com/u2takey/ffmpeg-go"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// maxRenderedSubtitle bounds the subtitle file Loa writes for ffmpeg: twice
// what [subtitle.Parse] accepts, which leaves room for the ASS header and
// per-cue fields. A bigger *subtitle.File was not parsed from an upload and
// is refused.
const maxRenderedSubtitle = 2 * subtitle.MaxBytes

// checkSubtitleSize refuses a subtitle whose text alone is over
// maxRenderedSubtitle, before any copy of it is made.
func checkSubtitleSize(sub *subtitle.File) error {
	n := 0
	for _, c := range sub.Cues {
		n += 64 // times and fields
		for _, l := range c.Lines {
			n += len(l) + 1
		}
		if n > maxRenderedSubtitle {
			return fmt.Errorf("subtitle is over %d MiB; a subtitle for one segment is a few KiB", maxRenderedSubtitle>>20)
		}
	}
	return nil
}

// LoadSubtitle reads and parses a subtitle file (SRT or WebVTT) from path,
// refusing a file over [subtitle.MaxBytes] before reading it whole. The
// path is only opened, never handed to ffmpeg.
func LoadSubtitle(path string) (*subtitle.File, error) {
	name := displayName(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load subtitle %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, subtitle.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load subtitle %s: %w", name, err)
	}
	if len(data) > subtitle.MaxBytes {
		return nil, fmt.Errorf("load subtitle %s: file is over %d MiB; a subtitle for one segment is a few KiB: upload the .srt or .vtt file itself",
			name, subtitle.MaxBytes>>20)
	}
	sub, err := subtitle.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load subtitle %s: %w", name, err)
	}
	return sub, nil
}

// WriteWebVTT writes sub as the WebVTT sidecar at path for the web player,
// through a temporary file in the same folder renamed into place, so a
// reader never sees half a file.
func WriteWebVTT(path string, sub *subtitle.File) (err error) {
	name := displayName(path)
	if sub == nil {
		return fmt.Errorf("write WebVTT %s: no subtitle", name)
	}
	// Written in memory first: a failure there is the cues' (an
	// *InputError), one later is the disk's.
	var buf bytes.Buffer
	if err := subtitle.WriteVTT(&buf, sub); err != nil {
		return inputError(fmt.Errorf("write WebVTT %s: %w", name, err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vtt-*")
	if err != nil {
		return fmt.Errorf("write WebVTT %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write WebVTT %s: %w", name, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write WebVTT %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write WebVTT %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write WebVTT %s: %w", name, err)
	}
	return nil
}

// iso639_1to2T maps the two-letter codes Loa may meet to the ISO 639-2/T
// codes MP4 stores.
var iso639_1to2T = map[string]string{
	"vi": "vie", "en": "eng", "fr": "fra", "zh": "zho", "th": "tha", "lo": "lao", "km": "khm",
}

// langNames are the track names written to MP4 (handler_name), which
// players show next to the language.
var langNames = map[string]string{
	"vie": "Tiếng Việt", "blt": "Thái (Tai Dam)", "hnj": "Mông (Hmong Njua)",
}

var threeLetters = regexp.MustCompile(`^[a-z]{3}$`)

// MP4Language returns the three-letter code written to an MP4 track's
// language field for lang. Two-letter ISO 639-1 codes become ISO 639-2/T
// ("vi" → "vie"). Three-letter codes are kept as they are: MP4 stores any
// three lowercase letters, so Loa's ISO 639-3 codes "blt" (Thái, Tai Dam)
// and "hnj" (Mông, Hmong Njua) round-trip exactly (ffprobe reads them
// back), where ISO 639-2 has only the collective "tai" and "hmn". "" is
// "und" (undetermined). Anything else is an error.
func MP4Language(lang string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(lang))
	switch {
	case l == "":
		return "und", nil
	case threeLetters.MatchString(l):
		return l, nil
	}
	if c, ok := iso639_1to2T[l]; ok {
		return c, nil
	}
	return "", fmt.Errorf("language %q: want an ISO 639 code such as vi, blt or hnj", lang)
}

// SubtitleTrack is one language's subtitle for [Runner.SoftSubtitles].
type SubtitleTrack struct {
	Lang string         // "vi", "blt", "hnj" or another ISO 639 code; see [MP4Language]
	File *subtitle.File // parsed, NFC text
}

// SoftSubOptions configures [Runner.SoftSubtitles].
type SoftSubOptions struct {
	TempDir  string         // where the private work folder is made; default os.TempDir()
	Progress func(Progress) // optional
	// CRF is the x264 quality when the video must be encoded (see
	// SoftSubtitles); default 20.
	CRF int
}

func (o SoftSubOptions) crf() int {
	if o.CRF <= 0 {
		return 20
	}
	return o.CRF
}

// SoftSubtitles writes output, an MP4 with input's first video and audio
// streams copied as they are (audio that MP4 cannot hold is encoded to
// AAC) and one mov_text subtitle stream per track, in order, each tagged
// with its language ([MP4Language]) and a track name. The first track is
// the default one. Video that is not plain H.264 4:2:0 with even sides,
// square pixels, no rotation and no fields is encoded instead of copied,
// upright and at its display size (as BurnSubtitles draws it), so every
// player shows it the same. Subtitles are written to generated names in a
// private temp folder, removed on every path. On error no output is left.
func (r *Runner) SoftSubtitles(ctx context.Context, input, output string, tracks []SubtitleTrack, opt SoftSubOptions) (_ Rendition, err error) {
	name := displayName(input)
	fail := func(err error) (Rendition, error) {
		return Rendition{}, fmt.Errorf("soft subtitles %s: %w", name, err)
	}
	if len(tracks) == 0 {
		return fail(errors.New("no subtitle track given"))
	}
	langs := make([]string, len(tracks))
	for i, tr := range tracks {
		if tr.File == nil || len(tr.File.Cues) == 0 {
			return fail(inputError(fmt.Errorf("track %d (%s): empty subtitle", i+1, tr.Lang)))
		}
		if err := checkSubtitleSize(tr.File); err != nil {
			return fail(inputError(fmt.Errorf("track %d (%s): %w", i+1, tr.Lang, err)))
		}
		if langs[i], err = MP4Language(tr.Lang); err != nil {
			return fail(fmt.Errorf("track %d: %w", i+1, err))
		}
	}
	inAbs, outAbs, info, work, err := r.videoWork(ctx, input, output, opt.TempDir, "loa-softsub-")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if rmErr := os.RemoveAll(work); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove work folder: %w", rmErr))
		}
	}()

	streams := []*ffmpeg.Stream{}
	in := fileInput(inAbs)
	kw := ffmpeg.KwArgs{"c:v": "copy", "c:s": "mov_text", "f": "mp4", "movflags": "+faststart",
		"map_metadata": "-1", "map_chapters": "-1"}
	if plainVideo(*info.Video) {
		streams = append(streams, in.Get("v:0"))
	} else {
		// Odd sizes, non-square pixels, a rotation tag, fields or a
		// profile players lack: encode it the way burned-in renditions are.
		video, _, _ := uprightVideo(in.Get("v:0"), *info.Video, 0)
		streams = append(streams, video)
		kw["c:v"], kw["preset"], kw["crf"], kw["pix_fmt"] = "libx264", "veryfast", opt.crf(), "yuv420p"
	}
	if info.Audio != nil {
		streams = append(streams, in.Get("a:0"))
	}
	maps := []string{}
	for k, v := range audioCodecArgs(info) {
		kw[k] = v
	}
	for i, tr := range tracks {
		var buf bytes.Buffer
		if err := subtitle.WriteSRT(&buf, tr.File); err != nil {
			return fail(fmt.Errorf("track %d (%s): %w", i+1, tr.Lang, err))
		}
		if buf.Len() > maxRenderedSubtitle {
			return fail(fmt.Errorf("track %d (%s): subtitle is over %d MiB", i+1, tr.Lang, maxRenderedSubtitle>>20))
		}
		file := "sub" + strconv.Itoa(i) + ".srt"
		if err := os.WriteFile(filepath.Join(work, file), buf.Bytes(), 0o600); err != nil {
			return fail(fmt.Errorf("write subtitle: %w", err))
		}
		streams = append(streams, fileInput(file, ffmpeg.KwArgs{"f": "srt", "sub_charenc": "UTF-8"}).Get("s:0"))
		s := "s:s:" + strconv.Itoa(i)
		maps = append(maps, "-metadata:"+s, "language="+langs[i])
		if n, ok := langNames[langs[i]]; ok {
			maps = append(maps, "-metadata:"+s, "handler_name="+n)
		}
		disp := "0"
		if i == 0 {
			disp = "default"
		}
		maps = append(maps, "-disposition:"+s, disp)
	}
	args := StreamArgs(ffmpeg.Output(streams, fileOutput(outAbs), kw))
	// Per-stream metadata goes before the output name: ffmpeg-go's KwArgs
	// cannot hold the same key twice.
	args = slices.Insert(args, len(args)-1, maps...)
	job := Job{Step: "soft_subtitles", Args: args, Outputs: []string{outAbs}, Duration: info.Duration, Progress: opt.Progress, Dir: work}
	if err := r.Run(ctx, job); err != nil {
		return fail(err)
	}
	rd, err := r.measureRendition(ctx, outAbs)
	if err != nil {
		removeAll([]string{outAbs})
		return fail(err)
	}
	return rd, nil
}

// audioCodecArgs copies audio MP4 can hold and encodes anything else (PCM
// from a broadcast .mov, say) to AAC.
func audioCodecArgs(info Info) ffmpeg.KwArgs {
	if info.Audio == nil {
		return ffmpeg.KwArgs{}
	}
	switch info.Audio.Codec {
	case "aac", "mp3", "ac3", "eac3", "opus", "alac", "flac":
		return ffmpeg.KwArgs{"c:a": "copy"}
	}
	return ffmpeg.KwArgs{"c:a": "aac", "b:a": "128000", "ar": "48000"}
}

// absPaths makes input and output absolute, so they mean the same inside
// a work folder used as ffmpeg's working directory.
func absPaths(input, output string) (string, string, error) {
	if strings.ContainsRune(input, 0) || strings.ContainsRune(output, 0) {
		return "", "", errors.New("file name contains a NUL byte")
	}
	in, err := filepath.Abs(input)
	if err != nil {
		return "", "", fmt.Errorf("resolve input: %w", err)
	}
	out, err := filepath.Abs(output)
	if err != nil {
		return "", "", fmt.Errorf("resolve output: %w", err)
	}
	return in, out, nil
}

// BurnOptions configures [Runner.BurnSubtitles].
type BurnOptions struct {
	// Lang is the subtitle's language: "blt" (Thái) refuses to render
	// without a Tai Viet font in FontsDir, whatever the text holds.
	Lang string
	// FontsDir is Loa's fonts folder (see [PrepareFonts]); required. libass
	// sees only the fonts in it, never the system's.
	FontsDir string
	// FontName is the style's font family; default "Noto Sans". Letters it
	// lacks (Tai Viet) come from another font of FontsDir.
	FontName string
	// FontSize is the text height in 1/288 of the picture height; default 18.
	FontSize int
	CRF      int            // x264 quality; default 20
	TempDir  string         // where the private work folder is made; default os.TempDir()
	Progress func(Progress) // optional
}

// fontNameRE is what a FontName may look like: it goes into the ASS style.
var fontNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ]{0,62}$`)

// BurnSubtitles writes output, an H.264 MP4 of input's video with sub
// drawn into the picture by libass (HarfBuzz complex shaping) and input's
// first audio stream copied (or encoded to AAC when MP4 cannot hold it).
//
// libass sees only the fonts in opt.FontsDir: ffmpeg runs with a
// FONTCONFIG_FILE that lists a private copy of that folder and nothing
// else, so a render never depends on what the machine has installed. It
// refuses (wrapping [ErrNoTaiVietFont]) a Thái subtitle when the folder
// has no Tai Viet font, and any subtitle with a letter no font in the
// folder has, instead of drawing empty boxes; and it fails if libass still
// reports a glyph it could not find.
//
// No caller text reaches the filter graph: the subtitle is written as
// "sub.ass" into a private temp folder that is ffmpeg's working directory,
// the filter names only that, and the folder is removed on every path. On
// error no output is left.
func (r *Runner) BurnSubtitles(ctx context.Context, input, output string, sub *subtitle.File, opt BurnOptions) (Rendition, error) {
	return r.burn(ctx, input, output, sub, opt, true)
}

// burn is BurnSubtitles; checkGlyphs=false lets a test draw boxes on
// purpose.
func (r *Runner) burn(ctx context.Context, input, output string, sub *subtitle.File, opt BurnOptions, checkGlyphs bool) (_ Rendition, err error) {
	name := displayName(input)
	fail := func(err error) (Rendition, error) {
		return Rendition{}, fmt.Errorf("burn in subtitles %s: %w", name, err)
	}
	if sub == nil || len(sub.Cues) == 0 {
		return fail(inputError(errors.New("empty subtitle")))
	}
	if len(sub.Cues) > subtitle.MaxCues {
		return fail(inputError(fmt.Errorf("subtitle has %d cues, more than %d", len(sub.Cues), subtitle.MaxCues)))
	}
	if err := checkSubtitleSize(sub); err != nil {
		return fail(inputError(err))
	}
	if opt.FontsDir == "" {
		return fail(errors.New("no fonts folder given (BurnOptions.FontsDir; see PrepareFonts)"))
	}
	if opt.FontName == "" {
		opt.FontName = "Noto Sans"
	}
	if !fontNameRE.MatchString(opt.FontName) {
		return fail(fmt.Errorf("font name %q: use letters, digits and spaces", opt.FontName))
	}
	if opt.FontSize <= 0 {
		opt.FontSize = 18
	}
	if opt.CRF <= 0 {
		opt.CRF = 20
	}
	lang, err := MP4Language(opt.Lang)
	if err != nil {
		return fail(err)
	}
	fonts, err := loadFonts(opt.FontsDir)
	if err != nil {
		return fail(err)
	}
	if checkGlyphs {
		if err := checkCoverage(fonts, sub, lang, opt.FontsDir); err != nil {
			return fail(err)
		}
	}
	inAbs, outAbs, info, work, err := r.videoWork(ctx, input, output, opt.TempDir, "loa-burn-")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if rmErr := os.RemoveAll(work); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove work folder: %w", rmErr))
		}
	}()
	if err := writeFontsConfig(work, fonts); err != nil {
		return fail(err)
	}
	in := fileInput(inAbs)
	// The text is drawn on the picture as shown: upright, square pixels,
	// even sides (uprightVideo), so it is neither stretched nor sideways.
	upright, w, h := uprightVideo(in.Get("v:0"), *info.Video, 0)
	var ass bytes.Buffer
	if err := writeASS(&ass, sub, w, h, opt.FontName, opt.FontSize); err != nil {
		return fail(inputError(err)) // only the cues' times or text can make it fail
	}
	if ass.Len() > maxRenderedSubtitle {
		return fail(fmt.Errorf("subtitle is over %d MiB once written; a subtitle for one segment is a few KiB", maxRenderedSubtitle>>20))
	}
	if err := os.WriteFile(filepath.Join(work, "sub.ass"), ass.Bytes(), 0o600); err != nil {
		return fail(fmt.Errorf("write subtitle: %w", err))
	}

	// Every value in this graph is a constant or a number: the file name
	// is generated and relative to the work folder.
	video := upright.Filter("ass", ffmpeg.Args{}, ffmpeg.KwArgs{"filename": "sub.ass", "shaping": "complex"})
	streams := []*ffmpeg.Stream{video}
	kw := ffmpeg.KwArgs{"c:v": "libx264", "preset": "veryfast", "crf": opt.CRF, "pix_fmt": "yuv420p",
		"f": "mp4", "movflags": "+faststart", "map_metadata": "-1", "map_chapters": "-1", "sn": "", "dn": ""}
	if info.Audio != nil {
		streams = append(streams, in.Get("a:0"))
		for k, v := range audioCodecArgs(info) {
			kw[k] = v
		}
	}
	var (
		mu      sync.Mutex
		noGlyph []rune
	)
	job := Job{
		Step:     "burn_subtitles",
		Args:     StreamArgs(ffmpeg.Output(streams, fileOutput(outAbs), kw)),
		LogLevel: "warning", // libass says "failed to find any fallback with glyph" at this level
		Duration: info.Duration,
		Progress: opt.Progress,
		Outputs:  []string{outAbs},
		Dir:      work,
		Env:      []string{"FONTCONFIG_FILE=" + filepath.Join(work, "fonts.conf")},
		Stderr: func(line string) {
			if r, ok := missingGlyph(line); ok {
				mu.Lock()
				if !slices.Contains(noGlyph, r) {
					noGlyph = append(noGlyph, r)
				}
				mu.Unlock()
			}
		},
	}
	if err := r.Run(ctx, job); err != nil {
		return fail(err)
	}
	if checkGlyphs && len(noGlyph) > 0 {
		removeAll([]string{outAbs})
		return fail(fmt.Errorf("libass found no glyph for %s in the fonts folder: the picture would show empty boxes; add a font that has them to %s",
			formatRunes(noGlyph), opt.FontsDir))
	}
	rd, err := r.measureRendition(ctx, outAbs)
	if err != nil {
		removeAll([]string{outAbs})
		return fail(err)
	}
	return rd, nil
}

// checkCoverage refuses a subtitle the fonts cannot draw.
func checkCoverage(fonts []*fontFile, sub *subtitle.File, lang, dir string) error {
	hasTaiViet := slices.ContainsFunc(fonts, func(f *fontFile) bool { return f.hasAll(taiVietLetters) })
	if lang == "blt" && !hasTaiViet {
		return fmt.Errorf("%w in the fonts folder %s: a Thái subtitle would burn in as empty boxes; "+
			"install fonts-noto-core (Noto Sans Tai Viet) and run PrepareFonts", ErrNoTaiVietFont, dir)
	}
	var missing []rune
	for _, c := range sub.Cues {
		for _, l := range c.Lines {
			for _, r := range missingRunes(fonts, l) {
				if !slices.Contains(missing, r) {
					missing = append(missing, r)
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if slices.ContainsFunc(missing, isTaiViet) {
		return fmt.Errorf("%w in the fonts folder %s: the Tai Viet letters %s would burn in as empty boxes; "+
			"install fonts-noto-core (Noto Sans Tai Viet) and run PrepareFonts", ErrNoTaiVietFont, dir, formatRunes(missing))
	}
	return inputError(fmt.Errorf("no font in the fonts folder %s has %s: they would burn in as empty boxes; "+
		"fix the text or add a font that has them", dir, formatRunes(missing)))
}

// isTaiViet reports whether r is in the Tai Viet block.
func isTaiViet(r rune) bool { return r >= 0xAA80 && r <= 0xAADF }

// glyphWarning is libass's message (through ffmpeg at -loglevel warning)
// when no font has a character.
var glyphWarning = regexp.MustCompile(`failed to find any fallback with glyph 0x([0-9A-Fa-f]+)`)

// missingGlyph parses libass's missing-glyph warning. Invisible characters
// (which the shaper hides anyway) do not count.
func missingGlyph(line string) (rune, bool) {
	m := glyphWarning.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(m[1], 16, 32)
	if err != nil || !needsGlyph(rune(v)) {
		return 0, false
	}
	return rune(v), true
}

// writeFontsConfig writes work/fonts.conf, a fontconfig configuration that
// lists only work/fonts, and fills that folder with symbolic links named
// f0.ttf, f1.otf, ... to the given fonts. Its cache stays in work too.
func writeFontsConfig(work string, fonts []*fontFile) error {
	dir := filepath.Join(work, "fonts")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("make fonts folder: %w", err)
	}
	for i, f := range fonts {
		target, err := filepath.Abs(f.path)
		if err != nil {
			return fmt.Errorf("link font: %w", err)
		}
		ext := strings.ToLower(filepath.Ext(f.path))
		if err := os.Symlink(target, filepath.Join(dir, "f"+strconv.Itoa(i)+ext)); err != nil {
			return fmt.Errorf("link font: %w", err)
		}
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">` + "\n<fontconfig>\n  <dir>")
	xml.EscapeText(&b, []byte(dir))
	b.WriteString("</dir>\n  <cachedir>")
	xml.EscapeText(&b, []byte(filepath.Join(work, "fccache")))
	b.WriteString("</cachedir>\n</fontconfig>\n")
	if err := os.WriteFile(filepath.Join(work, "fonts.conf"), b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write fontconfig file: %w", err)
	}
	return nil
}

// assPlayResY is the ASS script height: sizes and margins are in 1/288 of
// the picture height, whatever the video's size.
const assPlayResY = 288

// writeASS writes sub as an Advanced SubStation script with one style:
// white text, black outline, bottom centre, the given font.
func writeASS(w io.Writer, sub *subtitle.File, width, height int, font string, size int) error {
	if width <= 0 || height <= 0 {
		width, height = 16, 9
	}
	resX := max(1, int(float64(assPlayResY)*float64(width)/float64(height)+0.5))
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n", resX, assPlayResY)
	bw.WriteString("[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, " +
		"Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, " +
		"MarginL, MarginR, MarginV, Encoding\n")
	fmt.Fprintf(bw, "Style: Default,%s,%d,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1.5,0.5,2,16,16,14,1\n\n", font, size)
	bw.WriteString("[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
	for i, c := range sub.Cues {
		if c.Start < 0 || c.End < c.Start {
			return fmt.Errorf("write subtitle: cue %d: bad times %s --> %s", i+1,
				subtitle.FormatTimestamp(c.Start), subtitle.FormatTimestamp(c.End))
		}
		var text []string
		for _, l := range c.Lines {
			if l = escapeASS(l); l != "" {
				text = append(text, l)
			}
		}
		if len(text) == 0 {
			continue
		}
		fmt.Fprintf(bw, "Dialogue: 0,%s,%s,Default,,0,0,0,,%s\n", assTime(c.Start), assTime(c.End), strings.Join(text, `\N`))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write subtitle: %w", err)
	}
	return nil
}

// assTime formats d as ASS's H:MM:SS.cc (centiseconds, rounded down).
func assTime(d time.Duration) string {
	cs := d.Milliseconds() / 10
	return fmt.Sprintf("%d:%02d:%02d.%02d", cs/360000, cs/6000%60, cs/100%60, cs%100)
}

// wordJoiner is U+2060, invisible and zero-width: put after a backslash it
// keeps libass from reading "\N", "\n" or "\h" in the text as an escape.
const wordJoiner = '\u2060'

// escapeASS makes one line of caller text plain ASS text: "{" and "}"
// (override blocks) become libass's "\{" and "\}", a backslash before N, n
// or h is kept from forming an escape, and control characters (a line
// break would start a new line of the script) become spaces.
func escapeASS(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '{' || r == '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\\':
			b.WriteRune(r)
			if i+1 < len(s) && strings.IndexByte("Nnh", s[i+1]) >= 0 {
				b.WriteRune(wordJoiner)
			}
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// videoWork prepares a video rendition: absolute paths for input and
// output, the input's probe (it must have video), and a private work
// folder named with prefix that the caller removes.
func (r *Runner) videoWork(ctx context.Context, input, output, tempDir, prefix string) (inAbs, outAbs string, info Info, work string, err error) {
	if inAbs, outAbs, err = absPaths(input, output); err != nil {
		return
	}
	if info, err = r.Probe(ctx, inAbs); err != nil {
		return
	}
	if info.Video == nil {
		err = errors.New("no video stream")
		return
	}
	if work, err = os.MkdirTemp(tempDir, prefix); err != nil {
		err = fmt.Errorf("make work folder: %w", err)
	}
	return
}
