package probe

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Real time. A verifier that reads its own clock, which the probe cannot
// set (an HTTP verifier, an in-process one on time.Now), sees time pass
// only as it really passes. The time rules (rate limit, throttle, lockout
// release, automatic resync) compare the times of requests of one token,
// so no clock offset is needed: each token gets a real origin with its
// first timed request, and a request the searches place at second u of
// the token goes out at origin + (u - start), waiting until then. Requests
// of one token go at non-decreasing seconds (place refuses a second
// before the token's last); a search that must go back in time uses fresh
// tokens, which start at the real now.
//
// The verifier's clock is known only to about a second: it may count whole
// seconds, and a request takes time to arrive. The origins fall at a fixed
// point of the local second (rtPhase), so a verifier on a clock synchronised
// with ours that counts whole seconds sees the planned differences
// exactly; otherwise it may see one more. An edge found on real time (the
// first planned second at which the correct code is accepted) is therefore
// uncertain by a second, and a check whose answer must be certain goes a
// second past the edge (margin). The searches stop at MaxWait: a refusal
// that lasts longer is reported as lasting more than MaxWait, never with a
// made-up value, and Wait (the "forever" of simulated time) is never
// waited for.

// DefaultMaxWait is the longest one search waits on real time when
// Options.MaxWait is zero.
const DefaultMaxWait = 3 * time.Minute

// rtPhase is where in a second of the local clock the tokens' seconds
// begin; rtStart is how late a token's first timed request may go out
// (later, the token starts with the next second, so that the requests of
// its first second have most of it); rtSlack is how late any request may
// go out before its token's clock moves on by a whole second. A request
// within rtSlack is read in its planned second by a verifier that counts
// whole seconds, unless its reply comes after that second ends, which
// overran tells; one that compares instants may see a gap up to rtSlack
// shorter or longer, which the margin (a second) covers.
const (
	rtPhase = 50 * time.Millisecond
	rtStart = 150 * time.Millisecond
	rtSlack = 700 * time.Millisecond
)

// errBackInTime reports a request placed before the token's previous one
// on real time, where the verifier's clock never goes back.
var errBackInTime = errors.New("request placed before the token's previous one on real time")

// errTooLong reports a wait on real time longer than Options.MaxWait
// allows.
var errTooLong = errors.New("wait on real time longer than MaxWait")

// errTooSlow reports that on real time every try of a check came too late
// for its planned second, so that its answer could not be judged.
var errTooSlow = errors.New("the verifier answered too slowly on real time to keep a check within its planned second")

// rtTries is how many fresh tokens a check that must come within a
// planned second gets on real time.
const rtTries = 3

// Waiting reports a wait for real time to pass, to Options.Waiting.
type Waiting struct {
	// Finding names the measurement that waits ("throttle", "rate-limit").
	Finding string
	// For is how long the wait lasts; Why says what it waits for.
	For time.Duration
	Why string
}

// rtClock is a token's real-time clock: its second start is the real
// instant origin.
type rtClock struct {
	origin time.Time
	start  int64
	last   int64
	set    bool
}

// realTime reports whether the probe lets time pass on the real clock.
func (p *prober) realTime() bool { return !p.request() }

// horizon is the longest a search lets time pass, in seconds: Wait on
// simulated time, MaxWait on real time.
func (p *prober) horizon() int64 {
	if p.request() {
		return Wait
	}
	return max(int64(p.o.MaxWait/time.Second), 1)
}

// margin is how many seconds past an edge a check goes to be sure a
// correct verifier is past it: 0 on simulated time, 1 on real time.
func (p *prober) margin() int64 {
	if p.request() {
		return 0
	}
	return 1
}

// past returns the offset after an event at which a delay of d seconds
// since it has surely passed: d on simulated time, one more on real time.
func (p *prober) past(d int64) int64 {
	if d <= 0 {
		return d
	}
	return d + p.margin()
}

// phasePoint returns the origin for a token starting now: the latest
// instant at rtPhase into a local second, if it is at most rtStart ago,
// or else the next one.
func (p *prober) phasePoint() time.Time {
	now := p.o.Now()
	base := now.Truncate(time.Second).Add(rtPhase)
	if now.Before(base) {
		base = base.Add(-time.Second)
	}
	if now.Sub(base) > rtStart {
		base = base.Add(time.Second)
	}
	return base
}

// place waits, on real time, for the instant of second u of t's clock
// (starting the clock when this is t's first timed request) and returns
// how many whole seconds the clock moved on because the request is late
// (the requests before it are that much further in the past than
// planned). It does nothing on simulated time.
func (t *tok) place(u int64) (int64, error) {
	p := t.p
	if p.request() {
		return 0, nil
	}
	c := &t.rt
	if !c.set {
		c.origin, c.start, c.last, c.set = p.phasePoint(), u, u, true
	}
	if u < c.last {
		return 0, fmt.Errorf("%s: %w (second %+d, after %+d)", t.t.Serial, errBackInTime, u-c.start, c.last-c.start)
	}
	c.last = u
	target := c.origin.Add(time.Duration(u-c.start) * time.Second)
	now := p.o.Now()
	var moved int64
	if late := now.Sub(target); late > rtSlack {
		moved = int64((late + time.Second - 1) / time.Second)
		c.origin = c.origin.Add(time.Duration(moved) * time.Second)
		target = target.Add(time.Duration(moved) * time.Second)
		p.noteLate(moved)
	}
	d := target.Sub(now)
	if d <= 0 {
		return moved, nil
	}
	if limit := p.o.MaxWait + 2*time.Second; d > limit {
		return moved, fmt.Errorf("%s: %w: %v", t.t.Serial, errTooLong, d.Round(time.Second))
	}
	return moved, p.sleep(d)
}

// overran reports whether, on real time, the second u of t's clock has
// ended: a request planned for u whose reply comes later may have been
// read by the verifier in a later second. The verifier's seconds end at
// rtPhase before each of the token's (whose seconds begin at rtPhase into
// a local second).
func (t *tok) overran(u int64) bool {
	c := &t.rt
	if t.p.request() || !c.set {
		return false
	}
	end := c.origin.Add(time.Duration(u-c.start+1)*time.Second - rtPhase)
	return t.p.o.Now().After(end)
}

// onTime runs try, which builds a fresh token, sends its last check and
// reports whether that check was refused. On real time an acceptance of a
// check that slipped into a later second than planned (blockTok.slipped)
// proves nothing, since time passing ends refusals: try runs again on a
// fresh token, up to rtTries times in all, and then onTime returns
// errTooSlow. A refusal is always kept: the check came no earlier than
// planned.
func (p *prober) onTime(what string, try func() (bool, *blockTok, error)) (bool, *blockTok, error) {
	for i := 1; ; i++ {
		refused, bt, err := try()
		if err != nil || refused || !p.realTime() || !bt.slipped {
			return refused, bt, err
		}
		p.noteSlip()
		if i == rtTries {
			return false, bt, fmt.Errorf("%s (%d tries on fresh tokens): %w", what, rtTries, errTooSlow)
		}
	}
}

// sleep waits d on the real clock, telling Options.Waiting when d is a
// second or more.
func (p *prober) sleep(d time.Duration) error {
	if d >= time.Second && p.o.Waiting != nil {
		p.mu.Lock()
		w := Waiting{Finding: p.waitFor, For: d, Why: p.waitWhy}
		p.mu.Unlock()
		p.o.Waiting(w)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.ctx.Done():
		return fmt.Errorf("waiting %v on real time: %w", d.Round(time.Millisecond), p.ctx.Err())
	case <-timer.C:
		return nil
	}
}

// announce tells Options.Waiting of a wait of up to d made of many short
// ones (a scan, second by second).
func (p *prober) announce(d time.Duration) {
	if p.o.Waiting == nil || d <= 0 {
		return
	}
	p.mu.Lock()
	w := Waiting{Finding: p.waitFor, For: d, Why: p.waitWhy}
	p.mu.Unlock()
	p.o.Waiting(w)
}

// waiting names what the coming waits are for, for Options.Waiting.
func (p *prober) waiting(finding, why string) {
	p.mu.Lock()
	p.waitFor, p.waitWhy = finding, why
	p.mu.Unlock()
}

// noteSlip records an accepted check that slipped and was not counted.
func (p *prober) noteSlip() {
	p.mu.Lock()
	p.slips++
	p.mu.Unlock()
}

// noteLate records that a token's clock moved on by n seconds.
func (p *prober) noteLate(n int64) {
	p.mu.Lock()
	p.late += n
	p.mu.Unlock()
}

// together runs jobs concurrently (on real time their waits overlap) and
// returns the first error. Jobs may only send requests and wait: enroll
// and draw secrets before.
func (p *prober) together(jobs []func() error) error {
	if len(jobs) == 1 || p.request() {
		for _, j := range jobs {
			if err := j(); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = j()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// realNote is the evidence added to a finding measured on real time.
func (p *prober) realNote() string {
	s := "; on real time (the verifier reads its own clock): each edge is known to a second, the verifier may see one second more than planned"
	p.mu.Lock()
	late, slips := p.late, p.slips
	p.mu.Unlock()
	if late > 0 {
		s += fmt.Sprintf("; requests went out late %d times (the verifier answered slowly), so some gaps were up to a second longer than planned", late)
	}
	if slips > 0 {
		s += fmt.Sprintf("; %d accepted %s slipped into a later second than planned (a slow reply) and did not count as evidence: fresh tokens were tried instead", slips, plural(int(slips), "check"))
	}
	return s
}

// tooLong is the value of a refusal that outlasted MaxWait on real time.
func (p *prober) tooLong() string {
	return fmt.Sprintf("could not tell on real time: longer than %d s", p.horizon())
}

// failSpan is how many seconds f failures and the correct code after them
// take on real time, each as early as the rate limit lets it through.
func (p *prober) failSpan(f int) int64 {
	bt := &blockTok{}
	u := int64(0)
	for range f {
		u = p.rateFree(bt, u)
		bt.hist = append(bt.hist, u)
	}
	return p.rateFree(bt, u)
}

// maxFailures is the largest number of failures whose failSpan fits in
// the horizon (at most MaxLockout).
func (p *prober) maxFailures() int {
	n := 0
	for n < p.o.MaxLockout && p.failSpan(n+1) <= p.horizon() {
		n++
	}
	return n
}
