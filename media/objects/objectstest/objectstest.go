// Package objectstest gives tests a fresh bucket on the real object store
// that `make test` starts. Each call makes its own bucket and removes it
// when the test ends, so tests can run in parallel without seeing each
// other's objects.
package objectstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
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

// Server is a MinIO server started by a test, stopped when the test ends.
type Server struct {
	// Config reaches the server; Bucket is empty: set one.
	Config objects.Config
	// Drives are the server's drive folders.
	Drives []string
	// Log is the server's output file.
	Log string
}

// StartMinIO starts the MinIO binary named by LOA_TEST_MINIO_BIN (`make
// test` sets it) on a free local port, erasure-coded over drives folders
// under t.TempDir() (one folder: a single-drive server), and waits until
// the cluster answers as healthy. The test is skipped when the variable is
// not set, unless LOA_TEST_REQUIRE_SERVICES=1, where it fails instead.
// MINIO_CI_CD is set because MinIO otherwise refuses drive folders on the
// root disk: real deployments give each drive its own disk.
func StartMinIO(t testing.TB, drives int) Server {
	t.Helper()
	bin := os.Getenv("LOA_TEST_MINIO_BIN")
	if bin == "" {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LOA_TEST_MINIO_BIN is not set but LOA_TEST_REQUIRE_SERVICES=1: point it at the MinIO binary (make test and .ci/with-minio do)")
		}
		t.Skip("no MinIO binary: set LOA_TEST_MINIO_BIN (make test sets it)")
	}
	dir := t.TempDir()
	srv := Server{Log: filepath.Join(dir, "minio.log")}
	for i := 1; i <= drives; i++ {
		d := filepath.Join(dir, fmt.Sprintf("drive%d", i))
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
		srv.Drives = append(srv.Drives, d)
	}
	arg := srv.Drives[0]
	if drives > 1 {
		arg = filepath.Join(dir, fmt.Sprintf("drive{1...%d}", drives))
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	srv.Config = objects.Config{AccessKey: "loa-test", SecretKey: "loa-test-" + hex.EncodeToString(b[:])}
	// A port taken between choosing it and MinIO binding it makes MinIO
	// exit; then another is tried.
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		logf, err := os.Create(srv.Log)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "server", "--address", "127.0.0.1:"+port, "--console-address", "127.0.0.1:"+freePort(t), arg)
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+srv.Config.AccessKey, "MINIO_ROOT_PASSWORD="+srv.Config.SecretKey,
			"MINIO_BROWSER=off", "MINIO_CI_CD=1", "MINIO_UPDATE=off")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		srv.Config.Endpoint = "127.0.0.1:" + port
		switch waitHealthy(srv.Config.Endpoint, exited) {
		case nil:
			return srv
		case errExited:
			if attempt < 3 {
				continue
			}
		}
		out, _ := os.ReadFile(srv.Log)
		t.Fatalf("MinIO over %d drive(s) did not become healthy in a minute; its log:\n%s", drives, out)
	}
}

var errExited = errors.New("minio exited")

// waitHealthy polls the server's cluster health until it answers 200, the
// process exits, or a minute passes.
func waitHealthy(endpoint string, exited <-chan struct{}) error {
	deadline := time.Now().Add(time.Minute)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + endpoint + "/minio/health/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errExited
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("not healthy in time")
}

// freePort returns a local TCP port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// ReadOnly returns cfg with temporary credentials (MinIO's STS
// AssumeRole, with a session policy) that may read and list every bucket
// but write nothing: the store then refuses every write with AccessDenied
// while reads work, as it does with a full disk or a spent quota.
func ReadOnly(t testing.TB, cfg objects.Config) objects.Config {
	t.Helper()
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::*"]}]}`
	scheme := "http://"
	if cfg.UseSSL {
		scheme = "https://"
	}
	creds, err := credentials.NewSTSAssumeRole(scheme+cfg.Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Policy: policy, DurationSeconds: 3600})
	if err != nil {
		t.Fatalf("read-only credentials: %v", err)
	}
	v, err := creds.GetWithContext(&credentials.CredContext{Client: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatalf("read-only credentials from %s: %v", cfg.Endpoint, err)
	}
	cfg.AccessKey, cfg.SecretKey, cfg.SessionToken = v.AccessKeyID, v.SecretAccessKey, v.SessionToken
	return cfg
}
