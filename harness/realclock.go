package harness

import (
	"fmt"
	"math"
	"runtime"
	"time"
)

// Real time for the HOTP time rules. On real time (a verifier on its own
// clock that the adapter cannot set) a case's simulated seconds are real
// seconds (realSeconds: second base is the real instant start, and a
// request planned at second s goes out at start + (s - base)). The throttle,
// rate limit, release and automatic resync compare times of the same
// token, so only differences matter and no clock offset is needed; but the
// verifier may count whole seconds, and a request takes time to arrive, so
// the difference it sees can be a second off the planned one. The
// token's tracker therefore judges every check and resync at the planned
// second and one either side (tracker.fuzz), and a check whose answer the
// case needs certain is moved, by the fewest seconds, to where a correct
// verifier gives that answer at all three: a check meant for the last
// second of a delay goes a second earlier, one meant for its first free
// second a second later. When no second nearby makes it certain the check
// is judged leniently (any answer a correct verifier may give) and the
// case says so.

// realFuzz is the tracker's uncertainty, in seconds, on real time.
const realFuzz = 1

// placeSlack is how late a request may leave after its planned real
// instant before the case's clock moves on to the next second.
const placeSlack = 250 * time.Millisecond

// maxShift bounds how many seconds a check is moved to make its answer
// certain.
const maxShift = 3

// DefaultMaxWait bounds the real time one case waits on real time, for
// time rules to run out (in total) or for steps to pass, when
// Options.MaxWait is zero.
const DefaultMaxWait = 10 * time.Minute

// hasTimeRules reports whether the profile claims a rule that depends on
// the time between requests of one token (throttle, rate limit, lock
// release, automatic resync).
func (p Profile) hasTimeRules() bool {
	return p.Throttle != nil || p.RateLimit != nil || p.ReleaseAfter() > 0 || p.Resync != nil && p.Resync.Auto != nil
}

// realHOTP reports whether s's requests are placed on real time.
func (s *sim) realHOTP() bool { return s.tok.Kind == HOTP && s.t.run.realTime() }

// realSeconds maps the whole seconds of a case (or of a property
// sequence) onto real time: second base is the real instant start.
type realSeconds struct {
	start time.Time
	base  int64
}

// newRealSeconds starts at now: its second base is now's Unix second.
func newRealSeconds(now time.Time) realSeconds { return realSeconds{start: now, base: now.Unix()} }

// floor is the earliest second whose real instant is not already more
// than placeSlack past at now.
func (c realSeconds) floor(now time.Time) int64 {
	late := now.Sub(c.start) - placeSlack
	if late <= 0 {
		return c.base
	}
	return c.base + int64(math.Ceil(late.Seconds()))
}

// until is how long after now second sec's real instant comes.
func (c realSeconds) until(sec int64, now time.Time) time.Duration {
	return c.start.Add(time.Duration(sec-c.base) * time.Second).Sub(now)
}

// startReal starts the case's real clock: its simulated now becomes the
// local real second.
func (t *ct) startReal() {
	t.rt = newRealSeconds(t.run.now())
	t.simNow = t.rt.base
}

// realFloor is the earliest second of the case's clock whose real instant
// is not already more than placeSlack past.
func (t *ct) realFloor() int64 { return t.rt.floor(t.run.now()) }

// catchUp moves the case's clock on to the real now when the case has
// fallen behind it (its requests are going out late: a busy machine, a
// slow verifier), noting that it did, and returns the real floor.
func (t *ct) catchUp() int64 {
	floor := t.realFloor()
	if floor > t.simNow {
		t.late = true
		t.simNow = floor
	}
	return floor
}

// place puts request r on real time. It first moves the case's clock on to
// the real now when the case has fallen behind it; then, when want is not
// nil, it looks for the second nearest the planned one (never in the
// past, at most maxShift away) at which a correct verifier surely gives
// *want, and moves the clock there; it then waits for that second's real
// instant and sets r.Time. It reports whether the answer is certain (false
// also when want is nil).
func (s *sim) place(r *Request, want *bool) bool {
	t := s.t
	floor := t.catchUp()
	planned := t.simNow
	certain := false
	if want != nil {
		// The nearest second where the answer is certain and the state it
		// leaves too (a wrong code a second early may be refused by the
		// throttle, uncounted, instead of compared: the same answer, not
		// the same state); failing that, where the answer is.
		for _, strict := range []bool{true, false} {
			for _, c := range nearby(planned, floor) {
				q := *r
				q.Time = c
				if exp := s.tr.expect(q); len(exp) == 1 && exp[0] == *want && (!strict || s.tr.oneNext(q, *want)) {
					t.simNow, certain = c, true
					break
				}
			}
			if certain {
				break
			}
		}
		if certain && t.simNow != planned {
			s.tell("moved the next request %+d s from its planned time [t=%+ds]: on real time the verifier's clock is known to %d s, and the planned time was that close to the edge of a time rule", t.simNow-planned, planned-t.start, realFuzz)
		}
	}
	t.sleepUntil(t.simNow)
	r.Time = t.simNow
	return certain
}

// nearby lists the seconds around planned, nearest first (earlier before
// later at the same distance), none before floor.
func nearby(planned, floor int64) []int64 {
	out := []int64{planned}
	for d := int64(1); d <= maxShift; d++ {
		if planned-d >= floor {
			out = append(out, planned-d)
		}
		out = append(out, planned+d)
	}
	return out
}

// sleepUntil waits for the real instant of the case's second sec. A case
// whose waits add up to more than Options.MaxWait SKIPs.
func (t *ct) sleepUntil(sec int64) {
	d := t.rt.until(sec, t.run.now())
	if d <= 0 {
		return
	}
	limit := t.run.opts.MaxWait
	if limit <= 0 {
		limit = DefaultMaxWait
	}
	if t.waited+d > limit {
		t.skip("on real time the case needs more than %v of waiting for time rules to run out (Options.MaxWait, --max-wait); a verifier whose clock the harness sets (exec under libfaketime) is judged without waiting", limit)
	}
	t.waited += d
	if d >= time.Second {
		t.run.waiting(t.def.id, int64(math.Ceil(d.Seconds())), "a time rule to run out")
	}
	select {
	case <-time.After(d):
	case <-t.ctx.Done():
		t.abort("interrupted while waiting %v on real time", d.Round(time.Millisecond))
	}
}

// replyInTime ends the attempt as inconclusive (redo) when the reply to r,
// placed on real time, came a second or more after r's planned instant:
// the verifier may then have read a second past the tracker's fuzz, and
// its answer cannot be judged to the model's second. A quiet machine and a
// verifier that answers in well under a second never get here.
func (s *sim) replyInTime(r Request) {
	t := s.t
	if !s.realHOTP() {
		return
	}
	late := -t.rt.until(r.Time, t.run.now())
	if late < time.Second {
		return
	}
	t.late = true
	t.mu.Lock()
	t.redo = fmt.Sprintf("the verifier answered a request of the case %v after its planned second", late.Round(10*time.Millisecond))
	t.mu.Unlock()
	runtime.Goexit()
}

// lenientNote records, once per case, that a check was judged leniently.
func (s *sim) lenientNote(what string) {
	if s.t.lenient {
		return
	}
	s.t.lenient = true
	s.t.note("on real time %s was judged leniently: no second within %d s of the planned one made a correct verifier's answer certain (the verifier's clock is known to %d s)", what, maxShift, realFuzz)
}

// realWhen is the request time of a burst or an open check on real time:
// the case's clock placed on the real now, no answer needed.
func (s *sim) realWhen() time.Time {
	r := Request{Op: opCheck}
	s.place(&r, nil)
	return time.Unix(r.Time, 0)
}
