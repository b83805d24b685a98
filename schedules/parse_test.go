package schedules

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func loadDemo(t testing.TB) *Registry {
	t.Helper()
	f, err := os.Open("testdata/sonla-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg, err := ParseRegistry("sonla-demo.yaml", f)
	if err != nil {
		t.Fatalf("parse demo registry: %v", err)
	}
	return reg
}

func TestParseDemoRegistry(t *testing.T) {
	t.Parallel()
	reg := loadDemo(t)
	if got, want := len(reg.Communes), 7; got != want {
		t.Fatalf("communes = %d, want %d", got, want)
	}
	ml := reg.Commune("muong-lan")
	if ml == nil || ml.Name != "Mường Lạn" || ml.Kind != Xa {
		t.Fatalf("muong-lan = %+v", ml)
	}
	if got := ml.Clusters[0].Languages; len(got) != 2 || got[0] != Thai || got[1] != Vietnamese {
		t.Errorf("muong-lan trung-tam languages = %v, want [blt vi]", got)
	}
	want := Slot{Days: MondayToSaturday, Start: 5*3600 + 30*60, Length: 30 * time.Minute, Reserved: 10 * time.Minute}
	if ml.Slots[0] != want {
		t.Errorf("first slot = %v, want %v", ml.Slots[0], want)
	}
	be := &reg.Commune("ta-xua").Clusters[2]
	if s := reg.Commune("ta-xua").SlotsOf(be); len(s) != 1 || s[0].Days != EveryDay || s[0].Length != 45*time.Minute {
		t.Errorf("ta-xua ban-be slots = %v", s)
	}
	// Every demo name is one of the province's 75 units.
	units := sonlaUnits(t)
	names := map[string]bool{}
	for _, u := range units {
		names[u.name] = true
	}
	for _, c := range reg.Communes {
		if !names[c.Name] {
			t.Errorf("demo commune %q is not in sonla-communes-2025.csv", c.Name)
		}
	}
}

const csvHeader = "commune_code,commune_name,kind,cluster_id,cluster_name,languages,days,start,length,reserved\n"

func TestParseRegistryCSV(t *testing.T) {
	t.Parallel()
	in := csvHeader +
		"# Mường Lạn\n" +
		"muong-lan,Mường Lạn,xa,trung-tam,Loa trung tâm,blt vi,T2-T7,05:30,30m,10m\n" +
		"muong-lan,,,trung-tam,,,T2-T7,17:00,30m,10m\n" +
		"muong-lan,,,ban-mong,Bản Mông,hnj;vi,Mon-Sat,17:00,30m,\n"
	reg, err := ParseRegistry("r.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	c := reg.Commune("muong-lan")
	if c == nil || len(c.Clusters) != 2 {
		t.Fatalf("got %+v", reg.Communes)
	}
	if got := c.Clusters[0].Slots; len(got) != 2 || got[1].Start != 17*3600 || got[0].Days != MondayToSaturday {
		t.Errorf("trung-tam slots = %v", got)
	}
	if got := c.Clusters[1].Languages; len(got) != 2 || got[0] != Hmong {
		t.Errorf("ban-mong languages = %v", got)
	}
}

func TestParseRegistryErrors(t *testing.T) {
	t.Parallel()
	yamlOf := func(clusters, slots string) string {
		return "communes:\n" +
			"  - code: muong-lan\n" +
			"    name: Mường Lạn\n" +
			"    slots:\n" + slots +
			"    clusters:\n" + clusters
	}
	okSlots := "      - {days: Mon-Sat, start: \"05:30\", length: 30m}\n"
	okCluster := "      - {id: a, languages: [blt, vi]}\n"
	tests := []struct {
		name, file, in string
		is             error
		want           string // substring of the message, with the line
	}{
		{"unknown language", "r.yaml", yamlOf("      - {id: a, languages: [blt, tay]}\n", okSlots), ErrUnknownLanguage, "r.yaml:7:"},
		{"overlap", "r.yaml", yamlOf(okCluster, okSlots+"      - {days: Sat-Sun, start: \"05:45\", length: 30m}\n"), ErrSlotOverlap, "r.yaml:6:"},
		{"no overlap on other days", "r.yaml", yamlOf(okCluster, okSlots+"      - {days: Sun, start: \"05:45\", length: 30m}\n"), nil, ""},
		{"bad time", "r.yaml", yamlOf(okCluster, "      - {days: Mon-Sat, start: \"25:30\", length: 30m}\n"), nil, "r.yaml:5: time \"25:30\""},
		{"past midnight", "r.yaml", yamlOf(okCluster, "      - {days: Mon, start: \"23:50\", length: 30m}\n"), ErrBadSlot, "r.yaml:5:"},
		{"reserved too long", "r.yaml", yamlOf(okCluster, "      - {days: Mon, start: \"05:00\", length: 10m, reserved: 10m}\n"), ErrBadSlot, "r.yaml:5:"},
		{"bad days", "r.yaml", yamlOf(okCluster, "      - {days: Sat-Mon, start: \"05:00\", length: 10m}\n"), nil, "runs backwards"},
		{"unknown key", "r.yaml", yamlOf("      - {id: a, languages: [vi], colour: red}\n", okSlots), nil, "r.yaml:7: cluster: unknown key \"colour\""},
		{"duplicate cluster", "r.yaml", yamlOf(okCluster+okCluster, okSlots), ErrDuplicateCode, "r.yaml:8:"},
		{"duplicate commune", "r.yaml", "communes:\n" +
			"  - {code: x, name: X, slots: [{days: Mon, start: \"05:00\", length: 10m}], clusters: [{id: a, languages: [vi]}]}\n" +
			"  - {code: x, name: Y, slots: [{days: Mon, start: \"05:00\", length: 10m}], clusters: [{id: a, languages: [vi]}]}\n",
			ErrDuplicateCode, "r.yaml:3: commune \"x\": code \"x\" already used"},
		{"alias", "r.yaml", "communes:\n  - &c {code: x}\n  - *c\n", nil, "aliases"},
		{"yaml syntax", "r.yaml", "communes: [\n", nil, "r.yaml"},
		{"empty", "r.yaml", "", ErrMissing, "empty"},
		{"csv missing column", "r.csv", "commune_code,commune_name\nx,X\n", ErrMissing, "r.csv:1:"},
		{"csv bad start", "r.csv", csvHeader + "x,X,xa,a,,vi,Mon,5h,30m,\n", nil, "r.csv:2: time \"5h\""},
		{"csv name differs", "r.csv", csvHeader + "x,X,xa,a,,vi,Mon,05:00,30m,\nx,Y,xa,a,,vi,Tue,05:00,30m,\n", nil, "r.csv:3: commune_name \"Y\" differs"},
		{"csv overlap", "r.csv", csvHeader + "x,X,xa,a,,vi,Mon,05:00,30m,\nx,X,xa,a,,vi,Mon,05:10,30m,\n", ErrSlotOverlap, "r.csv:3:"},
		{"csv unknown language", "r.csv", csvHeader + "x,X,xa,a,,vi fr,Mon,05:00,30m,\n", ErrUnknownLanguage, "r.csv:2:"},
		{"csv wrong field count", "r.csv", csvHeader + "x,X\n", nil, "r.csv:2: 2 fields"},
		{"unknown format", "r.txt", "", nil, "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRegistry(tt.file, strings.NewReader(tt.in))
			if tt.want == "" && tt.is == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestParseWeekdaysAndTimes(t *testing.T) {
	t.Parallel()
	days := []struct {
		in   string
		want Weekdays
		str  string
	}{
		{"Mon-Sat", MondayToSaturday, "Mon-Sat"},
		{"T2-T7", MondayToSaturday, "Mon-Sat"},
		{"daily", EveryDay, "Mon-Sun"},
		{"Mon,Wed Fri", 1<<1 | 1<<3 | 1<<5, "Mon,Wed,Fri"},
		{"CN", 1, "Sun"},
		{"Sat-Sun", 1<<6 | 1, "Sat,Sun"},
	}
	for _, d := range days {
		got, err := ParseWeekdays(d.in)
		if err != nil || got != d.want || got.String() != d.str {
			t.Errorf("ParseWeekdays(%q) = %v (%s), %v; want %v (%s)", d.in, uint8(got), got, err, uint8(d.want), d.str)
		}
	}
	for _, bad := range []string{"", "Funday", "T8", "Sun-Mon"} {
		if _, err := ParseWeekdays(bad); err == nil {
			t.Errorf("ParseWeekdays(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"24:00", "5", "05:60", "-1:00", "05:30:61", "a:b", "005:30"} {
		if _, err := ParseTimeOfDay(bad); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", bad)
		}
	}
	if got, err := ParseTimeOfDay("5:30"); err != nil || got.String() != "05:30" {
		t.Errorf("ParseTimeOfDay(5:30) = %v, %v", got, err)
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2025-12-31")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2026-01-01" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(1).DaysSince(d.AddDays(-30)); got != 31 {
		t.Errorf("DaysSince = %d, want 31", got)
	}
	if d.Weekday() != time.Wednesday {
		t.Errorf("2025-12-31 is a Wednesday, got %s", d.Weekday())
	}
	loc, err := (&Registry{}).Location()
	if err != nil {
		t.Fatal(err)
	}
	if _, off := d.In(loc).Zone(); off != 7*3600 {
		t.Errorf("Asia/Ho_Chi_Minh offset = %d s, want 25200", off)
	}
}

// TestParseDateExact: a date is exactly YYYY-MM-DD; a space, a missing
// zero or anything around it is refused, so one day has one spelling.
func TestParseDateExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-11-30", true},
		{"2026-11-30 ", false},
		{" 2026-11-30", false},
		{"2026-11-30\n", false},
		{"2026-11-30\t", false},
		{"2026-1-30", false},
		{"2026-11-31", false},
		{"2026-02-29", false},
		{"2024-02-29", true},
		{"2000-02-29", true},
		{"1900-02-29", false},
		{"2026-00-10", false},
		{"2026-13-10", false},
		{"2026-12-00", false},
		{"2026-12-31", true},
		{"0000-01-01", true},
		{"+026-11-30", false},
		{"2026-1a-30", false},
		{"2026-11-3a", false},
		{"2026/11/30", false},
		{"20261130", false},
		{"", false},
	} {
		d, err := ParseDate(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseDate(%q) = %v, %v; want ok %v", tc.in, d, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Errorf("ParseDate(%q): error %q does not say the shape expected", tc.in, err)
		}
	}
}

// FuzzParseDate: whatever ParseDate accepts, it writes back the same.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-30", "2026-11-30 ", "0000-01-01", "9999-12-31", "2026-02-29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDate(in)
		if err == nil && d.String() != in {
			t.Fatalf("ParseDate(%q) accepted it as %s", in, d)
		}
		// ParseDate is time.Parse(time.DateOnly) without the time.Time.
		std, stdErr := time.Parse(time.DateOnly, in)
		if (err == nil) != (stdErr == nil) || err == nil && d != DateOf(std) {
			t.Fatalf("ParseDate(%q) = %v, %v; time.Parse says %v, %v", in, d, err, std, stdErr)
		}
	})
}

// FuzzDateBefore: Before orders any two dates, normalized or not, as
// their days do (time.Date's carrying of an impossible day included).
func FuzzDateBefore(f *testing.F) {
	f.Add(2025, 3, 3, 2025, 3, 4)
	f.Add(2025, 12, 31, 2026, 1, 1)
	f.Add(2025, 1, 32, 2025, 2, 1)
	f.Add(2025, 2, 29, 2025, 3, 1)
	f.Add(2024, 2, 29, 2024, 3, 1)
	f.Add(2025, 13, 1, 2026, 1, 1)
	f.Add(2025, 0, 0, 2024, 11, 30)
	f.Fuzz(func(t *testing.T, y1, m1, d1, y2, m2, d2 int) {
		for _, v := range []int{y1, y2} {
			if v < -100000 || v > 100000 {
				return // beyond the years time.Date counts in int64 seconds
			}
		}
		for _, v := range []int{m1, d1, m2, d2} {
			if v < -1000 || v > 1000 {
				return
			}
		}
		a, b := Date{Year: y1, Month: time.Month(m1), Day: d1}, Date{Year: y2, Month: time.Month(m2), Day: d2}
		if got, want := a.Before(b), a.dayNumber() < b.dayNumber(); got != want {
			t.Fatalf("%+v.Before(%+v) = %v, want %v (days %d and %d)", a, b, got, want, a.dayNumber(), b.dayNumber())
		}
	})
}

func FuzzParseRegistryYAML(f *testing.F) {
	demo, err := os.ReadFile("testdata/sonla-demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Add([]byte("communes:\n  - {code: x, name: X, slots: [{days: Mon, start: \"05:00\", length: 10m}], clusters: [{id: a, languages: [vi]}]}\n"))
	f.Add([]byte("communes: [\n"))
	f.Add([]byte("timezone: Europe/London\ncommunes:\n  - {code: Muong-Lan, name: X, slots: [{days: Mon, start: \"05:00\", length: 10m}], clusters: [{id: bản-1, languages: [vi]}]}\n"))
	f.Add([]byte("communes:\n  - code: x\n    colour: red\n    slots: {days: Mon}\n    clusters:\n      - {id: a, languages: [vi], size: 3, slots: [{days: Mon, start: \"25:00\", length: 30m}]}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		reg, err := ParseRegistryYAML(strings.NewReader(string(in)))
		checkParsed(t, reg, err)
	})
}

func FuzzParseRegistryCSV(f *testing.F) {
	f.Add([]byte(csvHeader + "x,X,xa,a,,blt vi,Mon-Sat,05:30,30m,10m\nx,X,xa,a,,blt vi,Mon-Sat,17:00,30m,10m\n"))
	f.Add([]byte(csvHeader + "x,X\n"))
	f.Add([]byte(csvHeader + "Muong-Lan,X,xa,bản-1,,vi,Mon,05:30,30m,\nmường-lan,X,xa,a,,vi,Mon,05:30,30m,\n"))
	f.Add([]byte("\"unterminated"))
	f.Add([]byte(csvHeader + "x,X,xa,a,,vi,Mon,5h,30m,\nx,X\n,X,xa,a,,vi,Mon,06:00,30m,\ny,Y,xa,b,Loa \"b\",vi,Mon,05:00,30m,\nz,\"Z,xa\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		reg, err := ParseRegistryCSV(strings.NewReader(string(in)))
		checkParsed(t, reg, err)
	})
}

// checkParsed holds a parser to its promise: an error and no registry, or
// a registry that validates.
func checkParsed(t *testing.T, reg *Registry, err error) {
	t.Helper()
	if err != nil {
		if reg != nil {
			t.Fatalf("registry returned with error %v", err)
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return
	}
	if verr := reg.Validate(); verr != nil {
		t.Fatalf("parsed registry does not validate: %v", verr)
	}
	checkSafeNames(t, reg)
	if reg.TimeZone != "" && reg.TimeZone != DefaultTimeZone {
		t.Fatalf("registry in %q accepted", reg.TimeZone)
	}
}
