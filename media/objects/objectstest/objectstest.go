// Package objectstest gives tests a fresh bucket on the real object store
// that `make test` starts. Each call makes its own bucket and removes it
// when the test ends, so tests can run in parallel without seeing each
// other's objects.
package objectstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sonla-cchc/loa/media/objects"
)

// Config returns the test object store's settings with a new, unique
// bucket name. The test is skipped when no store is configured, unless
// LOA_TEST_REQUIRE_SERVICES=1 (set by `make test`), where it fails instead,
// and always under -short (make test/short uses no services).
func Config(t testing.TB) objects.Config {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: this test needs the object store")
	}
	endpoint := os.Getenv("LOA_TEST_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LOA_TEST_S3_ENDPOINT is not set but LOA_TEST_REQUIRE_SERVICES=1: start MinIO (make test does)")
		}
		t.Skip("no object store: set LOA_TEST_S3_ENDPOINT (make test starts a local MinIO and sets it)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return objects.Config{
		Endpoint:  endpoint,
		AccessKey: os.Getenv("LOA_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("LOA_TEST_S3_SECRET_KEY"),
		Bucket:    "test-" + hex.EncodeToString(b[:]),
	}
}

// New opens a store on a fresh bucket and removes the bucket, with all
// its objects, when the test ends.
func New(t testing.TB) (*objects.Store, objects.Config) {
	t.Helper()
	cfg := Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := objects.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open object store: %v", err)
	}
	t.Cleanup(func() { Drop(t, cfg) })
	return s, cfg
}

// Drop removes a test bucket and everything in it.
func Drop(t testing.TB, cfg objects.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Errorf("drop bucket %s: %v", cfg.Bucket, err)
		return
	}
	for info := range c.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if info.Err == nil {
			_ = c.RemoveIncompleteUpload(ctx, cfg.Bucket, info.Key)
		}
	}
	for info := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if info.Err == nil {
			_ = c.RemoveObject(ctx, cfg.Bucket, info.Key, minio.RemoveObjectOptions{})
		}
	}
	if err := c.RemoveBucket(ctx, cfg.Bucket); err != nil {
		t.Logf("drop bucket %s: %v", cfg.Bucket, err)
	}
}
