package api_test

import (
	"net/http"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestConditionalPlaylistOfUnknownCluster: a conditional poll for a
// cluster the commune does not have is 404, as the plain GET is; a
// matching If-None-Match ("*", RFC 9110 13.1.2: true only when a current
// representation exists) must not make a playlist of any name answer 304
// with an ETag (and be held in the playlist cache).
func TestConditionalPlaylistOfUnknownCluster(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	path := "/api/communes/muong-lan/clusters/no-such-cluster/playlists/" + sb.today + ".m3u8"
	if resp, _ := sb.get(t, path, op); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("plain GET of an unknown cluster: %d, want 404", resp.StatusCode)
	}
	if resp, _ := sb.get(t, path, op, "If-None-Match", "*"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("If-None-Match: * on an unknown cluster: %d ETag=%q, want 404", resp.StatusCode, resp.Header.Get("ETag"))
	}
}
