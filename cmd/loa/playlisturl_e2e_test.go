package main

import (
	"net"
	"os"
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

// TestDevicePlaylistURLOf: the URL printed for a listener on every
// address names a host a controller can reach, never 0.0.0.0 or [::].
func TestDevicePlaylistURLOf(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	for _, tc := range []struct {
		name, public, main string
		ln                 net.Addr
		want               string
	}{
		{"public URL wins", "https://playlists.loa.example.vn/", "https://loa.example.vn", &net.TCPAddr{IP: net.IPv4zero, Port: 8081}, "https://playlists.loa.example.vn"},
		{"loopback listener as it is", "", "https://loa.example.vn", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}, "http://127.0.0.1:8081"},
		{"0.0.0.0 takes the public host", "", "https://loa.example.vn", &net.TCPAddr{IP: net.IPv4zero, Port: 8081}, "http://loa.example.vn:8081"},
		{"[::] takes the public host", "", "https://loa.example.vn:8443", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8081}, "http://loa.example.vn:8081"},
		{"no better host: the machine's name", "", "http://0.0.0.0:8080", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8081}, "http://" + net.JoinHostPort(host, "8081")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := devicePlaylistURL(tc.public, tc.main, tc.ln); got != tc.want {
				t.Fatalf("devicePlaylistURL = %q, want %q", got, tc.want)
			}
		})
	}
}
