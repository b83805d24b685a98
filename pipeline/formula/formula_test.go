package formula

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Mường Lạn", "Mường Lạn"},
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-3.5", "-3.5"},
		{"+1", "+1"},
		{"a=b", "a=b"},
	}
	for _, tc := range tests {
		if got := Safe(tc.in); got != tc.want {
			t.Errorf("Safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := Unsafe(Safe(tc.in)); back != tc.in {
			t.Errorf("Unsafe(Safe(%q)) = %q", tc.in, back)
		}
	}
}

func TestWriterAndRow(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write([]string{"=1+1", "ok", "-7"})
	w.Flush()
	rec, err := csv.NewReader(&b).Read()
	if err != nil || rec[0] != "'=1+1" || rec[1] != "ok" || rec[2] != "-7" || w.Error() != nil {
		t.Fatalf("record %q, %v", rec, err)
	}
	row := Row([]any{"@x", 3, 2.5, "y"})
	if row[0] != "'@x" || row[1] != 3 || row[2] != 2.5 || row[3] != "y" {
		t.Fatalf("row %v", row)
	}
}

// FuzzSafe: a safe cell never starts with a trigger unless it is a
// number, and Unsafe gives the original back.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"=1", "-2", "'=x", "@", "\t", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Safe(s)
		if got != s && got != "'"+s {
			t.Fatalf("Safe(%q) = %q", s, got)
		}
		if Unsafe(got) != s && !(len(s) >= 2 && s[0] == '\'') {
			t.Fatalf("Unsafe(Safe(%q)) = %q", s, Unsafe(got))
		}
	})
}
