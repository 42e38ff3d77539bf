package harness

import (
	"time"

	"github.com/otplab/otplab/token"
)

// TOTP time steps: the claimed skew, placing a time in the middle of a
// step, and keys whose codes are distinct around a step.

// skew returns the claimed (back, ahead), zero when not claimed.
func skew(p Profile) (uint64, uint64) {
	if p.TOTP == nil {
		return 0, 0
	}
	return p.TOTP.SkewBack, p.TOTP.SkewAhead
}

// midStep returns the middle of the step that contains unix, and the step.
func midStep(unix, t0, period int64) (time.Time, uint64) {
	st, _ := token.Step(unix, t0, period)
	return time.Unix(token.StepStart(st, t0, period)+period/2, 0), st
}

// stepWindow is a clean predicate for TOTP cases: the codes of the target
// steps appear nowhere else in [T-B-2, T+A+2].
func stepWindow(p Profile, t uint64, targets ...uint64) func(codes) bool {
	b, a := skew(p)
	lo := t - min(t, b+2)
	return distinct(lo, t+a+2, targets...)
}

// walkSpan is how long (in seconds) drift-walk may take inside one step
// on real time: a few dozen checks.
const walkSpan = 5

// learnOffset returns the skew offset the skew-learning cases use: beyond
// the window ahead, inside the claimed range, and inside a drift bound
// when one leaves room beyond the window.
func learnOffset(p Profile) int64 {
	off := min(p.TOTP.SkewAhead+5, p.TOTP.Resync.Range)
	if d := p.TOTP.Drift; d != nil && d.Max != nil && *d.Max > p.TOTP.SkewAhead {
		off = min(off, *d.Max)
	}
	return int64(off)
}

// skewClean is a clean predicate for skew-learning cases: over the steps
// they use, the codes at offset off appear nowhere else in the claimed
// range, and the window's codes differ from them.
func skewClean(p Profile, st uint64, off int64, steps int) func(codes) bool {
	r := p.TOTP.Resync.Range
	return func(k codes) bool {
		lo := st - min(st, r+1)
		hi := st + uint64(steps) + r + 1
		seen := map[uint32]uint64{}
		for c := lo; c <= hi; c++ {
			seen[k.Value(c)]++
		}
		for i := range uint64(steps) {
			for _, c := range []uint64{st + i, uint64(int64(st+i) + off)} {
				if seen[k.Value(c)] > 1 {
					return false
				}
			}
		}
		return true
	}
}
