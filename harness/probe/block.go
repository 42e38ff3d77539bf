package probe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// The block family: rate limit, lockout (with release_after,
// resync_unlocks and counts_resync) and throttle. Each refuses the correct
// code for a while; they differ in what starts the refusal (checks of any
// outcome, or failures), in how long it lasts (a window, forever or until
// a release, a delay that grows with the failures) and in what a further
// failure does. The probe tells them apart with the request clock:
//
//   - the rate limit first, with accepted codes only, so that no failure
//     is involved: N correct codes at one moment, the (N+1)-th refused, and
//     the window S from the moment the refusal ends;
//   - then the first number of failures F after which the correct code is
//     refused. Without a rate limit the failures are all sent at one
//     moment (a lock or a throttle then lasts, and the count is monotone);
//     with one they are Wait seconds apart, so that every failure is
//     compared and counted, and the numbers are scanned one by one from 1
//     (a lock that releases by itself restarts the count, which only a
//     scan from 1 cannot miss);
//   - then how long the refusal lasts (galloping and bisecting simulated
//     time, up to Wait: beyond, it is a lock that never releases);
//   - a refusal that ends is a throttle or a lock that releases: one more
//     failure after it ends tells them apart (a throttle refuses again, for
//     the next delay, which gives the factor; a released lock has counted
//     from 0 again);
//   - with a throttle known, failures spaced by its delays find a lockout
//     beyond it.
//
// A refusal that the rate limit could also explain is never taken as
// evidence: probes are placed where the rate limit lets a check through,
// and what could only be seen under it is reported as "could not tell".

// blockTok is a fresh token of the primary kind for the block family,
// with the times of every check sent to it.
type blockTok struct {
	*tok
	avoid  map[uint32]bool
	shift  int64   // HOTP: counters moved by compared failures and accepted codes
	hist   []int64 // the time of every check, in the order sent
	last   int64   // the time of the last failure
	n      int     // failures sent
	used   bool    // a correct code was accepted: the failure count is gone
	locked bool    // a reply said locked
	probes int64   // the largest probe offset sent after the last failure
	nhist  int     // the checks up to the last failure: hist[:nhist]
}

// blockToken enrolls a fresh token for the block family.
func (p *prober) blockToken() (*blockTok, error) {
	cfg := p.primary()
	gi := p.goodIndex(cfg.kind)
	hi := p.span(cfg.kind) + 4 + int64(p.o.MaxResyncCodes)
	if p.burns {
		hi += int64(p.o.MaxLockout) + 4
	}
	t, err := p.enroll(cfg, time.Time{}, distinct(0, hi, gi, gi+1))
	if err != nil {
		return nil, err
	}
	bt := &blockTok{tok: t, avoid: map[uint32]bool{}, probes: -1}
	if cfg.kind == harness.HOTP {
		for i := int64(-1); i <= hi; i++ {
			bt.avoid[t.key.Value(t.c+uint64(i))] = true
		}
	}
	return bt, nil
}

// wrongAt returns a well-formed code, new on this token, that no counter
// or step the verifier could accept at Unix second u has.
func (bt *blockTok) wrongAt(u int64) string {
	mod := uint32(1)
	for range bt.key.Digits() {
		mod *= 10
	}
	near := func(v uint32) bool {
		if bt.t.Kind != harness.TOTP {
			return false
		}
		s := int64(bt.stepAt(u))
		span := int64(bt.p.back+bt.p.ahead) + 4
		for i := s - span; i <= s+span; i++ {
			if i >= 0 && bt.key.Value(uint64(i)) == v {
				return true
			}
		}
		return false
	}
	for {
		var v uint32
		if bt.key.Digits() > 9 {
			v = uint32(bt.p.rng.Uint64N(1 << 31))
		} else {
			v = bt.p.rng.Uint32N(mod)
		}
		if !bt.avoid[v] && !near(v) {
			bt.avoid[v] = true
			return fmt.Sprintf("%0*d", bt.key.Digits(), v)
		}
	}
}

// send submits code at Unix second u and records the check.
func (bt *blockTok) send(code string, u int64) (harness.Reply, error) {
	rep, err := bt.checkUnix(code, u)
	if err != nil {
		return rep, err
	}
	bt.hist = append(bt.hist, u)
	if rep.Locked {
		bt.locked = true
	}
	return rep, nil
}

// failAt submits a wrong code at u, taken to be a compared failure.
func (bt *blockTok) failAt(u int64) error {
	rep, err := bt.send(bt.wrongAt(u), u)
	if err != nil {
		return err
	}
	if rep.Accepted {
		return fmt.Errorf("check %s: a wrong code was accepted", bt.t.Serial)
	}
	bt.n++
	bt.last = u
	bt.nhist = len(bt.hist)
	bt.probes = -1
	if bt.p.burns {
		bt.shift++
	}
	return nil
}

// goodAt submits the correct code at u and reports whether it was
// accepted; an accepted code moves the token on.
func (bt *blockTok) goodAt(u int64) (bool, error) {
	code := bt.codeAt(u, 0)
	if bt.t.Kind == harness.HOTP {
		code = bt.code(bt.p.lower + bt.shift)
	}
	rep, err := bt.send(code, u)
	if err != nil {
		return false, err
	}
	if u-bt.last > bt.probes {
		bt.probes = u - bt.last
	}
	if rep.Accepted {
		bt.used = true
		if bt.t.Kind == harness.HOTP {
			bt.shift++
		}
	}
	return rep.Accepted, nil
}

// rateFree returns the earliest moment at or after u at which the
// measured rate limit lets a check of bt through.
func (p *prober) rateFree(bt *blockTok, u int64) int64 {
	r := p.rate
	if r == nil {
		return u
	}
	for {
		n, oldest := 0, int64(0)
		for _, h := range bt.hist {
			if d := u - h; d >= 0 && d < r.Per {
				if n == 0 || h < oldest {
					oldest = h
				}
				n++
			}
		}
		if n < r.Attempts {
			return u
		}
		u = oldest + r.Per
	}
}

// x0 is the earliest offset after bt's last failure at which a check is
// not refused by the rate limit for the checks up to that failure.
func (p *prober) x0(bt *blockTok) int64 {
	upto := &blockTok{hist: bt.hist[:bt.nhist]}
	return p.rateFree(upto, bt.last) - bt.last
}

// build enrolls a token and sends it f failures, the i-th gap(i) seconds
// after the one before (gap(i) is the wait after the i-th failure).
func (p *prober) build(f int, gap func(i int) int64) (*blockTok, error) {
	bt, err := p.blockToken()
	if err != nil {
		return nil, err
	}
	u := bt.unix()
	for i := 1; i <= f; i++ {
		if i > 1 {
			u += gap(i - 1)
		}
		if err := bt.failAt(u); err != nil {
			return nil, err
		}
	}
	if f == 0 {
		bt.last = u
	}
	return bt, nil
}

// initialGap is the spacing of failures before anything is known: none
// without a rate limit, Wait with one.
func (p *prober) initialGap(int) int64 {
	if p.rate != nil && p.request() {
		return Wait
	}
	return 0
}

// throttleGap spaces failures so that each is compared under the
// measured throttle and rate limit.
func (p *prober) throttleGap(i int) int64 {
	g := p.delay(i)
	if p.rate != nil && p.rate.Per > g {
		g = p.rate.Per
	}
	return g
}

// delay is the measured throttle's delay after the i-th failure, capped
// at maxDelay.
func (p *prober) delay(i int) int64 {
	t := p.throttle
	if t == nil || i < t.After {
		return 0
	}
	d := t.Delay
	for range i - t.After {
		if d > maxDelay {
			return maxDelay + 1
		}
		d *= t.Factor
	}
	return d
}

// maxDelay bounds the throttle delays the probe waits through.
const maxDelay = 1000 * Wait

// blocked builds f failures with gap and probes the correct code at the
// earliest moment the rate limit allows, plus wait.
func (p *prober) blocked(f int, gap func(int) int64, wait func(int) int64) (bool, *blockTok, error) {
	bt, err := p.build(f, gap)
	if err != nil {
		return false, nil, err
	}
	u := p.rateFree(bt, bt.last+wait(f))
	ok, err := bt.goodAt(u)
	return !ok, bt, err
}

// rateLimit measures rate_limit {attempts N, per S} with accepted codes
// only: correct HOTP codes at one moment until one is refused, then the
// moment the refusal ends, on fresh tokens.
func (p *prober) rateLimit() error {
	since := p.res.Requests
	if p.hotp == nil || p.lBound || !p.request() {
		why := "needs hotp tokens, an exact look-ahead and the request clock"
		p.add(since, Finding{Name: "rate-limit", Value: "-", Certainty: NotMeasured, Evidence: why})
		return nil
	}
	p.rateDone = true
	max := int64(p.o.MaxRate)
	lo := p.lower
	fresh := func() (*tok, error) {
		return p.enroll(*p.hotp, time.Time{}, distinct(0, lo+max+int64(p.l)+2, seq(lo, max+1)...))
	}
	t, err := fresh()
	if err != nil {
		return err
	}
	n := int64(-1)
	for i := int64(0); i <= max; i++ {
		rep, err := t.check(t.code(lo + i))
		if err != nil {
			return err
		}
		if !rep.Accepted {
			n = i
			break
		}
	}
	if n < 0 {
		p.add(since, Finding{Name: "rate-limit", Value: "none", Certainty: NotObserved,
			Evidence: fmt.Sprintf("%d correct codes in a row at one moment were all accepted (MaxRate)", max+1)})
		return nil
	}
	// A refusal that time does not end is no rate limit.
	rep, err := t.checkAt(t.code(lo+n), t.at.Add(Wait*time.Second))
	if err != nil {
		return err
	}
	if !rep.Accepted || n == 0 {
		p.add(since, Finding{Name: "rate-limit", Value: "none", Certainty: Exact,
			Evidence: fmt.Sprintf("the correct code number %d at one moment was rejected, and again %d s later: not a rate limit", n+1, int64(Wait))})
		return nil
	}
	rec := p.series("rate limit", "seconds after the checks")
	refused := func(x uint64) (bool, error) {
		t, err := fresh()
		if err != nil {
			return false, err
		}
		for i := int64(0); i < n; i++ {
			if _, err := t.check(t.code(lo + i)); err != nil {
				return false, err
			}
		}
		rep, err := t.checkAt(t.code(lo+n), t.at.Add(time.Duration(x)*time.Second))
		if err != nil {
			return false, err
		}
		rec(int64(x), rep.Accepted)
		return !rep.Accepted, nil
	}
	var h *uint64
	if c := p.claim; c != nil && c.RateLimit != nil && c.RateLimit.Per > 0 && !p.o.IgnoreClaim {
		h = harness.Uint64(uint64(c.RateLimit.Per - 1))
	}
	rec(0, false)
	x, atMax, err := edge(0, Wait, h, refused)
	if err != nil {
		return err
	}
	if atMax {
		p.add(since, Finding{Name: "rate-limit", Value: "none", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("%d correct codes accepted at once, the next refused for more than %d s: not a rate limit a profile can state", n, int64(Wait))})
		return nil
	}
	p.rate = &harness.RateLimitPolicy{Attempts: int(n), Per: int64(x) + 1}
	p.add(since, Finding{Name: "rate-limit", Value: fmt.Sprintf("%d per %d s", n, x+1), Certainty: Exact,
		Evidence: fmt.Sprintf("%d correct codes at one moment accepted, the next refused; after %d correct codes, a check %d s later was still refused and one %d s later accepted", n, n, x, x+1)})
	return nil
}

// seq returns from, from+1, ..., n values.
func seq(from, n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

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
	if p.rate != nil && p.request() {
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
			memo[bt.n] = !ok
			rec(int64(bt.n), ok)
			if !ok {
				firstBlocked = bt
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

// unblock finds the smallest offset x after the last failure at which the
// correct code is accepted, up to Wait (finite false: refused at Wait).
// bt is a token just built (or nil); build makes another. lo is an offset
// known to be refused.
func (p *prober) unblock(bt *blockTok, build func() (*blockTok, error), lo int64, hint int64, name string) (int64, bool, error) {
	var pts []Point
	probe := func(x int64) (bool, error) {
		if bt == nil || bt.used || x <= bt.probes || p.rateFree(bt, bt.last+x) != bt.last+x {
			var err error
			if bt, err = build(); err != nil {
				return false, err
			}
			if p.rateFree(bt, bt.last+x) != bt.last+x {
				return false, fmt.Errorf("%s: no moment %d s after the failures escapes the rate limit", name, x)
			}
		}
		ok, err := bt.goodAt(bt.last + x)
		pts = append(pts, Point{X: x, Accepted: ok})
		return ok, err
	}
	hi := int64(-1)
	if hint == Wait { // a claimed lock that never releases: one probe
		ok, err := probe(Wait)
		if err != nil || !ok {
			return 0, false, err
		}
		hi = Wait
	} else if hint > lo && hint < Wait {
		if hint-1 > lo {
			ok, err := probe(hint - 1)
			if err != nil {
				return 0, false, err
			}
			if ok {
				hi = hint - 1
			} else {
				lo = hint - 1
			}
		}
		if hi < 0 {
			ok, err := probe(hint)
			if err != nil {
				return 0, false, err
			}
			if ok {
				hi = hint
			} else {
				lo = hint
			}
		}
	}
	for step := int64(1); hi < 0; step *= 2 {
		x := min(lo+step, Wait)
		ok, err := probe(x)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = x
			break
		}
		lo = x
		if x == Wait {
			return 0, false, nil
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := probe(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}

// classify tells, after F failures refused the correct code, a lock that
// never releases, a lock that releases and a throttle apart, and looks for
// a lockout beyond a throttle.
func (p *prober) classify(f int, first *blockTok) error {
	since := p.res.Requests
	if !p.request() {
		cert, why := CouldNotTell, "the verifier reads its own clock, so the probe cannot let time pass: a lock and a throttle look alike"
		if first.locked || p.lockedSeen {
			cert, why = Exact, "a reply said locked; the verifier reads its own clock, so release and throttle delays are not measured"
		}
		p.lockAfter = f
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: cert, Evidence: why})
		p.add(p.res.Requests, Finding{Name: "throttle", Value: "-", Certainty: NotMeasured, Evidence: "the verifier reads its own clock"})
		return nil
	}
	x0 := p.x0(first)
	build := func() (*blockTok, error) { return p.build(f, p.initialGap) }
	var hint int64
	if c := p.claim; c != nil && !p.o.IgnoreClaim {
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
		return bt, bt.failAt(p.freeTwice(bt, bt.last+b))
	}
	bt, err := build2()
	if err != nil {
		return err
	}
	x1 := p.x0(bt)
	ok, err := bt.goodAt(bt.last + x1)
	if err != nil {
		return err
	}
	if ok && x1 >= b {
		p.lockAfter = f
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: CouldNotTell,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused for %d s; after one more, the rate limit let the correct code through only %d s later, when it was accepted: a lock that released, or a throttle whose delay had passed", f, b, x1)})
		p.add(p.res.Requests, Finding{Name: "throttle", Value: "-", Certainty: CouldNotTell, Evidence: "see lockout"})
		return nil
	}
	if ok {
		p.lockAfter, p.release = f, b
		p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s, released after %d s", f, plural(f, "failure"), b), Certainty: Exact,
			Evidence: fmt.Sprintf("after %d failures the correct code was refused for %d s; one more failure then, and the correct code was accepted at once: the count restarted, as after a release", f, b)})
		p.add(p.res.Requests, p.throttleNone(f, x0))
		return nil
	}
	var hint2 int64
	if c := p.claim; c != nil && c.Throttle != nil && !p.o.IgnoreClaim {
		hint2 = b * c.Throttle.Factor
	}
	b2, finite2, err := p.unblock(nil, build2, x1, hint2, "throttle")
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
		p.add(p.res.Requests, Finding{Name: "lockout", Value: fmt.Sprintf("after %d failures", f+1), Certainty: Exact,
			Evidence: fmt.Sprintf("one failure after the throttle's delay of %d s, the correct code was refused still %d s later", b, int64(Wait))})
		return nil
	}
	if finite2 && b2%b == 0 && b2/b >= 1 && b2/b <= 16 {
		// A third point on the curve: a lock that releases after one more
		// failure would give any second delay, but not the third.
		k := b2 / b
		build3 := func() (*blockTok, error) {
			bt, err := build2()
			if err != nil {
				return nil, err
			}
			return bt, bt.failAt(p.freeTwice(bt, bt.last+b2))
		}
		b3 := b2 * k
		ok3 := true
		for _, x := range []int64{b3 - 1, b3} {
			bt, err := build3()
			if err != nil {
				return err
			}
			at := p.rateFree(bt, bt.last+x)
			if at-bt.last > x && x < b3 {
				continue // the rate limit keeps the early probe out
			}
			x = at - bt.last
			acc, err := bt.goodAt(at)
			if err != nil {
				return err
			}
			// Accepted early: the count restarted, so the second refusal
			// was a lock's release. Refused at b3: a lockout after f+2
			// failures, which the scan below finds.
			if acc && x < b3 {
				ok3 = false
			}
			if acc && x >= b3 {
				setY(int64(f)+2, b3)
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
	p.add(since, tf)
	i := len(p.res.Findings) - 1
	if err := p.lockBeyondThrottle(f); err != nil {
		return err
	}
	if lockAlt && len(alts) == 1 && p.lockAfter > 1 {
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
	blockedAt := func(n int) (bool, error) {
		bt, err := p.build(n, p.throttleGap)
		if err != nil {
			return false, err
		}
		d := p.delay(n)
		// Just before the delay: refused, unless a lock released and
		// the count restarted.
		// (Only for delays a profile can state: longer ones may be capped.)
		if at := p.rateFree(bt, bt.last+d-1); d <= Wait && at < bt.last+d && d-1 >= p.x0(bt) {
			ok, err := bt.goodAt(at)
			if err != nil {
				return false, err
			}
			if ok {
				early = n
				rec(int64(n), false)
				return true, nil
			}
		}
		if p.rateFree(bt, bt.last+d) != bt.last+d {
			// The early probe keeps the rate limit busy: a fresh token.
			if bt, err = p.build(n, p.throttleGap); err != nil {
				return false, err
			}
		}
		ok, err := bt.goodAt(p.rateFree(bt, bt.last+d))
		if err != nil {
			return false, err
		}
		rec(int64(n), ok)
		return !ok, nil
	}
	top := max
	for n := f + 1; n <= max; n++ {
		if p.delay(n) > maxDelay {
			top = n - 1
			break
		}
	}
	found := 0
	for n := f + 2; n <= min(top, f+11) && found == 0; n++ {
		b, err := blockedAt(n)
		if err != nil {
			return err
		}
		if b {
			found = n
		}
	}
	if found == 0 && top > f+11 {
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
	from := p.delay(found)
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
	p.add(since, Finding{Name: "lockout", Value: v, Certainty: cert, Evidence: ev})
	return nil
}

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
	return bt, p.rateFree(bt, bt.last+p.delay(f)), nil
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
	gap := p.initialGap
	if p.throttle != nil {
		gap = p.throttleGap
	}
	bt, err := p.build(f-1, gap)
	if err != nil {
		return err
	}
	u := p.rateFree(bt, bt.last+p.delay(f-1))
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
	w := p.rateFree(bt, bt.last+p.delay(f-1))
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

// resyncAt submits the codes of counters c+shift+k .. on bt at u.
func (bt *blockTok) resyncAt(codes []string, u int64) (harness.Reply, error) {
	p := bt.p
	ctx, cancel := p.reqCtx()
	defer cancel()
	rep, err := p.v.Resync(ctx, harness.ResyncRequest{Serial: bt.t.Serial, Codes: codes, Time: time.Unix(u, 0)})
	if err != nil {
		return rep, p.refusal("resync "+bt.t.Serial, err)
	}
	if rep.Locked {
		bt.locked = true
	}
	return rep, nil
}

// genuine returns the n codes from counter c+lower+shift+k.
func (bt *blockTok) genuine(k uint64, n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = bt.key.HOTP(bt.t.Counter + uint64(bt.p.lower+bt.shift) + k + uint64(i))
	}
	return codes
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
	if p.release == 0 {
		u = bt.last + Wait
	} else {
		u = max(u, bt.last+p.release-1)
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
		p.add(since, Finding{Name: "throttle-under-lockout", Value: "none", Certainty: Exact,
			Evidence: fmt.Sprintf("a genuine resync at the moment of the failure that locked the token (%d failures) was accepted", f)})
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
			if _, err := b.resyncAt(codes, b.last+d); err != nil {
				return nil, err
			}
			b.last += d
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
	bt, err := p.build(f-1, gap)
	if err != nil {
		return err
	}
	u := bt.last + p.delay(f-1)
	if f == 1 {
		u = bt.unix()
	}
	codes := make([]string, p.resyncN)
	for i := range codes {
		codes[i] = bt.wrongAt(u)
	}
	if _, err := bt.resyncAt(codes, u); err != nil {
		return err
	}
	// Counted, the resync is failure number f at u: locked, and with a
	// throttle refused for its delay too. Not counted, the throttle of
	// failure f-1 has passed at u.
	ok, err := bt.goodAt(p.rateFree(bt, u))
	if err != nil {
		return err
	}
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

// pow returns k^n for small n, saturating at maxDelay.
func pow(k int64, n int) int64 {
	r := int64(1)
	for range n {
		if r > maxDelay {
			return r
		}
		r *= k
	}
	return r
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

// resyncUnblock finds the smallest x > lo at which a genuine resync is
// accepted x seconds after the last failure of a token that build makes,
// galloping on one token while refused (a refused resync changes nothing)
// and bisecting on fresh ones. ok is false when it is refused at Wait.
func (p *prober) resyncUnblock(build func() (*blockTok, error), lo int64) (int64, bool, error) {
	k := p.resyncLo()
	var bt *blockTok
	probe := func(x int64) (bool, error) {
		if bt == nil || bt.used {
			var err error
			if bt, err = build(); err != nil {
				return false, err
			}
		}
		rep, err := bt.resyncAt(bt.genuine(k, p.resyncN), bt.last+x)
		if err != nil {
			return false, err
		}
		if rep.Accepted {
			bt.used = true
		}
		return rep.Accepted, nil
	}
	hi := int64(-1)
	for step := int64(1); ; step *= 2 {
		x := min(lo+step, Wait)
		ok, err := probe(x)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = x
			break
		}
		lo = x
		if x == Wait {
			return 0, false, nil
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		bt = nil // the probes go back in time: a fresh token each
		ok, err := probe(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}

// freeTwice returns the first moment at or after u at which a check of bt
// and another right after it both escape the rate limit.
func (p *prober) freeTwice(bt *blockTok, u int64) int64 {
	if p.rate == nil {
		return u
	}
	for range 1000 {
		u = p.rateFree(bt, u)
		next := &blockTok{hist: append(slices.Clone(bt.hist), u)}
		if p.rateFree(next, u) == u {
			return u
		}
		u++
	}
	return u
}
