package objectstest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
)

// Each runs f as two subtests, "memory" on a Memory and one on a fresh
// bucket of the real store, named by LOA_TEST_S3_SERVER ("minio" when
// unset; .ci/with-seaweedfs sets "seaweedfs"); the second is skipped when
// no store is configured (and fails under LOA_TEST_REQUIRE_SERVICES=1, as
// New does). Tests about access control, pages and sign-in use it, so
// they run everywhere and still against a real S3 server where it is.
func Each(t *testing.T, f func(t *testing.T, store objects.Backend)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) { f(t, NewMemory(t)) })
	name := os.Getenv("LOA_TEST_S3_SERVER")
	if name == "" {
		name = "minio"
	}
	t.Run(name, func(t *testing.T) {
		s, _ := New(t)
		f(t, s)
	})
}

// RunConformance checks the behaviour Loa relies on from an object store:
// put (known and unknown size), get, stat, list by prefix in key order,
// remove (twice), ErrNotFound for missing keys, a reader's own error
// returned unclassified with nothing stored, and presigned links that
// serve the bytes, type and download name to a plain HTTP client (GET
// only: a HEAD on them is refused, as S3 signs the method).
func RunConformance(t *testing.T, store objects.Backend) {
	ctx := context.Background()
	body := strings.Repeat("loa ", 3<<20) // 12 MiB: two parts on S3 when the size is unknown
	n, err := store.Put(ctx, "segments/a/original", strings.NewReader(body), -1, "audio/mpeg")
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put: %d %v", n, err)
	}
	if _, err := store.Put(ctx, "segments/0/small", strings.NewReader("ab"), 2, ""); err != nil {
		t.Fatal(err)
	}
	st, err := store.Stat(ctx, "segments/a/original")
	if err != nil || st.Key != "segments/a/original" || st.Size != int64(len(body)) || st.ContentType != "audio/mpeg" {
		t.Fatalf("stat: %+v %v", st, err)
	}
	r, err := store.Get(ctx, "segments/a/original")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Fatalf("get returned %d bytes, want %d", len(got), len(body))
	}
	list, err := store.List(ctx, "segments/")
	if err != nil || len(list) != 2 || list[0].Key != "segments/0/small" || list[1].Key != "segments/a/original" || list[0].Size != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, err := store.List(ctx, "segments/a/"); err != nil || len(list) != 1 {
		t.Fatalf("list by prefix: %+v %v", list, err)
	}

	link, err := store.Presign(ctx, "segments/a/original", time.Hour, "bản tin.mp3")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != body || resp.Header.Get("Content-Type") != "audio/mpeg" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "filename=") {
		t.Fatalf("presigned GET: %d, %d bytes, %q, %q", resp.StatusCode, len(data), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	if resp, err := http.Head(link); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a GET link used for HEAD: %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if internal, err := store.InternalURL(ctx, "segments/0/small", time.Minute); err != nil {
		t.Fatal(err)
	} else if resp, err := http.Get(internal); err != nil || resp.StatusCode != 200 {
		t.Fatalf("internal link: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	for _, key := range []string{"segments/a/original", "segments/0/small"} {
		if err := store.Remove(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Remove(ctx, "segments/a/original"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := store.Stat(ctx, "segments/a/original"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("stat after remove: %v, want ErrNotFound", err)
	}
	if _, err := store.Get(ctx, "nothing"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}

	_, err = store.Put(ctx, "segments/b/original", &failingReader{n: 20 << 20}, -1, "audio/mpeg")
	if !errors.Is(err, errClientGone) || errors.Is(err, objects.ErrUnavailable) {
		t.Fatalf("put from a failing reader: %v, want the reader's own error", err)
	}
	if list, _ := store.List(ctx, ""); len(list) != 0 {
		t.Fatalf("objects left: %+v", list)
	}
}

// failingReader fails after n bytes, like a client that went away.
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
