package api_test

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// noiseWAV is a generated WAV file of size bytes: a header, then a 1 MiB
// block of random samples repeated. It is never held whole in memory.
type noiseWAV struct {
	header []byte
	block  []byte
	size   int64
	off    int64
}

func newNoiseWAV(size int64) *noiseWAV {
	const rate, channels, bits = 48000, 2, 16
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(size-8))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], channels)
	binary.LittleEndian.PutUint32(h[24:], rate)
	binary.LittleEndian.PutUint32(h[28:], rate*channels*bits/8)
	binary.LittleEndian.PutUint16(h[32:], channels*bits/8)
	binary.LittleEndian.PutUint16(h[34:], bits)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(size-44))
	block := make([]byte, 1<<20)
	rand.Read(block)
	for i := 1; i < len(block); i += 2 { // keep samples well below full scale
		block[i] = byte(int8(block[i]) / 4)
	}
	return &noiseWAV{header: h, block: block, size: size}
}

func (n *noiseWAV) Read(p []byte) (int, error) {
	if n.off >= n.size {
		return 0, io.EOF
	}
	if int64(len(p)) > n.size-n.off {
		p = p[:n.size-n.off]
	}
	var c int
	if n.off < int64(len(n.header)) {
		c = copy(p, n.header[n.off:])
	} else {
		c = copy(p, n.block[(n.off-44)%int64(len(n.block)):])
	}
	n.off += int64(c)
	return c, nil
}

// TestLargeUploadStaysSmallInMemory streams a 1 GiB generated WAV through
// the API into MinIO and checks, on this process's own heap figures, that
// memory stays bounded: the body is never held whole.
func TestLargeUploadStaysSmallInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB upload: skipped with -short")
	}
	mediatest.Need(t)
	b := setup(t, func(in *pipeline.Ingester) {
		in.MaxBytes = 2 << 30
		in.Inspector = media.Inspector{Limits: media.Limits{MaxDuration: 3 * time.Hour}}
	})
	const size = 1 << 30

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, kv := range [][2]string{{"title", "Một giờ rưỡi tiếng ồn"}, {"kind", "radio"}, {"topic", "budget"}} {
			mw.WriteField(kv[0], kv[1])
		}
		w, _ := mw.CreateFormFile("file", "noise.wav")
		if _, err := io.Copy(w, newNoiseWAV(size)); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(mw.Close())
	}()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/segments", pr)
	req.Header.Set("Authorization", "Bearer "+b.tokens[pipeline.RoleProducer])
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	elapsed := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), fmt.Sprintf(`"size_bytes": %d`, size)) {
		t.Fatalf("stored size is not %d: %s", size, body)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("1 GiB upload+inspection in %s (%.0f MiB/s end to end); heap in use: base %d MiB, peak %d MiB, growth %d MiB",
		elapsed.Round(time.Millisecond), float64(size)/(1<<20)/elapsed.Seconds(), base.HeapInuse>>20, peak.Load()>>20, growth>>20)
	const limit = 64 << 20
	if growth > limit {
		t.Fatalf("heap grew by %d MiB during a 1 GiB upload, want under %d MiB", growth>>20, limit>>20)
	}
}
