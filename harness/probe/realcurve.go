package probe

import (
	"fmt"
	"sort"
	"strings"
)

// The throttle's curve on real time. Each refusal measured on real time
// is known to a second either way: the verifier may count whole seconds
// (it then sees a check a second later than planned, and the refusal
// looks a second shorter), or compare instants, and then a failure it
// read later after its send than the check (a slower reply) makes the
// refusal look a second longer. Two refusals (after f and f+1 failures)
// then fit many throttles, and a ratio of measured values is no factor:
// django-otp's 1 s and 2 s measure 2 s and 3 s. A third refusal, after
// f+2 failures, decides: the throttle is the delay and factor whose
// delays are each within a second of every measured one.

// curveFit is a throttle (delay d, factor k) that fits measured refusals,
// with miss the sum of its distances from them, in seconds.
type curveFit struct {
	d, k, miss int64
}

// maxFactor bounds the factors a fit tries (as on simulated time).
const maxFactor = 16

// fitCurve returns the throttles whose delays after f, f+1, ... failures
// are each within a second of the measured refusals m (at least one),
// the closest first.
func fitCurve(m []int64) []curveFit {
	var out []curveFit
	for d := max(1, m[0]-1); d <= m[0]+1; d++ {
		for k := int64(1); k <= maxFactor; k++ {
			pred, miss, ok := d, int64(0), true
			for i, x := range m {
				if i > 0 {
					pred *= k
				}
				diff := max(pred-x, x-pred)
				if diff > 1 {
					ok = false
					break
				}
				miss += diff
			}
			if ok {
				out = append(out, curveFit{d: d, k: k, miss: miss})
			}
			if len(m) == 1 {
				break // one refusal says nothing of the factor
			}
		}
	}
	// The closest first; among equals, the delay as measured, then the
	// smaller factor.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].miss != out[j].miss {
			return out[i].miss < out[j].miss
		}
		if di, dj := max(out[i].d-m[0], m[0]-out[i].d), max(out[j].d-m[0], m[0]-out[j].d); di != dj {
			return di < dj
		}
		return out[i].k < out[j].k
	})
	return out
}

// predict is the delay the fit gives after the i-th failure counted from
// the throttle's first (i = 0).
func (c curveFit) predict(i int) int64 {
	d := c.d
	for range i {
		d *= c.k
	}
	return d
}

// realCurve is what fitRealCurve found.
type realCurve struct {
	measured  []int64    // the refusals after f, f+1 (and f+2) failures
	fits      []curveFit // the throttles that fit them, the closest first
	outlasted bool       // the refusal after f+2 failures lasted past MaxWait
	unchecked bool       // it would have taken longer than MaxWait to measure
}

// fitRealCurve measures, on real time, the refusal after f+2 failures
// (each failure once the measured delay before it has passed) when the
// throttles that fit b and b2 predict one within MaxWait, and returns the
// throttles that fit every measured refusal. build2 makes tokens with
// f+1 failures.
func (p *prober) fitRealCurve(f int, b, b2 int64, build2 func() (*blockTok, error), setY func(x, y int64)) (realCurve, error) {
	rc := realCurve{measured: []int64{b, b2}, fits: fitCurve([]int64{b, b2})}
	if len(rc.fits) == 0 {
		return rc, nil
	}
	// The third refusal is worth its wait when some fit's would end
	// within MaxWait.
	shortest := rc.fits[0].predict(2)
	for _, c := range rc.fits[1:] {
		shortest = min(shortest, c.predict(2))
	}
	if shortest+p.margin() > p.horizon() {
		rc.unchecked = true
		return rc, nil
	}
	build3 := func() (*blockTok, error) {
		bt, err := build2()
		if err != nil {
			return nil, err
		}
		return bt, bt.failAt(p.freeTwice(bt, bt.last+b2+p.margin()))
	}
	b3, finite, err := p.unblock(nil, build3, 0, 0, "throttle")
	if err != nil {
		return rc, err
	}
	if !finite {
		// Refused throughout: a longer third delay, or a lockout after
		// f+2 failures (which the search beyond the throttle finds).
		rc.outlasted = true
		keep := rc.fits[:0]
		for _, c := range rc.fits {
			if c.predict(2)+1 > p.horizon() {
				keep = append(keep, c)
			}
		}
		if len(keep) > 0 {
			rc.fits = keep
		}
		return rc, nil
	}
	setY(int64(f)+2, b3)
	rc.measured = append(rc.measured, b3)
	rc.fits = fitCurve(rc.measured)
	return rc, nil
}

// evidence tells how the fit was found, for the throttle's finding.
func (rc realCurve) evidence(f int, p *prober) string {
	ms := make([]string, len(rc.measured))
	for i, m := range rc.measured {
		ms[i] = fmt.Sprintf("%d s after %d", m, f+i)
	}
	best := rc.fits[0]
	s := fmt.Sprintf("; on real time the refusals measured %s failures, each known to a second either way (the verifier may count whole seconds, and a reply takes time): delay %d s and factor %d fit every one", strings.Join(ms, ", "), best.d, best.k)
	if rc.outlasted {
		s += fmt.Sprintf("; after %d failures the correct code was refused throughout %d s (MaxWait)", f+2, p.horizon())
	}
	if len(rc.fits) > 1 {
		var alts []string
		for _, c := range rc.fits[1:min(len(rc.fits), 4)] {
			alts = append(alts, fmt.Sprintf("delay %d s factor %d", c.d, c.k))
		}
		more := ""
		if len(rc.fits) > 4 {
			more = fmt.Sprintf(" and %d more", len(rc.fits)-4)
		}
		s += "; so do " + strings.Join(alts, ", ") + more
	}
	return s
}

// refusalList tells measured refusals after f, f+1, ... failures: "2 s,
// after one more 3 s".
func refusalList(m []int64) string {
	parts := []string{fmt.Sprintf("%d s", m[0])}
	for i, x := range m[1:] {
		parts = append(parts, fmt.Sprintf("after %d more %d s", i+1, x))
	}
	return strings.Join(parts, ", ")
}
