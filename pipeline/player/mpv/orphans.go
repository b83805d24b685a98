package mpv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Spawner starts mpv processes from one OS thread that lives as long as
// the Spawner, with Pdeathsig set, so that they die with the player: a
// kill -9 or a crash of the player leaves no mpv sounding on. The kernel
// sends the death signal when the thread that started a child exits (not
// only the whole process), which is why every child is started from the
// same locked thread; Close ends that thread, and with it every mpv it
// started.
type Spawner struct {
	reqs chan spawnReq
	quit chan struct{}
}

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

// NewSpawner starts the Spawner's thread.
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), quit: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		// Never unlocked: when this goroutine returns, its thread exits,
		// and the kernel signals the children it started.
		runtime.LockOSThread()
		close(ready)
		for {
			select {
			case r := <-s.reqs:
				r.errc <- r.cmd.Start()
			case <-s.quit:
				return
			}
		}
	}()
	<-ready
	return s
}

// start starts cmd on the Spawner's thread, with SIGKILL as its death
// signal.
func (s *Spawner) start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setDeathSignal(cmd.SysProcAttr)
	r := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	select {
	case s.reqs <- r:
		return <-r.errc
	case <-s.quit:
		return fmt.Errorf("the player is stopping")
	}
}

// Close ends the Spawner's thread: the processes it started are killed.
func (s *Spawner) Close() { close(s.quit) }

// pidFile is the name of the file PidDir holds while mpv pid runs.
func pidFile(dir string, pid int) string {
	return filepath.Join(dir, "mpv-"+strconv.Itoa(pid)+".pid")
}

// KillLeftovers kills the mpv processes an earlier run of the player
// left running (its pid files in dir): one whose command line is still
// that mpv's (its own control socket, so a pid reused by another process
// is left alone) is killed with its process group. Every pid file is
// removed. It returns the pids killed.
func KillLeftovers(dir string) ([]int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "mpv-*.pid"))
	if err != nil {
		return nil, err
	}
	var killed []int
	for _, name := range names {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "mpv-"), ".pid"))
		sock, rerr := os.ReadFile(name)
		if err == nil && rerr == nil && pid > 0 && pid != os.Getpid() && isOurs(pid, strings.TrimSpace(string(sock))) {
			if syscall.Kill(-pid, syscall.SIGKILL) != nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			killed = append(killed, pid)
		}
		if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
			return killed, fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return killed, nil
}

// isOurs reports whether process pid runs an mpv with the control
// socket sock (as Start gives each mpv a socket of its own).
func isOurs(pid int, sock string) bool {
	if sock == "" {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return bytes.Contains(data, []byte("\x00--input-ipc-server="+sock+"\x00"))
}
