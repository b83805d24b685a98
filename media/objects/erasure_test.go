package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestErasureCodedSurvivesLostDrive runs Loa's object store on MinIO
// erasure-coded over four drive folders, deletes one folder while the
// server runs, and checks that every object is still read back intact,
// listed and served by presigned link, and that new uploads (single part
// and multipart) still work.
func TestErasureCodedSurvivesLostDrive(t *testing.T) {
	t.Parallel()
	began := time.Now()
	srv := objectstest.StartMinIO(t, 4)
	started := time.Since(began)
	ctx := context.Background()
	cfg := srv.Config
	cfg.Bucket = "loa-erasure"
	s, err := objects.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{'l', 'o', 'a'})
	payload := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b)
		return b
	}
	type object struct {
		key  string
		size int64 // as given to Put: -1 for unknown
		data []byte
	}
	put := func(o object) {
		t.Helper()
		n, err := s.Put(ctx, o.key, bytes.NewReader(o.data), o.size, "audio/mpeg")
		if err != nil || n != int64(len(o.data)) {
			t.Fatalf("put %s (%d bytes): %d %v", o.key, len(o.data), n, err)
		}
	}
	check := func(o object) {
		t.Helper()
		r, err := s.Get(ctx, o.key)
		if err != nil {
			t.Fatalf("get %s: %v", o.key, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || sha256.Sum256(got) != sha256.Sum256(o.data) {
			t.Fatalf("get %s: %d bytes (%v), want the %d stored", o.key, len(got), err, len(o.data))
		}
	}
	before := []object{
		{"segments/a/original", 1 << 10, payload(1 << 10)},
		{"segments/b/original", -1, payload(300 << 10)},
		{"segments/c/original", -1, payload(objects.PartSize + 3<<20)},  // two parts
		{"segments/d/renditions/vi.mp3", objects.PartSize + 1<<20, nil}, // multipart, size known
	}
	before[3].data = payload(int(before[3].size))
	for _, o := range before {
		put(o)
	}
	// Every object is spread over every drive, the one about to go too.
	for _, d := range srv.Drives {
		for _, o := range before {
			if _, err := os.Stat(filepath.Join(d, cfg.Bucket, o.key, "xl.meta")); err != nil {
				t.Fatalf("object %s has no part on drive %s: %v", o.key, d, err)
			}
		}
	}

	lost := srv.Drives[1]
	if err := os.RemoveAll(lost); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed drive folder %s", lost)

	after := []object{
		{"segments/e/original", 2 << 10, payload(2 << 10)},
		{"segments/f/original", -1, payload(objects.PartSize + 2<<20)},
	}
	for _, o := range after {
		put(o)
	}
	all := append(before, after...)
	for _, o := range all {
		check(o)
	}
	list, err := s.List(ctx, "segments/")
	if err != nil || len(list) != len(all) {
		t.Fatalf("list after losing a drive: %d objects (%v), want %d", len(list), err, len(all))
	}
	link, err := s.Presign(ctx, before[2].key, time.Hour, "Bản tin.mp3")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n != int64(len(before[2].data)) {
		t.Fatalf("presigned link after losing a drive: %s, %d bytes", resp.Status, n)
	}
	for _, o := range all {
		if err := s.Remove(ctx, o.key); err != nil {
			t.Fatalf("remove %s after losing a drive: %v", o.key, err)
		}
	}
	t.Logf("MinIO over 4 drives healthy in %s; whole test %s", started.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
