package schedules

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// TestRegistryRefusesUnsafeIDs: commune codes and cluster ids have one
// form, lower-case ASCII letters, digits, '-' and '_': an id with
// capitals or diacritics (which would share a file name with the plain
// one) or with characters outside the set is refused, naming the line
// and, when there is one, the id it likely meant.
func TestRegistryRefusesUnsafeIDs(t *testing.T) {
	row := func(code, cluster, start string) string {
		return code + ",Mường Lạn,xa," + cluster + ",,blt vi,Mon-Sat," + start + ",30m,10m\n"
	}
	cases := []struct {
		name, csv string
		line      int
		want      []string
		is        error
	}{
		{"a cluster with diacritics", csvHeader + row("muong-lan", "a", "05:30") + row("muong-lan", "bàn-1", "17:00"),
			3, []string{`"bàn-1"`, `write "ban-1"`}, ErrBadID},
		{"a cluster with đ", csvHeader + row("muong-lan", "đội-3", "05:30"), 2, []string{`"đội-3"`, `write "doi-3"`}, ErrBadID},
		{"a commune with diacritics", csvHeader + row("muong-lan", "a", "05:30") + row("mường-lan", "a", "05:30"),
			3, []string{`"mường-lan"`, `write "muong-lan"`}, ErrBadID},
		{"a commune in capitals", csvHeader + row("muong-lan", "a", "05:30") + row("Muong-Lan", "a", "05:30"),
			3, []string{`"Muong-Lan"`, `'M' at character 1`, `write "muong-lan"`}, ErrBadID},
		{"a cluster in capitals", csvHeader + row("muong-lan", "Trung-Tam", "05:30"), 2, []string{`write "trung-tam"`}, ErrBadID},
		{"the same code twice", csvHeader + row("muong-lan", "a", "05:30") + "muong-lan,Mường Lạn Khác,xa,a,,vi,Mon-Sat,17:00,30m,10m\n",
			3, []string{"Mường Lạn Khác"}, nil},
		{"a space", csvHeader + row("muong-lan", "bản 1", "05:30"), 2, []string{`"bản 1"`, `write "ban-1"`}, ErrBadID},
		{"a slash", csvHeader + row("muong-lan", "../etc", "05:30"), 2, []string{`"../etc"`}, ErrBadID},
		{"a dot", csvHeader + row("muong.lan", "a", "05:30"), 2, []string{`"muong.lan"`, `write "muong-lan"`}, ErrBadID},
		{"Tai Viet letters", csvHeader + row("muong-lan", "ꪹꪚꪙ", "05:30"), 2, []string{"lower-case ASCII letters"}, ErrBadID},
		{"too long", csvHeader + row(strings.Repeat("a", MaxIDLen+1), "a", "05:30"), 2, []string{"65 characters"}, ErrBadID},
		{"starts with a dash", csvHeader + row("muong-lan", "-a", "05:30"), 2, []string{`"-a"`, `write "a"`}, ErrBadID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRegistry("communes.csv", strings.NewReader(c.csv))
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error is not %v: %v", c.is, err)
			}
			if want := "communes.csv:" + strconv.Itoa(c.line) + ":"; !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %s: %v", w, err)
				}
			}
		})
	}
}

// TestRegistryYAMLRefusesVariantIDs: YAML holds ids to the same form,
// whatever Unicode form the diacritics are typed in, with the line.
func TestRegistryYAMLRefusesVariantIDs(t *testing.T) {
	nfd := norm.NFD.String("bản-1")
	yaml := "communes:\n  - code: muong-lan\n    name: Mường Lạn\n    slots: [{days: Mon-Sat, start: \"05:30\", length: 30m}]\n" +
		"    clusters:\n      - {id: ban-2, languages: [blt]}\n      - {id: " + nfd + ", languages: [vi]}\n"
	_, err := ParseRegistry("communes.yaml", strings.NewReader(yaml))
	if !errors.Is(err, ErrBadID) || !strings.Contains(err.Error(), "communes.yaml:7:") || !strings.Contains(err.Error(), `write "ban-1"`) {
		t.Fatalf("a cluster id typed with combining accents: %v", err)
	}
}

// TestRegistryRefusesOtherTimeZones: slot times are read in the one zone
// the server builds and shows every schedule in; a file in another zone
// would air hours off while every output says Asia/Ho_Chi_Minh, so it is
// refused, naming both zones and the line.
func TestRegistryRefusesOtherTimeZones(t *testing.T) {
	body := "communes:\n  - code: xa-tz\n    name: Xã Múi Giờ\n    slots: [{days: Mon-Sat, start: \"05:30\", length: 30m}]\n" +
		"    clusters:\n      - {id: trung-tam, languages: [vi]}\n"
	cases := []struct {
		zone string
		want []string // nil: accepted
		is   error
	}{
		{"", nil, nil},
		{"timezone: Asia/Ho_Chi_Minh\n", nil, nil},
		{"timezone: Europe/London\n", []string{"communes.yaml:1:", `"Europe/London"`, "Asia/Ho_Chi_Minh"}, ErrTimeZone},
		{"timezone: UTC\n", []string{"communes.yaml:1:", `"UTC"`, "Asia/Ho_Chi_Minh"}, ErrTimeZone},
		{"timezone: Asia/Bangkok\n", []string{`"Asia/Bangkok"`}, ErrTimeZone}, // same offset, another zone
		{"timezone: Mars/Olympus\n", []string{`"Mars/Olympus"`}, nil},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			reg, err := ParseRegistry("communes.yaml", strings.NewReader(c.zone+body))
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if loc, err := reg.Location(); err != nil || loc.String() != DefaultTimeZone {
					t.Fatalf("location %v, %v", loc, err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error is not %v: %v", c.is, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %s: %v", w, err)
				}
			}
		})
	}
	reg := &Registry{TimeZone: "Europe/London", Communes: []Commune{{Code: "xa-tz", Name: "Xã", Slots: []Slot{{Days: EveryDay, Start: 5 * 3600, Length: 30 * time.Minute}},
		Clusters: []Cluster{{ID: "a", Languages: []Language{Vietnamese}}}}}}
	if err := reg.Validate(); !errors.Is(err, ErrTimeZone) {
		t.Fatalf("Validate: %v", err)
	}
}

// TestBuildableLeavesOutCollidingCommunes: a registry stored by an older
// version may hold a code with capitals or diacritics; a build takes it by
// its file name, and of two codes that share one it leaves out the one
// not in canonical form (else the later one), each with the reason, and
// keeps every other commune.
func TestBuildableLeavesOutCollidingCommunes(t *testing.T) {
	commune := func(code string, clusters ...string) Commune {
		c := Commune{Code: code, Name: "Xã " + code, Slots: []Slot{{Days: EveryDay, Start: 5 * 3600, Length: 30 * time.Minute}}}
		for _, id := range clusters {
			c.Clusters = append(c.Clusters, Cluster{ID: id, Languages: []Language{Vietnamese}})
		}
		return c
	}
	cases := []struct {
		name  string
		codes []Commune
		kept  []string
		left  []string // what each left-out commune's error says
	}{
		{"all canonical", []Commune{commune("muong-lan", "a"), commune("to-hieu", "a")}, []string{"muong-lan", "to-hieu"}, nil},
		{"old diacritics alone", []Commune{commune("mường-lạn", "bản-1"), commune("to-hieu", "a")}, []string{"mường-lạn", "to-hieu"}, nil},
		{"variant after the canonical", []Commune{commune("muong-lan", "a"), commune("Muong-Lan", "a"), commune("mường-lan", "a"), commune("to-hieu", "a")},
			[]string{"muong-lan", "to-hieu"}, []string{`code "Muong-Lan" and commune #1's "muong-lan" share the file name`, `"mường-lan" and commune #1's "muong-lan"`}},
		{"variant before the canonical", []Commune{commune("Muong-Lan", "a"), commune("to-hieu", "a"), commune("muong-lan", "a")},
			[]string{"to-hieu", "muong-lan"}, []string{`code "Muong-Lan" and commune #3's "muong-lan"`}},
		{"two variants", []Commune{commune("Muong-Lan", "a"), commune("MUONG-LAN", "a")}, []string{"Muong-Lan"}, []string{`"MUONG-LAN" and commune #1's "Muong-Lan"`}},
		{"clusters sharing a file name", []Commune{commune("muong-lan", "ban-1", "Ban-1"), commune("to-hieu", "a")},
			[]string{"to-hieu"}, []string{`cluster id "Ban-1" and cluster #1's "ban-1"`}},
		{"a commune without clusters", []Commune{commune("muong-lan"), commune("to-hieu", "a")}, []string{"to-hieu"}, []string{"no clusters"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := &Registry{TimeZone: DefaultTimeZone, Communes: c.codes}
			kept, left, err := reg.Buildable()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range kept.Communes {
				got = append(got, k.Code)
			}
			if !slices.Equal(got, c.kept) {
				t.Errorf("kept %q, want %q", got, c.kept)
			}
			if len(left) != len(c.left) {
				t.Fatalf("left out %v, want %d", left, len(c.left))
			}
			for i, w := range c.left {
				if !strings.Contains(left[i].Err.Error(), w) || !errors.Is(left[i].Err, ErrDuplicateCode) && w != "no clusters" {
					t.Errorf("left out %d: %v, want %s", i, left[i], w)
				}
			}
			if _, err := Build(nil, kept, nil, DefaultOptions(Date{2026, 12, 1})); err != nil {
				t.Fatalf("the kept communes do not build: %v", err)
			}
		})
	}
	if _, _, err := (&Registry{TimeZone: "Mars/Olympus", Communes: []Commune{commune("a", "a")}}).Buildable(); err == nil {
		t.Fatal("an unknown zone is not the registry's problem")
	}
}

var safeNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// checkSafeNames holds an accepted registry to the naming promise: every
// commune code and cluster id is in the set, and their file names are safe
// and unique (commune codes across the registry, cluster ids within their
// commune).
func checkSafeNames(t *testing.T, reg *Registry) {
	t.Helper()
	communes := map[string]string{}
	for _, c := range reg.Communes {
		n := SafeName(c.Code)
		if CheckID(c.Code) != nil || !safeNameRE.MatchString(n) || n != c.Code {
			t.Fatalf("commune code %q (file name %q) accepted", c.Code, n)
		}
		if other, dup := communes[n]; dup {
			t.Fatalf("commune codes %q and %q share the file name %q", other, c.Code, n)
		}
		communes[n] = c.Code
		clusters := map[string]string{}
		for _, cl := range c.Clusters {
			n := SafeName(cl.ID)
			if CheckID(cl.ID) != nil || !safeNameRE.MatchString(n) || n != cl.ID {
				t.Fatalf("cluster id %q (file name %q) accepted", cl.ID, n)
			}
			if other, dup := clusters[n]; dup {
				t.Fatalf("cluster ids %q and %q share the file name %q", other, cl.ID, n)
			}
			clusters[n] = cl.ID
		}
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"bản-1", "Đội 3", "../..", ".", "", "ꪹꪚꪙ", "a\x00b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		n := SafeName(id)
		if !safeNameRE.MatchString(n) || n == "." || n == ".." {
			t.Fatalf("SafeName(%q) = %q", id, n)
		}
		if SafeName(n) != n {
			t.Fatalf("SafeName is not stable: %q -> %q -> %q", id, n, SafeName(n))
		}
		if CheckID(id) == nil && (CheckID(NormalizeID(id)) != nil || SafeName(id) != id) {
			t.Fatalf("%q passes but its normal form does not, or it is not its own file name", id)
		}
		if err := CheckID(id); err != nil {
			if s := suggestID(id); s != "" && CheckID(s) != nil && len(s) <= MaxIDLen {
				t.Fatalf("the id suggested for %q, %q, is refused: %v", id, s, CheckID(s))
			}
		}
	})
}
