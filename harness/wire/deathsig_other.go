//go:build !linux

package wire

import "os/exec"

// dieWithHarness does nothing outside Linux: no other system has a
// parent-death signal. There a verifier that ignores EOF on its input and
// SIGTERM outlives a harness killed with SIGKILL; run the harness under
// a supervisor that kills its process group (a CI runner does) instead.
func dieWithHarness(*exec.Cmd) {}

// startLocked starts cmd.
func startLocked(cmd *exec.Cmd, _ <-chan struct{}) error { return cmd.Start() }
