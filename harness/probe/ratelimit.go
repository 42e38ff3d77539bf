package probe

import (
	"fmt"
	"time"

	"github.com/otplab/otplab/harness"
)

// The rate limit, measured first with accepted codes only (see block.go).

// rateLimit measures rate_limit {attempts N, per S} with accepted codes
// only: correct HOTP codes at one moment until one is refused, then the
// moment the refusal ends, on fresh tokens.
func (p *prober) rateLimit() error {
	since := p.res.Requests
	if p.hotp == nil || p.lBound {
		why := "needs hotp tokens and an exact look-ahead"
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
	if _, err := t.place(t.unix()); err != nil {
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
	if p.realTime() && n > 0 {
		return p.rateLimitReal(since, n, fresh)
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

// rateLimitReal measures the rate limit's window on real time, once n
// correct codes at one moment were accepted and the next refused: fresh
// tokens take n correct codes at their start, and the next one x s later
// (firstTrue's rounds, waiting together).
func (p *prober) rateLimitReal(since int, n int64, fresh func() (*tok, error)) error {
	lo := p.lower
	p.waiting("rate-limit", "the rate limit's window to pass")
	rec := p.series("rate limit", "seconds after the checks")
	rec(0, false)
	prepare := func(x int64) (timedProbe, error) {
		t, err := fresh()
		if err != nil {
			return nil, err
		}
		if _, err := t.place(t.unix()); err != nil {
			return nil, err
		}
		for i := int64(0); i < n; i++ {
			if _, err := t.check(t.code(lo + i)); err != nil {
				return nil, err
			}
		}
		return func() (bool, bool, error) {
			u := t.unix() + x
			moved, err := t.place(u)
			if err != nil {
				return false, false, err
			}
			rep, err := t.checkAt(t.code(lo+n), time.Unix(u, 0))
			return rep.Accepted, moved > 0 || t.overran(u), err
		}, nil
	}
	x, ok, err := p.firstTrue(0, prepare, func(x int64, v bool) { rec(x, v) })
	if err != nil {
		return err
	}
	if !ok {
		p.add(since, Finding{Name: "rate-limit", Value: fmt.Sprintf("%d per more than %d s", n, p.horizon()), Certainty: LowerBound,
			Evidence: fmt.Sprintf("%d correct codes at one moment accepted, the next refused, and still %d s later: %s (MaxWait); a rate limit with a longer window, or a refusal that never ends, which the profile cannot state", n, p.horizon(), p.tooLong())})
		return nil
	}
	p.rate = &harness.RateLimitPolicy{Attempts: int(n), Per: x}
	p.add(since, Finding{Name: "rate-limit", Value: fmt.Sprintf("%d per %d s", n, x), Certainty: CouldNotTell,
		Evidence: fmt.Sprintf("%d correct codes at one moment accepted, the next refused; after %d correct codes, a check %d s later was still refused and one %d s later accepted; the window is %d s or %d s", n, n, x-1, x, x, x+1) + p.realNote()})
	return nil
}
