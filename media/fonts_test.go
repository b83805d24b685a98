package media

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/font/sfnt"
)

// Debian font files the tests build fonts folders from.
const (
	notoTaiViet = "/usr/share/fonts/truetype/noto/NotoSansTaiViet-Regular.ttf"
	notoSans    = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
	dejaVuSans  = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	taiHeritage = "/usr/share/fonts/truetype/taiheritagepro/TaiHeritagePro-Regular.ttf"
)

// needFonts skips (or under `make test`, fails) when a Debian font file
// the test uses is not installed.
func needFonts(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s is missing but LOA_TEST_REQUIRE_SERVICES=1 (make deps installs fonts-noto-core and fonts-dejavu-core)", p)
			}
			t.Skipf("%s is missing (make deps installs fonts-noto-core and fonts-dejavu-core)", p)
		}
	}
}

// fontsFolder makes a fonts folder holding copies of the given font files.
func fontsFolder(t testing.TB, files ...string) string {
	t.Helper()
	needFonts(t, files...)
	dir := filepath.Join(t.TempDir(), "fonts")
	err := PrepareFonts(dir, files...)
	if err != nil && !errors.Is(err, ErrNoTaiVietFont) && !errors.Is(err, ErrNoVietnameseFont) {
		t.Fatal(err)
	}
	return dir
}

func TestCheckFonts(t *testing.T) {
	t.Parallel()
	needFonts(t, notoTaiViet, notoSans, dejaVuSans)
	t.Run("debian", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "fonts")
		if err := PrepareFonts(dir); err != nil {
			t.Fatalf("PrepareFonts with the Debian fonts: %v", err)
		}
		if err := CheckFonts(dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no Tai Viet", func(t *testing.T) {
		t.Parallel()
		err := CheckFonts(fontsFolder(t, dejaVuSans))
		if !errors.Is(err, ErrNoTaiVietFont) || errors.Is(err, ErrNoVietnameseFont) {
			t.Fatalf("CheckFonts(DejaVu only) = %v, want only ErrNoTaiVietFont", err)
		}
		t.Log(err)
	})
	t.Run("no Vietnamese", func(t *testing.T) {
		t.Parallel()
		err := CheckFonts(fontsFolder(t, notoTaiViet))
		if !errors.Is(err, ErrNoVietnameseFont) || errors.Is(err, ErrNoTaiVietFont) {
			t.Fatalf("CheckFonts(Tai Viet only) = %v, want only ErrNoVietnameseFont", err)
		}
	})
	t.Run("empty and junk", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := CheckFonts(dir); err == nil {
			t.Fatal("CheckFonts(empty folder) = nil")
		}
		if err := os.WriteFile(filepath.Join(dir, "fake.ttf"), []byte("not a font at all"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckFonts(dir); err == nil {
			t.Fatal("CheckFonts(folder with a fake .ttf) = nil")
		}
		if err := CheckFonts(filepath.Join(dir, "missing")); err == nil {
			t.Fatal("CheckFonts(missing folder) = nil")
		}
	})
}

func TestMissingRunes(t *testing.T) {
	t.Parallel()
	needFonts(t, notoSans, notoTaiViet)
	fonts, err := loadFonts(fontsFolder(t, notoSans))
	if err != nil {
		t.Fatal(err)
	}
	got := missingRunes(fonts, "Cải cách ꪼꪕ ꪼ \u2060\u200b")
	if string(got) != "ꪼꪕ" {
		t.Errorf("missingRunes = %q, want the two Tai Viet letters once each", string(got))
	}
	fonts, err = loadFonts(fontsFolder(t, notoSans, notoTaiViet))
	if err != nil {
		t.Fatal(err)
	}
	if got := missingRunes(fonts, "Cải cách ꪼꪕ ꪁꪾ ꪚꪴ ꪻꪒ"); len(got) != 0 {
		t.Errorf("missingRunes with Noto Sans Tai Viet = %q, want none", string(got))
	}
}

// FuzzParseFaces checks the font reader never panics on damaged fonts.
func FuzzParseFaces(f *testing.F) {
	for _, p := range []string{notoTaiViet, dejaVuSans} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Add([]byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x10\xff\xff\xff\xf0"))
	f.Add([]byte("OTTO\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		faces, err := parseFaces(data)
		if err != nil {
			return
		}
		var b sfnt.Buffer
		for _, face := range faces {
			for _, r := range []rune{'A', 0xAA80, 0x1F600, 0x10FFFF} {
				hasGlyph(face, &b, r)
			}
		}
	})
}

func TestParseFacesTruncated(t *testing.T) {
	t.Parallel()
	needFonts(t, notoTaiViet)
	b, err := os.ReadFile(notoTaiViet)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	for n := 0; n < len(b); n += max(1, len(b)/97) {
		if faces, err := parseFaces(b[:n]); err == nil {
			for _, face := range faces {
				hasGlyph(face, &buf, 0xAA80)
			}
		}
	}
	faces, err := parseFaces(b)
	if err != nil || len(faces) != 1 || !hasGlyph(faces[0], &buf, 0xAA80) || hasGlyph(faces[0], &buf, 0x4E00) {
		t.Fatalf("parseFaces(Noto Sans Tai Viet) = %v, %v: want one face with U+AA80 and without U+4E00", faces, err)
	}
}

// TestTaiVietCoverage: of Debian's fonts, the two Tai Viet fonts have the
// whole Tai Viet block and the two Latin ones none of it, while the Latin
// ones have every Vietnamese letter.
func TestTaiVietCoverage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path                   string
		allTaiViet, anyTaiViet bool
		vietnamese             bool
	}{
		{notoTaiViet, true, true, false},
		{taiHeritage, true, true, false},
		{notoSans, false, false, true},
		{dejaVuSans, false, false, true},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			t.Parallel()
			needFonts(t, tt.path)
			data, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			faces, err := parseFaces(data)
			if err != nil {
				t.Fatal(err)
			}
			f := &fontFile{path: tt.path, faces: faces}
			some := slices.ContainsFunc(taiVietLetters, f.has)
			if got := f.hasAll(taiVietLetters); got != tt.allTaiViet || some != tt.anyTaiViet {
				t.Errorf("all Tai Viet = %v, any = %v; want %v, %v", got, some, tt.allTaiViet, tt.anyTaiViet)
			}
			if got := f.hasAll(vietnameseLetters); got != tt.vietnamese {
				t.Errorf("all Vietnamese letters = %v, want %v", got, tt.vietnamese)
			}
		})
	}
}
