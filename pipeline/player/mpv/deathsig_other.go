//go:build !linux

package mpv

import "syscall"

// setDeathSignal does nothing where the kernel has no parent-death
// signal: there the pid files (KillLeftovers) stop what a dead player
// left, at its next start.
func setDeathSignal(*syscall.SysProcAttr) {}
