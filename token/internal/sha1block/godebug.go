package sha1block

import "strings"

// godebugOff reports whether a GODEBUG value turns the SHA extensions off,
// with the same option names the Go runtime uses: the last of cpu.sha and
// cpu.all that appears decides.
func godebugOff(godebug string) bool {
	off := false
	for _, f := range strings.Split(godebug, ",") {
		switch strings.TrimSpace(f) {
		case "cpu.sha=off", "cpu.all=off":
			off = true
		case "cpu.sha=on":
			off = false
		}
	}
	return off
}
