// Package drift parses drift plans for fleets of simulated tokens and
// draws each device's drift from them.
//
// A drift is a whole number: for event tokens (C100) the presses made and
// never submitted, which put the token's counter ahead of the server's;
// for time tokens (C200, app) the seconds the device clock is ahead of true
// time (negative: behind). The plans are:
//
//	none           every device 0 (same as fixed:0)
//	fixed:N        every device N
//	uniform:A-B    each device a whole number from A to B inclusive, all
//	               equally likely (A and B not negative)
//	uniform:A..B   the same, for bounds of any sign (uniform:-90..90)
//	geometric:P    each device the number of failures before the first
//	               success of a trial that succeeds with probability P
//	               (0 < P <= 1): 0 is most likely, the mean is (1-P)/P,
//	               so geometric:0.1 averages 9 and exceeds 50 for about
//	               1 device in 200
//
// Values are bounded by ±MaxValue. The same plan and the same random
// source give the same drifts, which is what reproducible fleets need.
package drift

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ErrSpec reports a drift plan that cannot be parsed or makes no sense.
var ErrSpec = errors.New("invalid drift spec")

// MaxValue bounds every drift: 10^12 presses or seconds.
const MaxValue = 1_000_000_000_000

// minP bounds the probability of a geometric plan from below, so its mean
// stays under 10^9.
const minP = 1e-9

type kind uint8

const (
	fixed kind = iota
	uniform
	geometric
)

// Spec is a parsed drift plan. The zero Spec is "none".
type Spec struct {
	kind   kind
	lo, hi int64
	p      float64
}

// Parse reads a drift plan; see the package documentation for the forms.
func Parse(s string) (Spec, error) {
	if len(s) > 64 {
		return Spec{}, fmt.Errorf("drift %q: %w: too long", s[:16]+"...", ErrSpec)
	}
	name, arg, _ := strings.Cut(strings.TrimSpace(s), ":")
	switch strings.ToLower(name) {
	case "none":
		if arg != "" {
			return Spec{}, fmt.Errorf("drift %q: %w: none takes no value", s, ErrSpec)
		}
		return Spec{}, nil
	case "fixed":
		n, err := parseInt(arg)
		if err != nil {
			return Spec{}, fmt.Errorf("drift %q: %w: %w", s, ErrSpec, err)
		}
		return Spec{kind: fixed, lo: n, hi: n}, nil
	case "uniform":
		a, b, ok := strings.Cut(arg, "..")
		if !ok {
			if strings.HasPrefix(arg, "-") {
				return Spec{}, fmt.Errorf("drift %q: %w: write negative bounds as uniform:A..B", s, ErrSpec)
			}
			a, b, ok = strings.Cut(arg, "-")
		}
		if !ok {
			return Spec{}, fmt.Errorf("drift %q: %w: want uniform:A-B or uniform:A..B", s, ErrSpec)
		}
		lo, err := parseInt(a)
		if err != nil {
			return Spec{}, fmt.Errorf("drift %q: %w: %w", s, ErrSpec, err)
		}
		hi, err := parseInt(b)
		if err != nil {
			return Spec{}, fmt.Errorf("drift %q: %w: %w", s, ErrSpec, err)
		}
		if lo > hi {
			return Spec{}, fmt.Errorf("drift %q: %w: lower bound %d above upper bound %d", s, ErrSpec, lo, hi)
		}
		return Spec{kind: uniform, lo: lo, hi: hi}, nil
	case "geometric":
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || math.IsNaN(p) || p < minP || p > 1 {
			return Spec{}, fmt.Errorf("drift %q: %w: want a probability P with %g <= P <= 1", s, ErrSpec, minP)
		}
		return Spec{kind: geometric, lo: 0, hi: MaxValue, p: p}, nil
	}
	return Spec{}, fmt.Errorf("drift %q: %w: want none, fixed:N, uniform:A-B, uniform:A..B or geometric:P", s, ErrSpec)
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if n > MaxValue || n < -MaxValue {
		return 0, fmt.Errorf("%d is beyond ±%d", n, int64(MaxValue))
	}
	return n, nil
}

// String returns the plan in the form Parse reads.
func (s Spec) String() string {
	switch s.kind {
	case uniform:
		if s.lo < 0 {
			return fmt.Sprintf("uniform:%d..%d", s.lo, s.hi)
		}
		return fmt.Sprintf("uniform:%d-%d", s.lo, s.hi)
	case geometric:
		return "geometric:" + strconv.FormatFloat(s.p, 'g', -1, 64)
	}
	if s.lo == 0 {
		return "none"
	}
	return fmt.Sprintf("fixed:%d", s.lo)
}

// Min returns the smallest drift the plan can give.
func (s Spec) Min() int64 { return s.lo }

// Max returns the largest drift the plan can give.
func (s Spec) Max() int64 { return s.hi }

// Sample draws one device's drift.
func (s Spec) Sample(r *rand.Rand) int64 {
	switch s.kind {
	case uniform:
		return s.lo + r.Int64N(s.hi-s.lo+1)
	case geometric:
		if s.p >= 1 {
			return 0
		}
		u := 1 - r.Float64() // (0, 1]
		k := math.Floor(math.Log(u) / math.Log1p(-s.p))
		if k >= MaxValue {
			return MaxValue
		}
		return int64(k)
	}
	return s.lo
}
