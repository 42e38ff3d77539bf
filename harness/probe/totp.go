package probe

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// totpSkew measures how many steps back and ahead of the current one the
// verifier accepts, on fresh tokens.
func (p *prober) totpSkew() error {
	if p.totp == nil {
		p.add(p.res.Requests, Finding{Name: "totp-skew", Value: "-", Certainty: NotMeasured, Evidence: "no totp tokens"})
		return nil
	}
	rec := p.series("TOTP skew", "steps from T")
	rec(0, true)
	var cb, ca *uint64
	if p.claim != nil && p.claim.TOTP != nil {
		cb, ca = p.hint(&p.claim.TOTP.SkewBack), p.hint(&p.claim.TOTP.SkewAhead)
	}
	max := int64(p.o.MaxSkew)
	for _, side := range []struct {
		name string
		sign int64
		hint *uint64
		dst  *uint64
	}{{"totp-skew-back", -1, cb, &p.back}, {"totp-skew-ahead", 1, ca, &p.ahead}} {
		since := p.res.Requests
		var pts []Point
		pred := func(d uint64) (bool, error) {
			off := side.sign * int64(d)
			t, err := p.enroll(*p.totp, time.Time{}, distinct(-max-1, max+1, off))
			if err != nil {
				return false, err
			}
			rep, err := t.check(t.code(off))
			if err != nil {
				return false, err
			}
			rec(off, rep.Accepted)
			pts = append(pts, Point{X: off, Accepted: rep.Accepted})
			return rep.Accepted, nil
		}
		d, atMax, err := edge(0, p.o.MaxSkew, side.hint, pred)
		if err != nil {
			return err
		}
		*side.dst = d
		f := Finding{Name: side.name, Value: fmt.Sprint(d), Certainty: Exact,
			Evidence: describePoints(pts, "step T+d (T the current step)")}
		if atMax {
			f.Value, f.Certainty = fmt.Sprintf(">= %d", d), LowerBound
			f.Evidence += fmt.Sprintf("; the search stops at %d (MaxSkew)", d)
		}
		if p.clock == harness.ClockWall {
			f.Evidence += "; on the wall clock, assuming the verifier's agrees with ours within the step"
		}
		p.add(since, f)
	}
	return nil
}

// totpReuse checks RFC 6238 §5.2 (an accepted code is not accepted again
// in its step) and measures totp.reuse: after the code of step T, the code
// of step T-1 (inside the window) is accepted under "once" and rejected
// under "later". With no skew back, the code of T+1 and then that of T
// tell them apart, unless a recorded drift moved the window.
func (p *prober) totpReuse() error {
	if p.totp == nil || p.totpTok == nil {
		return nil
	}
	since := p.res.Requests
	t := p.totpTok
	rep, err := t.check(t.code(0))
	if err != nil {
		return err
	}
	f := Finding{Name: "totp-reuse", Value: "rejected", Certainty: Exact,
		Evidence: "the accepted code of the current step, submitted again in the same step, was rejected"}
	if rep.Accepted {
		f.Value = "accepted"
		f.Evidence = "the accepted code of the current step, submitted again in the same step, was accepted again (RFC 6238 §5.2)"
		spent := p.res.Requests - since
		third, err := p.reuseAny(t)
		if err != nil {
			return err
		}
		// No replay protection at all is declarable (totp.reuse "any"):
		// only a protection that lets one replay through departs in a
		// way no profile states.
		f.Departs = third.Value != harness.ReuseAny
		f.Requests = spent
		third.Requests = p.res.Requests - since - spent
		p.res.Findings = append(p.res.Findings, f, third)
		return nil
	}
	p.add(since, f)
	since = p.res.Requests
	first, second := int64(0), int64(-1)
	switch {
	case p.bounded():
		p.add(since, Finding{Name: "totp-reuse-mode", Value: "-", Certainty: NotMeasured, Evidence: "the skew is only bounded"})
		return nil
	case p.back > 0:
	case p.ahead > 0 && p.driftPol == nil:
		first, second = 1, 0
	default:
		p.reuse = harness.ReuseLater
		p.add(since, Finding{Name: "totp-reuse-mode", Value: "later", Certainty: CouldNotTell,
			Evidence: "the window holds no step below the last accepted one (no skew back, or a drift that follows the accepted step): \"once\" and \"later\" behave alike here"})
		return nil
	}
	t, err = p.enroll(*p.totp, time.Time{}, distinct(-int64(p.back)-2, int64(p.ahead)+2, first, second))
	if err != nil {
		return err
	}
	if rep, err = t.check(t.code(first)); err != nil {
		return err
	}
	if !rep.Accepted {
		p.add(since, Finding{Name: "totp-reuse-mode", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("a fresh token rejected the code of step T%+d, inside the measured window", first)})
		return nil
	}
	sure := true
	if p.rate != nil && p.rate.Attempts == 1 {
		if sure, err = p.unlockOnly(t); err != nil {
			return err
		}
	}
	if rep, err = t.check(t.code(second)); err != nil {
		return err
	}
	r := Finding{Name: "totp-reuse-mode", Value: "later", Certainty: Exact,
		Evidence: fmt.Sprintf("after the code of step T%+d, the code of step T%+d (inside the window, never used) was rejected: only later steps", first, second)}
	p.reuse = harness.ReuseLater
	if rep.Accepted {
		p.reuse = harness.ReuseOnce
		r.Value = "once"
		r.Evidence = fmt.Sprintf("after the code of step T%+d, the code of step T%+d (inside the window, never used) was accepted: every step once", first, second)
	}
	if !sure {
		r.Certainty = CouldNotTell
		r.Evidence += "; the rate limit may have refused the second code (no unlock)"
	}
	p.add(since, r)
	return nil
}

// unlockOnly unlocks t, and reports false when the verifier cannot.
func (p *prober) unlockOnly(t *tok) (bool, error) {
	if p.unlockOK < 0 {
		return false, nil
	}
	err := t.unlock()
	switch {
	case err == nil:
		p.unlockOK = 1
		return true, nil
	case errors.Is(err, errRefused):
		p.unlockOK = -1
		return false, nil
	}
	return false, err
}

// bounded reports whether a TOTP skew is only a lower bound.
func (p *prober) bounded() bool { return p.back >= p.o.MaxSkew || p.ahead >= p.o.MaxSkew }

// drift measures totp.drift {max D}: after the code of the step at the
// edge of the window (T+A, or T-B when there is no skew ahead), the window
// is centred there if the verifier records drift, so the code one window
// further is accepted. The probe walks the drift on, one window at a time,
// until a code is rejected (the bound) or the drift passes MaxDrift
// (unbounded). Walking back, time moves on by B+1 steps before each code,
// so that every step submitted is later than the last accepted one. A walk
// stopped at once by a bound D equal to the window is told from no drift
// by a later step: the edge of the undrifted window on the other side is
// accepted only without drift. After each rejected code the token is
// unlocked (or time passes) so that no failure count interferes.
func (p *prober) drift() error {
	since := p.res.Requests
	if p.totp == nil || p.clock == harness.ClockWall || p.bounded() || (p.ahead == 0 && p.back == 0) {
		p.add(since, Finding{Name: "totp-drift", Value: "-", Certainty: NotMeasured,
			Evidence: "needs the request clock and a window of more than one step"})
		return nil
	}
	a, b := int64(p.ahead), int64(p.back)
	sign, w := int64(1), a
	if a == 0 {
		sign, w = -1, b
	}
	maxD := int64(p.o.MaxDrift)
	t, err := p.enroll(*p.totp, time.Time{}, distinct(-b-2, a+2, sign*w))
	if err != nil {
		return err
	}
	u := t.unix()
	period := t.t.Period
	name := "T+"
	if sign < 0 {
		name = "T-"
	}
	rec := p.series("TOTP drift", "steps from T accepted in turn")
	first := true
	// try submits the code of step T_now + sign*j, where T_now is the
	// step at the current moment.
	try := func(j int64) (bool, error) {
		if !first {
			if p.rate != nil {
				sure, err := p.unlockOnly(t)
				if err != nil {
					return false, err
				}
				if !sure {
					u += (p.rate.Per + period - 1) / period * period
				}
			}
			if sign < 0 {
				u += (b + 1) * period
			}
		}
		first = false
		rep, err := t.checkUnix(t.codeAt(u, sign*j), u)
		if err != nil {
			return false, err
		}
		rec(sign*j, rep.Accepted)
		if !rep.Accepted {
			t.at = time.Unix(u, 0)
			sure, err := p.quiet(t)
			if err != nil {
				return false, err
			}
			if !sure {
				u = t.unix()
			}
		}
		return rep.Accepted, nil
	}
	ok, err := try(w)
	if err != nil {
		return err
	}
	if !ok {
		p.add(since, Finding{Name: "totp-drift", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("a fresh token rejected the code of step %s%d, inside the measured window", name, w)})
		return nil
	}
	d := w
	for d < maxD {
		ok, err := try(d + w)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		d += w
	}
	if d >= maxD {
		p.driftPol = &harness.DriftPolicy{Max: nil}
		p.add(since, Finding{Name: "totp-drift", Value: "recorded, unbounded", Certainty: LowerBound,
			Evidence: fmt.Sprintf("the codes of steps %s%d, %s%d, ... were accepted in turn up to %s%d (MaxDrift): the window follows the accepted step with no bound seen", name, w, name, 2*w, name, d)})
		return nil
	}
	// The walk stopped at d: the bound is in [d, d+w).
	top := d + w
	for j := d + 1; j < top; j++ {
		ok, err := try(j)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		d = j
	}
	if d > w {
		p.driftPol = &harness.DriftPolicy{Max: harness.Uint64(uint64(d))}
		p.add(since, Finding{Name: "totp-drift", Value: fmt.Sprintf("recorded, max %d", d), Certainty: Exact,
			Evidence: fmt.Sprintf("the window followed the accepted steps up to %s%d; the code of %s%d, inside the moved window, was rejected", name, d, name, d+1)})
		return p.cutSkew(d)
	}
	// d == w: no drift, or a bound of exactly w. The other edge of the
	// undrifted window, at a later step T', tells.
	t.at = time.Unix(u, 0)
	if _, err := p.quiet(t); err != nil {
		return err
	}
	u2 := t.unix() + (a+b+1)*period
	other := -b // walking ahead: the undrifted window's bottom
	if sign < 0 {
		other = a // walking back: its top
	}
	rep, err := t.checkUnix(t.codeAt(u2, other), u2)
	if err != nil {
		return err
	}
	if rep.Accepted && a > 0 && b > 0 {
		// A bound may also cut the skew itself; move the window the other
		// way on a fresh token and look at the other edge too.
		lever := b // walking ahead, the window now moves back by b
		if sign < 0 {
			lever = a
		}
		t2, err := p.enroll(*p.totp, time.Time{}, distinct(-b-2, a+2, -sign*lever))
		if err != nil {
			return err
		}
		v := t2.unix()
		if r, err := t2.checkUnix(t2.codeAt(v, -sign*lever), v); err != nil || !r.Accepted {
			return err
		}
		if p.rate != nil {
			if _, err := p.unlockOnly(t2); err != nil {
				return err
			}
		}
		v2 := v + (a+b+1)*period
		edge := a // after T-B: the undrifted window's top
		if sign < 0 {
			edge = -b
		}
		if rep, err = t2.checkUnix(t2.codeAt(v2, edge), v2); err != nil {
			return err
		}
	}
	if rep.Accepted {
		p.add(since, Finding{Name: "totp-drift", Value: "none", Certainty: Exact,
			Evidence: fmt.Sprintf("after the code of %s%d, the code of %s%d was rejected, and %d steps later the code of T'%+d was accepted: the window did not move", name, w, name, 2*w, a+b+1, other)})
		return nil
	}
	p.driftPol = &harness.DriftPolicy{Max: harness.Uint64(uint64(w))}
	p.add(since, Finding{Name: "totp-drift", Value: fmt.Sprintf("recorded, max %d", w), Certainty: Exact,
		Evidence: fmt.Sprintf("after the code of %s%d, the code of %s%d was rejected, and %d steps later the code of T'%+d too: the window moved to %s%d and the bound stopped it there", name, w, name, w+1, a+b+1, other, name, w)})
	return p.cutSkew(w)
}

// cutSkew re-measures a skew that the drift bound D may have cut: on a
// fresh token the skew is min(skew, D) on each side, so a side measured
// as D may be wider. Moving the window the other way shows it: after the
// code of T+A (drift +A), the steps T'+A-k at a later step T' are inside
// the window for k up to the true skew back (and the bound allows k up to
// A+D); after the code of T-B, the steps T'-B+k likewise for the skew
// ahead. A side that cannot be shown this way is "could not tell".
func (p *prober) cutSkew(d int64) error {
	for _, side := range []struct {
		name     string
		measured *uint64
		lever    int64 // the other side's skew, which moves the window
		sign     int64 // of the lever
	}{{"totp-skew-back", &p.back, int64(p.ahead), 1}, {"totp-skew-ahead", &p.ahead, int64(p.back), -1}} {
		if int64(*side.measured) != d {
			continue
		}
		since := p.res.Requests
		f := Finding{Name: side.name + "-moved", Certainty: Exact}
		if side.lever == 0 {
			f.Value, f.Certainty = fmt.Sprintf(">= %d", d), CouldNotTell
			f.Evidence = fmt.Sprintf("the drift bound %d cuts the window at %d steps, and no skew on the other side moves the window to show more", d, d)
			p.add(since, f)
			continue
		}
		m := int64(*side.measured)
		limit := side.lever + d // how far from the moved centre the bound allows
		for k := m + 1; k <= limit; k++ {
			t, err := p.enroll(*p.totp, time.Time{}, distinct(-side.lever-int64(p.back)-2, side.lever+int64(p.ahead)+2, side.sign*side.lever))
			if err != nil {
				return err
			}
			u := t.unix()
			rep, err := t.checkUnix(t.codeAt(u, side.sign*side.lever), u)
			if err != nil || !rep.Accepted {
				return err
			}
			if p.rate != nil {
				if _, err := p.unlockOnly(t); err != nil {
					return err
				}
			}
			u2 := u + (k+1)*t.t.Period
			rep, err = t.checkUnix(t.codeAt(u2, side.sign*(side.lever-k)), u2)
			if err != nil {
				return err
			}
			if !rep.Accepted {
				break
			}
			m = k
		}
		*side.measured = uint64(m)
		f.Value = fmt.Sprint(m)
		f.Evidence = fmt.Sprintf("with the window moved by the drift, %d steps on this side were accepted, where a fresh token's window stops at the bound %d", m, d)
		if m == limit {
			f.Value, f.Certainty = fmt.Sprintf(">= %d", m), CouldNotTell
			f.Evidence += "; the bound stops the moved window there too"
		}
		p.add(since, f)
	}
	return nil
}

// skewLearning measures totp.resync {codes N, range R}: checks in
// successive steps with the codes of one offset s beyond the window; the
// N-th is accepted when |s| <= R. The token is unlocked between the checks
// (an unlock does not end the run) so that the failures neither lock nor
// throttle it.
func (p *prober) skewLearning() error {
	since := p.res.Requests
	if p.totp == nil || p.clock == harness.ClockWall || p.bounded() {
		p.add(since, Finding{Name: "totp-skew-learning", Value: "-", Certainty: NotMeasured, Evidence: "needs the request clock and an exact skew"})
		return nil
	}
	a, b := int64(p.ahead), int64(p.back)
	maxN := p.o.MaxResyncCodes
	if maxN < 10 {
		maxN = 10
	}
	confounded := false
	run := func(s int64, n int) (int, error) {
		clean := func(k *token.Key, c uint64) bool {
			for i := int64(0); i < int64(n); i++ {
				v := k.Value(uint64(int64(c) + i + s))
				for j := int64(c) + i - b; j <= int64(c)+i+a; j++ {
					if j >= 0 && k.Value(uint64(j)) == v {
						return false
					}
				}
			}
			return true
		}
		t, err := p.enroll(*p.totp, time.Time{}, clean)
		if err != nil {
			return 0, err
		}
		u := t.unix()
		for i := 0; i < n; i++ {
			if i > 0 {
				sure, err := p.unlockOnly(t)
				if err != nil {
					return 0, err
				}
				if !sure && (p.lockAfter > 0 && p.lockAfter <= i || p.delay(i) > t.t.Period) {
					confounded = true
				}
			}
			at := u + int64(i)*t.t.Period
			rep, err := t.checkUnix(t.codeAt(at, s), at)
			if err != nil {
				return 0, err
			}
			if rep.Accepted {
				return i + 1, nil
			}
		}
		return 0, nil
	}
	s0 := a + 1
	n, err := run(s0, maxN)
	if err != nil {
		return err
	}
	if n == 0 {
		f := Finding{Name: "totp-skew-learning", Value: "none", Certainty: NotObserved,
			Evidence: fmt.Sprintf("%d checks in successive steps, each with the code of the step %d ahead: none accepted", maxN, s0)}
		if confounded {
			f.Certainty = CouldNotTell
			f.Evidence += "; without unlock, a lock or throttle may have refused them"
		}
		p.add(since, f)
		return nil
	}
	if n < 2 {
		p.add(since, Finding{Name: "totp-skew-learning", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("the code of the step %d ahead, outside the measured window, was accepted at once", s0)})
		return nil
	}
	rec := p.series("TOTP skew learning", "offset s of the codes, in steps")
	pred := func(x uint64) (bool, error) {
		got, err := run(int64(x), n)
		rec(int64(x), got == n)
		return got == n, err
	}
	rec(s0, true)
	var h *uint64
	if c := p.claim; c != nil && c.TOTP != nil && c.TOTP.Resync != nil && c.TOTP.Resync.Codes == n && !p.o.IgnoreClaim {
		h = harness.Uint64(c.TOTP.Resync.Range)
	}
	r, atMax, err := edge(uint64(s0), p.o.MaxSkewRange, h, pred)
	if err != nil {
		return err
	}
	p.learn = &harness.TOTPResync{Codes: n, Range: r}
	f := Finding{Name: "totp-skew-learning", Value: fmt.Sprintf("%d codes, range %d", n, r), Certainty: Exact,
		Evidence: fmt.Sprintf("%d checks in successive steps with the codes of one offset beyond the window: the %d-th accepted for offset %d, none for %d", n, n, r, r+1)}
	if atMax {
		f.Value, f.Certainty = fmt.Sprintf("%d codes, range >= %d", n, r), LowerBound
		f.Evidence += fmt.Sprintf("; the search stops at %d (MaxSkewRange)", r)
	}
	if confounded {
		f.Certainty = CouldNotTell
	}
	p.add(since, f)
	return nil
}

// periods measures totp.periods: a token with each of 30, 60 and 45 s
// steps is enrolled and its current code checked. All three: any period.
func (p *prober) periods() error {
	since := p.res.Requests
	if p.totp == nil {
		return nil
	}
	var ok []int64
	var ev []string
	for _, s := range []int64{30, 60, 45} {
		acc, why, err := p.acceptsTOTP(spec{period: s})
		if err != nil {
			return err
		}
		if acc {
			ok = append(ok, s)
		}
		ev = append(ev, fmt.Sprintf("%d s: %s", s, why))
	}
	f := Finding{Name: "totp-periods", Value: "any", Certainty: LowerBound, Evidence: strings.Join(ev, "; ") + "; taken as any period"}
	if len(ok) < 3 {
		p.periodList = ok
		f.Value, f.Certainty, f.Evidence = joinInts64(ok), Exact, strings.Join(ev, "; ")
	}
	p.add(since, f)
	return nil
}

// t0 measures totp.t0: a token with t0 = 1,000,000 is enrolled and its
// current code checked.
func (p *prober) t0() error {
	since := p.res.Requests
	if p.totp == nil {
		return nil
	}
	acc, why, err := p.acceptsTOTP(spec{t0: 1_000_000})
	if err != nil {
		return err
	}
	p.t0OK = &acc
	p.add(since, Finding{Name: "totp-t0", Value: fmt.Sprint(acc), Certainty: Exact, Evidence: "t0 1000000: " + why})
	return nil
}

// acceptsTOTP enrolls a TOTP token with s and checks its current code.
func (p *prober) acceptsTOTP(s spec) (bool, string, error) {
	span := int64(p.back+p.ahead) + 2
	t, err := p.enrollWith(*p.totp, time.Time{}, s, distinct(-span, span, 0))
	if errors.Is(err, errRefused) {
		return false, "enroll refused", nil
	}
	if err != nil {
		return false, "", err
	}
	rep, err := t.check(t.code(0))
	if err != nil {
		return false, "", err
	}
	if !rep.Accepted {
		return false, "enrolled, code rejected", nil
	}
	return true, "accepted", nil
}

func joinInts64(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// reuseAny measures a verifier that accepted a replay of the current
// step's code: a third copy accepted as well means no replay protection at
// all (a stateless verifier, totp.reuse "any"); a third copy rejected is
// replay protection with a defect no reuse value states.
func (p *prober) reuseAny(t *tok) (Finding, error) {
	rep, err := t.check(t.code(0))
	if err != nil {
		return Finding{}, err
	}
	if !rep.Accepted {
		p.reuse = harness.ReuseLater
		return Finding{Name: "totp-reuse-mode", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: "the code of the current step was accepted twice, then rejected the third time: replay protection that lets one replay through"}, nil
	}
	p.reuse = harness.ReuseAny
	return Finding{Name: "totp-reuse-mode", Value: harness.ReuseAny, Certainty: Exact,
		Evidence: "the code of the current step was accepted three times in its step: no replay protection (totp.reuse \"any\", a declared departure from RFC 6238 §5.2, written into the profile)"}, nil
}
