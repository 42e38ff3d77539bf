//go:build linux

package wire

import (
	"os/exec"
	"runtime"
	"syscall"
)

// dieWithHarness asks the kernel to SIGKILL the verifier when the harness
// dies, however it dies (a CI job's SIGKILL included), so that a verifier
// that ignores EOF on its input and SIGTERM cannot outlive it.
//
// Linux sends the signal when the thread that started the child exits,
// not the process; Go may end an idle thread, so start runs the start on
// a thread locked for the child's whole life (see startLocked).
func dieWithHarness(cmd *exec.Cmd) {
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// startLocked starts cmd from an OS thread that stays locked, and so
// alive, until exited is closed: the parent-death signal of
// [dieWithHarness] is tied to that thread.
func startLocked(cmd *exec.Cmd, exited <-chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			<-exited
		}
		// The thread is never unlocked: Go ends it with this goroutine,
		// which is what the child's death now allows.
	}()
	return <-started
}
