package objects_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestCopyRetiresKey checks what withdrawal relies on: an object copied
// to a new key and removed from the old one keeps its bytes and type
// under the new key, and a link presigned for the old key before the
// move no longer serves it (S3 cannot revoke a link; only the key can go).
// The in-memory store is held to the same behaviour.
func TestCopyRetiresKey(t *testing.T) {
	t.Parallel()
	s, _ := objectstest.New(t)
	for name, store := range map[string]interface {
		objects.Backend
		Copy(ctx context.Context, src, dst string) error
	}{"minio": s, "memory": objectstest.NewMemory(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			body := strings.Repeat("loa ", 1<<10)
			if _, err := store.Put(ctx, "segments/c/original", strings.NewReader(body), int64(len(body)), "audio/mpeg"); err != nil {
				t.Fatal(err)
			}
			old, err := store.Presign(ctx, "segments/c/original", time.Hour, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Copy(ctx, "segments/c/original", "withdrawn/segments/c/original"); err != nil {
				t.Fatal(err)
			}
			if err := store.Remove(ctx, "segments/c/original"); err != nil {
				t.Fatal(err)
			}
			st, err := store.Stat(ctx, "withdrawn/segments/c/original")
			if err != nil || st.Size != int64(len(body)) || st.ContentType != "audio/mpeg" {
				t.Fatalf("the copy: %+v %v", st, err)
			}
			r, err := store.Get(ctx, "withdrawn/segments/c/original")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if string(got) != body {
				t.Fatalf("the copy holds %d bytes, want %d", len(got), len(body))
			}
			resp, err := http.Get(old)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
				t.Fatalf("a link issued before the move answers %d, want 403 or 404", resp.StatusCode)
			}
			if err := store.Copy(ctx, "segments/c/missing", "withdrawn/x"); !errors.Is(err, objects.ErrNotFound) {
				t.Fatalf("copying a missing key: %v, want ErrNotFound", err)
			}
		})
	}
}
