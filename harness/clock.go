package harness

import (
	"context"
	"fmt"
	"sync"
	"time"
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
	return &clocked{v: v, gate: &timeGate{set: set}}
}

// clocked is the wrapper withClock returns. Enroll and Unlock carry no
// time: they go at once, at whatever time the clock says, but a new time
// waits for them as for any request in flight.
type clocked struct {
	v    Verifier
	gate *timeGate
}

func (c *clocked) Enroll(ctx context.Context, tok Token) error {
	if err := c.gate.enter(ctx, time.Time{}, false); err != nil {
		return err
	}
	defer c.gate.leave()
	return c.v.Enroll(ctx, tok)
}

func (c *clocked) Check(ctx context.Context, req CheckRequest) (Reply, error) {
	if err := c.gate.enter(ctx, req.Time, true); err != nil {
		return Reply{}, err
	}
	defer c.gate.leave()
	return c.v.Check(ctx, req)
}

func (c *clocked) Resync(ctx context.Context, req ResyncRequest) (Reply, error) {
	if err := c.gate.enter(ctx, req.Time, true); err != nil {
		return Reply{}, err
	}
	defer c.gate.leave()
	return c.v.Resync(ctx, req)
}

func (c *clocked) Unlock(ctx context.Context, serial string) error {
	if err := c.gate.enter(ctx, time.Time{}, false); err != nil {
		return err
	}
	defer c.gate.leave()
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

// timeGate admits requests so that those in flight together all share the
// clock's time: a request at another time waits until the ones in flight
// are answered, then the clock is set and it goes. Waiting requests go in
// arrival order, and a request at the clock's time queues behind them, so
// none starves. Untimed requests go at once and count as in flight.
type timeGate struct {
	set func(time.Time)

	mu    sync.Mutex
	cur   time.Time // the time the clock was last set to
	valid bool      // cur has been set
	busy  int       // requests admitted and not done
	queue []*gateWaiter
}

type gateWaiter struct {
	at    time.Time
	ready chan struct{}
	in    bool // admitted
}

// at reports whether the clock says t.
func (g *timeGate) at(t time.Time) bool { return g.valid && g.cur.Equal(t) }

// setLocked sets the clock to t.
func (g *timeGate) setLocked(t time.Time) {
	g.set(t)
	g.cur, g.valid = t, true
}

// enter admits one request: a timed one (check, resync) once the clock
// says at, an untimed one (enroll, unlock) at once. Every successful enter
// must be followed by a leave. It fails, wrapping ctx's error, when ctx
// ends while the request waits.
func (g *timeGate) enter(ctx context.Context, at time.Time, timed bool) error {
	g.mu.Lock()
	if !timed || len(g.queue) == 0 && (g.at(at) || g.busy == 0) {
		if timed && !g.at(at) {
			g.setLocked(at)
		}
		g.busy++
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{at: at, ready: make(chan struct{})}
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.in {
		// Admitted as ctx ended: give the place back.
		g.busy--
	} else {
		for i, q := range g.queue {
			if q == w {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				break
			}
		}
	}
	g.admitLocked()
	return fmt.Errorf("waiting for the verifier's clock to reach %s: %w", at.UTC().Format(time.RFC3339), ctx.Err())
}

// leave ends one admitted request.
func (g *timeGate) leave() {
	g.mu.Lock()
	g.busy--
	g.admitLocked()
	g.mu.Unlock()
}

// admitLocked lets the waiting requests at the head of the queue go: those
// at the clock's time, and, once nothing is in flight, the next time.
func (g *timeGate) admitLocked() {
	for len(g.queue) > 0 {
		w := g.queue[0]
		if !g.at(w.at) {
			if g.busy > 0 {
				return
			}
			g.setLocked(w.at)
		}
		g.queue = g.queue[1:]
		w.in = true
		g.busy++
		close(w.ready)
	}
}
