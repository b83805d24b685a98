package schedules

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestParseRegistryReportsEveryBadLine: a file with several malformed
// lines is refused with one problem per bad line, each with its line and
// what to write instead, validation problems of the good parts included;
// nothing is returned to import.
func TestParseRegistryReportsEveryBadLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, in string
		want           []string // each a problem's start, in order
		is             []error
	}{
		{"csv", "r.csv", csvHeader +
			"x,X,xa,a,,vi,Mon,05:00,30m,\n" + // 2 fine
			"x,X,xa,a,,vi,Mon,5h,30m,\n" + // 3 bad start
			"x,X\n" + // 4 too few fields
			",X,xa,a,,vi,Mon,06:00,30m,\n" + // 5 no commune code
			"y,Y,xa,b,Loa \"b\",vi,Mon,05:00,30m,\n" + // 6 bare quote
			"z,Z,xa,c,,vi fr,Mon,05:00,30m,\n" + // 7 unknown language (validation)
			"w,W,xa,d,,vi,Mon,05:00,30m,\n", // 8 fine
			[]string{"r.csv:3: time \"5h\"", "r.csv:4: 2 fields, header has 10: write one value per column", "r.csv:5: commune_code: missing value (every row names its commune",
				"r.csv:6: CSV: a \" inside a value that is not in quotes: put the whole value in quotes", "r.csv:7: commune \"z\" cluster \"c\": language \"fr\""},
			[]error{ErrMissing, ErrUnknownLanguage}},
		{"csv unclosed quote runs to the end", "r.csv", csvHeader +
			"x,X,xa,a,,vi,Mon,25:00,30m,\n" +
			"x,\"X,xa,a,,vi,Mon,06:00,30m,\n" +
			"x,X,xa,a,,vi,Mon,07:00,30m,\n",
			[]string{"r.csv:2: time \"25:00\"", "r.csv:3: CSV: a quoted value is not closed"}, nil},
		{"yaml", "r.yaml", "communes:\n" +
			"  - code: x\n" + // 2
			"    name: X\n" +
			"    colour: red\n" + // 4 unknown key
			"    slots:\n" +
			"      - {days: Mon, start: \"25:00\", length: 30m}\n" + // 6 bad time
			"      - {days: Tue, start: \"05:00\", length: 30m}\n" +
			"    clusters:\n" +
			"      - {id: a, languages: [vi], size: 3}\n" + // 9 unknown key
			"  - code: y\n" + // 10
			"    name: Y\n" +
			"    slots: {days: Mon}\n" + // 12 not a list
			"    clusters:\n" +
			"      - {id: b, languages: [vi, tay]}\n", // 14 unknown language (validation)
			[]string{"r.yaml:4: commune: unknown key \"colour\"", "r.yaml:6: time \"25:00\"", "r.yaml:9: cluster: unknown key \"size\"",
				"r.yaml:12: slots: want a list (one item per line", "r.yaml:14: commune \"y\" cluster \"b\": language \"tay\""},
			[]error{ErrUnknownLanguage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, err := ParseRegistry(tt.file, strings.NewReader(tt.in))
			if reg != nil || err == nil {
				t.Fatalf("got a registry (%v) and error %v, want only an error", reg != nil, err)
			}
			t.Logf("problems:\n%v", err)
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d = %q, want it to start %q", i+1, got[i], w)
				}
			}
			for _, is := range tt.is {
				if !errors.Is(err, is) {
					t.Errorf("%v is not %v", err, is)
				}
			}
		})
	}
}

// TestParseRegistryCapsProblems: a file that is wrong on every line lists
// the first MaxRegistryProblems and how many more there are.
func TestParseRegistryCapsProblems(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(csvHeader)
	const bad = MaxRegistryProblems + 23
	for i := range bad {
		fmt.Fprintf(&b, "c%d,C,xa,a,,vi,Mon,5h,30m,\n", i)
	}
	_, err := ParseRegistry("r.csv", strings.NewReader(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != MaxRegistryProblems+1 {
		t.Fatalf("%d lines, want %d", len(got), MaxRegistryProblems+1)
	}
	if !strings.HasPrefix(got[MaxRegistryProblems-1], fmt.Sprintf("r.csv:%d:", MaxRegistryProblems+1)) {
		t.Errorf("last listed problem %q, want line %d", got[MaxRegistryProblems-1], MaxRegistryProblems+1)
	}
	if want := "… and 23 more problems"; !strings.HasPrefix(got[MaxRegistryProblems], want) {
		t.Errorf("last line %q, want it to start %q", got[MaxRegistryProblems], want)
	}
}
