package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
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

// fontFile is one font file in the fonts folder and its character maps
// (one per face in a collection).
type fontFile struct {
	path  string
	cmaps []cmap
}

// has reports whether some face of the file maps r to a glyph.
func (f *fontFile) has(r rune) bool {
	for _, c := range f.cmaps {
		if c.glyph(r) != 0 {
			return true
		}
	}
	return false
}

// hasAll reports whether one face of the file has every rune of rs.
func (f *fontFile) hasAll(rs []rune) bool {
	for _, c := range f.cmaps {
		if !slices.ContainsFunc(rs, func(r rune) bool { return c.glyph(r) == 0 }) {
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
		cmaps, err := parseCmaps(data)
		if err != nil || len(cmaps) == 0 {
			continue
		}
		fonts = append(fonts, &fontFile{path: path, cmaps: cmaps})
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

// cmap is one character-to-glyph subtable of an OpenType font (format 4
// or 12), kept as raw bytes and looked up on demand.
type cmap struct {
	format uint16
	data   []byte
}

// parseCmaps returns the best Unicode cmap of each face in an OpenType
// font or collection.
func parseCmaps(data []byte) ([]cmap, error) {
	if len(data) >= 12 && string(data[:4]) == "ttcf" {
		n := int(be32(data, 8))
		if n <= 0 || n > 256 || 12+4*n > len(data) {
			return nil, errors.New("bad font collection header")
		}
		var cs []cmap
		for i := range n {
			if c, err := parseFace(data, int(be32(data, 12+4*i))); err == nil {
				cs = append(cs, c)
			}
		}
		return cs, nil
	}
	c, err := parseFace(data, 0)
	if err != nil {
		return nil, err
	}
	return []cmap{c}, nil
}

// parseFace finds the best Unicode cmap subtable of the face whose table
// directory starts at off.
func parseFace(data []byte, off int) (cmap, error) {
	if off < 0 || off+12 > len(data) {
		return cmap{}, errors.New("not an OpenType font")
	}
	switch string(data[off : off+4]) {
	case "\x00\x01\x00\x00", "OTTO", "true":
	default:
		return cmap{}, errors.New("not an OpenType font")
	}
	numTables := int(be16(data, off+4))
	var table []byte
	for i := range numTables {
		rec := off + 12 + 16*i
		if rec+16 > len(data) {
			return cmap{}, errors.New("truncated table directory")
		}
		if string(data[rec:rec+4]) == "cmap" {
			start, length := int(be32(data, rec+8)), int(be32(data, rec+12))
			if start < 0 || length < 4 || start+length > len(data) || start+length < start {
				return cmap{}, errors.New("cmap table out of bounds")
			}
			table = data[start : start+length]
			break
		}
	}
	if table == nil {
		return cmap{}, errors.New("no cmap table")
	}
	// Preference: full-Unicode format 12, then BMP format 4.
	best, bestRank := cmap{}, 0
	n := int(be16(table, 2))
	for i := range n {
		rec := 4 + 8*i
		if rec+8 > len(table) {
			break
		}
		platform, encoding, sub := be16(table, rec), be16(table, rec+2), int(be32(table, rec+4))
		if sub < 0 || sub+4 > len(table) {
			continue
		}
		unicodeTable := platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10))
		if !unicodeTable {
			continue
		}
		format := be16(table, sub)
		var rank int
		var body []byte
		switch format {
		case 12:
			if sub+16 > len(table) {
				continue
			}
			groups := int(be32(table, sub+12))
			end := sub + 16 + 12*groups
			if groups < 0 || end > len(table) || end < sub {
				continue
			}
			rank, body = 2, table[sub:end]
		case 4:
			length := int(be16(table, sub+2))
			if length < 16 || sub+length > len(table) {
				length = len(table) - sub // some fonts understate it; the lookups are bounds-checked
			}
			rank, body = 1, table[sub:sub+length]
		default:
			continue
		}
		if rank > bestRank {
			best, bestRank = cmap{format: format, data: body}, rank
		}
	}
	if bestRank == 0 {
		return cmap{}, errors.New("no Unicode cmap")
	}
	return best, nil
}

// glyph returns r's glyph id, 0 when the font has none (.notdef, the box).
func (c cmap) glyph(r rune) uint32 {
	d := c.data
	switch c.format {
	case 12:
		groups := (len(d) - 16) / 12
		lo, hi := 0, groups
		for lo < hi {
			m := (lo + hi) / 2
			g := 16 + 12*m
			start, end := rune(be32(d, g)), rune(be32(d, g+4))
			switch {
			case r < start:
				hi = m
			case r > end:
				lo = m + 1
			default:
				return be32(d, g+8) + uint32(r-start)
			}
		}
	case 4:
		if r > 0xFFFF || len(d) < 14 {
			return 0
		}
		segs := int(be16(d, 6)) / 2
		ends, starts, deltas, ranges := 14, 16+2*segs, 16+4*segs, 16+6*segs
		if ranges+2*segs > len(d) {
			return 0
		}
		for i := range segs {
			end := rune(be16(d, ends+2*i))
			if r > end {
				continue
			}
			start := rune(be16(d, starts+2*i))
			if r < start {
				return 0
			}
			delta := be16(d, deltas+2*i)
			ro := int(be16(d, ranges+2*i))
			if ro == 0 {
				return uint32(uint16(r) + delta)
			}
			at := ranges + 2*i + ro + 2*int(r-start)
			if at+2 > len(d) {
				return 0
			}
			g := be16(d, at)
			if g == 0 {
				return 0
			}
			return uint32(g + delta)
		}
	}
	return 0
}

func be16(b []byte, i int) uint16 {
	if i < 0 || i+2 > len(b) {
		return 0
	}
	return binary.BigEndian.Uint16(b[i:])
}

func be32(b []byte, i int) uint32 {
	if i < 0 || i+4 > len(b) {
		return 0
	}
	return binary.BigEndian.Uint32(b[i:])
}
