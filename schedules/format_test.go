package schedules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// TestIDsAsFormatted: the hand-appended entry ids and dates are the
// strings fmt made before (stored ids and ETags must not change).
func TestIDsAsFormatted(t *testing.T) {
	for _, d := range []Date{{2025, time.March, 3}, {1, time.January, 1}, {9999, time.December, 31}, {12345, 0, 0}, {-1, 1, 1}, {2025, 1, 100}} {
		if got, want := d.String(), fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day); got != want {
			t.Errorf("Date%v.String() = %q, want %q", d, got, want)
		}
		for _, slot := range []TimeOfDay{0, 5*3600 + 30*60, 17 * 3600, 23*3600 + 59*60 + 59, 30 * 3600} {
			for _, pos := range []int{0, 7, 12, 130} {
				want := fmt.Sprintf("%sT%s#%d", d, fmt.Sprintf("%02d:%02d", int(slot)/3600, int(slot)/60%60), pos)
				if got := EntryID(d, slot, pos); got != want {
					t.Errorf("EntryID(%v, %d, %d) = %q, want %q", d, slot, pos, got, want)
				}
			}
		}
	}
}

// TestContentTagAsFormatted: ContentTag is the hash it was when each part
// went through fmt ("%d:%s;").
func TestContentTagAsFormatted(t *testing.T) {
	for _, parts := range [][]string{nil, {""}, {"a", "bc"}, {"ban-mong|2025-03-04|61200|1|segment|1741125600|60000|s1|hnj|Bản tin|ab"}} {
		h := sha256.New()
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
		if got, want := ContentTag(parts...), hex.EncodeToString(h.Sum(nil)[:16]); got != want {
			t.Errorf("ContentTag(%q) = %s, want %s", parts, got, want)
		}
	}
}
