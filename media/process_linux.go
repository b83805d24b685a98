package media

import "syscall"

// childAttr makes the kernel kill a child when the worker dies: a worker
// killed with SIGKILL cannot stop its children itself, so no ffmpeg
// outlives it writing into a work folder.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
