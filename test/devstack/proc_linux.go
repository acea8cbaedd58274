package devstack

import "syscall"

// sysProcAttr puts a child in its own process group, so that the terminal's
// Ctrl-C reaches only the launcher, which then stops children in order; and
// asks Linux to send SIGTERM to the child if the launcher dies without
// cleaning up (killed with SIGKILL), so no manager or simulator outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
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
