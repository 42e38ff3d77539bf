package main

import (
	"fmt"
	"time"

	"github.com/otplab/otplab/harness"
)

// waitClock is the time the wait line reads and its timers: the real
// clock in the CLI, a fake one in tests.
type waitClock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d and returns a
	// function that stops the timer.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

const (
	// waitGather is how long the wait line gathers the waits that start
	// together (all the real-time cases start at once) before it shows
	// them in one line.
	waitGather = 200 * time.Millisecond
	// waitEvery is the least time between two wait lines.
	waitEvery = time.Second
)

// waitLine shows the run's waits for real time (harness.Options.Waiting),
// as one line for many waits: the longest still to go, what it waits for,
// and how many real-time cases are in flight, such as
//
//	waiting 23 s for a step boundary to pass; 12 cases in flight
//
// It shows a line at most once a second, gathering the waits reported in
// between. On a terminal the line is the live line and counts down each
// second until the waits are over, when the case line comes back; in a
// log it is a plain line, written only when a new wait was reported. Its
// state and every write are guarded by the progress's lock, since waits
// are reported from several goroutines at once.
type waitLine struct {
	p     *progress
	clock waitClock

	waits    map[string]pendingWait // by case ID ("" for the clock-offset measurement)
	inFlight int                    // as the last report said
	last     time.Time              // when the last line was written; zero before the first
	dirty    bool                   // a wait was reported since the last line
	shown    bool                   // a terminal shows the wait line now
	stop     func() bool            // the timer of the next line, nil when none
	done     bool                   // the run is over
}

// pendingWait is one case's wait.
type pendingWait struct {
	end time.Time
	why string
}

func newWaitLine(p *progress, clock waitClock) *waitLine {
	return &waitLine{p: p, clock: clock, waits: map[string]pendingWait{}}
}

// report is the harness.Options.Waiting callback.
func (l *waitLine) report(w harness.Waiting) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.done {
		return
	}
	now := l.clock.Now()
	l.waits[w.ID] = pendingWait{end: now.Add(w.For), why: w.Why}
	l.inFlight = w.InFlight
	l.dirty = true
	if l.stop != nil {
		return // a line is due: it will show this wait too
	}
	d := waitGather
	if next := l.last.Add(waitEvery); !l.last.IsZero() && next.Sub(now) > d {
		d = next.Sub(now)
	}
	l.stop = l.clock.AfterFunc(d, l.tick)
}

// tick writes the line that is due.
func (l *waitLine) tick() {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.stop = nil
	if l.done || !l.dirty && !l.p.live {
		return
	}
	l.writeLocked()
}

// writeLocked writes the line for the waits still to go and, on a
// terminal, schedules the next second's.
func (l *waitLine) writeLocked() {
	now := l.clock.Now()
	var longest pendingWait
	for id, w := range l.waits {
		if !w.end.After(now) {
			delete(l.waits, id)
		} else if w.end.After(longest.end) {
			longest = w
		}
	}
	l.dirty = false
	if len(l.waits) == 0 {
		if l.shown {
			// The waits are over: the case line comes back.
			fmt.Fprint(l.p.w, clearLine+l.p.liveText)
			l.shown = false
		}
		return
	}
	secs := int64((longest.end.Sub(now) + time.Second - 1) / time.Second)
	line := fmt.Sprintf("waiting %d s for %s", secs, longest.why)
	switch {
	case l.inFlight == 1:
		line += "; 1 case in flight"
	case l.inFlight > 1:
		line += fmt.Sprintf("; %d cases in flight", l.inFlight)
	default:
		line += " (measuring the verifier's clock offset)"
	}
	l.last = now
	if !l.p.live {
		fmt.Fprintln(l.p.w, line)
		return
	}
	fmt.Fprint(l.p.w, clearLine+line)
	l.shown = true
	if l.stop == nil {
		l.stop = l.clock.AfterFunc(waitEvery, l.tick)
	}
}

// finishLocked stops the line: nothing is written after it.
func (l *waitLine) finishLocked() {
	l.done = true
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}
