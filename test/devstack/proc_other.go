//go:build !linux

package devstack

import "syscall"

// sysProcAttr puts a child in its own process group, so that the terminal's
// Ctrl-C reaches only the launcher, which then stops children in order.
// Only Linux can also tie the child's life to the launcher's.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGTERM, or SIGKILL when kill is set, to a process
// group.
func signalGroup(pgid int, kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	if err := syscall.Kill(-pgid, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}
