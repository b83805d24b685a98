package sqlstore

import (
	"slices"
	"strings"
	"testing"
)

// FuzzHistoryIDs: any segment_ids value either is refused or decodes to
// ids that encode back to it, and any list of ids (sorted, each once,
// none empty) comes back as it was.
func FuzzHistoryIDs(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", `a\\b`, `a\nb`, "\\", `a\x`, "0195-a\n0195-b\ns,9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ids []string
		if err := eachHistoryID(s, func(id string) bool {
			ids = append(ids, id)
			return true
		}); err == nil {
			if got := string(appendHistoryIDs(nil, ids)); got != s {
				t.Fatalf("%q decodes to %q, which encodes to %q", s, ids, got)
			}
		}
		// s's lines (and s) as ids.
		ids = slices.DeleteFunc(append(strings.Split(s, "\n"), s), func(id string) bool { return id == "" })
		slices.Sort(ids)
		ids = slices.Compact(ids)
		enc := string(appendHistoryIDs(nil, ids))
		var back []string
		if err := eachHistoryID(enc, func(id string) bool {
			back = append(back, id)
			return true
		}); err != nil || !slices.Equal(back, ids) {
			t.Fatalf("%q encodes to %q, which decodes to %q (%v)", ids, enc, back, err)
		}
	})
}

func TestHistoryIDsRefused(t *testing.T) {
	for _, s := range []string{`a\`, `a\x`, "b\n\\t"} {
		if err := eachHistoryID(s, func(string) bool { return true }); err == nil {
			t.Errorf("%q decoded without error", s)
		}
	}
}

// TestBlobArenaKeepsUntilReset: blobs kept in an arena stay as they were
// while later ones fill it (across its buffers, one larger than a
// buffer), and after a reset the arena fills its old buffers again
// instead of allocating new ones.
func TestBlobArenaKeepsUntilReset(t *testing.T) {
	var a blobArena
	for round := range 2 {
		var kept [][]byte
		var want []string
		for i := range 200 {
			n := 7000 + i*13
			if i == 50 {
				n = blobArenaChunk + 1
			}
			b := []byte(strings.Repeat(string(rune('a'+(i+round)%26)), n))
			kept = append(kept, a.keep(b))
			want = append(want, string(b))
			clear(b) // the caller's buffer is reused
		}
		for i := range kept {
			if string(kept[i]) != want[i] {
				t.Fatalf("round %d: blob %d changed", round, i)
			}
		}
		chunks := len(a.chunks)
		a.reset()
		if round == 1 && chunks != len(a.chunks) {
			t.Fatalf("the second round grew the arena to %d buffers", chunks)
		}
		if round == 0 && chunks < 3 {
			t.Fatalf("%d buffers for 1.6 MB of blobs", chunks)
		}
	}
}
