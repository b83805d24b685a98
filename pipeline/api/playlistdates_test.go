package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestPlaylistDateExact: a playlist's date is exactly YYYY-MM-DD; one
// with a space or anything else around it is refused with the shape
// expected, not served as the same day under another address.
func TestPlaylistDateExact(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	base := "/api/communes/muong-lan/clusters/trung-tam/playlists/"
	if resp, _ := sb.get(t, base+sb.today+".m3u8", op); resp.StatusCode != http.StatusOK {
		t.Fatalf("today's playlist: %d", resp.StatusCode)
	}
	for _, file := range []string{
		sb.today + "%20.m3u8",
		"%20" + sb.today + ".json",
		sb.today + "%0A.m3u8",
		sb.today + "%09.json",
		strings.Replace(sb.today, "-0", "-", 1) + ".m3u8",
	} {
		resp, body := sb.get(t, base+file, op)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "YYYY-MM-DD") {
			t.Errorf("%s: %d, want 422 saying YYYY-MM-DD\n%s", file, resp.StatusCode, body)
		}
	}
}
