package media

import (
	"os/exec"
	"runtime"
	"syscall"
)

// childAttr makes the kernel kill a child when the worker dies: a worker
// killed with SIGKILL cannot stop its children itself, so no ffmpeg
// outlives it writing into a work folder.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// runNiced runs cmd (start and wait) at niceness nice from its first
// instruction. A child inherits the niceness of the thread that forks it,
// so cmd is forked from a thread of its own, set to nice first; the
// thread stays until cmd ends (the parent-death signal follows the
// forking thread) and is then discarded, as a thread's niceness cannot
// be lowered again without privilege. When the niceness cannot be set,
// cmd runs at the worker's.
func runNiced(cmd *exec.Cmd, nice int) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
		done <- cmd.Run()
	}()
	return <-done
}
