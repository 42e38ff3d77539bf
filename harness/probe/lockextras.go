package probe

import (
	"errors"
	"fmt"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// What a lockout does besides refusing: unlock, reset by a success,
// resync while locked (and a throttle hidden under the lock), rejected
// resyncs that count.

// lockedToken builds a token the lockout has locked: F failures, spaced
// so that each is compared. It returns the moment the lock is certain to
// hold: past the throttle's delay and the rate limit, before a release.
func (p *prober) lockedToken() (*blockTok, int64, error) {
	f := p.lockAfter
	gap := p.initialGap
	if p.throttle != nil {
		gap = p.throttleGap
	}
	bt, err := p.build(f, gap)
	if err != nil {
		return nil, 0, err
	}
	return bt, p.rateFree(bt, bt.last+p.past(p.delay(f))), nil
}

// lockExtras measures, for a lockout, whether unlock works, whether a
// success resets the count, whether resync unlocks and whether a rejected
// resync counts.
func (p *prober) lockExtras() error {
	f := p.lockAfter
	if f == 0 {
		return nil
	}
	if err := p.unlockWorks(); err != nil {
		return err
	}
	if err := p.lockoutReset(f); err != nil {
		return err
	}
	if err := p.resyncCounts(); err != nil {
		return err
	}
	return p.resyncUnlocks()
}

// unlockWorks checks that an administrator's unlock lets the correct code
// in again on a locked token.
func (p *prober) unlockWorks() error {
	since := p.res.Requests
	bt, u, err := p.lockedToken()
	if err != nil {
		return err
	}
	if err := bt.unlock(); err != nil {
		if errors.Is(err, errRefused) {
			p.unlockOK = -1
			p.add(since, Finding{Name: "unlock", Value: "unsupported", Certainty: Exact, Evidence: err.Error()})
			return nil
		}
		return err
	}
	p.unlockOK = 1
	bt.hist = nil
	ok, err := bt.goodAt(u)
	if err != nil {
		return err
	}
	fd := Finding{Name: "unlock", Value: "works", Certainty: Exact,
		Evidence: "a locked token accepted the correct code it had refused, once unlocked: the counter did not move while locked"}
	if !ok {
		fd.Value, fd.Departs = "code still rejected", true
		fd.Evidence = "after unlock the correct code was still rejected: the failures may have moved the counter, or unlock does not work"
	}
	p.add(since, fd)
	return nil
}

// lockoutReset checks that an accepted code resets the failure count:
// F-1 failures, a success, F-1 failures, and the next code is accepted.
func (p *prober) lockoutReset(f int) error {
	since := p.res.Requests
	if f < 2 {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "lockout after 1 failure: nothing to reset"})
		return nil
	}
	if p.primary().kind == harness.HOTP && p.lastUsed && p.l == 0 {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "a token accepts one code only (last used counter, window 0)"})
		return nil
	}
	if p.primary().kind == harness.TOTP && p.realTime() && p.totp != nil && int64(token.DefaultPeriod) > p.horizon() {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured,
			Evidence: fmt.Sprintf("on real time the next code of a time token comes with the next step, %d s later, longer than MaxWait (%d s)", token.DefaultPeriod, p.horizon())})
		return nil
	}
	gap := p.initialGap
	if p.throttle != nil {
		gap = p.throttleGap
	}
	bt, err := p.build(f-1, gap)
	if err != nil {
		return err
	}
	u := p.rateFree(bt, bt.last+p.past(p.delay(f-1)))
	ok, err := bt.goodAt(u)
	if err != nil {
		return err
	}
	if !ok {
		p.add(since, Finding{Name: "lockout-reset", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("the correct code was rejected after %d failures on a fresh token", f-1)})
		return nil
	}
	period := int64(token.DefaultPeriod)
	if bt.t.Kind == harness.TOTP {
		period = bt.t.Period
	}
	v := u + period // a later step for TOTP; nothing for HOTP
	if p.realTime() && bt.t.Kind == harness.HOTP {
		v = u // no need to wait for nothing
	}
	for i := 1; i < f; i++ {
		if i > 1 {
			v += gap(i - 1)
		}
		if p.rate != nil {
			v = p.rateFree(bt, v)
		}
		if err := bt.failAt(v); err != nil {
			return err
		}
	}
	w := p.rateFree(bt, bt.last+p.past(p.delay(f-1)))
	if bt.t.Kind == harness.TOTP && bt.stepAt(w) <= bt.stepAt(u) {
		w = u + period
	}
	ok, err = bt.goodAt(w)
	if err != nil {
		return err
	}
	r := Finding{Name: "lockout-reset", Value: "a success resets the count", Certainty: Exact,
		Evidence: fmt.Sprintf("%d failures, the correct code (accepted), %d failures, the next code: accepted", f-1, f-1)}
	if !ok {
		r.Value, r.Departs = "a success does not reset the count", true
		r.Evidence = fmt.Sprintf("%d failures, the correct code (accepted), %d failures, the next code: rejected; the profile says an accepted check resets the count", f-1, f-1)
	}
	p.add(since, r)
	return nil
}

// resyncUnlocks checks whether a genuine resync is accepted on a locked
// token and unlocks it.
func (p *prober) resyncUnlocks() error {
	since := p.res.Requests
	if p.hotp == nil || p.resyncN == 0 || p.primary().kind != harness.HOTP {
		p.add(since, Finding{Name: "resync-unlocks", Value: "-", Certainty: NotMeasured, Evidence: "no hotp resync"})
		return nil
	}
	bt, u, err := p.lockedToken()
	if err != nil {
		return err
	}
	// Late enough that a throttle hidden under the lock has passed, early
	// enough that a lock which releases still holds.
	switch {
	case p.realTime() && p.release == 0:
		// Wait is never waited for: past the throttle's delay only.
	case p.release == 0:
		u = bt.last + Wait
	default:
		u = max(u, bt.last+p.release-1-p.margin())
	}
	k := p.resyncLo()
	rep, err := bt.resyncAt(bt.genuine(k, p.resyncN), u)
	if err != nil && !errors.Is(err, errRefused) {
		return err
	}
	f := p.lockAfter
	r := Finding{Name: "resync-unlocks", Value: "no", Certainty: Exact,
		Evidence: fmt.Sprintf("after %d failures (locked), a genuine resync was rejected", f)}
	if err == nil && rep.Accepted {
		bt.shift += int64(k) + int64(p.resyncN)
		bt.last = u
		bt.probes = -1
		ok, err := bt.goodAt(p.rateFree(bt, u))
		if err != nil {
			return err
		}
		if ok {
			p.resyncUnl = true
			r.Value = "yes"
			r.Evidence = fmt.Sprintf("after %d failures (locked), a genuine resync was accepted and the next code then accepted", f)
		} else {
			r.Value, r.Departs = "accepted but still locked", true
			r.Evidence = fmt.Sprintf("after %d failures (locked), a genuine resync was accepted but the next code was rejected: neither resync_unlocks value fits", f)
		}
	}
	p.add(since, r)
	if p.resyncUnl && p.throttle == nil {
		return p.throttleUnderLock()
	}
	return nil
}

// throttleUnderLock looks, with genuine resyncs (which a lock with
// resync_unlocks lets through), for a throttle that starts with the
// lockout and so hides under it for checks: a resync at the moment of the
// locking failure is refused by such a throttle only. Its factor shows
// only if a rejected resync counts as a failure (one more failure under
// the lock); otherwise it is written as 1 and the finding says so.
func (p *prober) throttleUnderLock() error {
	since := p.res.Requests
	f := p.lockAfter
	bt, _, err := p.lockedToken()
	if err != nil {
		return err
	}
	rep, err := bt.resyncAt(bt.genuine(p.resyncLo(), p.resyncN), bt.last)
	if err != nil {
		return err
	}
	if rep.Accepted {
		fd := Finding{Name: "throttle-under-lockout", Value: "none", Certainty: Exact,
			Evidence: fmt.Sprintf("a genuine resync at the moment of the failure that locked the token (%d failures) was accepted", f)}
		if p.countsResync {
			// Rejected resyncs count, so failures go on past the lock: a
			// throttle that starts later than the lockout would show only
			// after more of them, which the probe does not send.
			fd.Certainty = CouldNotTell
			fd.Evidence += "; a throttle starting after more failures, reached through rejected resyncs that count while locked, is not searched"
		}
		p.add(since, fd)
		return nil
	}
	build := func() (*blockTok, error) { b, _, err := p.lockedToken(); return b, err }
	d, finite, err := p.resyncUnblock(build, 0)
	if err != nil || !finite {
		return err
	}
	p.throttle = &harness.ThrottlePolicy{After: f, Delay: d, Factor: 1}
	fd := Finding{Name: "throttle-under-lockout", Value: fmt.Sprintf("after %d, delay %d s", f, d), Certainty: CouldNotTell,
		Evidence: fmt.Sprintf("a genuine resync on the locked token was refused for %d s after the locking failure: a throttle from %d failures, under the lockout; its factor does not show (written as 1)", d, f)}
	if p.countsResync {
		// One more failure: a rejected resync once the delay has passed.
		build2 := func() (*blockTok, error) {
			b, _, err := p.lockedToken()
			if err != nil {
				return nil, err
			}
			codes := make([]string, p.resyncN)
			for i := range codes {
				codes[i] = b.wrongAt(b.last + d)
			}
			u := b.last + p.past(d)
			if _, err := b.resyncAt(codes, u); err != nil {
				return nil, err
			}
			b.last = u
			return b, nil
		}
		d2, finite2, err := p.resyncUnblock(build2, 0)
		if err != nil {
			return err
		}
		if finite2 && d2%d == 0 && d2/d >= 1 && d2/d <= 16 {
			p.throttle.Factor = d2 / d
			fd.Value = fmt.Sprintf("after %d, delay %d s, factor %d", f, d, d2/d)
			fd.Certainty = Exact
			fd.Evidence = fmt.Sprintf("a genuine resync on the locked token was refused for %d s after the locking failure, and for %d s after a rejected resync (which counts) once that had passed: a throttle from %d failures, under the lockout", d, d2, f)
		}
	}
	p.add(since, fd)
	return nil
}

// resyncCounts checks lockout.counts_resync: F-1 failures, a rejected
// resync, then the correct code once the throttle has passed: refused
// (locked) if the resync counted.
func (p *prober) resyncCounts() error {
	since := p.res.Requests
	if p.hotp == nil || p.resyncN == 0 || p.primary().kind != harness.HOTP {
		p.add(since, Finding{Name: "counts-resync", Value: "-", Certainty: NotMeasured, Evidence: "no hotp resync"})
		return nil
	}
	f := p.lockAfter
	gap := p.initialGap
	if p.throttle != nil {
		gap = p.throttleGap
	}
	// Counted, the resync is failure number f at u: locked, and with a
	// throttle refused for its delay too. Not counted, the throttle of
	// failure f-1 has passed at u.
	refused, _, err := p.onTime("the correct code after a rejected resync", func() (bool, *blockTok, error) {
		bt, err := p.build(f-1, gap)
		if err != nil {
			return false, nil, err
		}
		u := bt.last + p.past(p.delay(f-1))
		if f == 1 {
			u = bt.unix()
		}
		codes := make([]string, p.resyncN)
		for i := range codes {
			codes[i] = bt.wrongAt(u)
		}
		if _, err := bt.resyncAt(codes, u); err != nil {
			return false, nil, err
		}
		ok, err := bt.goodAt(p.rateFree(bt, u))
		return !ok, bt, err
	})
	if err != nil {
		return err
	}
	ok := !refused
	r := Finding{Name: "counts-resync", Value: "no", Certainty: Exact,
		Evidence: fmt.Sprintf("%d failures, a rejected resync, then the correct code: accepted", f-1)}
	if !ok {
		p.countsResync = true
		r.Value = "yes"
		r.Evidence = fmt.Sprintf("%d failures, a rejected resync, then the correct code: refused (the resync was failure number %d)", f-1, f)
	}
	p.add(since, r)
	return nil
}
