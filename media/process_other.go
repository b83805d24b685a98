//go:build !linux

package media

import (
	"os/exec"
	"syscall"
)

// childAttr has no parent-death signal outside Linux: a child of a worker
// killed with SIGKILL runs on until it ends (production runs on Linux;
// this file lets developers build and vet elsewhere).
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// runNiced runs cmd at the worker's niceness outside Linux.
func runNiced(cmd *exec.Cmd, nice int) error { return cmd.Run() }
