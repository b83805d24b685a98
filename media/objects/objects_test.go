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
	s, _ := objectstest.New(t)
	_, err := s.Put(ctx, "segments/b/original", &failingReader{n: 20 << 20}, -1, "audio/mpeg")
	if !errors.Is(err, errClientGone) {
		t.Fatalf("put: %v, want the reader's own error", err)
	}
	if list, _ := s.List(ctx, ""); len(list) != 0 {
		t.Fatalf("objects left: %+v", list)
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
