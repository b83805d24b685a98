package subtitle

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// srtOf builds an SRT file from cues given as "start-end" in milliseconds
// followed by their text lines, e.g. srtOf("1000-3000", "hello").
func srtOf(cues ...[]string) string {
	var b strings.Builder
	for i, c := range cues {
		var start, end int
		fmt.Sscanf(c[0], "%d-%d", &start, &end)
		fmt.Fprintf(&b, "%d\n%s --> %s\n", i+1, FormatTimestamp(ms(start)), FormatTimestamp(ms(end)))
		for _, l := range c[1:] {
			b.WriteString(l + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cue(timing string, lines ...string) []string { return append([]string{timing}, lines...) }

// brief is the part of a Finding a test pins down.
type brief struct {
	sev  Severity
	code string
	cue  int
	line int
}

func TestCheck(t *testing.T) {
	t.Parallel()
	const (
		vietLine = "Thủ tục hành chính được giải quyết tại bộ phận một cửa của xã"
		taiViet  = "ꪀꪱꪉ ꪁꪾ ꪼꪕ ꪼꪕ꫁"
	)
	// 42 characters of Vietnamese, more bytes and runes than that in NFD.
	viet42 := "Người dân nộp hồ sơ trực tuyến ở xã Mường"
	if n := CountChars(viet42); n != 41 {
		t.Fatalf("test text has %d characters, want 41", n)
	}
	viet42 += "!"
	tests := []struct {
		name string
		lang string
		srt  string
		want []brief
	}{
		{"good Vietnamese", "vi", srtOf(
			cue("1000-4000", "Thủ tục hành chính", "được giải quyết tại xã"),
			cue("4080-7000", "Người dân nộp hồ sơ trực tuyến"),
		), nil},
		{"good Thái in Tai Viet", "blt", srtOf(cue("1000-4000", taiViet, "PAPI 2025")), nil},
		{"good Thái in Latin", "blt", srtOf(cue("1000-4000", "Pang pọng khửn bản mướng")), nil},
		{"good Mông", "hnj", srtOf(cue("1000-4000", "Peb yuav tsum paub txog", "kev hloov kho")), nil},
		{"Mông 1961 letters are Latin", "hnj", srtOf(cue("1000-4000", "Hmôngz Njuôz ntơưr")), nil},
		{"42 characters fit, NFC", "vi", srtOf(cue("1000-4000", viet42)), nil},
		{"42 characters fit, NFD", "vi", srtOf(cue("1000-4000", norm.NFD.String(viet42))), nil},
		{"43 characters do not", "vi", srtOf(cue("1000-4000", viet42+"x")),
			[]brief{{Error, CodeLineTooLong, 1, 3}}},
		{"42 Tai Viet clusters fit", "blt", srtOf(cue("1000-4000", strings.Repeat("ꪁꪾ", 21))), nil},
		{"Vietnamese line in Thái", "blt", srtOf(cue("1000-5000", "ꪀꪱꪉ ꪁꪾ", vietLine)),
			[]brief{{Error, CodeLineTooLong, 1, 4}, {Error, CodeUntranslated, 1, 4}}},
		{"Vietnamese line in Mông is a warning", "hnj", srtOf(cue("1000-4000", "Xin chào các bạn")),
			[]brief{{Warning, CodeUntranslated, 1, 3}}},
		{"Tai Viet in Mông", "hnj", srtOf(cue("1000-4000", "Peb yuav", taiViet)),
			[]brief{{Error, CodeScript, 1, 4}}},
		{"Han in Mông", "hnj", srtOf(cue("1000-4000", "苗族 Hmoob")),
			[]brief{{Error, CodeScript, 1, 3}}},
		{"Tai Viet in Vietnamese", "vi", srtOf(cue("1000-4000", taiViet)),
			[]brief{{Error, CodeScript, 1, 3}}},
		{"Cyrillic in Thái", "blt", srtOf(cue("1000-4000", "Тай")),
			[]brief{{Error, CodeScript, 1, 3}}},
		{"too many lines", "vi", srtOf(cue("1000-5000", "một", "hai", "ba")),
			[]brief{{Error, CodeTooManyLines, 1, 5}}},
		{"empty cue", "vi", srtOf(cue("1000-3000")),
			[]brief{{Error, CodeEmptyCue, 1, 1}}},
		{"end before start", "vi", srtOf(cue("3000-3000", "x")),
			[]brief{{Error, CodeBadTiming, 1, 1}}},
		{"reading speed slightly high", "vi", srtOf(cue("1000-3000", strings.Repeat("a", 18), strings.Repeat("b", 18))),
			[]brief{{Warning, CodeCPS, 1, 1}}},
		{"reading speed far too high", "vi", srtOf(cue("1000-3000", strings.Repeat("a", 22), strings.Repeat("b", 22))),
			[]brief{{Error, CodeCPS, 1, 1}}},
		{"too short and too long", "vi", srtOf(cue("1000-1500", "ok"), cue("2000-9100", "ok")),
			[]brief{{Warning, CodeTooShort, 1, 1}, {Warning, CodeTooLong, 2, 5}}},
		{"overlap and small gap", "vi", srtOf(cue("1000-3000", "a"), cue("2900-5000", "b"), cue("5040-7000", "c"), cue("7080-9000", "d")),
			[]brief{{Error, CodeOverlap, 2, 5}, {Warning, CodeGap, 3, 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := Check(mustParse(t, tt.srt), ProfileFor(tt.lang))
			var got []brief
			for _, f := range fs {
				got = append(got, brief{f.Severity, f.Code, f.Cue, f.Line})
				if f.Message == "" || !strings.Contains(f.Message, fmt.Sprintf("cue %d", f.Cue)) {
					t.Errorf("finding %v: message does not name its cue", f)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n%v\nwant %v", fs, tt.want)
			}
			if HasErrors(fs) != slices.ContainsFunc(tt.want, func(b brief) bool { return b.sev == Error }) {
				t.Errorf("HasErrors = %v, findings %v", HasErrors(fs), fs)
			}
		})
	}
}

func TestCountChars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"Việt", 4},
		{norm.NFD.String("Việt"), 4},
		{"e\u0301", 1},
		{"ꪀꪱꪉ ꪁꪾ", 5}, // the vowel sign ꪾ joins ꪁ
		{"ꪼꪕ꫁", 2},    // the tone mark joins ꪕ
		{"Mường Lạn", 9},
		{"👍🏽 ok", 4}, // emoji with skin tone is one cluster
	}
	for _, tt := range tests {
		if got := CountChars(tt.in); got != tt.want {
			t.Errorf("CountChars(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	t.Parallel()
	fs := Check(mustParse(t, srtOf(cue("1000-4000", "Peb", "ꪀꪱꪉ"))), ProfileFor("hnj"))
	if len(fs) != 1 {
		t.Fatalf("findings = %v, want one", fs)
	}
	want := "line 4, cue 1: error script: line 2 of cue 1 has Tai Viet letters; Mông subtitles are written in Latin, so retype the line in Latin"
	if got := fs[0].String(); got != want {
		t.Errorf("finding =\n%s\nwant\n%s", got, want)
	}
}

func TestProfileFor(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"vi", "blt", "hnj", "fr"} {
		p := ProfileFor(lang)
		if p.MaxLines != 2 || p.MaxLineChars != 42 || p.MaxCPS != 17 || p.MinDuration != ms(833) ||
			p.MaxDuration != ms(7000) || p.MinGap != ms(80) || p.Lang != lang {
			t.Errorf("ProfileFor(%q) = %+v", lang, p)
		}
	}
	if s := ProfileFor("blt").Scripts; !slices.Equal(s, []Script{TaiViet, Latin}) {
		t.Errorf("Thái scripts = %v", s)
	}
	if s := ProfileFor("hnj").Scripts; !slices.Equal(s, []Script{Latin}) {
		t.Errorf("Mông scripts = %v", s)
	}
	if s := ProfileFor("fr").Scripts; s != nil {
		t.Errorf("unknown language scripts = %v, want nil (any)", s)
	}
}
