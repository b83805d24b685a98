package objects_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

func TestPutGetStatListRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := objectstest.New(t)
	body := strings.Repeat("loa ", 3<<20) // 12 MiB of unknown size: two parts
	n, err := s.Put(ctx, "segments/a/original", strings.NewReader(body), -1, "audio/mpeg")
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put: %d %v", n, err)
	}
	st, err := s.Stat(ctx, "segments/a/original")
	if err != nil || st.Size != int64(len(body)) || st.ContentType != "audio/mpeg" {
		t.Fatalf("stat: %+v %v", st, err)
	}
	r, err := s.Get(ctx, "segments/a/original")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Fatalf("get returned %d bytes, want %d", len(got), len(body))
	}
	list, err := s.List(ctx, "segments/")
	if err != nil || len(list) != 1 || list[0].Key != "segments/a/original" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Remove(ctx, "segments/a/original"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "segments/a/original"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := s.Stat(ctx, "segments/a/original"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("stat after remove: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "nothing"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
}

// TestConformance holds the real store and the in-memory one that other
// packages' tests use (objectstest.Memory) to the same behaviour.
func TestConformance(t *testing.T) {
	t.Parallel()
	objectstest.Each(t, objectstest.RunConformance)
}

// failingReader fails after some bytes, like a client that went away.
type failingReader struct{ n int }

var errClientGone = errors.New("client went away")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errClientGone
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	f.n -= len(p)
	return len(p), nil
}

func TestPutReaderErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, cfg := objectstest.New(t)
	_, err := s.Put(ctx, "segments/b/original", &failingReader{n: 20 << 20}, -1, "audio/mpeg")
	if !errors.Is(err, errClientGone) {
		t.Fatalf("put: %v, want the reader's own error", err)
	}
	if list, _ := s.List(ctx, ""); len(list) != 0 {
		t.Fatalf("objects left: %+v", list)
	}
	if left := incompleteUploads(t, cfg, "segments/b/original"); len(left) != 0 {
		t.Fatalf("incomplete uploads left: %v", left)
	}
}

// TestPresignPublicEndpoint signs for the host clients use: the link names
// that host and is valid there (here the same MinIO under another name).
func TestPresignPublicEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := objectstest.Config(t)
	port := cfg.Endpoint[strings.LastIndex(cfg.Endpoint, ":"):]
	cfg.PublicEndpoint = "http://localhost" + port
	s, err := objects.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objectstest.Drop(t, cfg) })
	if _, err := s.Put(ctx, "k", strings.NewReader("xin chào"), 9, "text/plain"); err != nil {
		t.Fatal(err)
	}
	link, err := s.Presign(ctx, "k", 30*24*time.Hour, "chao.txt")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	if u.Host != "localhost"+port {
		t.Fatalf("link host %s, want localhost%s", u.Host, port)
	}
	if u.Query().Get("X-Amz-Expires") != "604800" {
		t.Fatalf("validity %s, want capped at 7 days", u.Query().Get("X-Amz-Expires"))
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != "xin chào" {
		t.Fatalf("fetch link: %d %q", resp.StatusCode, data)
	}
	// The same signature on the internal host name is refused: the host is signed.
	u.Host = cfg.Endpoint
	resp, err = http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("link rewritten to another host: %d, want 403", resp.StatusCode)
	}
}

// gateReader serves first, then tells reached that it got there and waits
// for release before serving rest: an upload held in flight after its
// first part.
type gateReader struct {
	first, rest io.Reader
	reached     chan<- struct{}
	release     <-chan struct{}
	waited      bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	if n, err := g.first.Read(p); err != io.EOF {
		return n, err
	}
	if !g.waited {
		g.waited = true
		close(g.reached)
		<-g.release
	}
	return g.rest.Read(p)
}

// TestPutFailureAbortsOnlyItsOwnUpload holds one multipart upload of a key
// in flight while another upload of the same key fails: the failed one
// must abort only its own upload, so the first still completes and
// replaces the object published before, and no incomplete upload is left.
// Sizes unknown and known take different multipart paths in minio-go.
func TestPutFailureAbortsOnlyItsOwnUpload(t *testing.T) {
	t.Parallel()
	part := strings.Repeat("a", objects.PartSize)
	tail := strings.Repeat("b", 1<<20)
	failLen := objects.PartSize + 1<<20
	for _, c := range []struct {
		name               string
		heldSize, failSize int64
	}{
		{"sizes unknown", -1, -1},
		{"sizes known", int64(len(part) + len(tail)), int64(failLen + 1<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, cfg := objectstest.New(t)
			const key = "segments/c/original"
			if _, err := s.Put(ctx, key, strings.NewReader("published before"), -1, "audio/mpeg"); err != nil {
				t.Fatal(err)
			}
			reached, release := make(chan struct{}), make(chan struct{})
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := s.Put(ctx, key, &gateReader{first: strings.NewReader(part), rest: strings.NewReader(tail), reached: reached, release: release}, c.heldSize, "audio/mpeg")
				done <- result{n, err}
			}()
			select {
			case <-reached: // the first part is uploaded and the upload is open
			case r := <-done:
				t.Fatalf("held upload ended early: %d %v", r.n, r.err)
			}
			if _, err := s.Put(ctx, key, &failingReader{n: failLen}, c.failSize, "audio/mpeg"); !errors.Is(err, errClientGone) {
				close(release)
				t.Fatalf("failing put: %v, want the reader's own error", err)
			}
			close(release)
			r := <-done
			if r.err != nil || r.n != int64(len(part)+len(tail)) {
				t.Fatalf("upload in flight beside a failed one: %d bytes, %v; want %d bytes stored", r.n, r.err, len(part)+len(tail))
			}
			rc, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != part+tail {
				t.Fatalf("stored object has %d bytes, want %d of the completed upload", len(got), len(part)+len(tail))
			}
			if left := incompleteUploads(t, cfg, key); len(left) != 0 {
				t.Fatalf("incomplete uploads left for %s: %v", key, left)
			}
		})
	}
}

// incompleteUploads lists the upload IDs of unfinished multipart uploads
// of key, straight from the store.
func incompleteUploads(t *testing.T, cfg objects.Config, key string) []string {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for info := range c.ListIncompleteUploads(context.Background(), cfg.Bucket, key, false) {
		if info.Err != nil {
			t.Fatalf("list incomplete uploads: %v", info.Err)
		}
		ids = append(ids, info.UploadID)
	}
	return ids
}

// TestProbeWrite: the write probe stores its object under the reserved
// prefix, and reports the refusal of a store that takes no writes while
// its reads (Ready) still work.
func TestProbeWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, cfg := objectstest.New(t)
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe on a writable store: %v", err)
	}
	if o, err := s.Stat(ctx, objects.ProbeKey); err != nil || !strings.HasPrefix(o.Key, objects.ProbePrefix) {
		t.Fatalf("probe object: %+v %v", o, err)
	}
	ro, err := objects.Open(ctx, objectstest.ReadOnly(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Ready(ctx); err != nil {
		t.Fatalf("read-only store not ready for reads: %v", err)
	}
	err = ro.ProbeWrite(ctx)
	if err == nil || !strings.Contains(err.Error(), "Access Denied") {
		t.Fatalf("probe on a read-only store: %v, want its Access Denied", err)
	}
}
