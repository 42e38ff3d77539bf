//go:build unix

package wire

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the verifier in a process group of its own, so that
// the terminal's Ctrl-C reaches the harness only (which then stops the
// verifier itself) and a kill reaches the verifier's children too. On
// Linux the verifier also dies with the harness (see dieWithHarness).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithHarness(cmd)
}

// killGroup kills the verifier's process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
