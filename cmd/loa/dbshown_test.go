package main

import (
	"strings"
	"testing"
)

// TestDatabaseShownWithoutPassword: what `loa serve` logs and `loa migrate`
// prints as the database never carries its password.
func TestDatabaseShownWithoutPassword(t *testing.T) {
	for _, tc := range []struct {
		db, data, want string
	}{
		{"postgres://loa:s3cret-pw@db.example:5432/loa?sslmode=disable", "", "postgres://loa:xxxxx@db.example:5432/loa?sslmode=disable"},
		{"postgresql://loa:s3cret-pw@10.0.0.5/loa", "", "postgresql://loa:xxxxx@10.0.0.5/loa"},
		{"", "/srv/loa", "/srv/loa/loa.db"},
		{"/var/lib/loa/loa.db", "", "/var/lib/loa/loa.db"},
	} {
		c := &serverConfig{db: tc.db, data: tc.data}
		got := c.dbShown()
		if got != tc.want || strings.Contains(got, "s3cret") {
			t.Errorf("db %q: shown as %q, want %q", tc.db, got, tc.want)
		}
	}
}
