package leftover

import (
	"os"
	"testing"
)

func TestPID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		pid  int
		want bool
	}{
		{"123-456", 123, true},
		{"1-0", 1, true},
		{"123", 0, false},
		{"-456", 0, false},
		{"12a-456", 0, false},
		{"123-", 0, false},
		{"0-1", 0, false},
	} {
		pid, ok := PID(tc.in)
		if ok != tc.want || (ok && pid != tc.pid) {
			t.Errorf("PID(%q) = %d, %v; want %d, %v", tc.in, pid, ok, tc.pid, tc.want)
		}
	}
}

func TestRunning(t *testing.T) {
	if !Running(os.Getpid()) {
		t.Fatal("this process is not running")
	}
	if Running(1 << 30) {
		t.Fatal("pid 2^30 is running")
	}
}
