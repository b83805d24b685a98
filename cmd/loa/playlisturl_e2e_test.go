package main

import (
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// TestDevicePlaylistURL: loa device add prints the URL a controller
// polls: the playlist listener's public URL when LOA_PLAYLIST_PUBLIC_URL
// is set, else http:// and the address the listener got.
func TestDevicePlaylistURL(t *testing.T) {
	for _, tc := range []struct {
		name, public string
		want         func(in *instance) string
	}{
		{"listen address", "", func(in *instance) string { return in.app.PlaylistURL + "/api/communes/muong-lan/" }},
		{"public URL", "https://playlists.loa.example.vn/", func(*instance) string {
			return "https://playlists.loa.example.vn/api/communes/muong-lan/clusters/CLUSTER/playlists/YYYY-MM-DD.m3u8"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s3 := objectstest.New(t)
			in := newInstance(t, s3)
			admin := in.userToken("so-noi-vu", "admin", "")
			t.Setenv("LOA_PLAYLIST_ADDR", "127.0.0.1:0")
			t.Setenv("LOA_PLAYLIST_PUBLIC_URL", tc.public)
			in.startInProcess()
			if !strings.HasPrefix(in.app.PlaylistURL, "http://127.0.0.1:") {
				t.Fatalf("the playlist listener's address is %q", in.app.PlaylistURL)
			}
			broadcasttest.LoadRegistry(t, in.app.DB, broadcasttest.DemoRegistry)
			_, errOut, code := in.run3(admin, "device", "add", "--commune", "muong-lan", "--label", "may-phat-xa")
			if code != 0 {
				t.Fatalf("device add: exit %d\n%s", code, errOut)
			}
			if want := tc.want(in); !strings.Contains(errOut, want) {
				t.Fatalf("device add does not print %q:\n%s", want, errOut)
			}
			if strings.Contains(errOut, in.url+"/api/") {
				t.Fatalf("device add prints the main address %s for the playlists:\n%s", in.url, errOut)
			}
		})
	}
}
