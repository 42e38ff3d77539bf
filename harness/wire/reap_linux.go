//go:build linux

package wire

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// becomeSubreaper makes this process the one that inherits the orphaned
// descendants of its children, so that a verifier's child that left its
// process group (setsid) and outlived the verifier can still be found,
// as a child of ours, and stopped. It is idempotent.
func becomeSubreaper() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// killOrphans kills and reaps the processes that were re-parented to this
// process and carry mark in their environment: the descendants of one
// verifier that outlived it, wherever they went. A killed orphan's own
// children come to us in turn, hence the rounds.
func killOrphans(mark string) {
	self := os.Getpid()
	want := []byte(mark)
	for range 8 {
		var found []int
		for _, pid := range childPids(self) {
			env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			if err != nil || !bytes.Contains(append(append([]byte{0}, env...), 0), append(append([]byte{0}, want...), 0)) {
				continue
			}
			_ = syscall.Kill(-pid, syscall.SIGKILL) // its group, if it leads one
			_ = syscall.Kill(pid, syscall.SIGKILL)
			found = append(found, pid)
		}
		if len(found) == 0 {
			return
		}
		for _, pid := range found {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

// childPids lists the processes whose parent is ppid, from /proc.
func childPids(ppid int) []int {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer dir.Close()
	names, _ := dir.Readdirnames(-1)
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if parent, ok := parentOf(pid); ok && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads a process's parent from /proc/PID/stat.
func parentOf(pid int) (int, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
