package main

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// fakeClock is a waitClock that moves only when told; its timers fire in
// advance, in time order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, tm)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !tm.stopped
		tm.stopped = true
		return was
	}
}

// pending counts the timers not fired or stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if !tm.stopped {
			n++
		}
	}
	return n
}

// advance moves the clock on by d, firing each timer due on the way at
// its own time.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var due *fakeTimer
		for _, tm := range c.timers {
			if !tm.stopped && !tm.at.After(end) {
				due = tm
				break
			}
		}
		if due == nil {
			break
		}
		due.stopped = true
		if due.at.After(c.now) {
			c.now = due.at
		}
		c.mu.Unlock()
		due.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// lockedBuffer is a strings.Builder safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// take returns what was written since the last take.
func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	b.b.Reset()
	return s
}

func step(id string, d time.Duration, inFlight int) harness.Waiting {
	return harness.Waiting{ID: id, For: d, Why: "a step boundary to pass", InFlight: inFlight}
}

// TestWaitLineLogCoalesces: in a log, twelve cases that start waiting at
// once give one line, with the longest wait and the number in flight; a
// line comes at most once a second, and none without a new wait.
func TestWaitLineLogCoalesces(t *testing.T) {
	var out lockedBuffer
	clk := newFakeClock()
	p := newProgressOn(&out, false, clk)
	for i := range 12 {
		p.waiting(step("case-"+itoa(i), time.Duration(12+i)*time.Second, i+1))
	}
	assert.Empty(t, out.take(), "the waits that start together are gathered first")
	clk.advance(waitGather)
	assert.Equal(t, "waiting 23 s for a step boundary to pass; 12 cases in flight\n", out.take())

	// Another wait 0.3 s later waits for the second to be over.
	clk.advance(300 * time.Millisecond)
	p.waiting(harness.Waiting{ID: "case-long", For: 30 * time.Second, Why: "time to pass", InFlight: 12})
	clk.advance(600 * time.Millisecond)
	assert.Empty(t, out.take(), "at most one line a second")
	clk.advance(100 * time.Millisecond)
	assert.Equal(t, "waiting 30 s for time to pass; 12 cases in flight\n", out.take())

	clk.advance(time.Minute)
	assert.Empty(t, out.take(), "no new wait, no line")
	assert.Zero(t, clk.pending())

	// Long after, a new wait is shown after the gathering time alone.
	p.waiting(harness.Waiting{ID: "", For: 5 * time.Second, Why: "a step boundary to pass"})
	clk.advance(waitGather)
	assert.Equal(t, "waiting 5 s for a step boundary to pass (measuring the verifier's clock offset)\n", out.take())
	p.waiting(step("one", 3*time.Second, 1))
	clk.advance(time.Second)
	assert.Equal(t, "waiting 4 s for a step boundary to pass; 1 case in flight\n", out.take(), "the longest still to go")
}

// TestWaitLineTerminalCountsDown: on a terminal the wait line replaces the
// case line, counts down each second and gives the case line back when
// the waits are over.
func TestWaitLineTerminalCountsDown(t *testing.T) {
	var out lockedBuffer
	clk := newFakeClock()
	p := newProgressOn(&out, true, clk)
	p.update(harness.Progress{Index: 3, Total: 9, ID: "rfc6238/4.2/current-step"})
	assert.Equal(t, clearLine+"[3/9] rfc6238/4.2/current-step ...", out.take())

	p.waiting(step("a", 3*time.Second, 2))
	p.waiting(step("b", 2*time.Second, 2))
	clk.advance(waitGather)
	assert.Equal(t, clearLine+"waiting 3 s for a step boundary to pass; 2 cases in flight", out.take())
	clk.advance(time.Second)
	assert.Equal(t, clearLine+"waiting 2 s for a step boundary to pass; 2 cases in flight", out.take())

	// A case starting or ending does not hide the wait (a failure is
	// printed once, in the summary).
	p.update(harness.Progress{Index: 4, Total: 9, ID: "rfc6238/5.2/skew-back-edge"})
	assert.Empty(t, out.take())
	r := harness.Result{ID: "rfc6238/4.2/current-step", Verdict: harness.Fail}
	p.update(harness.Progress{Index: 3, Total: 9, ID: r.ID, Result: &r})
	assert.Empty(t, out.take())

	clk.advance(time.Second)
	assert.Equal(t, clearLine+"waiting 1 s for a step boundary to pass; 2 cases in flight", out.take())
	clk.advance(time.Second)
	assert.Equal(t, clearLine+"[4/9] rfc6238/5.2/skew-back-edge ...", out.take(), "the case line is back")
	clk.advance(time.Minute)
	assert.Empty(t, out.take())
	assert.Zero(t, clk.pending(), "no timer once the waits are over")
}

// TestWaitLineConcurrent: waits reported from many goroutines at once give
// one line.
func TestWaitLineConcurrent(t *testing.T) {
	var out lockedBuffer
	clk := newFakeClock()
	p := newProgressOn(&out, false, clk)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.waiting(step("case-"+itoa(i), time.Duration(1+i%10)*time.Second, 50))
		}()
	}
	wg.Wait()
	clk.advance(waitGather)
	assert.Equal(t, "waiting 10 s for a step boundary to pass; 50 cases in flight\n", out.take())
}

// TestWaitLineFinish: after the run nothing more is written, and the
// pending timer is stopped.
func TestWaitLineFinish(t *testing.T) {
	var out lockedBuffer
	clk := newFakeClock()
	p := newProgressOn(&out, true, clk)
	p.waiting(step("a", 30*time.Second, 1))
	clk.advance(waitGather)
	out.take()
	p.finish()
	assert.Equal(t, clearLine, out.take())
	assert.Zero(t, clk.pending())
	p.waiting(step("b", 30*time.Second, 1))
	clk.advance(time.Minute)
	assert.Empty(t, out.take())
}

// TestRunShowsWaits runs one case that waits 5 s on real time against the
// reference on its own clock over HTTP: the text output shows the wait;
// with --output json standard output is the JSON report alone.
func TestRunShowsWaits(t *testing.T) {
	// One verifier per run: two runs with one seed enroll the same serials.
	argsFor := func(t *testing.T) []string {
		p := reference.Default()
		p.Clock = harness.ClockWall
		v, err := reference.New(p)
		require.NoError(t, err)
		srv := httptest.NewServer(wire.NewHandler(v, "/", wire.ServeOptions{}))
		t.Cleanup(srv.Close)
		return []string{"run", "--verifier", srv.URL + "/", "--run", `^rfc6238/5\.2/reuse-same-step$`, "--seed", "1"}
	}
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		r := cli(t, t.Context(), argsFor(t)...)
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.Regexp(t, regexp.MustCompile(`(?m)^waiting 5 s for time to pass; 1 case in flight$`), r.stdout)
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := cli(t, t.Context(), append(argsFor(t), "--output", "json")...)
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.NotContains(t, r.stdout, "waiting")
		assert.NotContains(t, r.stderr, "waiting")
		var doc map[string]any
		assert.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "stdout is one JSON document")
	})
}
