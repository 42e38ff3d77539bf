// Package timegate admits requests to a verifier whose clock the caller
// sets before each request: the requests in flight together all share the
// clock's time. A request at another time waits until the ones in flight
// are answered; then the clock is set and it goes. Waiting requests go in
// arrival order, and a request at the clock's time queues behind them, so
// none starves. Untimed requests (enroll, unlock) go at once, at whatever
// time the clock says, and count as in flight.
//
// The exec adapter's libfaketime clock file and the harness's in-process
// SetClock both go through a Gate.
package timegate

import (
	"context"
	"sync"
)

// Gate admits requests at times of type T. It is safe for concurrent use.
type Gate[T comparable] struct {
	set func(T) error

	mu    sync.Mutex
	cur   T    // the time the clock says
	valid bool // cur is known
	busy  int  // requests admitted and not done
	queue []*waiter[T]
}

type waiter[T comparable] struct {
	at    T
	ready chan struct{}
	err   error // set before ready is closed when the clock could not be set
	in    bool  // admitted
}

// New returns a gate that calls set to move the clock. set is called with
// the gate's lock held: it must return promptly and must not enter the
// gate. An error from set fails the request that needed the new time; the
// clock is then taken to say what it said before.
func New[T comparable](set func(T) error) *Gate[T] {
	return &Gate[T]{set: set}
}

// Prime tells the gate that the clock says t, without setting it.
func (g *Gate[T]) Prime(t T) {
	g.mu.Lock()
	g.cur, g.valid = t, true
	g.mu.Unlock()
}

// Waiting returns how many requests are waiting for their time.
func (g *Gate[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func (g *Gate[T]) at(t T) bool { return g.valid && g.cur == t }

func (g *Gate[T]) setLocked(t T) error {
	if err := g.set(t); err != nil {
		return err
	}
	g.cur, g.valid = t, true
	return nil
}

// Enter admits one request: a timed one once the clock says at (setting it
// when nothing else is in flight), an untimed one at once. Every Enter
// that returns nil must be followed by one Leave. It returns set's error
// when the clock could not be set, and ctx's error when ctx ends while the
// request waits.
func (g *Gate[T]) Enter(ctx context.Context, at T, timed bool) error {
	g.mu.Lock()
	if !timed || len(g.queue) == 0 && (g.at(at) || g.busy == 0) {
		var err error
		if timed && !g.at(at) {
			err = g.setLocked(at)
		}
		if err == nil {
			g.busy++
		}
		g.mu.Unlock()
		return err
	}
	w := &waiter[T]{at: at, ready: make(chan struct{})}
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return w.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.in {
		if w.err == nil {
			// Admitted as ctx ended: give the place back.
			g.busy--
		}
	} else {
		for i, q := range g.queue {
			if q == w {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				break
			}
		}
	}
	g.admitLocked()
	return ctx.Err()
}

// Leave ends one admitted request.
func (g *Gate[T]) Leave() {
	g.mu.Lock()
	g.busy--
	g.admitLocked()
	g.mu.Unlock()
}

// admitLocked lets the waiting requests at the head of the queue go: those
// at the clock's time, and, once nothing is in flight, the next time.
func (g *Gate[T]) admitLocked() {
	for len(g.queue) > 0 {
		w := g.queue[0]
		if !g.at(w.at) {
			if g.busy > 0 {
				return
			}
			w.err = g.setLocked(w.at)
		}
		g.queue = g.queue[1:]
		w.in = true
		if w.err == nil {
			g.busy++
		}
		close(w.ready)
	}
}
