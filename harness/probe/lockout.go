package probe

import (
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
)

// Lockout and throttle: the first refusal, what it is, and a lockout
// beyond a throttle (see block.go for the method).

// block measures lockout and throttle.
func (p *prober) block() error {
	since := p.res.Requests
	max := p.o.MaxLockout
	rec := p.series("lockout", "failures before the correct code")
	rec(0, true)
	memo := map[int]bool{0: false}
	var firstBlocked *blockTok
	zero := func(int) int64 { return 0 }
	isBlocked := func(f int) (bool, error) {
		if v, ok := memo[f]; ok {
			return v, nil
		}
		b, bt, err := p.blocked(f, p.initialGap, zero)
		if err != nil {
			return false, err
		}
		memo[f] = b
		rec(int64(f), !b)
		if b && (firstBlocked == nil || f < firstBlocked.n) {
			firstBlocked = bt
		}
		return b, nil
	}
	var ev []string
	fStar := 0
	if p.rate != nil && p.realTime() {
		p.waiting("lockout", "the rate limit's window, between failures")
		ev = append(ev, "on real time, each failure as early as the rate limit lets it be compared")
		const linear = 10
		// One token per count, all waiting together; counts whose
		// failures take longer than MaxWait are not tried.
		var fs []int
		for f := 1; f <= min(linear, max) && p.failSpan(f) <= p.horizon(); f++ {
			fs = append(fs, f)
		}
		if len(fs) < min(linear, max) {
			ev = append(ev, fmt.Sprintf("more than %d failures take longer than %d s on real time (MaxWait) and were not tried", len(fs), p.horizon()))
		}
		type out struct {
			b  bool
			bt *blockTok
		}
		outs := make([]out, len(fs))
		jobs := make([]func() error, len(fs))
		for i, f := range fs {
			jobs[i] = func() error {
				b, bt, err := p.blocked(f, p.initialGap, zero)
				outs[i] = out{b, bt}
				return err
			}
		}
		if err := p.together(jobs); err != nil {
			return err
		}
		for i, f := range fs {
			memo[f] = outs[i].b
			rec(int64(f), !outs[i].b)
			if outs[i].b {
				fStar, firstBlocked = f, outs[i].bt
				break
			}
		}
		if top := min(max, p.maxFailures()); fStar == 0 && top > linear {
			b, err := isBlocked(top)
			if err != nil {
				return err
			}
			if b {
				x, _, err := edge(linear, uint64(top), nil, func(x uint64) (bool, error) { b, err := isBlocked(int(x)); return !b, err })
				if err != nil {
					return err
				}
				fStar = int(x) + 1
			}
		}
	} else if p.rate != nil {
		ev = append(ev, fmt.Sprintf("failures %d s apart, so that the rate limit refuses none of them", int64(Wait)))
		const linear = 10
		for f := 1; f <= min(linear, max) && fStar == 0; f++ {
			b, err := isBlocked(f)
			if err != nil {
				return err
			}
			if b {
				fStar = f
			}
		}
		if fStar == 0 && max > linear {
			b, err := isBlocked(max)
			if err != nil {
				return err
			}
			if b {
				x, _, err := edge(linear, uint64(max), nil, func(x uint64) (bool, error) { b, err := isBlocked(int(x)); return !b, err })
				if err != nil {
					return err
				}
				fStar = int(x) + 1
			}
		}
	} else {
		var hint *uint64
		if c := p.claim; c != nil && !p.o.IgnoreClaim {
			h := 0
			if c.LockoutAfter() > 0 {
				h = c.LockoutAfter()
			}
			if c.Throttle != nil && (h == 0 || c.Throttle.After < h) {
				h = c.Throttle.After
			}
			if h > 0 && h <= max {
				hint = harness.Uint64(uint64(h - 1))
			}
		}
		if hint == nil {
			// A scout: up to max failures at one moment, stopping where a
			// reply says locked, then the correct code.
			bt, err := p.blockToken()
			if err != nil {
				return err
			}
			u := bt.unix()
			for bt.n < max && !bt.locked {
				if err := bt.failAt(u); err != nil {
					return err
				}
			}
			ok, err := bt.goodAt(u)
			if err != nil {
				return err
			}
			if bt.locked && bt.n < max {
				ev = append(ev, fmt.Sprintf("a reply said locked after %d failures", bt.n))
				hint = harness.Uint64(uint64(bt.n - 1))
			}
			if ok && bt.slipped {
				p.noteSlip() // proves nothing: the search below decides
			} else {
				memo[bt.n] = !ok
				rec(int64(bt.n), ok)
				if !ok {
					firstBlocked = bt
				}
			}
		}
		if b, ok := memo[max]; !ok || b {
			x, atMax, err := edge(0, uint64(max), hint, func(x uint64) (bool, error) { b, err := isBlocked(int(x)); return !b, err })
			if err != nil {
				return err
			}
			if !atMax {
				fStar = int(x) + 1
			}
		}
	}
	pts := p.res.Series[len(p.res.Series)-1].Points
	evidence := strings.Replace(describePoints(pts[1:], "number of failures f"), "one fresh token per number of failures f:", "one fresh token per number f of wrong codes, then the correct code:", 1)
	if len(ev) > 0 {
		evidence += "; " + strings.Join(ev, "; ")
	}
	p.lockDone = true
	if fStar == 0 {
		cert := NotObserved
		hide := ""
		if r := p.rate; r != nil && r.Attempts == 1 && p.request() {
			hide = fmt.Sprintf("; a lock that releases within %d s, or a throttle shorter than that, would hide under the rate limit", r.Per)
		}
		if p.rate == nil {
			// Nothing limits guessing: a finding, and the profile
			// declares limits "none".
			p.add(since, Finding{Name: "guessing-limit", Value: "none", Certainty: cert, Weak: true,
				Evidence: fmt.Sprintf("no limit on guessing: %d wrong codes then the right one accepted (no lockout, throttle or rate limit; RFC 4226 §7.3: the server needs to detect and stop brute force attacks); the profile declares \"limits\": \"none\"; ", max) + evidence})
			p.counterAfterFailure()
			return nil
		}
		p.add(since, Finding{Name: "lockout", Value: "none", Certainty: cert,
			Evidence: evidence + fmt.Sprintf("; the correct code was still accepted after %d consecutive failures (MaxLockout)", max) + hide})
		p.add(p.res.Requests, Finding{Name: "throttle", Value: "none", Certainty: cert, Evidence: "no failure count refused the correct code" + hide})
		p.counterAfterFailure()
		return nil
	}
	if firstBlocked == nil || firstBlocked.n != fStar {
		b, bt, err := p.blocked(fStar, p.initialGap, zero)
		if err != nil {
			return err
		}
		if !b {
			return fmt.Errorf("block: %d failures refused the correct code once and not again", fStar)
		}
		firstBlocked = bt
	}
	p.add(since, Finding{Name: "block", Value: fmt.Sprintf("after %d %s", fStar, plural(fStar, "failure")), Certainty: Exact, Evidence: evidence})
	p.counterAfterFailure()
	if err := p.classify(fStar, firstBlocked); err != nil {
		return err
	}
	return p.lockExtras()
}

// counterAfterFailure reports what the block family assumed about the
// HOTP counter after a failure.
func (p *prober) counterAfterFailure() {
	if p.primary().kind != harness.HOTP || !p.burnKnown {
		return
	}
	c := Finding{Name: "counter-after-failure", Value: "unchanged", Certainty: Exact,
		Evidence: "on_failure keep: the lockout search used the code of the enrolled counter"}
	if p.burns {
		c.Value = "moved by each failure"
		c.Evidence = "on_failure advance: after f compared failures the lockout search used the code of c+f"
	}
	p.add(p.res.Requests, c)
}

// classify tells, after F failures refused the correct code, a lock that
// never releases, a lock that releases and a throttle apart, and looks for
// a lockout beyond a throttle.
func (p *prober) classify(f int, first *blockTok) error {
	since := p.res.Requests
	if p.realTime() {
		p.waiting("lockout/throttle", "a refusal after failures to end")
	}
	x0 := p.x0(first)
	build := func() (*blockTok, error) { return p.build(f, p.initialGap) }
	var hint int64
	if c := p.claim; c != nil && !p.o.IgnoreClaim && p.request() {
		switch {
		case c.Throttle != nil && c.Throttle.After == f:
			hint = c.Throttle.Delay
		case c.LockoutAfter() == f:
			hint = c.ReleaseAfter()
			if hint == 0 {
				hint = Wait
			}
		}
	}
	b, finite, err := p.unblock(first, build, x0, hint, "block")
	if err != nil {
		return err
	}
	curve := p.series("refusal after f failures", "seconds the correct code is refused")
	p.res.Series[len(p.res.Series)-1].Curve = true
	if !finite && p.realTime() {
		p.lockAfter = f
		curve(int64(f), false)
		p.res.Series[len(p.res.Series)-1].Points[0].Y = p.horizon()
		ev := fmt.Sprintf("after %d failures the correct code was refused at every second up to %d s later: a lock, or a throttle or release longer than that, which %s (MaxWait); the profile says a lock that does not release", f, p.horizon(), p.tooLong())
		p.mu.Lock()
		said := first.locked || p.lockedSeen
		p.mu.Unlock()
		if said {
			ev += "; a reply said locked"
		}
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s, no release within %d s", f, plural(f, "failure"), p.horizon()), Certainty: LowerBound, Evidence: ev})
		p.add(p.res.Requests, p.throttleNone(f, x0))
		return nil
	}
	if !finite {
		p.lockAfter = f
		curve(int64(f), false)
		p.res.Series[len(p.res.Series)-1].Points[0].Y = Wait
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: Exact,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused, still %d s later: a lock that does not release", f, int64(Wait))})
		p.add(p.res.Requests, p.throttleNone(f, x0))
		return nil
	}
	setY := func(x, y int64) {
		s := &p.res.Series[len(p.res.Series)-1]
		s.Points = append(s.Points, Point{X: x, Accepted: true, Y: y})
	}
	setY(int64(f), b)
	// One more failure, at the first moment from the end of the refusal
	// at which a check right after it escapes the rate limit.
	build2 := func() (*blockTok, error) {
		bt, err := build()
		if err != nil {
			return nil, err
		}
		return bt, bt.failAt(p.freeTwice(bt, bt.last+b+p.margin()))
	}
	var x1 int64
	refused, bt, err := p.onTime("the correct code after one more failure", func() (bool, *blockTok, error) {
		bt, err := build2()
		if err != nil {
			return false, nil, err
		}
		x1 = p.x0(bt)
		ok, err := bt.goodAt(bt.last + x1)
		return !ok, bt, err
	})
	if err != nil {
		return err
	}
	ok := !refused
	if ok && x1 >= b {
		p.lockAfter = f
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: CouldNotTell,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused for %d s; after one more, the rate limit let the correct code through only %d s later, when it was accepted: a lock that released, or a throttle whose delay had passed", f, b, x1)})
		p.add(p.res.Requests, Finding{Name: "throttle", Value: "-", Certainty: CouldNotTell, Evidence: "see lockout"})
		return nil
	}
	if ok {
		p.lockAfter, p.release = f, b
		lf := Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s, released after %d s", f, plural(f, "failure"), b), Certainty: Exact,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused for %d s; one more failure then, and the correct code was accepted at once: the count restarted, as after a release", f, b)}
		if p.realTime() {
			lf.Certainty = CouldNotTell
			lf.Evidence += fmt.Sprintf("; release_after %d s or %d s", b, b+1) + p.realNote()
		}
		p.add(since, lf)
		p.add(p.res.Requests, p.throttleNone(f, x0))
		return nil
	}
	var hint2 int64
	if c := p.claim; c != nil && c.Throttle != nil && !p.o.IgnoreClaim && p.request() {
		hint2 = b * c.Throttle.Factor
	}
	var again *blockTok // on real time the token just refused goes on: no second wait for build2
	if p.realTime() {
		again = bt
	}
	b2, finite2, err := p.unblock(again, build2, x1, hint2, "throttle")
	if err != nil {
		return err
	}
	if !finite2 {
		b2 = Wait
	}
	setY(int64(f)+1, b2)
	locked := first.locked || bt.locked
	if f == 1 && b2 == b && locked {
		p.lockAfter, p.release = 1, b
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after 1 failure, released after %d s", b), Certainty: Exact,
			Evidence: fmt.Sprintf("every failure refused the correct code for %d s and a reply said locked", b)})
		p.add(p.res.Requests, p.throttleNone(f, x0))
		return nil
	}
	if !finite2 && f > 1 && !bt.locked {
		// One more failure locked the token for good: a throttle from f
		// and a lockout at f+1, which hides the throttle's factor.
		p.throttle = &harness.ThrottlePolicy{After: f, Delay: b, Factor: 1}
		p.lockAfter = f + 1
		p.add(since, Finding{Name: "throttle", Value: fmt.Sprintf("after %d, delay %d s, factor 1", f, b), Certainty: CouldNotTell,
			Evidence: fmt.Sprintf("the correct code was refused for %d s after %d failures, and for good after one more: the lockout after %d failures hides the factor (written as 1)", b, f, f+1)})
		lf := Finding{Name: "lockout", Value: fmt.Sprintf("after %d failures", f+1), Certainty: Exact,
			Evidence: fmt.Sprintf("one failure after the throttle's delay of %d s, the correct code was refused still %d s later", b, int64(Wait))}
		if p.realTime() {
			lf.Value += fmt.Sprintf(", no release within %d s", p.horizon())
			lf.Certainty = LowerBound
			lf.Evidence = fmt.Sprintf("one failure after the throttle's delay of %d s, the correct code was refused at every second up to %d s later: whether the lock releases later %s (MaxWait)", b, p.horizon(), p.tooLong())
		}
		p.add(p.res.Requests, lf)
		return nil
	}
	var rc realCurve // on real time: the throttles that fit the measured refusals (realcurve.go)
	if p.realTime() && finite2 {
		if rc, err = p.fitRealCurve(f, b, b2, build2, setY); err != nil {
			return err
		}
		if len(rc.fits) == 0 {
			p.lockAfter = f
			p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: CouldNotTell,
				Evidence: fmt.Sprintf("after %d failures the correct code was refused for %s: no throttle D*K^n fits these within a second each (on real time), nor does a lock that releases", f, refusalList(rc.measured)) + p.realNote()})
			p.add(p.res.Requests, Finding{Name: "throttle", Value: "-", Certainty: CouldNotTell, Evidence: "see lockout"})
			return nil
		}
		b, b2 = rc.fits[0].d, rc.fits[0].d*rc.fits[0].k
	}
	third := !p.realTime() && finite2 && b2%b == 0 && b2/b >= 1 && b2/b <= 16
	if third {
		// A third point on the curve: a lock that releases after one more
		// failure would give any second delay, but not the third.
		k := b2 / b
		build3 := func() (*blockTok, error) {
			bt, err := build2()
			if err != nil {
				return nil, err
			}
			return bt, bt.failAt(p.freeTwice(bt, bt.last+b2+p.margin()))
		}
		b3 := b2 * k
		ok3 := true
		// Just before the third delay ends, and once it has.
		early, late := b3-1, b3
		xs := []int64{late}
		if early > 0 {
			xs = []int64{early, late}
		}
		toks := make([]*blockTok, len(xs))
		jobs := make([]func() error, len(xs))
		accs := make([]bool, len(xs))
		skip := make([]bool, len(xs))
		for i, x := range xs {
			jobs[i] = func() error {
				bt, err := build3()
				if err != nil {
					return err
				}
				toks[i] = bt
				at := p.rateFree(bt, bt.last+x)
				if at-bt.last > x && x < b3 {
					skip[i] = true // the rate limit keeps the early probe out
					return nil
				}
				xs[i] = at - bt.last
				accs[i], err = bt.goodAt(at)
				return err
			}
		}
		if err := p.together(jobs); err != nil {
			return err
		}
		for i, x := range xs {
			if skip[i] {
				continue
			}
			// Accepted early: the count restarted, so the second refusal
			// was a lock's release. Refused at b3: a lockout after f+2
			// failures, which the scan below finds.
			if accs[i] && x < b3 {
				ok3 = false
			}
			if accs[i] && x >= b3 {
				setY(int64(f)+2, b3)
			}
			if toks[i].locked {
				bt.locked = true
			}
		}
		if !ok3 {
			finite2 = false // not a throttle's curve
		}
	}
	if !finite2 || b2%b != 0 || b2/b < 1 || b2/b > 16 {
		p.lockAfter = f
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: CouldNotTell,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused for %d s, after one more for %d s: neither a throttle D*K^n nor a lock that releases", f, b, b2)})
		p.add(p.res.Requests, Finding{Name: "throttle", Value: "-", Certainty: CouldNotTell, Evidence: "see lockout"})
		return nil
	}
	k := b2 / b
	p.throttle = &harness.ThrottlePolicy{After: f, Delay: b, Factor: k}
	tf := Finding{Name: "throttle", Value: fmt.Sprintf("after %d, delay %d s, factor %d", f, b, k), Certainty: Exact,
		Evidence: fmt.Sprintf("the correct code was refused for %d s after %d failures and for %d s after one more, each failure compared once the delay had passed", b, f, b2)}
	if p.realTime() {
		tf.Evidence = fmt.Sprintf("a refusal after %d %s that grows with each more failure compared once it had passed", f, plural(f, "failure"))
	}
	var alts []string
	lockAlt := f == 1 && b2 == b
	if lockAlt {
		alts = append(alts, fmt.Sprintf("lockout after 1 failure released after %d s (no reply said locked)", b))
	}
	if x0 > 0 {
		for j, d := 1, b; j < f && d%k == 0 && d/k <= x0 && k > 1; j++ {
			d /= k
			alts = append(alts, fmt.Sprintf("after %d, delay %d s (hidden under the rate limit)", f-j, d))
		}
	}
	if x0 > 0 && len(alts) > (map[bool]int{true: 1, false: 0})[lockAlt] {
		// The rate limit hides the start of the throttle. A resync is
		// neither limited nor recorded, but throttled: genuine resyncs tell
		// where the throttle starts and how long its first delay is.
		ft, d, ok, err := p.throttleByResync(f)
		if err != nil {
			return err
		}
		if ok && ft < f && d*pow(k, f-ft) == b {
			p.throttle = &harness.ThrottlePolicy{After: ft, Delay: d, Factor: k}
			tf.Value = fmt.Sprintf("after %d, delay %d s, factor %d", ft, d, k)
			tf.Evidence += fmt.Sprintf("; the rate limit hid the delays below %d s, but a genuine resync (which the rate limit neither refuses nor counts) was refused after %d failures for %d s and accepted after %d failures at once", x0, ft, d, ft-1)
			alts = nil
			if lockAlt {
				alts = []string{fmt.Sprintf("lockout after 1 failure released after %d s (no reply said locked)", b)}
			}
			setY(int64(ft), d)
		} else if ok && ft == f {
			tf.Evidence += "; genuine resyncs, which the rate limit neither refuses nor counts, found no throttle before either"
			alts = alts[:(map[bool]int{true: 1, false: 0})[lockAlt]]
		}
	}
	if len(alts) > 0 {
		tf.Certainty = CouldNotTell
		tf.Evidence += "; the observations fit as well: " + strings.Join(alts, "; ")
	}
	if p.realTime() {
		tf.Certainty = CouldNotTell
		tf.Evidence += rc.evidence(f, p) + p.realNote()
		if rc.unchecked {
			tf.Evidence += fmt.Sprintf("; the third delay (%d s or so) would take longer than MaxWait and was not measured: a lock after %d failures released after %d s fits as well", b2*k, f+1, b2)
		}
	}
	p.add(since, tf)
	i := len(p.res.Findings) - 1
	if err := p.lockBeyondThrottle(f); err != nil {
		return err
	}
	if lockAlt && len(alts) == 1 && p.lockAfter > 1 && p.request() {
		// A lockout after more failures rules out "lockout after 1".
		p.res.Findings[i].Certainty = Exact
		p.res.Findings[i].Evidence += fmt.Sprintf("; ruled out by the lockout after %d failures", p.lockAfter)
	}
	return nil
}

// throttleNone is the throttle finding when the first refusal was a lock.
func (p *prober) throttleNone(f int, x0 int64) Finding {
	fd := Finding{Name: "throttle", Value: "none", Certainty: Exact,
		Evidence: fmt.Sprintf("fewer than %d failures never refused the correct code", f)}
	if x0 > 0 {
		fd.Certainty = NotObserved
		fd.Evidence += fmt.Sprintf("; a throttle shorter than %d s would hide under the rate limit", x0)
	}
	return fd
}

// lockBeyondThrottle looks for a lockout after more failures than the
// throttle's first, spacing failures by the throttle's delays: one fresh
// token per count up to ten beyond, then one scout at MaxLockout.
func (p *prober) lockBeyondThrottle(f int) error {
	since := p.res.Requests
	max := p.o.MaxLockout
	rec := p.series("lockout beyond the throttle", "failures, spaced by the throttle's delays")
	early := 0 // a count after which the correct code came in before the delay
	// probeAt builds n failures and reports whether the correct code is
	// refused once the delay has passed, and whether it was accepted
	// just before (a lock that released and restarted the count). It
	// records nothing, so that tokens can be probed together.
	probeAt := func(n int) (blocked, before bool, err error) {
		d := p.delay(n)
		post := d + p.margin()
		var bt *blockTok
		// Just before the delay: refused, unless a lock released and
		// the count restarted. On real time an acceptance there that
		// slipped into a later second proves nothing: a fresh token tries
		// again, and after rtTries the probe goes without it.
		// (Only for delays a profile can state: longer ones may be capped.)
		pre := d - 1 - p.margin()
		for try := 1; try <= rtTries; try++ {
			if bt, err = p.build(n, p.throttleGap); err != nil {
				return false, false, err
			}
			at := p.rateFree(bt, bt.last+pre)
			if d > Wait || pre < 0 || at >= bt.last+d || pre < p.x0(bt) {
				break
			}
			ok, err := bt.goodAt(at)
			if err != nil {
				return false, false, err
			}
			if !ok {
				break
			}
			if !bt.slipped {
				return true, true, nil
			}
			p.noteSlip()
			bt = nil
		}
		if bt == nil || p.rateFree(bt, bt.last+post) != bt.last+post {
			// The early probe keeps the rate limit busy: a fresh token.
			if bt, err = p.build(n, p.throttleGap); err != nil {
				return false, false, err
			}
		}
		ok, err := bt.goodAt(p.rateFree(bt, bt.last+post))
		return !ok, false, err
	}
	blockedAt := func(n int) (bool, error) {
		b, before, err := probeAt(n)
		if err != nil {
			return false, err
		}
		if before {
			early = n
		}
		rec(int64(n), !b) // accepted early is drawn as refused
		return b, nil
	}
	top := max
	for n := f + 1; n <= max; n++ {
		if p.delay(n) > maxDelay {
			top = n - 1
			break
		}
	}
	cut := false // on real time, more failures than top need longer than MaxWait
	if p.realTime() {
		p.waiting("lockout", "the throttle's delays to pass, for a lockout beyond them")
		for n := f + 1; n <= top; n++ {
			if p.buildSpan(n) > p.horizon() {
				top, cut = n-1, true
				break
			}
		}
	}
	found := 0
	if p.realTime() {
		// Every count on its own token, all waiting together.
		var ns []int
		for n := f + 2; n <= min(top, f+11); n++ {
			ns = append(ns, n)
		}
		if len(ns) > 0 {
			p.announce(time.Duration(p.buildSpan(ns[len(ns)-1])) * time.Second)
		}
		res := make([][2]bool, len(ns))
		jobs := make([]func() error, len(ns))
		for i, n := range ns {
			jobs[i] = func() error {
				b, before, err := probeAt(n)
				res[i] = [2]bool{b, before}
				return err
			}
		}
		if err := p.together(jobs); err != nil {
			return err
		}
		for i, n := range ns {
			rec(int64(n), !res[i][0])
			if res[i][0] {
				if res[i][1] {
					early = n
				}
				found = n
				break
			}
		}
		if top > f+11 {
			cut = true // a scout at MaxLockout would wait too long
		}
	}
	for n := f + 2; n <= min(top, f+11) && found == 0 && p.request(); n++ {
		b, err := blockedAt(n)
		if err != nil {
			return err
		}
		if b {
			found = n
		}
	}
	if found == 0 && top > f+11 && p.request() {
		b, err := blockedAt(top)
		if err != nil {
			return err
		}
		if b {
			x, _, err := edge(uint64(f+11), uint64(top), nil, func(x uint64) (bool, error) { b, err := blockedAt(int(x)); return !b, err })
			if err != nil {
				return err
			}
			found = int(x) + 1
		}
	}
	if found == 0 && cut {
		p.lockAfter = 0
		p.add(since, Finding{Name: "lockout", Value: "none", Certainty: NotObserved,
			Evidence: fmt.Sprintf("with failures spaced by the throttle's delays, the correct code was accepted once each delay had passed, up to %d failures; more failures would wait longer than %d s on real time (MaxWait): a lockout after more could not be told", min(top, f+11), p.horizon())})
		return nil
	}
	if found == 0 {
		p.lockAfter = 0
		p.add(since, Finding{Name: "lockout", Value: "none", Certainty: NotObserved,
			Evidence: fmt.Sprintf("with failures spaced by the throttle's delays, the correct code was accepted once each delay had passed, up to %d failures", top)})
		return nil
	}
	p.lockAfter = found
	build := func() (*blockTok, error) { return p.build(found, p.throttleGap) }
	var hint int64
	if c := p.claim; c != nil && !p.o.IgnoreClaim && c.LockoutAfter() == found {
		hint = c.ReleaseAfter()
		if hint == 0 {
			hint = Wait
		}
	}
	from := p.past(p.delay(found))
	if early == found { // the lock released before the delay
		bt, err := build()
		if err != nil {
			return err
		}
		from = p.x0(bt) - 1
	}
	r, finite, err := p.unblock(nil, build, from, hint, "release")
	if err != nil {
		return err
	}
	// The lock on the throttle's curve: its release, or never.
	for i := range p.res.Series {
		if c := &p.res.Series[i]; c.Curve {
			y := int64(Wait)
			if finite {
				y = r
			}
			c.Points = append(c.Points, Point{X: int64(found), Accepted: finite, Y: y})
		}
	}
	v := fmt.Sprintf("after %d failures", found)
	ev := fmt.Sprintf("with failures spaced by the throttle's delays, the correct code was refused after %d failures once the delay had passed", found)
	if finite {
		p.release = r
		v += fmt.Sprintf(", released after %d s", r)
		ev += fmt.Sprintf(", and accepted %d s after the last failure", r)
	} else if p.realTime() {
		v += fmt.Sprintf(", no release within %d s", p.horizon())
		ev += fmt.Sprintf(", still at every second up to %d s later: whether it releases later %s (MaxWait)", p.horizon(), p.tooLong())
	} else {
		ev += fmt.Sprintf(", still %d s later", int64(Wait))
	}
	cert := Exact
	if early == found {
		ev = fmt.Sprintf("with failures spaced by the throttle's delays, the correct code was accepted %d s after failure number %d, before the throttle's delay of %d s: a lock after %d failures released then", r, found, p.delay(found), found)
		if (r == p.delay(1) || r == from+1) && found-1 > p.throttle.After {
			// As well: a lock after found-1 failures whose release hid
			// under the throttle's delay, the count restarting before
			// failure number found.
			cert = CouldNotTell
			ev += fmt.Sprintf("; or a lock after %d failures released within the throttle's delay of %d s, so that the count restarted (the observations fit both)", found-1, p.delay(found-1))
		}
	}
	if p.realTime() {
		if cert == Exact {
			cert = CouldNotTell
		}
		if !finite {
			cert = LowerBound
		} else {
			ev += fmt.Sprintf("; release_after %d s or %d s", r, r+1)
		}
		ev += p.realNote()
	}
	p.add(since, Finding{Name: "lockout", Value: v, Certainty: cert, Evidence: ev})
	return nil
}

// throttleByResync finds, with genuine resyncs at the moment of the last
// failure, the first number of failures (at most f) after which a resync
// is refused, and how long it is refused then. ok is false when the
// verifier has no HOTP resync.
func (p *prober) throttleByResync(f int) (int, int64, bool, error) {
	if p.hotp == nil || p.resyncN == 0 || p.primary().kind != harness.HOTP {
		return 0, 0, false, nil
	}
	k := p.resyncLo()
	refusedAt := func(bt *blockTok, x int64) (bool, error) {
		rep, err := bt.resyncAt(bt.genuine(k, p.resyncN), bt.last+x)
		if err != nil {
			return false, err
		}
		if rep.Accepted {
			bt.used = true
		}
		return !rep.Accepted, nil
	}
	ft := 0
	for n := 1; n <= f && ft == 0; n++ {
		bt, err := p.build(n, p.initialGap)
		if err != nil {
			return 0, 0, false, err
		}
		r, err := refusedAt(bt, 0)
		if err != nil {
			return 0, 0, false, err
		}
		if r {
			ft = n
		}
	}
	if ft == 0 {
		return 0, 0, false, nil
	}
	d, ok, err := p.resyncUnblock(func() (*blockTok, error) { return p.build(ft, p.initialGap) }, 0)
	return ft, d, ok, err
}

// buildSpan is how many seconds n failures spaced by the throttle's
// delays take, with the wait for the delay after the last (past the rate
// limit's window, if any, too).
func (p *prober) buildSpan(n int) int64 {
	var s int64
	for i := 1; i < n; i++ {
		s += p.throttleGap(i)
		if s > Wait {
			return s
		}
	}
	d := p.delay(n) + p.margin()
	if p.rate != nil {
		d = max(d, p.rate.Per+p.margin())
	}
	return s + d
}
