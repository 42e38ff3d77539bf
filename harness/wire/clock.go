package wire

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/internal/timegate"
)

// ClockControl says whether and how an [Exec] client sets the clock of a
// verifier that reads its own clock (profile clock "wall").
type ClockControl string

// The clock controls of an exec verifier.
const (
	// ClockLeave leaves the verifier's clock alone: it runs on real time.
	ClockLeave ClockControl = ""
	// ClockFake runs the verifier under libfaketime (LD_PRELOAD) and
	// stops its wall clock at each request's time before sending the
	// request. A program libfaketime cannot reach (statically linked, a
	// Go program, setuid) runs on real time instead, and
	// [Exec.ClockNote] says why.
	ClockFake ClockControl = "fake"
	// ClockFile only names the clock file in [FakeTimeFileEnv]: the
	// verifier reads its clock from that file itself. It is the way to put
	// a verifier that libfaketime cannot reach (a Go program) under the
	// same clock.
	ClockFile ClockControl = "file"
	// ClockAuto is ClockFake when the verifier's hello claims clock
	// "wall", and ClockLeave otherwise. The first process is started
	// without the fake clock and, if it claims "wall", replaced at once by
	// one under it.
	ClockAuto ClockControl = "auto"
)

// FakeTimeFileEnv is the environment variable that names the clock file of
// a verifier under the harness's clock ([ClockFake] and [ClockFile]). The
// file holds one line: the current Unix second, in decimal. The harness
// replaces it (a new file renamed over the old one) before each request
// whose time differs from the last, and only while no request is in flight,
// so a verifier that reads it on every request sees exactly each request's
// time. [ClockFromFile] reads it for a Go verifier.
const FakeTimeFileEnv = "OTPLAB_FAKETIME_FILE"

// ErrNoFakeTime is returned (wrapped) when the fake clock is asked for and
// libfaketime is not installed.
var ErrNoFakeTime = errors.New("libfaketime is not installed (Debian: apt-get install libfaketime)")

// ErrUnreachable is wrapped by the reason [Exec.ClockNote] gives when
// libfaketime cannot reach the verifier's program.
var ErrUnreachable = errors.New("libfaketime cannot reach the verifier")

// multiarch maps GOARCH to the Debian multiarch triplet of its libraries.
var multiarch = map[string]string{
	"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu",
	"arm": "arm-linux-gnueabihf", "ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu",
	"riscv64": "riscv64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64", "loong64": "loongarch64-linux-gnu",
}

// FindFakeTime returns the path of libfaketime's preload library
// (libfaketime.so.1): the one of this machine's architecture in Debian's
// multiarch directory, else the first one found under /usr/lib,
// /usr/lib64 or /usr/local/lib. It returns an error wrapping
// [ErrNoFakeTime] when there is none, or on systems other than Linux.
func FindFakeTime() (string, error) {
	if runtime.GOOS != "linux" {
		return "", fmt.Errorf("%w: the fake clock needs Linux's LD_PRELOAD", ErrNoFakeTime)
	}
	var cands []string
	if t, ok := multiarch[runtime.GOARCH]; ok {
		cands = append(cands, filepath.Join("/usr/lib", t, "faketime", "libfaketime.so.1"))
	}
	for _, pat := range []string{"/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
		"/usr/lib64/faketime/libfaketime.so.1", "/usr/local/lib/faketime/libfaketime.so.1"} {
		m, _ := filepath.Glob(pat)
		cands = append(cands, m...)
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", ErrNoFakeTime
}

// FakeTimeReach reports whether libfaketime can set the clock of the
// program prog (a path, or a name looked up in PATH): nil when it can,
// an error wrapping [ErrUnreachable] that says why not otherwise. A
// script is judged by its interpreter (its #! line, through env).
// libfaketime works through the dynamic linker, so it cannot reach a
// statically linked program (an ELF file without a PT_INTERP header), a
// setuid or setgid one, or a Go program (found by its build information),
// which reads the time through the vDSO or raw system calls.
func FakeTimeReach(prog string) error {
	return reach(prog, 0)
}

func reach(prog string, depth int) error {
	path, err := exec.LookPath(prog)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if st.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
		return fmt.Errorf("%w: %s is setuid or setgid, and the dynamic linker ignores LD_PRELOAD for it", ErrUnreachable, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		if depth >= 3 {
			return nil // an interpreter chain this deep: assume it works
		}
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		words := strings.Fields(string(line))
		if len(words) == 0 {
			return nil
		}
		interp := words[0]
		if filepath.Base(interp) == "env" {
			for _, w := range words[1:] {
				if !strings.HasPrefix(w, "-") {
					return reach(w, depth+1)
				}
			}
		}
		return reach(interp, depth+1)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil // not ELF, not a script: nothing known against it
	}
	defer ef.Close()
	if _, err := buildinfo.Read(f); err == nil {
		return fmt.Errorf("%w: %s is a Go program, which reads the time without libc (use --clock file, and have it read %s)", ErrUnreachable, path, FakeTimeFileEnv)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is statically linked, and LD_PRELOAD needs the dynamic linker", ErrUnreachable, path)
}

// fakeEnv returns env prepared for a verifier under the clock file: no
// FAKETIME setting of its own (FAKETIME would override the file), the
// file named, and with lib (libfaketime) preloaded when it is not empty.
func fakeEnv(env []string, file, lib string) []string {
	out := make([]string, 0, len(env)+6)
	preload := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "FAKETIME"), k == FakeTimeFileEnv:
			continue
		case k == "LD_PRELOAD" && lib != "":
			preload = v
			continue
		}
		out = append(out, kv)
	}
	out = append(out, FakeTimeFileEnv+"="+file)
	if lib == "" {
		return out
	}
	if preload != "" {
		preload = lib + ":" + preload
	} else {
		preload = lib
	}
	// An absolute time ("%s": Unix seconds, no time zone involved) is a
	// stopped clock: the verifier sees the request's second however long
	// it takes. Monotonic clocks stay real, so the verifier's own timeouts
	// and sleeps (and a JVM's) keep working. No cache: each read of the
	// clock reads the file, so a new time takes effect at once.
	return append(out, "LD_PRELOAD="+preload, "FAKETIME_TIMESTAMP_FILE="+file, "FAKETIME_FMT=%s",
		"FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1")
}

// clockGate owns the clock file of one Exec client and admits requests
// through a timegate.Gate, so that those in flight together all have the
// file's time (see package timegate for the order of admission).
type clockGate struct {
	now  func() time.Time
	sign bool // the fake clock cannot show times before 1970

	mu   sync.Mutex
	dir  string // the temporary directory of the file; "" before init
	sets int    // times the file was written
	gate *timegate.Gate[int64]
}

// file returns the clock file's path, creating it (with the current time)
// the first time.
func (g *clockGate) file() (string, error) {
	if _, err := g.init(); err != nil {
		return "", err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return filepath.Join(g.dir, "now"), nil
}

// init creates the clock file, with the current time, and the gate, the
// first time; it returns the gate.
func (g *clockGate) init() (*timegate.Gate[int64], error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dir != "" {
		return g.gate, nil
	}
	dir, err := os.MkdirTemp(clockBase(), "otplab-clock-")
	if err != nil {
		return nil, fmt.Errorf("%w: the clock file: %w", ErrTransport, err)
	}
	g.dir = dir
	now := g.now().Unix()
	if err := g.writeLocked(now); err != nil {
		_ = os.RemoveAll(dir)
		g.dir = ""
		return nil, err
	}
	// No one else has the gate yet: priming it under g.mu cannot meet
	// write, which takes g.mu under the gate's lock.
	g.gate = timegate.New(g.write)
	g.gate.Prime(now)
	return g.gate, nil
}

// clockBase is where clock files go: /dev/shm (memory) on Linux when
// TMPDIR does not say otherwise, since the clock file is replaced before
// every request at a new time, and on a disk file system (ext4's
// replace-by-rename flushes the data) that costs milliseconds rather than
// tens of microseconds; else the system's temporary directory.
func clockBase() string {
	if os.Getenv("TMPDIR") == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && unixWritable("/dev/shm") {
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

// unixWritable reports whether a directory accepts a new file.
func unixWritable(dir string) bool {
	f, err := os.CreateTemp(dir, ".otplab-probe-")
	if err != nil {
		return false
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return true
}

// write replaces the clock file with one that says at: the gate's set.
func (g *clockGate) write(at int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writeLocked(at)
}

// writeLocked replaces the clock file with one that says at.
func (g *clockGate) writeLocked(at int64) error {
	tmp, dst := filepath.Join(g.dir, "now.tmp"), filepath.Join(g.dir, "now")
	err := os.WriteFile(tmp, []byte(strconv.FormatInt(at, 10)+"\n"), 0o644)
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		return fmt.Errorf("%w: setting the verifier's clock: %w", ErrTransport, err)
	}
	g.sets++
	return nil
}

// enter admits one request: a timed one (check, resync) at time at, once
// the clock says at; an untimed one (enroll, unlock) at once, at whatever
// time the clock says. Every successful enter must be followed by a leave.
func (g *clockGate) enter(ctx context.Context, at int64, timed bool) error {
	if timed && g.sign && at < 0 {
		return fmt.Errorf("%w: the fake clock cannot be set to %d, before 1970", harness.ErrUnsupported, at)
	}
	gate, err := g.init()
	if err != nil {
		return err
	}
	if err := gate.Enter(ctx, at, timed); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return fmt.Errorf("%w: waiting for the verifier's clock: %w", ErrTransport, err)
		}
		return err
	}
	return nil
}

// leave ends one admitted request.
func (g *clockGate) leave() { g.gate.Leave() }

// waiting returns how many requests wait for their time.
func (g *clockGate) waiting() int {
	gate, err := g.init()
	if err != nil {
		return 0
	}
	return gate.Waiting()
}

// close removes the clock file and its directory.
func (g *clockGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dir != "" {
		_ = os.RemoveAll(g.dir)
		g.dir = ""
	}
}

// ClockFromFile returns a clock that reads the clock file at path (see
// [FakeTimeFileEnv]) each time it is called: the way a Go verifier, which
// libfaketime cannot reach, follows the harness's clock. It fails when the
// file cannot be read or does not hold a Unix second now; later, a read
// that fails (the file is replaced by a rename, so this should not happen)
// returns the last time read.
func ClockFromFile(path string) (func() time.Time, error) {
	first, err := readClockFile(path)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		last = first
	)
	return func() time.Time {
		t, err := readClockFile(path)
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			last = t
		}
		return time.Unix(last, 0)
	}, nil
}

func readClockFile(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("clock file: %w", err)
	}
	s := strings.TrimSpace(string(data))
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("clock file %s: %q is not a Unix second", path, excerptString(s))
	}
	return t, nil
}

func excerptString(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
