package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// benchWAV is a generated WAV of the given size (header, then a random
// block repeated): noise, so inspection accepts it.
type benchWAV struct {
	head, block []byte
	size, off   int64
}

func newBenchWAV(size int64) *benchWAV {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(min(size-8, 1<<32-1)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 2)
	binary.LittleEndian.PutUint32(h[24:], 48000)
	binary.LittleEndian.PutUint32(h[28:], 48000*4)
	binary.LittleEndian.PutUint16(h[32:], 4)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(min(size-44, 1<<32-1)))
	b := make([]byte, 1<<20)
	rand.Read(b)
	for i := 1; i < len(b); i += 2 {
		b[i] = byte(int8(b[i]) / 4)
	}
	return &benchWAV{head: h, block: b, size: size}
}

func (w *benchWAV) Read(p []byte) (int, error) {
	if w.off >= w.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), w.size-w.off)]
	var n int
	if w.off < 44 {
		n = copy(p, w.head[w.off:])
	} else {
		n = copy(p, w.block[(w.off-44)%int64(len(w.block)):])
	}
	w.off += int64(n)
	return n, nil
}

// eofTimer notes when its reader is drained: for an upload, the moment the
// server has taken the last byte.
type eofTimer struct {
	r   io.Reader
	end time.Time
}

func (e *eofTimer) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && e.end.IsZero() {
		e.end = time.Now()
	}
	return n, err
}

// peakRSS reads a process's high-water resident set size (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// BenchmarkUpload2GiB streams a 2 GiB upload through a real `loa serve`
// into MinIO, its length declared in the form as `loa upload` and the
// upload page declare it, and, as the peer in the same run, the same bytes
// with a plain minio-go PutObject (size known, the client's own part size). It reports
// both throughputs, their ratio (the bar: at least 0.8) and the server's
// peak RSS (the bar: under 64 MiB) beside its high-water mark before the
// upload began. Run by `make bench`.
func BenchmarkUpload2GiB(b *testing.B) {
	const size = 2 << 30
	s3 := objectstest.Config(b)
	b.Cleanup(func() { objectstest.Drop(b, s3) })
	in := newInstance(b, s3)
	token := in.bootstrap()
	in.start("LOA_MAX_UPLOAD_MB=4096", "LOA_MAX_DURATION=4h")

	// The server's high-water mark before the first byte: what the
	// process holds idle (mostly its own mapped code), apart from what
	// the upload adds.
	idle, err := peakRSS(in.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	var loaRate, peerRate, totalRate float64
	for i := 0; i < b.N; i++ {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		wav := &eofTimer{r: newBenchWAV(size)}
		go func() {
			mw.WriteField("title", fmt.Sprintf("Bench %d %d", i, time.Now().UnixNano()))
			mw.WriteField("kind", "radio")
			mw.WriteField("topic", "budget")
			mw.WriteField("size", strconv.Itoa(size)) // as loa upload and the upload page send it
			w, _ := mw.CreateFormFile("file", "bench.wav")
			if _, err := io.Copy(w, wav); err != nil {
				pw.CloseWithError(err)
				return
			}
			pw.CloseWithError(mw.Close())
		}()
		req, _ := http.NewRequest("POST", in.url+"/api/segments", pr)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done := time.Now()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		loaRate = size / wav.end.Sub(start).Seconds() / (1 << 20)
		totalRate = size / done.Sub(start).Seconds() / (1 << 20)

		c := rawClient(b, s3)
		start = time.Now()
		if _, err := c.PutObject(context.Background(), s3.Bucket, fmt.Sprintf("peer/%d", i), newBenchWAV(size), size,
			minio.PutObjectOptions{ContentType: "audio/wav"}); err != nil {
			b.Fatal(err)
		}
		peerRate = size / time.Since(start).Seconds() / (1 << 20)
	}
	rss, err := peakRSS(in.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(loaRate, "loa-MiB/s")
	b.ReportMetric(totalRate, "loa-with-inspection-MiB/s")
	b.ReportMetric(peerRate, "plain-s3-MiB/s")
	b.ReportMetric(loaRate/peerRate, "ratio")
	b.ReportMetric(float64(rss)/(1<<20), "server-peak-RSS-MiB")
	b.ReportMetric(float64(idle)/(1<<20), "server-idle-RSS-MiB")
}
