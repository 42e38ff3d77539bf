package probe

import (
	"slices"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// probedPeriods are the TOTP step lengths the probe enrolls; a verifier
// that takes all of them is written down as taking any period.
var probedPeriods = []int64{30, 60, 45}

// Explicit returns p in the form a probe writes for a verifier that
// enforces p exactly: every default spelled out (kinds, algorithms and
// digits of the RFC baseline, the whole counter range, look_ahead 0,
// on_failure "keep", input "exact", resync "none", limits "none" when no
// lockout, throttle or rate limit is claimed (lockout otherwise), reuse
// "later", t0 true, the request clock), fields of an unsupported kind
// left out, totp.periods cut to the periods the probe tries (none when it
// takes them all), and what no observation can see dropped (a lockout's
// options without a lockout, resync options without resync, the reuse rule
// of a window that holds no earlier step, drift in a window of one step).
// Flows are kept as given.
func Explicit(p harness.Profile) harness.Profile {
	out := harness.Profile{Flows: slices.Clone(p.Flows), Input: p.Input, Throttle: p.Throttle, RateLimit: p.RateLimit}
	for _, k := range []harness.Kind{harness.HOTP, harness.TOTP} {
		if p.SupportsKind(k) {
			out.Kinds = append(out.Kinds, k)
		}
	}
	for _, a := range token.Algorithms() {
		if p.SupportsAlgorithm(a) {
			out.Algorithms = append(out.Algorithms, a.String())
		}
	}
	for d := token.MinDigits; d <= token.MaxDigits; d++ {
		if p.SupportsDigits(d) {
			out.Digits = append(out.Digits, d)
		}
	}
	if out.Input == "" {
		out.Input = harness.InputExact
	}
	hotp := p.SupportsKind(harness.HOTP)
	resync := hotp && p.ResyncCodes() > 0
	if hotp {
		out.Counters = &harness.CounterRange{Min: p.CounterMin(), Max: p.CounterMax()}
		out.LookAhead = harness.Uint64(0)
		if p.LookAhead != nil {
			out.LookAhead = harness.Uint64(*p.LookAhead)
		}
		out.OnFailure = harness.OnFailureKeep
		if p.Advances() {
			out.OnFailure = harness.OnFailureAdvance
		}
		out.Resync = &harness.ResyncPolicy{}
		if resync {
			r := *p.Resync
			out.Resync = &r
		}
	}
	out.Lockout = &harness.LockoutPolicy{}
	if l := p.Lockout; l != nil && l.After > 0 {
		out.Lockout = &harness.LockoutPolicy{After: l.After, ReleaseAfter: l.ReleaseAfter}
		if resync && p.SupportsKind(harness.HOTP) {
			out.Lockout.ResyncUnlocks, out.Lockout.CountsResync = l.ResyncUnlocks, l.CountsResync
		}
	}
	if !out.HasLimit() {
		// What a probe writes when nothing stopped guessing.
		out.Lockout, out.Limits = nil, harness.LimitsNone
	}
	if p.SupportsKind(harness.TOTP) {
		t := harness.TOTPPolicy{}
		if p.TOTP != nil {
			t = *p.TOTP
		}
		if t.Reuse == "" || (t.SkewBack == 0 && (t.SkewAhead == 0 || t.Drift != nil)) {
			t.Reuse = harness.ReuseLater
		}
		var periods []int64
		for _, s := range probedPeriods {
			if p.SupportsPeriod(s) {
				periods = append(periods, s)
			}
		}
		if len(periods) == len(probedPeriods) {
			periods = nil
		}
		t.Periods = periods
		t0 := p.SupportsT0(1)
		t.T0 = &t0
		if t.SkewAhead == 0 && t.SkewBack == 0 {
			t.Drift = nil // a window of one step never moves
		}
		out.TOTP = &t
		out.Clock = p.Clock
		if out.Clock == "" {
			out.Clock = harness.ClockRequest
		}
	}
	return out
}
