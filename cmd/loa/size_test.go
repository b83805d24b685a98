package main

import "testing"

// TestSize: sizes the CLI prints keep a unit that shows them; a subtitle
// of a few hundred bytes was "0.0 MiB".
func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{930, "930 B"},
		{1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"},
		{2 << 30, "2.0 GiB"},
		{-1, "0 B"},
	} {
		if got := size(tc.n); got != tc.want {
			t.Errorf("size(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
