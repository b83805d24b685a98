package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunCtrlC: Ctrl-C on `make run` (the terminal sends SIGINT to
// every process of the job: .ci/with-minio, MinIO, .ci/run-demo and loa
// serve) stops loa serve gracefully and ends the job with status 0, so
// make prints no "Error". Everything is real, as make run starts it:
// MinIO, loa serve and the demo it loads.
func TestMakeRunCtrlC(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".tools/bin/minio")); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("no MinIO for .ci/with-minio: %v", err)
		}
		t.Skip("no .tools/bin/minio (make tools builds it)")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing: %v", tool, err)
		}
	}
	dir := t.TempDir()
	port := freePortPair(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePortPair(t))
	cmd := exec.Command(filepath.Join(root, ".ci/with-minio"), fmt.Sprint(port), filepath.Join(dir, "minio"), filepath.Join(root, ".ci/run-demo"), loaBin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOA_DATA="+filepath.Join(dir, "data"), "LOA_ADDR="+addr, "LOA_SERVER=http://"+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a job of its own, as a terminal makes one
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	// A job that does not end is killed, so the test fails instead of
	// hanging.
	watchdog := time.AfterFunc(4*time.Minute, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer watchdog.Stop()
	done := make(chan error, 1)
	go func() { err := cmd.Wait(); pw.Close(); done <- err }()
	var out strings.Builder
	lines := bufio.NewScanner(pr)
	lines.Buffer(nil, 1<<20)
	sent := false
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if !sent && strings.Contains(lines.Text(), "Loa is running") {
			// Ctrl-C: SIGINT to every process of the job.
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
	}
	var err2 error
	select {
	case err2 = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the job did not end 60 s after Ctrl-C:\n%s", out.String())
	}
	if !sent {
		t.Fatalf("run-demo never said it was running (%v):\n%s", err2, out.String())
	}
	var ee *exec.ExitError
	if errors.As(err2, &ee) || err2 != nil {
		t.Fatalf("Ctrl-C ended the job with %v, want status 0 (make would print an Error):\n%s", err2, out.String())
	}
	if !strings.Contains(out.String(), "shutting down: finishing requests in flight") || !strings.Contains(out.String(), "loa serve stopped cleanly") {
		t.Errorf("loa serve was not stopped gracefully:\n%s", out.String())
	}
}

// freePortPair returns a loopback port that, with the next one (MinIO's
// console), is free now.
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return port
		}
	}
	t.Fatal("no two free ports in a row")
	return 0
}
