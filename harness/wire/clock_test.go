package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

func newGate(t *testing.T) *clockGate {
	t.Helper()
	g := &clockGate{now: func() time.Time { return time.Unix(1000, 0) }, sign: true}
	t.Cleanup(g.close)
	return g
}

// fileTime reads the gate's clock file.
func fileTime(t *testing.T, g *clockGate) int64 {
	t.Helper()
	path, err := g.file()
	require.NoError(t, err)
	at, err := readClockFile(path)
	require.NoError(t, err)
	return at
}

// entered starts enter in a goroutine and returns a channel that yields
// its error once it returns.
func entered(ctx context.Context, g *clockGate, at int64, timed bool) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- g.enter(ctx, at, timed) }()
	return ch
}

func blocked(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s went through (err %v) while it had to wait", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func through(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		require.NoError(t, err, what)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not go through", what)
	}
}

func TestClockGateStartsAtNow(t *testing.T) {
	g := newGate(t)
	assert.Equal(t, int64(1000), fileTime(t, g))
	require.NoError(t, g.enter(t.Context(), 0, false)) // untimed: the clock stays
	assert.Equal(t, int64(1000), fileTime(t, g))
	g.leave()
}

// TestClockGateOrders: requests at the clock's time pipeline; one at
// another time waits for them, then the clock moves; a later request at
// the old time queues behind it (no starvation), and an untimed one goes
// at once.
func TestClockGateOrders(t *testing.T) {
	g := newGate(t)
	ctx := t.Context()
	require.NoError(t, g.enter(ctx, 10, true))
	assert.Equal(t, int64(10), fileTime(t, g))
	through(t, entered(ctx, g, 10, true), "a second request at the same time") // pipelined
	at11 := entered(ctx, g, 11, true)
	blocked(t, at11, "a request at another time")
	at10 := entered(ctx, g, 10, true)
	blocked(t, at10, "a request at the old time behind a waiting one")
	through(t, entered(ctx, g, 0, false), "an untimed request")
	g.leave() // the untimed one
	g.leave()
	blocked(t, at11, "a request at another time, with one still in flight")
	assert.Equal(t, int64(10), fileTime(t, g), "the clock moved with a request in flight")
	g.leave()
	through(t, at11, "the request at the new time")
	assert.Equal(t, int64(11), fileTime(t, g))
	blocked(t, at10, "the request at the old time")
	g.leave()
	through(t, at10, "the request at the old time")
	assert.Equal(t, int64(10), fileTime(t, g))
	g.leave()
	assert.Equal(t, 3, g.sets-1, "clock settings after the first")
}

func TestClockGateCancel(t *testing.T) {
	g := newGate(t)
	require.NoError(t, g.enter(t.Context(), 10, true))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	err := g.enter(ctx, 11, true)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, ErrTransport)
	assert.Zero(t, g.waiting(), "a request that gave up stays queued")
	g.leave()
	require.NoError(t, g.enter(t.Context(), 12, true), "the gate is stuck after a cancelled wait")
	assert.Equal(t, int64(12), fileTime(t, g))
	g.leave()
}

func TestClockGateBefore1970(t *testing.T) {
	g := newGate(t)
	err := g.enter(t.Context(), -1, true)
	require.ErrorIs(t, err, harness.ErrUnsupported)
	assert.Contains(t, err.Error(), "before 1970")
	g.sign = false // a clock file read by the verifier itself can say so
	require.NoError(t, g.enter(t.Context(), -1, true))
	assert.Equal(t, int64(-1), fileTime(t, g))
	g.leave()
}

// TestClockGateNeverMixes: from many goroutines at random times, every
// request in flight has the clock file's time, and requests at one time
// do overlap.
func TestClockGateNeverMixes(t *testing.T) {
	g := newGate(t)
	var (
		mu      sync.Mutex
		in      = map[int64]int{}
		overlap atomic.Bool
		wg      sync.WaitGroup
	)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 200 {
				at := int64(rng.IntN(3))
				if err := g.enter(t.Context(), at, true); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				in[at]++
				if len(in) > 1 {
					t.Errorf("requests at %v in flight together", in)
				}
				if in[at] > 1 {
					overlap.Store(true)
				}
				mu.Unlock()
				if got := fileTime(t, g); got != at {
					t.Errorf("clock file says %d for a request at %d", got, at)
				}
				time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
				mu.Lock()
				if in[at]--; in[at] == 0 {
					delete(in, at)
				}
				mu.Unlock()
				g.leave()
			}
		}()
	}
	wg.Wait()
	assert.True(t, overlap.Load(), "no two requests at one time were ever in flight together")
}

func TestClockFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "now")
	_, err := ClockFromFile(path)
	require.Error(t, err, "a missing file")
	require.NoError(t, os.WriteFile(path, []byte("soon\n"), 0o600))
	_, err = ClockFromFile(path)
	require.ErrorContains(t, err, `"soon" is not a Unix second`)
	require.NoError(t, os.WriteFile(path, []byte("1767225600\n"), 0o600))
	now, err := ClockFromFile(path)
	require.NoError(t, err)
	assert.Equal(t, int64(1767225600), now().Unix())
	require.NoError(t, os.WriteFile(path, []byte("20000000000"), 0o600))
	assert.Equal(t, int64(20000000000), now().Unix())
	require.NoError(t, os.Remove(path))
	assert.Equal(t, int64(20000000000), now().Unix(), "a failed read keeps the last time")
}

func TestFakeEnv(t *testing.T) {
	env := []string{"PATH=/bin", "FAKETIME=+1d", "FAKETIME_NO_CACHE=0", "LD_PRELOAD=/x.so", FakeTimeFileEnv + "=/old"}
	got := fakeEnv(env, "/c/now", "/lib/libfaketime.so.1")
	assert.ElementsMatch(t, []string{"PATH=/bin", FakeTimeFileEnv + "=/c/now", "LD_PRELOAD=/lib/libfaketime.so.1:/x.so",
		"FAKETIME_TIMESTAMP_FILE=/c/now", "FAKETIME_FMT=%s", "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"}, got)
	got = fakeEnv(env, "/c/now", "")
	assert.ElementsMatch(t, []string{"PATH=/bin", "LD_PRELOAD=/x.so", FakeTimeFileEnv + "=/c/now"}, got,
		"a clock file alone keeps the environment's LD_PRELOAD and drops its FAKETIME settings")
}

// elfFile writes a minimal x86-64 ELF executable header, with a PT_INTERP
// program header (dynamically linked) or without (static).
func elfFile(t *testing.T, dir, name string, dynamic bool) string {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	phnum, phoff := uint16(0), uint64(0)
	if dynamic {
		phnum, phoff = 1, 64
	}
	le := binary.LittleEndian
	for _, v := range []any{uint16(2), uint16(62), uint32(1), uint64(0), phoff, uint64(0), uint32(0),
		uint16(64), uint16(56), phnum, uint16(64), uint16(0), uint16(0)} {
		require.NoError(t, binary.Write(&b, le, v))
	}
	if dynamic {
		for _, v := range []any{uint32(3), uint32(4), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(1)} {
			require.NoError(t, binary.Write(&b, le, v))
		}
	}
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o755))
	return path
}

func TestFakeTimeReach(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	require.NoError(t, err)
	script := func(name, line string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(line+"\necho hi\n"), 0o755))
		return path
	}
	static := elfFile(t, dir, "static", false)
	dynamic := elfFile(t, dir, "dynamic", true)
	for _, tc := range []struct {
		name, prog, want string // want: "" reachable, else a part of the reason
	}{
		{"dynamic ELF", dynamic, ""},
		{"static ELF", static, "statically linked"},
		{"Go program", exe, "is a Go program"},
		{"script of a dynamic interpreter", script("dyn.sh", "#!"+dynamic+" -e"), ""},
		{"script of a static interpreter", script("static.sh", "#!"+static), "statically linked"},
		{"script through env", script("env.sh", "#!/usr/bin/env -S "+exe+" -x"), "is a Go program"},
		{"not a program", "/nonexistent/verifier", "nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := FakeTimeReach(tc.prog)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrUnreachable)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		assert.NoError(t, FakeTimeReach("sh"), "the system's shell")
	}
}

func TestNewExecClockErrors(t *testing.T) {
	_, err := NewExec([]string{"sh"}, ExecOptions{Clock: "sundial"})
	require.ErrorContains(t, err, `clock control "sundial"`)
	_, err = NewExec([]string{"sh"}, ExecOptions{Clock: ClockFake, FakeTimeLib: "/nonexistent/libfaketime.so.1"})
	require.ErrorIs(t, err, ErrNoFakeTime)
	assert.Contains(t, err.Error(), "apt-get install libfaketime")
}

// TestExecClockFile: the reference verifier on its own clock, reading the
// clock file, passes the suite under ClockFile exactly as the reference
// on the request's clock does; left on real time, its time cases SKIP.
func TestExecClockFile(t *testing.T) {
	noLeaks(t)
	opts := harness.Options{Seed: 7, Checks: 10, Timeout: 10 * time.Second}
	ref := newHelperExec(t, "reference", ExecOptions{})
	want, err := harness.Execute(t.Context(), ref, opts)
	require.NoError(t, err)

	c := newHelperExec(t, "reference-wall", ExecOptions{Clock: ClockFile})
	assert.True(t, c.SetsClock())
	rep, err := harness.Execute(t.Context(), c, opts)
	require.NoError(t, err)
	assert.True(t, rep.ClockSet)
	assert.Equal(t, harness.ClockWall, rep.Profile.Clock, "the report keeps the claimed clock")
	for _, r := range rep.Results {
		assert.Contains(t, []harness.Verdict{harness.Pass, harness.Skip}, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
	}
	assert.Equal(t, want.Counts(), rep.Counts(), "a wall-clock verifier under the clock file is judged like a request-clock one")
	assert.Greater(t, c.ClockSets(), 50)

	real := newHelperExec(t, "reference-wall", ExecOptions{})
	assert.False(t, real.SetsClock())
	rep, err = harness.Execute(t.Context(), real, opts)
	require.NoError(t, err)
	assert.False(t, rep.ClockSet)
	assert.Greater(t, rep.Counts().Skip, want.Counts().Skip, "on real time the time cases SKIP")
	require.NoError(t, c.Close())
}

// needFakeTime skips the test when libfaketime or python3 is missing.
func needFakeTime(t *testing.T) {
	t.Helper()
	if _, err := FindFakeTime(); err != nil {
		t.Skipf("%v: the fake clock cannot be tested (.ci/run installs it)", err)
	}
	pythonExe(t)
}

// clockEcho is a verifier in Python that reads its own clock: it accepts
// a check whose code is its clock's Unix second, and says it reads the
// wall clock.
const clockEcho = `
import json, sys, time
for line in sys.stdin:
    req = json.loads(line)
    rep = {"id": req["id"], "ok": True}
    if req["op"] == "hello":
        rep.update(name="clock echo", ops=["enroll", "check"], profile={"clock": "wall"})
    elif req["op"] == "check":
        rep["accepted"] = req["code"] == str(int(time.clock_gettime(time.CLOCK_REALTIME)))
    sys.stdout.write(json.dumps(rep) + "\n")
    sys.stdout.flush()
`

// TestExecFakeClock: under libfaketime, a verifier that reads its own
// clock sees exactly each request's time, with requests at many times
// sent at once from many goroutines.
func TestExecFakeClock(t *testing.T) {
	needFakeTime(t)
	noLeaks(t)
	for _, mode := range []ClockControl{ClockFake, ClockAuto} {
		t.Run(string(mode), func(t *testing.T) {
			c, err := NewExec([]string{pythonExe(t), "-c", clockEcho}, ExecOptions{Clock: mode, Grace: 200 * time.Millisecond})
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Describe(t.Context())
			require.NoError(t, err)
			require.True(t, c.SetsClock())
			assert.Empty(t, c.ClockNote())
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 20 {
						at := int64(1767225600 + (w*20+i)%5*30)
						if w == 0 && i == 0 {
							at = 20000000000 // the year 2603
						}
						rep, err := c.Check(t.Context(), harness.CheckRequest{Serial: "2000000000001", Code: strconv.FormatInt(at, 10), Time: time.Unix(at, 0)})
						if err != nil || !rep.Accepted {
							t.Errorf("check at %d: the verifier's clock said otherwise (%+v, %v)", at, rep, err)
						}
					}
				}()
			}
			wg.Wait()
			rep, err := c.Check(t.Context(), harness.CheckRequest{Serial: "2000000000001", Code: "1767225600", Time: time.Unix(1767225601, 0)})
			require.NoError(t, err)
			assert.False(t, rep.Accepted, "a clock one second off was accepted: the test proves nothing")
			err = func() error {
				_, err := c.Check(t.Context(), harness.CheckRequest{Serial: "2000000000001", Code: "0", Time: time.Unix(-5, 0)})
				return err
			}()
			require.ErrorIs(t, err, harness.ErrUnsupported, "libfaketime reads -5 as an offset from now")
			if mode == ClockAuto {
				assert.Equal(t, 1, c.Starts(), "the process that claimed wall is replaced once, and only the second counts")
			}
		})
	}
}

// TestExecFakeClockUnreachable: a Go verifier is not put under
// libfaketime; it runs on real time and the client says why.
func TestExecFakeClockUnreachable(t *testing.T) {
	if _, err := FindFakeTime(); err != nil {
		t.Skipf("%v", err)
	}
	noLeaks(t)
	for _, mode := range []ClockControl{ClockFake, ClockAuto} {
		c := newHelperExec(t, "reference-wall", ExecOptions{Clock: mode})
		_, err := c.Describe(t.Context())
		require.NoError(t, err)
		assert.False(t, c.SetsClock(), "%s", mode)
		assert.Contains(t, c.ClockNote(), "is a Go program", "%s", mode)
		assert.Contains(t, c.ClockNote(), "runs on real time", "%s", mode)
		require.NoError(t, c.Close())
	}
	// ClockAuto with a verifier on the request's clock: nothing to set.
	c := newHelperExec(t, "reference", ExecOptions{Clock: ClockAuto})
	_, err := c.Describe(t.Context())
	require.NoError(t, err)
	assert.False(t, c.SetsClock())
	assert.Empty(t, c.ClockNote())
}

// TestExecAutoNoFakeTime: ClockAuto meets a "wall" claim without
// libfaketime: every request fails with the package to install.
func TestExecAutoNoFakeTime(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "reference-wall", ExecOptions{Clock: ClockAuto, FakeTimeLib: "/nonexistent/libfaketime.so.1"})
	_, err := c.Describe(t.Context())
	require.ErrorIs(t, err, ErrNoFakeTime)
	err = c.Enroll(t.Context(), testToken)
	require.ErrorIs(t, err, ErrNoFakeTime)
	assert.True(t, errors.Is(err, ErrTransport))
}

// FuzzClockFile: any clock file content is read as a Unix second or
// refused with an error, never a panic; any second the harness writes is
// read back as that second.
func FuzzClockFile(f *testing.F) {
	for _, s := range []string{"1767225600\n", "0", "-1\n", "20000000000", " 42 \r\n", "", "soon", "9223372036854775808", "+1", "1e9", "12\n34"} {
		f.Add([]byte(s), int64(len(s))*1_000_000_007)
	}
	g := &clockGate{now: time.Now}
	f.Cleanup(g.close)
	path, err := g.file()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte, at int64) {
		require.NoError(t, os.WriteFile(path, data, 0o600))
		if _, err := readClockFile(path); err != nil {
			assert.Contains(t, err.Error(), "clock file")
		}
		g.mu.Lock()
		err := g.writeLocked(at)
		g.mu.Unlock()
		require.NoError(t, err)
		got, err := readClockFile(path)
		require.NoError(t, err)
		assert.Equal(t, at, got)
	})
}

// FuzzFakeTimeReach: any first bytes of a program file (an ELF header, a
// #! line) give nil or a reason that wraps ErrUnreachable, never a panic
// or an endless chain of interpreters.
func FuzzFakeTimeReach(f *testing.F) {
	for _, s := range []string{"#!/bin/sh\n", "#!/usr/bin/env -S python3 -u\n", "#!\n", "#!/usr/bin/env\n", "\x7fELF\x02\x01\x01", "MZ", ""} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "prog")
	f.Fuzz(func(t *testing.T, data []byte) {
		// A script naming itself as its interpreter must end too.
		data = bytes.ReplaceAll(data, []byte("SELF"), []byte(path))
		require.NoError(t, os.WriteFile(path, data, 0o755))
		if err := FakeTimeReach(path); err != nil {
			require.ErrorIs(t, err, ErrUnreachable)
		}
	})
}
