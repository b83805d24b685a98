package media

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestToolsOpenOnlyTheInput: an upload (or a voice-over) that is really a
// playlist or a concat list pointing elsewhere — at an internal HTTP
// service or at another file on the server — makes ffprobe and ffmpeg
// open nothing but the input itself, whether the input is a local copy
// or the one presigned link, and is refused as not media.
func TestToolsOpenOnlyTheInput(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	ctx := testCtx(t)
	dir := t.TempDir()

	var mu sync.Mutex
	requests := map[string]int{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/upload.m3u8": // the presigned link of a crafted upload
			fmt.Fprintf(w, "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n%s/internal/secret.ts\n#EXT-X-ENDLIST\n", srv.URL)
		default:
			w.Write([]byte("internal data"))
		}
	}))
	t.Cleanup(srv.Close)
	outside := func() int {
		mu.Lock()
		defer mu.Unlock()
		return requests["/internal/secret.ts"]
	}

	// Another file on the server that a reference could reach.
	other := speechMP3(t, dir)
	crafted := map[string]string{
		"hls-to-http.m3u8":   fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n%s/internal/secret.ts\n#EXT-X-ENDLIST\n", srv.URL),
		"hls-to-file.mp3":    fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:%s\n#EXT-X-ENDLIST\n", other),
		"concat-to-http.mp4": fmt.Sprintf("ffconcat version 1.0\nfile '%s/internal/secret.ts'\n", srv.URL),
		"concat-to-file.wav": fmt.Sprintf("ffconcat version 1.0\nfile 'file:%s'\n", other),
	}
	inputs := []string{srv.URL + "/upload.m3u8"}
	for name, body := range crafted {
		inputs = append(inputs, writeFile(t, dir, name, []byte(body)))
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			if info, err := Probe(ctx, in); err == nil {
				t.Errorf("Probe opened a reference: %+v", info)
			}
			if scan, err := ScanAudio(ctx, in); err == nil && scan.MeanVolumeDB != NoSamplesDB {
				t.Errorf("ScanAudio read samples through a reference: %+v", scan)
			}
			if !isURL(in) {
				// The inputs of renders and renditions (ffmpeg-go streams).
				args := StreamArgs(fileInput(in).Output(fileOutput(filepath.Join(t.TempDir(), "out.wav"))).OverWriteOutput())
				if out, err := exec.CommandContext(ctx, ffmpegBin, append([]string{"-nostdin", "-hide_banner"}, args...)...).CombinedOutput(); err == nil {
					t.Errorf("ffmpeg rendered a reference:\n%s", out)
				}
			}
			if n := outside(); n != 0 {
				t.Fatalf("the tools made %d requests to the internal URL", n)
			}
		})
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal(err)
	}
}
