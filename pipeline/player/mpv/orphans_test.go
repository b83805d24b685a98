package mpv

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether process pid has ended (no longer there, or a
// zombie no one reaped yet).
func gone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: comm may hold spaces, the state follows its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// waitGone waits (for a bounded time: it waits for an event, it does not
// time it) until pid has ended.
func waitGone(t *testing.T, pid int) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestKillLeftovers: an mpv the last run left (its pid file in the
// player's folder) is killed at the next start; a pid file naming a
// process that is not that mpv (the pid was reused) kills nothing; every
// pid file is removed.
func TestKillLeftovers(t *testing.T) {
	needMPV(t)
	tests := []struct {
		name     string
		leftover func(t *testing.T, dir string) (pid int, kill bool)
	}{
		{"mpv left sounding", func(t *testing.T, dir string) (int, bool) {
			p := start(t, Options{File: tone(t, "30"), AO: "null", SocketDir: t.TempDir(), PidDir: dir})
			p.Play(context.Background())
			return p.Pid(), true
		}},
		{"pid reused by another process", func(t *testing.T, dir string) (int, bool) {
			cmd := exec.Command("sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			os.WriteFile(pidFile(dir, cmd.Process.Pid), []byte(filepath.Join(dir, "mpv-1.sock")+"\n"), 0o644)
			return cmd.Process.Pid, false
		}},
		{"process long gone", func(t *testing.T, dir string) (int, bool) {
			cmd := exec.Command("true")
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(pidFile(dir, cmd.Process.Pid), []byte(filepath.Join(dir, "mpv-1.sock")+"\n"), 0o644)
			return cmd.Process.Pid, false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pid, kill := tt.leftover(t, dir)
			os.WriteFile(filepath.Join(dir, "mpv-x.pid"), []byte("junk\n"), 0o644)
			killed, err := KillLeftovers(dir)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(killed, pid) != kill {
				t.Fatalf("killed %v; want pid %d killed: %v", killed, pid, kill)
			}
			if kill && !waitGone(t, pid) {
				t.Fatalf("mpv %d still runs", pid)
			}
			if !kill && len(killed) != 0 {
				t.Fatalf("killed %v: none was a leftover mpv", killed)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.pid")); len(left) != 0 {
				t.Fatalf("pid files left: %v", left)
			}
		})
	}
}

// TestPidFileGoesWithMPV: the pid file exists while mpv runs and is
// removed when it ends.
func TestPidFileGoesWithMPV(t *testing.T) {
	needMPV(t)
	dir := t.TempDir()
	p := start(t, Options{File: tone(t, "30"), AO: "null", SocketDir: t.TempDir(), PidDir: dir})
	if _, err := os.Stat(pidFile(dir, p.Pid())); err != nil {
		t.Fatalf("no pid file while mpv runs: %v", err)
	}
	p.Stop()
	if left, _ := filepath.Glob(filepath.Join(dir, "*.pid")); len(left) != 0 {
		t.Fatalf("pid files left after mpv ended: %v", left)
	}
}

// orphanHelperEnv makes the test binary the "player" of
// TestMPVDiesWithThePlayer: it starts an mpv and waits to be killed.
const orphanHelperEnv = "LOA_MPV_TEST_PLAYER_FILE"

func TestMain(m *testing.M) {
	if file := os.Getenv(orphanHelperEnv); file != "" {
		os.Exit(orphanPlayer(file))
	}
	os.Exit(m.Run())
}

// orphanPlayer starts mpv on file through a Spawner from another
// goroutine (as the runners do), prints its pid and waits to be killed.
func orphanPlayer(file string) int {
	s := NewSpawner()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, Options{File: file, AO: "null", Spawner: s})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	p.Play(ctx)
	os.Stdout.WriteString(strconv.Itoa(p.Pid()) + "\n")
	select {}
}

// TestMPVDiesWithThePlayer: kill -9 of the player (a crash, an operator,
// a power supervisor) takes its mpv with it: no orphan keeps sounding.
func TestMPVDiesWithThePlayer(t *testing.T) {
	needMPV(t)
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"="+tone(t, "30"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the player printed no mpv pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	if gone(pid) {
		t.Fatalf("mpv %d not running before the kill", pid)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !waitGone(t, pid) {
		t.Fatalf("mpv %d still runs after its player was killed", pid)
	}
}
