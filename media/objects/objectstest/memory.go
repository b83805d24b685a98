package objectstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
)

// Memory is an in-memory objects.Backend for tests that are not about the
// object store (access control, sign-in, pages): it keeps objects in a
// map and serves its presigned links from a local HTTP server, signed and
// expiring like S3's (GET only). RunConformance checks it against MinIO.
type Memory struct {
	mu      sync.Mutex
	objects map[string]memObject
	down    bool
	secret  []byte
	srv     *httptest.Server
}

type memObject struct {
	data        []byte
	contentType string
	modified    time.Time
}

// NewMemory makes an empty in-memory store; its link server stops when
// the test ends.
func NewMemory(t testing.TB) *Memory {
	t.Helper()
	m := &Memory{objects: map[string]memObject{}, secret: make([]byte, 32)}
	_, _ = rand.Read(m.secret)
	m.srv = httptest.NewServer(http.HandlerFunc(m.serveLink))
	t.Cleanup(m.srv.Close)
	return m
}

// SetDown makes every call fail with objects.ErrUnavailable (down) or
// work again, to test what callers do when the store goes away.
func (m *Memory) SetDown(down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = down
}

func (m *Memory) unavailable(op, key string) error {
	if m.down {
		return fmt.Errorf("%s %s: %w: the in-memory store is set down", op, key, objects.ErrUnavailable)
	}
	return nil
}

// Ready reports whether the store is up.
func (m *Memory) Ready(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unavailable("ready", "")
}

// ProbeWrite stores a few bytes under objects.ProbeKey.
func (m *Memory) ProbeWrite(ctx context.Context) error {
	body := "loa write probe"
	if _, err := m.Put(ctx, objects.ProbeKey, strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// Put reads r to its end (or to ctx's end) and stores it under key.
func (m *Memory) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error) {
	if err := m.Ready(ctx); err != nil {
		return 0, err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, ctxReader{ctx, r}); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && int64(buf.Len()) != size {
		return 0, fmt.Errorf("put %s: %w", key, io.ErrUnexpectedEOF)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = memObject{data: buf.Bytes(), contentType: contentType, modified: time.Now().UTC()}
	return int64(buf.Len()), nil
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (m *Memory) lookup(op, key string) (memObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unavailable(op, key); err != nil {
		return memObject{}, err
	}
	o, ok := m.objects[key]
	if !ok {
		return memObject{}, fmt.Errorf("%s %s: %w", op, key, objects.ErrNotFound)
	}
	return o, nil
}

// Get opens key.
func (m *Memory) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := m.lookup("get", key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// Stat describes key.
func (m *Memory) Stat(ctx context.Context, key string) (objects.Object, error) {
	o, err := m.lookup("stat", key)
	if err != nil {
		return objects.Object{}, err
	}
	return objects.Object{Key: key, Size: int64(len(o.data)), ContentType: o.contentType, LastModified: o.modified}, nil
}

// Remove deletes key; a missing key is not an error.
func (m *Memory) Remove(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unavailable("remove", key); err != nil {
		return err
	}
	delete(m.objects, key)
	return nil
}

// Copy copies src to dst, like objects.Store.Copy.
func (m *Memory) Copy(ctx context.Context, src, dst string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unavailable("copy", src); err != nil {
		return err
	}
	o, ok := m.objects[src]
	if !ok {
		return fmt.Errorf("copy %s: %w", src, objects.ErrNotFound)
	}
	o.data = bytes.Clone(o.data)
	o.modified = time.Now()
	m.objects[dst] = o
	return nil
}

// List returns the objects under prefix, in key order.
func (m *Memory) List(ctx context.Context, prefix string) ([]objects.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.unavailable("list", prefix); err != nil {
		return nil, err
	}
	var out []objects.Object
	for k, o := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, objects.Object{Key: k, Size: int64(len(o.data)), ContentType: o.contentType, LastModified: o.modified})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Presign returns a link on the store's local server, valid for ttl (at
// most objects.MaxPresign), like an S3 presigned GET.
func (m *Memory) Presign(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	if err := m.Ready(ctx); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > objects.MaxPresign {
		ttl = objects.MaxPresign
	}
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(time.Now().Add(ttl).Unix(), 10))
	if filename != "" {
		q.Set("response-content-disposition", fmt.Sprintf("attachment; filename=%q", filename))
	}
	q.Set("signature", m.sign(key, q))
	return m.srv.URL + "/" + (&url.URL{Path: key}).EscapedPath() + "?" + q.Encode(), nil
}

// InternalURL is Presign without a download name.
func (m *Memory) InternalURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return m.Presign(ctx, key, ttl, "")
}

func (m *Memory) sign(key string, q url.Values) string {
	h := hmac.New(sha256.New, m.secret)
	fmt.Fprintf(h, "%s\n%s\n%s", key, q.Get("expires"), q.Get("response-content-disposition"))
	return hex.EncodeToString(h.Sum(nil))
}

// serveLink answers a presigned link: 403 for a bad signature, an
// expired link or a method other than GET (as S3 does for a link signed
// for GET), 404 for a missing object.
func (m *Memory) serveLink(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/")
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if r.Method != http.MethodGet || err != nil || time.Now().Unix() > exp ||
		!hmac.Equal([]byte(q.Get("signature")), []byte(m.sign(key, q))) {
		http.Error(w, "SignatureDoesNotMatch or expired", http.StatusForbidden)
		return
	}
	o, err := m.lookup("get", key)
	if err != nil {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", o.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
	if cd := q.Get("response-content-disposition"); cd != "" {
		w.Header().Set("Content-Disposition", cd)
	}
	_, _ = w.Write(o.data)
}

var _ objects.Backend = (*Memory)(nil)
