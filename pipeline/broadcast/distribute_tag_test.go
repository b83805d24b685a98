package broadcast_test

import (
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
)

// TestPlaylistTagNamesTheCommune: two communes whose schedules are alike
// share a head ETag, but their playlists name each its own commune and
// version, so one's tag must not answer 304 for the other.
func TestPlaylistTagNamesTheCommune(t *testing.T) {
	a := pipeline.CommuneHead{Code: "suoi-to", ETag: "07f4b0eb", VersionID: "v1"}
	b := pipeline.CommuneHead{Code: "muong-leo", ETag: "07f4b0eb", VersionID: "v2"}
	for _, tc := range []struct{ cluster, date, format string }{
		{"trung-tam", "2026-11-30", "m3u8"}, {"trung-tam", "2026-11-30", "json"}, {"bundle", "2026-11-30+2", "index"},
	} {
		if ta, tb := broadcast.PlaylistTag(a, tc.cluster, tc.date, tc.format), broadcast.PlaylistTag(b, tc.cluster, tc.date, tc.format); ta == tb {
			t.Errorf("%v: both communes get %s", tc, ta)
		}
	}
	if broadcast.PlaylistTag(a, "trung-tam", "2026-11-30", "m3u8") != broadcast.PlaylistTag(a, "trung-tam", "2026-11-30", "m3u8") {
		t.Error("the same commune, head and playlist get two tags")
	}
}
