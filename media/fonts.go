package media

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/image/font/sfnt"
)

// Errors [CheckFonts] and [Runner.BurnSubtitles] wrap when Loa's fonts
// folder cannot render a language: burning in would draw empty boxes.
var (
	ErrNoTaiVietFont    = errors.New("no font with Tai Viet letters (Thái, U+AA80–U+AADF)")
	ErrNoVietnameseFont = errors.New("no font with Vietnamese letters")
)

// DebianFonts are the font files [PrepareFonts] copies by default, from
// Debian's fonts-noto-core, fonts-sil-taiheritagepro and fonts-dejavu-core:
// two Tai Viet fonts for Thái, two with Vietnamese (and Mông) Latin letters.
// Missing ones are skipped.
var DebianFonts = []string{
	"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansTaiViet-Regular.ttf",
	"/usr/share/fonts/truetype/taiheritagepro/TaiHeritagePro-Regular.ttf",
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
}

// taiVietLetters are the assigned code points of the Tai Viet block: a
// font that has them all can write any Thái line.
var taiVietLetters = func() []rune {
	var rs []rune
	for r := rune(0xAA80); r <= 0xAAC2; r++ {
		rs = append(rs, r)
	}
	for r := rune(0xAADB); r <= 0xAADF; r++ {
		rs = append(rs, r)
	}
	return rs
}()

// vietnameseLetters is a sample that only a font with full Vietnamese
// coverage has: the letters with horn, breve and circumflex, đ, and the
// stacked tone marks (precomposed, as NFC text uses them).
var vietnameseLetters = []rune("ĂÂĐÊÔƠƯăâđêôơưẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")

// maxFontBytes bounds a font file read into memory.
const maxFontBytes = 64 << 20

// PrepareFonts makes dir Loa's fonts folder: it creates dir and copies into
// it each of sources (default [DebianFonts]) that exists, then runs
// [CheckFonts]. Call it at start-up; pass the folder to
// [BurnOptions].FontsDir.
func PrepareFonts(dir string, sources ...string) error {
	if len(sources) == 0 {
		sources = DebianFonts
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("prepare fonts folder: %w", err)
	}
	for _, src := range sources {
		if err := copyFont(src, filepath.Join(dir, filepath.Base(src))); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("prepare fonts folder: %w", err)
		}
	}
	return CheckFonts(dir)
}

// copyFont copies one font file, replacing dst atomically.
func copyFont(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".font-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, io.LimitReader(in, maxFontBytes)); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// CheckFonts reports whether the fonts folder dir can burn in every Loa
// language: it returns an error wrapping [ErrNoTaiVietFont] when no font in
// it has all the Tai Viet letters, or [ErrNoVietnameseFont] when none has
// the Vietnamese ones. Call it at start-up so a missing font is found
// before a Thái segment renders as boxes.
func CheckFonts(dir string) error {
	fonts, err := loadFonts(dir)
	if err != nil {
		return fmt.Errorf("check fonts: %w", err)
	}
	var errs []error
	if !slices.ContainsFunc(fonts, func(f *fontFile) bool { return f.hasAll(taiVietLetters) }) {
		errs = append(errs, fmt.Errorf("check fonts in %s: %w: Thái subtitles cannot be burned in; "+
			"install fonts-noto-core (Noto Sans Tai Viet) or fonts-sil-taiheritagepro and run PrepareFonts", dir, ErrNoTaiVietFont))
	}
	if !slices.ContainsFunc(fonts, func(f *fontFile) bool { return f.hasAll(vietnameseLetters) }) {
		errs = append(errs, fmt.Errorf("check fonts in %s: %w: Vietnamese and Mông subtitles cannot be burned in; "+
			"install fonts-noto-core or fonts-dejavu-core and run PrepareFonts", dir, ErrNoVietnameseFont))
	}
	return errors.Join(errs...)
}

// fontFile is one font file in the fonts folder and its faces (several
// in a collection).
type fontFile struct {
	path  string
	faces []*sfnt.Font
}

// has reports whether some face of the file maps r to a glyph.
func (f *fontFile) has(r rune) bool {
	var b sfnt.Buffer
	return slices.ContainsFunc(f.faces, func(face *sfnt.Font) bool { return hasGlyph(face, &b, r) })
}

// hasAll reports whether one face of the file has every rune of rs.
func (f *fontFile) hasAll(rs []rune) bool {
	var b sfnt.Buffer
	for _, face := range f.faces {
		if !slices.ContainsFunc(rs, func(r rune) bool { return !hasGlyph(face, &b, r) }) {
			return true
		}
	}
	return false
}

// loadFonts reads the fonts (.ttf, .otf, .ttc) directly in dir. Files that
// are not fonts are skipped; a folder with no font at all is an error.
func loadFonts(dir string) ([]*fontFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read fonts folder: %w", err)
	}
	var fonts []*fontFile
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".ttf", ".otf", ".ttc":
		default:
			continue
		}
		path := filepath.Join(dir, e.Name())
		st, err := os.Stat(path) // follows symlinks
		if err != nil || !st.Mode().IsRegular() || st.Size() > maxFontBytes {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read font %s: %w", e.Name(), err)
		}
		faces, err := parseFaces(data)
		if err != nil {
			continue
		}
		fonts = append(fonts, &fontFile{path: path, faces: faces})
	}
	if len(fonts) == 0 {
		return nil, fmt.Errorf("fonts folder %s holds no readable font: run PrepareFonts", dir)
	}
	return fonts, nil
}

// missingRunes returns, in order of first use, the runes of text that no
// font has a glyph for. Spaces, controls and invisible format characters
// (which shapers hide) are not counted.
func missingRunes(fonts []*fontFile, text string) []rune {
	var missing []rune
	seen := map[rune]bool{}
	for _, r := range text {
		if seen[r] || !needsGlyph(r) {
			continue
		}
		seen[r] = true
		if !slices.ContainsFunc(fonts, func(f *fontFile) bool { return f.has(r) }) {
			missing = append(missing, r)
		}
	}
	return missing
}

// needsGlyph reports whether r is drawn with a visible glyph.
func needsGlyph(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && !unicode.Is(unicode.Variation_Selector, r)
}

// formatRunes lists runes as "ꪼ (U+AABC)" for messages, at most 8 of them.
func formatRunes(rs []rune) string {
	var parts []string
	for i, r := range rs {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%q (U+%04X)", r, r))
	}
	return strings.Join(parts, ", ")
}

// parseFaces reads every face of an OpenType font or collection (.ttf,
// .otf, .ttc) with golang.org/x/image/font/sfnt; faces it cannot read are
// skipped, and data with no readable face is an error.
func parseFaces(data []byte) ([]*sfnt.Font, error) {
	c, err := sfnt.ParseCollection(data)
	if err != nil {
		return nil, fmt.Errorf("read font: %w", err)
	}
	var faces []*sfnt.Font
	for i := range c.NumFonts() {
		if f, err := c.Font(i); err == nil {
			faces = append(faces, f)
		}
	}
	if len(faces) == 0 {
		return nil, errors.New("read font: no readable face")
	}
	return faces, nil
}

// hasGlyph reports whether face maps r to a glyph other than .notdef.
func hasGlyph(face *sfnt.Font, b *sfnt.Buffer, r rune) bool {
	g, err := face.GlyphIndex(b, r)
	return err == nil && g != 0
}
