package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/schedules"
)

// TestLostDriveEndToEnd runs loa serve on MinIO erasure-coded over four
// drive folders and deletes one folder in the middle: a segment uploaded
// and processed before the loss and one uploaded after it both reach the
// commune's signed bundle, which the operator pulls and verifies.
func TestLostDriveEndToEnd(t *testing.T) {
	mediatest.Need(t)
	began := time.Now()
	srv := objectstest.StartMinIO(t, 4)
	s3 := srv.Config
	s3.Bucket = "loa"
	in := newInstance(t, s3)
	producer := in.bootstrap()
	admin := in.userToken("so-noi-vu", "admin", "")
	in.start()
	in.must(admin, "communes", "import", "../../schedules/testdata/sonla-demo.yaml")
	op := in.userToken("xa-muong-lan", "operator", "muong-lan") // a commune code, checked at creation

	dir := t.TempDir()
	speech := mediatest.SpeechMP3(t, dir)
	// A second recording with other bytes (the same file would be refused
	// as a duplicate).
	other := filepath.Join(dir, "speech-48k.mp3")
	mediatest.FFmpeg(t, "-i", speech, "-ac", "1", "-b:a", "48k", other)
	upload := func(clip, title string) string {
		t.Helper()
		out := in.must(producer, "upload", clip, "--title", title, "--kind", "radio", "--topic", "procedures",
			"--languages", "vi", "--air-from", time.Now().Add(-48*time.Hour).Format(time.RFC3339), "--quiet", "--json")
		var up api.UploadResponse
		if err := json.Unmarshal([]byte(out), &up); err != nil {
			t.Fatalf("upload answer: %v\n%s", err, out)
		}
		eventually(t, title+" processed", func() (bool, string) {
			state, step := segmentRow(t, in.data, up.ID)
			return state == "processed", state + "/" + step
		})
		return up.ID
	}
	titles := []string{"Trước khi mất ổ đĩa", "Sau khi mất ổ đĩa"}
	upload(speech, titles[0])
	// The drive goes at once, as a failed disk does: its folder is moved
	// away in one rename (deleting it file by file raced MinIO's own
	// writes into it: "directory not empty"); the test's temporary folder
	// removes it after MinIO has stopped.
	if err := os.Rename(srv.Drives[2], srv.Drives[2]+".lost"); err != nil {
		t.Fatal(err)
	}
	upload(other, titles[1])

	in.must(admin, "schedule", "build", "--commune", "muong-lan")
	loc, _ := time.LoadLocation(schedules.DefaultTimeZone)
	from := schedules.DateOf(time.Now().In(loc))
	bundle := filepath.Join(t.TempDir(), "muong-lan")
	if out := in.must(op, "playlist", "pull", "--commune", "muong-lan", "--days", "7", "--from", from.String(), "--dir", bundle); !strings.Contains(out, "verified") {
		t.Fatalf("pull: %s", out)
	}
	if out := in.must("", "playlist", "verify", bundle); !strings.HasPrefix(out, "OK: Mường Lạn") {
		t.Fatalf("verify: %s", out)
	}
	lists, _ := filepath.Glob(filepath.Join(bundle, "*.m3u8"))
	var all strings.Builder
	for _, l := range lists {
		b, _ := os.ReadFile(l)
		all.Write(b)
	}
	for _, title := range titles {
		if !strings.Contains(all.String(), title) {
			t.Errorf("no playlist of the week carries %q; explain:\n%s", title,
				in.must(op, "schedule", "explain", "--commune", "muong-lan", "--cluster", "trung-tam"))
		}
	}
	t.Logf("upload → process → build → bundle with a drive lost: %s", time.Since(began).Round(time.Millisecond))
}
