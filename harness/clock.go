package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/otplab/otplab/internal/timegate"
)

// ManualClock is a clock that stands still until it is set: the clock to
// give an in-process verifier that reads its own time, so that
// [Options.SetClock] can move it to each request's time. Its zero value is
// ready to use and reads the zero [time.Time] until the first Set. It is
// safe for concurrent use.
//
//	clk := &harness.ManualClock{}
//	v := myotp.NewVerifier(store, clk.Now)
//	harness.Run(t, v, harness.Options{SetClock: clk.Set})
type ManualClock struct {
	mu  sync.RWMutex
	now time.Time
}

// Now returns the time last given to Set.
func (c *ManualClock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.now
}

// Set makes Now return t until the next Set.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// withClock wraps v so that set is called with each check's and resync's
// time just before the request reaches v, and so that requests at
// different times are never in flight together. The wrapper is a
// [ClockSetter] that reports true, so a profile with clock "wall" is judged
// on simulated time; it keeps v's [Describer], if any.
func withClock(v Verifier, set func(time.Time)) Verifier {
	return &clocked{v: v, gate: timegate.New(func(at instant) error {
		set(time.Unix(at.sec, int64(at.nsec)))
		return nil
	})}
}

// clocked is the wrapper withClock returns. Enroll and Unlock carry no
// time: they go at once, at whatever time the clock says, but a new time
// waits for them as for any request in flight.
type clocked struct {
	v    Verifier
	gate *timegate.Gate[instant]
}

func (c *clocked) Enroll(ctx context.Context, tok Token) error {
	if err := c.enter(ctx, time.Time{}, false); err != nil {
		return err
	}
	defer c.gate.Leave()
	return c.v.Enroll(ctx, tok)
}

func (c *clocked) Check(ctx context.Context, req CheckRequest) (Reply, error) {
	if err := c.enter(ctx, req.Time, true); err != nil {
		return Reply{}, err
	}
	defer c.gate.Leave()
	return c.v.Check(ctx, req)
}

func (c *clocked) Resync(ctx context.Context, req ResyncRequest) (Reply, error) {
	if err := c.enter(ctx, req.Time, true); err != nil {
		return Reply{}, err
	}
	defer c.gate.Leave()
	return c.v.Resync(ctx, req)
}

func (c *clocked) Unlock(ctx context.Context, serial string) error {
	if err := c.enter(ctx, time.Time{}, false); err != nil {
		return err
	}
	defer c.gate.Leave()
	return c.v.Unlock(ctx, serial)
}

// Describe answers for the wrapped verifier. One that is no [Describer]
// answers with an empty Info, which the engine treats as no answer at all:
// no name, every operation, no claimed profile.
func (c *clocked) Describe(ctx context.Context) (Info, error) {
	if d, ok := c.v.(Describer); ok {
		return d.Describe(ctx)
	}
	return Info{}, nil
}

// SetsClock reports true: the verifier's clock follows the requests.
func (c *clocked) SetsClock() bool { return true }

// instant is a request time as the gate compares it: Unix seconds and
// nanoseconds (UnixNano would overflow past 2262, and the suite asks for
// 2603).
type instant struct {
	sec  int64
	nsec int32
}

// enter admits a request at time at (timed: a check or resync) through the
// gate, wrapping a wait that ctx ended.
func (c *clocked) enter(ctx context.Context, at time.Time, timed bool) error {
	if err := c.gate.Enter(ctx, instant{at.Unix(), int32(at.Nanosecond())}, timed); err != nil {
		return fmt.Errorf("waiting for the verifier's clock to reach %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	return nil
}
