package pipeline

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestUserNameRules: a new user's name is refused when a character in it
// would let it read like another name, with the character's code, name
// and place, and a name in the set to try; Vietnamese names, typed
// composed or with combining marks, are kept in NFC.
func TestUserNameRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		want string // the name kept, or a piece of the refusal
		bad  bool
	}{
		{"prod-b", "prod-b", false},
		{"dai.ptth_2", "dai.ptth_2", false},
		{"Lò-Văn-A", "Lò-Văn-A", false},
		{"Lo\u0300-Va\u0306n-A", "Lò-Văn-A", false},
		{"Đặng-Thị-Ươm", "Đặng-Thị-Ươm", false},
		{"device-x\u0304a-1", "device-x\u0304a-1", false}, // a mark with no composed letter, as a commune code may have
		{"@SUM(1)", "@SUM(1)", false},
		{"prod\u2010b", `"prod‐b" has U+2010 HYPHEN at character 5`, true},
		{"prod\u2010b", `Try "prod-b".`, true},
		{"prod\u2013b", "U+2013 EN DASH at character 5", true},
		{"ad\u200bmin", `U+200B ZERO WIDTH SPACE at character 3`, true},
		{"ad\u200bmin", `Try "admin".`, true},
		{"x\u202eevil", "U+202E RIGHT-TO-LEFT OVERRIDE at character 2", true},
		{"\u0430dmin", "U+0430 CYRILLIC SMALL LETTER A at character 1", true}, // Cyrillic а
		{"\uff41dmin", "U+FF41 FULLWIDTH LATIN SMALL LETTER A at character 1", true},
		{"\uff41dmin", `Try "admin".`, true},
		{"lo van a", `U+0020 SPACE at character 3`, true},
		{"lo van a", `Try "lo-van-a".`, true},
		{"x/y", "U+002F SOLIDUS", true},
		{"x%2Fy", "U+0025 PERCENT SIGN", true},
		{"cli:root", "U+003A COLON at character 4", true},
		{"tab\there", "U+0009 TAB", true},
		{"\u0301a", "U+0301 COMBINING ACUTE ACCENT at character 1", true},
		{"a\u034fb", "U+034F COMBINING GRAPHEME JOINER", true},
		{"ꪁꪫꪱ", "U+AA81 TAI VIET LETTER HIGH KO at character 1", true},
		{"", "1 to 64", true},
		{strings.Repeat("a", 65), "has 65 characters", true},
		{"C\xe1i", "not valid UTF-8", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := NewUser{Name: c.name, Role: RoleAdmin, Password: "mat-khau-dai-du"}
			err := n.Validate()
			if c.bad {
				if ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%q: %v, want a refusal saying %q", c.name, err, c.want)
				}
				if e, _ := err.(*Error); e == nil || e.Field != "name" {
					t.Fatalf("%q: %v, not on field name", c.name, err)
				}
				return
			}
			if err != nil || n.Name != c.want {
				t.Fatalf("%q: kept %q (%v), want %q", c.name, n.Name, err, c.want)
			}
		})
	}
}

// TestUserNameKey: names that read alike share a key, others do not.
func TestUserNameKey(t *testing.T) {
	t.Parallel()
	same := [][2]string{{"dich-thai", "Dịch-Thái"}, {"lo-van-a", "LO-VAN-A"}, {"dung", "Dũng"}, {"dung", "đung"}, {"Lò-Văn-A", "Lo\u0300-Va\u0306n-A"},
		{"prod-b", "prod\u2010b"}, {"admin", "ad\u200bmin"}, {"admin", "\uff41dmin"}, {"if", "ıf"}}
	for _, p := range same {
		if UserNameKey(p[0]) != UserNameKey(p[1]) {
			t.Errorf("%q and %q: keys %q, %q differ", p[0], p[1], UserNameKey(p[0]), UserNameKey(p[1]))
		}
	}
	for _, p := range [][2]string{{"prod-a", "prod-b"}, {"dich-thai", "dich_thai"}, {"an", "anh"}} {
		if UserNameKey(p[0]) == UserNameKey(p[1]) {
			t.Errorf("%q and %q share key %q", p[0], p[1], UserNameKey(p[0]))
		}
	}
}

// FuzzUserName: a name the rules accept is NFC, valid, within the length,
// and has no character that is invisible, outside ASCII and the Latin
// letters, or a compatibility form; its key folds case; a refusal is on
// field name, and what it proposes to try is accepted.
func FuzzUserName(f *testing.F) {
	for _, s := range []string{"prod-b", "prod\u2010b", "Lò-Văn-A", "ad\u200bmin", "\u0430dmin", "\uff41dmin", "lo van a", "@SUM(1)", "cli:root", "x\u0304a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NewUser{Name: s, Role: RoleAdmin, Password: "mat-khau-dai-du"}
		err := n.Validate()
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Field != "name" || e.Code != CodeInvalid {
				t.Fatalf("%q: %v, want a field error on name", s, err)
			}
			if i := strings.LastIndex(e.Message, ` Try "`); i >= 0 {
				try, err := strconv.Unquote(strings.TrimSuffix(e.Message[i+len(` Try `):], "."))
				if err != nil {
					t.Fatalf("%q: %q: the name to try is not quoted: %v", s, e.Message, err)
				}
				if checkUserName(try) != nil {
					t.Fatalf("%q: proposes %q, which is refused: %v", s, try, checkUserName(try))
				}
			}
			return
		}
		if !utf8.ValidString(n.Name) || !norm.NFC.IsNormalString(n.Name) || n.Name == "" || utf8.RuneCountInString(n.Name) > MaxUserNameLen {
			t.Fatalf("%q: kept %q", s, n.Name)
		}
		for _, r := range n.Name {
			if hiddenRune(r) || r == ' ' || r == ':' || r >= 0x2000 && r <= 0x206f || r >= 0xff00 && r <= 0xffef {
				t.Fatalf("%q: kept %q with %s", s, n.Name, RuneName(r))
			}
		}
		if UserNameKey(strings.ToUpper(n.Name)) != UserNameKey(n.Name) {
			t.Fatalf("%q: the key does not fold case: %q, %q", n.Name, UserNameKey(strings.ToUpper(n.Name)), UserNameKey(n.Name))
		}
	})
}
