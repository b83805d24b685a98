package schedules

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestRegistryRefusesUnsafeIDs: ids that differ only by Vietnamese
// diacritics or case would share a file name in the offline bundle, and
// ids with characters outside the documented set would make odd or unsafe
// names; the import refuses both, naming the line.
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
		{"clusters differing by diacritics", csvHeader + row("muong-lan", "bản-1", "05:30") + row("muong-lan", "bàn-1", "05:30"),
			3, []string{`"bàn-1"`, `"bản-1"`, `"ban-1"`}, ErrDuplicateCode},
		{"clusters differing by đ and d", csvHeader + row("muong-lan", "đội-3", "05:30") + row("muong-lan", "doi-3", "05:30"),
			3, []string{`"doi-3"`, `"đội-3"`}, ErrDuplicateCode},
		{"communes differing by diacritics", csvHeader + row("mường-lạn", "a", "05:30") + row("muong-lan", "a", "05:30"),
			3, []string{`"muong-lan"`, `"mường-lạn"`}, ErrDuplicateCode},
		{"communes differing by case", csvHeader + row("Muong-Lan", "a", "05:30") + row("muong-lan", "a", "05:30"),
			3, []string{`"muong-lan"`, `"Muong-Lan"`}, ErrDuplicateCode},
		{"a space", csvHeader + row("muong-lan", "bản 1", "05:30"), 2, []string{`"bản 1"`, `try "ban-1"`}, ErrBadID},
		{"a slash", csvHeader + row("muong-lan", "../etc", "05:30"), 2, []string{`"../etc"`}, ErrBadID},
		{"a dot", csvHeader + row("muong.lan", "a", "05:30"), 2, []string{`"muong.lan"`}, ErrBadID},
		{"Tai Viet letters", csvHeader + row("muong-lan", "ꪹꪚꪙ", "05:30"), 2, []string{"Latin letters"}, ErrBadID},
		{"too long", csvHeader + row(strings.Repeat("a", MaxIDLen+1), "a", "05:30"), 2, []string{"65 characters"}, ErrBadID},
		{"starts with a dash", csvHeader + row("muong-lan", "-a", "05:30"), 2, []string{`"-a"`}, ErrBadID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRegistry("communes.csv", strings.NewReader(c.csv))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, c.is) {
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

// TestRegistryIDsAcrossFormsAndFormats: an id typed with combining
// accents (NFD) is the same id as the precomposed one, in CSV and YAML,
// and Vietnamese ids that differ by more than diacritics are accepted.
func TestRegistryIDsAcrossFormsAndFormats(t *testing.T) {
	nfd := norm.NFD.String("bản-1")
	csv := csvHeader +
		"muong-lan,Mường Lạn,xa," + nfd + ",,blt vi,Mon-Sat,05:30,30m,10m\n" +
		"muong-lan,Mường Lạn,xa,bản-1,,blt vi,Mon-Sat,17:00,30m,10m\n" +
		"muong-lan,Mường Lạn,xa,bản-2,,blt vi,Mon-Sat,05:30,30m,10m\n"
	reg, err := ParseRegistry("communes.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	cls := reg.Commune("muong-lan").Clusters
	if len(cls) != 2 || cls[0].ID != "bản-1" || len(cls[0].Slots) != 2 || SafeName(cls[1].ID) != "ban-2" {
		t.Fatalf("clusters %+v", cls)
	}
	yaml := "communes:\n  - code: mường-lạn\n    name: Mường Lạn\n    slots: [{days: Mon-Sat, start: \"05:30\", length: 30m}]\n" +
		"    clusters:\n      - {id: " + nfd + ", languages: [blt]}\n      - {id: bản-1, languages: [vi]}\n"
	if _, err := ParseRegistry("communes.yaml", strings.NewReader(yaml)); !errors.Is(err, ErrDuplicateCode) || !strings.Contains(err.Error(), "communes.yaml:7:") {
		t.Fatalf("the same id in two Unicode forms in YAML: %v", err)
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
		if CheckID(c.Code) != nil || !safeNameRE.MatchString(n) {
			t.Fatalf("commune code %q (file name %q) accepted", c.Code, n)
		}
		if other, dup := communes[n]; dup {
			t.Fatalf("commune codes %q and %q share the file name %q", other, c.Code, n)
		}
		communes[n] = c.Code
		clusters := map[string]string{}
		for _, cl := range c.Clusters {
			n := SafeName(cl.ID)
			if CheckID(cl.ID) != nil || !safeNameRE.MatchString(n) {
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
		if CheckID(id) == nil && CheckID(NormalizeID(id)) != nil {
			t.Fatalf("%q passes but its normal form does not", id)
		}
	})
}
