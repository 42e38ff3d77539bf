package probe

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// lookAhead measures both edges of the HOTP window on fresh tokens: the
// code of c-1 must be rejected, and the largest accepted offset L is
// found by galloping and bisection (accepted iff k <= L).
func (p *prober) lookAhead() error {
	if p.hotp == nil {
		p.add(p.res.Requests, Finding{Name: "look-ahead", Value: "-", Certainty: NotMeasured, Evidence: "no hotp tokens"})
		return nil
	}
	rec := p.series("HOTP look-ahead", "offset")
	rec(p.lower, true)
	since := p.res.Requests
	t, err := p.enroll(*p.hotp, time.Time{}, distinct(-1, p.lower+1, -1))
	if err != nil {
		return err
	}
	rep, err := t.check(t.code(-1))
	if err != nil {
		return err
	}
	rec(-1, rep.Accepted)
	f := Finding{Name: "look-ahead-lower", Value: "c", Certainty: Exact,
		Evidence: "a fresh token rejected the code of c-1 and accepted the code of c"}
	switch {
	case rep.Accepted:
		f.Value, f.Departs = "c-1 or below", true
		f.Evidence = "a fresh token accepted the code of c-1, a counter behind the one it was enrolled with"
	case p.lower == 1:
		f.Value, f.Departs = "c+1", true
		f.Evidence = "a fresh token rejected the code of its enrolled counter c and accepted c+1: the enrolled counter is taken as already used; the profile cannot express this"
	}
	p.add(since, f)

	since = p.res.Requests
	pred := func(k uint64) (bool, error) {
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k), int64(k)))
		if err != nil {
			return false, err
		}
		rep, err := t.check(t.code(int64(k)))
		if err != nil {
			return false, err
		}
		rec(int64(k), rep.Accepted)
		return rep.Accepted, nil
	}
	var h *uint64
	if p.claim != nil {
		h = p.hint(p.claim.LookAhead)
	}
	l, atMax, err := edge(uint64(p.lower), p.o.MaxLookAhead, h, pred)
	if err != nil {
		return err
	}
	p.l, p.lBound = l, atMax
	f = Finding{Name: "look-ahead", Value: fmt.Sprint(l), Certainty: Exact,
		Evidence: describePoints(p.res.Series[len(p.res.Series)-1].Points[2:], "offset k (the code of c+k)")}
	if atMax {
		f.Value, f.Certainty = fmt.Sprintf(">= %d", l), LowerBound
		f.Evidence += fmt.Sprintf("; the search stops at %d (MaxLookAhead)", l)
	}
	p.add(since, f)
	return nil
}

// storedCounter finds what the verifier stores after a hit: the next
// counter (the RFC and the profile) or the last used one (liboath), and
// whether the accepted code is then refused as a replay.
func (p *prober) storedCounter() error {
	if p.hotp == nil || p.lBound || p.lower != 0 {
		why := "no hotp tokens"
		if p.hotp != nil {
			why = "the look-ahead window is not known exactly"
		}
		p.add(p.res.Requests, Finding{Name: "stored-counter", Value: "-", Certainty: NotMeasured, Evidence: why})
		return nil
	}
	since := p.res.Requests
	l := int64(p.l)
	t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, 2*l+2, 0, l+1))
	if err != nil {
		return err
	}
	if rep, err := t.check(t.code(0)); err != nil || !rep.Accepted {
		if err != nil {
			return err
		}
		p.add(since, Finding{Name: "stored-counter", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: "a fresh token rejected the code of its enrolled counter, which an earlier token accepted"})
		return nil
	}
	p.spaced(t)
	rep, err := t.check(t.code(l + 1))
	if err != nil {
		return err
	}
	replayOf := int64(-1) // the counter offset whose code is replayed
	f := Finding{Name: "stored-counter", Certainty: Exact}
	if rep.Accepted {
		f.Value = "next (c = matched + 1)"
		f.Evidence = fmt.Sprintf("after the code of c was accepted, the code of c+1+L (c+%d) was accepted: the window moved to start at c+1", l+1)
		replayOf = l + 1
	} else {
		targets := []int64{0, l}
		if l == 0 {
			targets = targets[:1]
		}
		t, err = p.enroll(*p.hotp, time.Time{}, distinct(0, 2*l+2, targets...))
		if err != nil {
			return err
		}
		if rep, err = t.check(t.code(0)); err != nil {
			return err
		}
		ok := rep.Accepted
		if ok && l > 0 {
			p.spaced(t)
			if rep, err = t.check(t.code(l)); err != nil {
				return err
			}
			ok = rep.Accepted
		}
		replayOf = l
		switch {
		case ok:
			p.lastUsed = true
			f.Value, f.Departs = "last used (c = matched)", true
			f.Evidence = fmt.Sprintf("after the code of c was accepted, the code of c+1+L (c+%d) was rejected", l+1)
			if l > 0 {
				f.Evidence += fmt.Sprintf(" and the code of c+L (c+%d) accepted on a second token", l)
			}
			f.Evidence += fmt.Sprintf(": after a hit at m the window reaches only m+%d, so a fresh token accepts %d codes ahead and later ones %d; look_ahead %d is kept, exact on fresh tokens (the profile cannot express this)", l, l+1, l, l)
			if l == 0 {
				f.Evidence += "; with a window of 0 a token can log in only once"
			}
		default:
			f.Value, f.Departs = "neither", true
			f.Evidence = fmt.Sprintf("after the code of c was accepted, the codes of c+1+L and c+L (L = %d) were both rejected: the window after a hit is shorter than L", l)
			replayOf = -1
		}
	}
	p.add(since, f)
	if replayOf < 0 {
		return nil
	}
	since = p.res.Requests
	p.spaced(t)
	if rep, err = t.check(t.code(replayOf)); err != nil {
		return err
	}
	r := Finding{Name: "replay", Value: "rejected", Certainty: Exact,
		Evidence: "the last accepted code, submitted again at once, was rejected"}
	if rep.Accepted {
		r.Value, r.Departs = "accepted", true
		r.Evidence = "the last accepted code, submitted again at once, was accepted again (RFC 4226 §7.2)"
	}
	p.add(since, r)
	return nil
}

// counters measures counters {min, max} by enrolling HOTP tokens at the
// edges of the 8-byte range (0, 1, 2^31-1, 2^32, 2^53, 2^63-2, 2^63-1,
// 2^63, 2^64-1) and bisecting between an enrolled and a refused counter,
// then checks that the code of max is accepted on a token enrolled there.
func (p *prober) counters() error {
	since := p.res.Requests
	if p.hotp == nil {
		p.add(since, Finding{Name: "counters", Value: "-", Certainty: NotMeasured, Evidence: "no hotp tokens"})
		return nil
	}
	rec := p.series("HOTP counters", "log2 of the enrolled counter")
	enrollable := func(c uint64) (bool, error) {
		_, err := p.enrollWith(*p.hotp, time.Time{}, spec{counter: &c}, nil)
		if errors.Is(err, errRefused) {
			rec(int64(bits.Len64(c)), false)
			return false, nil
		}
		if err == nil {
			rec(int64(bits.Len64(c)), true)
		}
		return err == nil, err
	}
	known := p.knownCounter // a counter kinds enrolled and verified
	var claimed *harness.CounterRange
	if c := p.claim; c != nil && !p.o.IgnoreClaim {
		claimed = &harness.CounterRange{Min: c.CounterMin(), Max: c.CounterMax()}
	}
	// The smallest counter: 0, else bisect up to a known one.
	var lo uint64
	ok, err := enrollable(0)
	if err != nil {
		return err
	}
	if !ok {
		var h *uint64
		if claimed != nil && claimed.Min > 0 && claimed.Min <= known {
			h = harness.Uint64(claimed.Min - 1)
		}
		// largest refused counter in [0, known): refused is monotone.
		x, _, err := edge(0, known, h, func(x uint64) (bool, error) { ok, err := enrollable(x); return !ok, err })
		if err != nil {
			return err
		}
		lo = x + 1
	}
	// The largest counter: a binary search over the usual limits (the
	// edges of 31, 32, 53, 63 and 64 bits), then a bisection between the
	// largest enrolled and the smallest refused one.
	cands := []uint64{1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<53 - 1, 1 << 53, 1<<53 + 1,
		1<<63 - 2, 1<<63 - 1, 1 << 63, token.MaxCounter - 1, token.MaxCounter}
	if claimed != nil && claimed.Max > known {
		cands = append(cands, claimed.Max)
		if claimed.Max < token.MaxCounter {
			cands = append(cands, claimed.Max+1)
		}
	}
	slices.Sort(cands)
	cands = slices.Compact(slices.DeleteFunc(cands, func(c uint64) bool { return c <= known }))
	best, hi := known, uint64(0) // hi: the smallest refused counter seen, 0 for none
	i, j := 0, len(cands)        // cands[:i] are known enrolled, cands[j:] refused
	if claimed != nil {
		// The claimed max and the counter after it first.
		for _, c := range []uint64{claimed.Max, claimed.Max + 1} {
			k, found := slices.BinarySearch(cands, c)
			if !found || k < i || k >= j || c <= known {
				continue
			}
			ok, err := enrollable(c)
			if err != nil {
				return err
			}
			if ok {
				best, i = c, k+1
			} else {
				hi, j = c, k
			}
		}
	}
	for i < j {
		k := i + (j-i)/2
		ok, err := enrollable(cands[k])
		if err != nil {
			return err
		}
		if ok {
			best, i = cands[k], k+1
		} else {
			hi, j = cands[k], k
		}
	}
	for hi != 0 && hi-best > 1 {
		mid := best + (hi-best)/2
		ok, err := enrollable(mid)
		if err != nil {
			return err
		}
		if ok {
			best = mid
		} else {
			hi = mid
		}
	}
	max := best
	p.counterRange = &harness.CounterRange{Min: lo, Max: max}
	// The code of max is accepted on a token enrolled at max.
	t, err := p.enrollWith(*p.hotp, time.Time{}, spec{counter: &max}, nil)
	if err != nil {
		return err
	}
	rep, err := t.check(t.code(0))
	var refused *harness.RefusedError
	if err != nil && max > lo && !p.fatal(err) && errors.As(err, &refused) && !errors.Is(err, harness.ErrUnsupported) {
		// Enrolled at max, but its check answered with an error (a
		// counter stored past a signed 64-bit column, say): the counters
		// served end below, if the code of max-1 is accepted there.
		below := max - 1
		t2, err2 := p.enrollWith(*p.hotp, time.Time{}, spec{counter: &below}, nil)
		if err2 != nil {
			return err
		}
		rep2, err2 := t2.check(t2.code(0))
		if err2 != nil || !rep2.Accepted {
			return err
		}
		p.counterRange.Max = below
		p.add(since, Finding{Name: "counters", Value: fmt.Sprintf("%d .. %d", lo, below), Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("enrollment refused below %d and above %d, accepted at both; but a check of the code of counter %d on a token enrolled there was answered with an error (%s), and the code of counter %d was accepted on a token enrolled there: the counters served end at %d, one below the last the verifier enrolls", lo, max, max, refused.Message, below, below)})
		return nil
	}
	if err != nil {
		return err
	}
	f := Finding{Name: "counters", Value: fmt.Sprintf("%d .. %d", lo, max), Certainty: Exact,
		Evidence: fmt.Sprintf("enrollment refused below %d and above %d, accepted at both; the code of counter %d was accepted on a token enrolled there", lo, max, max)}
	if !rep.Accepted {
		f.Departs = true
		f.Evidence = fmt.Sprintf("enrollment refused below %d and above %d, but the code of counter %d was rejected on a token enrolled there", lo, max, max)
	}
	p.add(since, f)
	return nil
}

// wrongFor returns a well-formed code of t's length whose value is no
// code of counters (or steps) c+lo .. c+hi.
func (p *prober) wrongFor(t *tok, lo, hi int64) string {
	avoid := map[uint32]bool{}
	for i := lo; i <= hi; i++ {
		avoid[t.key.Value(uint64(int64(t.c)+i))] = true
	}
	mod := uint64(1)
	for range t.key.Digits() {
		mod *= 10
	}
	mod = min(mod, 1<<31)
	for {
		v := uint32(p.rng.Uint64N(mod))
		if !avoid[v] {
			return fmt.Sprintf("%0*d", t.key.Digits(), v)
		}
	}
}

// onFailure measures on_failure: after one wrong code (and an unlock, or
// Wait seconds, so that no lock, throttle or rate limit interferes), the
// code of c+L+1 is accepted when the failure moved the counter on, and the
// code of c is accepted when it did not.
func (p *prober) onFailure() error {
	since := p.res.Requests
	if p.hotp == nil || p.lBound {
		p.add(since, Finding{Name: "on-failure", Value: "-", Certainty: NotMeasured, Evidence: "needs hotp tokens and an exact look-ahead"})
		return nil
	}
	l := int64(p.l)
	lo := p.lower
	span := 2*l + 4 + int64(p.resyncWindowGuess())
	try := func(k int64) (bool, bool, error) {
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, lo+l+2, lo, lo+l+1))
		if err != nil {
			return false, false, err
		}
		if _, err := t.check(p.wrongFor(t, -1, span)); err != nil {
			return false, false, err
		}
		sure, err := p.quiet(t)
		if err != nil {
			return false, false, err
		}
		rep, err := t.check(t.code(lo + k))
		return rep.Accepted, sure, err
	}
	adv, sure, err := try(l + 1)
	if err != nil {
		return err
	}
	how := "an unlock"
	switch {
	case !sure && p.realTime():
		how = "no unlock (on real time no time passed)"
	case !sure:
		how = fmt.Sprintf("%d s", int64(Wait))
	}
	if adv {
		p.burns, p.burnKnown = true, true
		p.add(since, Finding{Name: "on-failure", Value: "advance", Certainty: Exact,
			Evidence: fmt.Sprintf("after one wrong code and %s, the code of c+L+1 (c+%d) was accepted: the failure moved the counter on", how, lo+l+1)})
		return nil
	}
	keep, _, err := try(0)
	if err != nil {
		return err
	}
	if keep {
		p.burnKnown = true
		p.add(since, Finding{Name: "on-failure", Value: "keep", Certainty: Exact,
			Evidence: fmt.Sprintf("after one wrong code and %s, the code of c+L+1 was rejected and, on another token, the code of c accepted", how)})
		return nil
	}
	p.add(since, Finding{Name: "on-failure", Value: "-", Certainty: CouldNotTell,
		Evidence: fmt.Sprintf("after one wrong code and %s, neither the code of c nor that of c+L+1 was accepted: a lock that outlasts the wait hides the counter", how)})
	return nil
}

// resyncWindowGuess is the claimed resync window, to keep wrong codes
// clear of codes an automatic resync could remember.
func (p *prober) resyncWindowGuess() uint64 {
	if c := p.claim; c != nil && c.Resync != nil {
		return min(c.Resync.Window, 100_000)
	}
	return 1000
}

// spaced moves a HOTP token's check time past the measured rate limit's
// window, so that the next check is not refused for the ones before.
func (p *prober) spaced(t *tok) {
	if p.rate != nil && t.t.Kind == harness.HOTP {
		t.at = t.at.Add(time.Duration(p.rate.Per) * time.Second)
	}
}
