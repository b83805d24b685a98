package sqlstore

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"none", "SELECT 1", "SELECT 1"},
		{"two", "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"in a string", "SELECT '?' || ? FROM t", "SELECT '?' || $1 FROM t"},
		{"doubled quote", "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{"identifier", `SELECT "a?" FROM t WHERE x = ?`, `SELECT "a?" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"block comment", "SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"already numbered", "SELECT metadata ? 'k' FROM river_job WHERE id = $1", "SELECT metadata ? 'k' FROM river_job WHERE id = $1"},
		{"ten", strings.Repeat("?,", 10), "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rebind(c.in); got != c.want {
				t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// FuzzRebind: rebinding keeps every byte but the placeholders, numbers
// them 1, 2, 3…, and never touches a query without ?.
func FuzzRebind(f *testing.F) {
	f.Add("SELECT a FROM t WHERE b = ? AND c = '?'")
	f.Add("SELECT /* ? */ ? -- ?\n")
	f.Add(`"?"?'`)
	f.Fuzz(func(t *testing.T, q string) {
		got := rebind(q)
		if !strings.Contains(q, "?") && got != q {
			t.Fatalf("rebind changed a query without ?: %q -> %q", q, got)
		}
		if strings.Count(got, "?") > strings.Count(q, "?") {
			t.Fatalf("rebind added a ?: %q -> %q", q, got)
		}
		n := strings.Count(q, "?") - strings.Count(got, "?")
		if n > 0 && !strings.Contains(got, "$1") {
			t.Fatalf("%d placeholders rebound but no $1: %q -> %q", n, q, got)
		}
	})
}

func TestParseLocation(t *testing.T) {
	cases := []struct {
		in      string
		dialect Dialect
		path    string
		err     string
	}{
		{"/var/lib/loa/loa.db", SQLite, "/var/lib/loa/loa.db", ""},
		{"sqlite:data/loa.db", SQLite, "data/loa.db", ""},
		{"postgres://loa:secret@127.0.0.1:5432/loa?sslmode=disable", Postgres, "", ""},
		{"postgresql://loa@db/loa", Postgres, "", ""},
		{"", "", "", "no database"},
		{"sqlite:", "", "", "file path"},
		{"mysql://loa@db/loa", "", "", "only postgres://"},
		{"postgres://loa:secret@127.0.0.1:notaport/loa", "", "", "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			loc, err := ParseLocation(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseLocation(%q) = %v, want an error saying %q", c.in, err, c.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil || loc.Dialect != c.dialect || loc.Path != c.path {
				t.Fatalf("ParseLocation(%q) = %+v, %v", c.in, loc, err)
			}
			if strings.Contains(loc.String(), "secret") {
				t.Fatalf("String shows the password: %s", loc)
			}
		})
	}
}
