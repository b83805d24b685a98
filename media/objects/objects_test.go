package objects_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestConformance holds the real store and the in-memory one used by
// other packages' tests to the same behaviour.
func TestConformance(t *testing.T) {
	t.Parallel()
	objectstest.Each(t, objectstest.RunConformance)
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
