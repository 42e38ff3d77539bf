//go:build !unix

package wire

import (
	"testing"
	"time"
)

// cpuTime is zero where the process's CPU time is not read: cpu-us/op
// then shows 0.
func cpuTime(*testing.B) time.Duration { return 0 }
