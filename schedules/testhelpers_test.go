package schedules

import (
	"encoding/csv"
	"os"
	"testing"
)

// unit is one row of testdata/sonla-communes-2025.csv.
type unit struct {
	name, ascii, kind, formed string
}

// sonlaUnits reads the 75 commune-level units of Sơn La (from 1 July 2025).
func sonlaUnits(t testing.TB) []unit {
	t.Helper()
	f, err := os.Open("testdata/sonla-communes-2025.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read communes: %v", err)
	}
	var out []unit
	for _, r := range rows[1:] {
		out = append(out, unit{r[0], r[1], r[2], r[3]})
	}
	if len(out) != 75 {
		t.Fatalf("sonla-communes-2025.csv has %d units, want 75", len(out))
	}
	return out
}
