package mpv

import "syscall"

// setDeathSignal has the kernel kill the child when the thread that
// started it exits.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
