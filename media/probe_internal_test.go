package media

import (
	"strings"
	"testing"
)

// TestDisplayName: error messages reach the producer who sent the file, so
// the name they give keeps the file's base name and drops directories,
// the object store's address and a presigned query.
func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"/var/lib/loa/tmp/upload-123/clip.wav", `"clip.wav"`},
		{"clip.wav", `"clip.wav"`},
		{"http://127.0.0.1:19150/loa/segments/abc/original?X-Amz-Signature=deadbeef", `"original"`},
		{"https://s3.internal.example:9000/loa/segments/abc/original#frag", `"original"`},
	} {
		got := displayName(tc.input)
		if got != tc.want || strings.Contains(got, "127.0.0.1") || strings.Contains(got, "Signature") {
			t.Errorf("displayName(%q) = %s, want %s", tc.input, got, tc.want)
		}
	}
}
