// Package leftover recognises the temporary files that a killed otplab
// process left behind: their names end in "PID-RANDOM", and a file whose
// process is gone can be removed by the next run.
package leftover

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
)

// PID reads "PID-RANDOM", the end of a temporary file's name, both decimal
// numbers, and returns the PID.
func PID(rest string) (int, bool) {
	pidText, random, ok := strings.Cut(rest, "-")
	if !ok || !digits(pidText) || !digits(random) {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	return pid, err == nil && pid > 0
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Running reports whether a process with this PID exists (one we may not
// signal counts as existing).
func Running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
