package probe

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
)

// resync finds the number of codes a resync takes and its window.
func (p *prober) resync() error {
	if p.hotp == nil {
		p.add(p.res.Requests, Finding{Name: "resync", Value: "-", Certainty: NotMeasured, Evidence: "no hotp tokens"})
		return nil
	}
	since := p.res.Requests
	p.resyncDone = true
	// at tries every number of codes at offset k on fresh tokens.
	at := func(k uint64) ([]int, []string, bool, error) {
		var acc []int
		var ev []string
		for n := 1; n <= p.o.MaxResyncCodes; n++ {
			targets := make([]int64, n)
			for i := range targets {
				targets[i] = int64(k) + int64(i)
			}
			t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k)+int64(n), targets...))
			if err != nil {
				return nil, nil, false, err
			}
			rep, err := t.resync(k, n)
			switch {
			case errors.Is(err, harness.ErrUnsupported):
				return nil, []string{err.Error()}, true, nil
			case errors.Is(err, errRefused):
				ev = append(ev, fmt.Sprintf("%d: refused (%v)", n, err))
			case err != nil:
				return nil, nil, false, err
			case rep.Accepted:
				acc = append(acc, n)
				ev = append(ev, fmt.Sprintf("%d: accepted", n))
			default:
				ev = append(ev, fmt.Sprintf("%d: rejected", n))
			}
		}
		return acc, ev, false, nil
	}
	acc, ev, unsupported, err := at(0)
	if err != nil {
		return err
	}
	var lo uint64
	evidence := "resync with the n codes from the token's counter c, one fresh token per n: " + strings.Join(ev, "; ")
	if unsupported {
		p.add(since, Finding{Name: "resync", Value: "none", Certainty: Exact, Evidence: "resync is not supported: " + strings.Join(ev, "")})
		return nil
	}
	departs := false
	if len(acc) == 0 && !p.lBound {
		lo = p.l + 1
		var err error
		if acc, ev, _, err = at(lo); err != nil {
			return err
		}
		evidence += fmt.Sprintf("; from c+%d (beyond the look-ahead): %s", lo, strings.Join(ev, "; "))
		departs = len(acc) > 0
		if departs {
			evidence += "; resync refuses codes inside the look-ahead window (the profile cannot express this)"
		}
	}
	if len(acc) == 0 {
		p.add(since, Finding{Name: "resync", Value: "none", Certainty: NotObserved, Evidence: evidence})
		return nil
	}
	n := acc[0]
	f := Finding{Name: "resync", Value: fmt.Sprintf("%d codes", n), Certainty: Exact, Evidence: evidence, Departs: departs}
	if len(acc) > 1 {
		f.Departs = true
		f.Evidence += fmt.Sprintf("; several lengths accepted (%s), the profile lists the smallest", joinInts(acc))
	}
	p.add(since, f)

	since = p.res.Requests
	rec := p.series("HOTP resync window", "offset")
	rec(int64(lo), true)
	pred := func(k uint64) (bool, error) {
		targets := make([]int64, n)
		for i := range targets {
			targets[i] = int64(k) + int64(i)
		}
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k)+int64(n)-1, targets...))
		if err != nil {
			return false, err
		}
		rep, err := t.resync(k, n)
		if err != nil {
			return false, err
		}
		rec(int64(k), rep.Accepted)
		return rep.Accepted, nil
	}
	var h *uint64
	if p.claim != nil && p.claim.Resync != nil && p.claim.Resync.Codes == n {
		h = p.hint(&p.claim.Resync.Window)
	}
	r, atMax, err := edge(lo, p.o.MaxResyncWindow, h, pred)
	if err != nil {
		return err
	}
	p.resyncN, p.resyncR = n, r
	w := Finding{Name: "resync-window", Value: fmt.Sprint(r), Certainty: Exact,
		Evidence: describePoints(p.res.Series[len(p.res.Series)-1].Points[1:], fmt.Sprintf("offset k (the %d codes from c+k)", n))}
	if atMax {
		w.Value, w.Certainty = fmt.Sprintf(">= %d", r), LowerBound
		w.Evidence += fmt.Sprintf("; the search stops at %d (MaxResyncWindow)", r)
	}
	p.add(since, w)
	return nil
}

// resyncLo is the smallest offset at which a resync was accepted.
func (p *prober) resyncLo() uint64 {
	for _, s := range p.res.Series {
		if s.Name == "HOTP resync window" && len(s.Points) > 0 {
			return uint64(s.Points[0].X)
		}
	}
	return 0
}

// autoResync measures resync.auto {within W}: the code of c+L+1 (beyond
// the look-ahead, inside the resync window), then the code of c+L+2 x
// seconds later is accepted when x <= W. Between the two checks the token
// is unlocked when the verifier supports unlock (an unlock does not use up
// the remembered code), so that the failure's throttle or lock cannot
// refuse the second check; otherwise the second check waits out the
// measured throttle and rate limit.
func (p *prober) autoResync() error {
	since := p.res.Requests
	if p.hotp == nil || p.resyncN != 2 || p.resyncR <= p.l || p.lBound || p.lower != 0 {
		p.add(since, Finding{Name: "resync-auto", Value: "-", Certainty: NotMeasured,
			Evidence: "needs a two-code resync wider than the look-ahead"})
		return nil
	}
	k := int64(p.l) + 1
	rec := p.series("HOTP automatic resync", "seconds between the two codes")
	confounded := false
	// prepare sends the code of c+k on a fresh token (and unlocks it) and
	// returns the check of the code of c+k+1 x s later.
	prepare := func(x int64) (timedProbe, error) {
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(p.resyncR)+2, k, k+1))
		if err != nil {
			return nil, err
		}
		if _, err := t.place(t.unix()); err != nil {
			return nil, err
		}
		if _, err := t.check(t.code(k)); err != nil {
			return nil, err
		}
		at := t.at.Add(time.Duration(x) * time.Second)
		if p.unlockOK >= 0 {
			if err := t.unlock(); err == nil {
				p.unlockOK = 1
			} else if !errors.Is(err, errRefused) {
				return nil, err
			} else {
				p.unlockOK = -1
			}
		}
		if p.unlockOK < 0 {
			wait := p.delay(1)
			if p.rate != nil && p.rate.Attempts == 1 {
				wait = max(wait, p.rate.Per)
			}
			if x < wait || p.lockAfter == 1 {
				confounded = true
			}
		}
		return func() (bool, bool, error) {
			moved, err := t.place(at.Unix())
			if err != nil {
				return false, false, err
			}
			rep, err := t.checkAt(t.code(k+1), at)
			return rep.Accepted, moved > 0 || t.overran(at.Unix()), err
		}, nil
	}
	try := func(x uint64) (bool, error) {
		pr, err := prepare(int64(x))
		if err != nil {
			return false, err
		}
		ok, _, err := pr()
		if err != nil {
			return false, err
		}
		rec(int64(x), ok)
		return ok, nil
	}
	var h *uint64
	if c := p.claim; c != nil && c.Resync != nil && c.Resync.Auto != nil && !p.o.IgnoreClaim {
		h = harness.Uint64(uint64(c.Resync.Auto.Within))
	}
	ok, err := try(0)
	if err != nil {
		return err
	}
	if !ok {
		f := Finding{Name: "resync-auto", Value: "none", Certainty: Exact,
			Evidence: fmt.Sprintf("the code of c+%d, then at once the code of c+%d: rejected", k, k+1)}
		if confounded {
			f.Certainty = CouldNotTell
			f.Evidence += "; the failure's throttle or lock may have refused the second code (no unlock)"
		}
		p.add(since, f)
		return nil
	}
	if p.realTime() {
		return p.autoResyncReal(since, k, prepare, rec, &confounded)
	}
	w, atMax, err := edge(0, Wait, h, try)
	if err != nil {
		return err
	}
	if atMax {
		p.add(since, Finding{Name: "resync-auto", Value: fmt.Sprintf(">= %d s", w), Certainty: LowerBound, Departs: true,
			Evidence: "the second code was accepted however late it came: the profile cannot state an automatic resync without a time limit"})
		return nil
	}
	p.auto = &harness.AutoResync{Within: int64(w)}
	f := Finding{Name: "resync-auto", Value: fmt.Sprintf("within %d s", w), Certainty: Exact,
		Evidence: fmt.Sprintf("the code of c+%d (beyond the look-ahead), then the code of c+%d: accepted %d s later, rejected %d s later", k, k+1, w, w+1)}
	if confounded {
		f.Certainty = CouldNotTell
		f.Evidence += "; without unlock, the failure's throttle or lock may have refused the early second codes"
	}
	p.add(since, f)
	return nil
}

// autoResyncReal measures resync.auto's window on real time, once the
// second code was accepted at once: the first x at which it is rejected
// (firstTrue's rounds), so that the window is x-1 s.
func (p *prober) autoResyncReal(since int, k int64, prepare func(int64) (timedProbe, error), rec func(int64, bool), confounded *bool) error {
	p.waiting("resync-auto", "the automatic resync's window to pass")
	rejected := func(x int64) (timedProbe, error) {
		pr, err := prepare(x)
		if err != nil {
			return nil, err
		}
		return func() (bool, bool, error) { ok, slipped, err := pr(); return !ok, slipped, err }, nil
	}
	x, found, err := p.firstTrue(0, rejected, func(x int64, v bool) { rec(x, !v) })
	if err != nil {
		return err
	}
	if !found {
		p.add(since, Finding{Name: "resync-auto", Value: fmt.Sprintf(">= %d s", p.horizon()), Certainty: LowerBound,
			Evidence: fmt.Sprintf("the code of c+%d, then the code of c+%d: accepted up to %d s later; a longer window %s (MaxWait)", k, k+1, p.horizon(), p.tooLong())})
		return nil
	}
	w := x - 1
	p.auto = &harness.AutoResync{Within: w}
	f := Finding{Name: "resync-auto", Value: fmt.Sprintf("within %d s", w), Certainty: CouldNotTell,
		Evidence: fmt.Sprintf("the code of c+%d (beyond the look-ahead), then the code of c+%d: accepted %d s later, rejected %d s later; the window is %d s or %d s", k, k+1, w, x, w, x) + p.realNote()}
	if *confounded {
		f.Evidence += "; without unlock, the failure's throttle or lock may have refused the early second codes"
	}
	p.add(since, f)
	return nil
}
