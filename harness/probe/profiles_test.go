package probe_test

import (
	"math"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

// startingProfiles are the policies the probe must recover exactly from
// the reference verifier. Together they use every field of the profile
// language: counters, look_ahead, on_failure, input, resync (with auto),
// lockout (release_after, resync_unlocks, counts_resync), throttle,
// rate_limit, every totp field (skew, reuse, drift bounded and unbounded,
// skew learning, periods, t0), both clocks, and subsets of kinds,
// algorithms and digits.
func startingProfiles() map[string]harness.Profile {
	digits8 := both(10, 3, 1000, 10, false, 2, 0)
	digits8.Algorithms, digits8.Digits = []string{"SHA1", "SHA512"}, []int{8}
	return map[string]harness.Profile{
		"default":                   reference.Default(),
		"l0-noresync-nolock-skew00": both(0, 0, 0, 0, false, 0, 0),
		"l1-resync2x50-lock3":       both(1, 2, 50, 3, false, 1, 1),
		"l10-resync3x1000-lock10":   digits8,
		"l100-resync2x50-lock3-ru":  both(100, 2, 50, 3, true, 1, 1),
		// django-otp 1.1, with the request clock.
		"django-otp": {
			Kinds:     []harness.Kind{harness.HOTP, harness.TOTP},
			Digits:    []int{6, 8},
			Counters:  &harness.CounterRange{Min: 0, Max: math.MaxInt64 - 1},
			LookAhead: harness.Uint64(5),
			Input:     harness.InputLenient,
			Throttle:  &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2},
			TOTP:      &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Drift: &harness.DriftPolicy{Max: nil}},
			Clock:     harness.ClockRequest,
		},
		// google-authenticator-libpam 1.08, RATE_LIMIT 3 30, with the
		// request clock.
		"google-authenticator-libpam": {
			Kinds:     []harness.Kind{harness.HOTP, harness.TOTP},
			Counters:  &harness.CounterRange{Min: 1, Max: math.MaxInt64},
			LookAhead: harness.Uint64(2),
			OnFailure: harness.OnFailureAdvance,
			Input:     harness.InputExact,
			RateLimit: &harness.RateLimitPolicy{Attempts: 3, Per: 30},
			TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: harness.ReuseOnce,
				Resync: &harness.TOTPResync{Codes: 3, Range: 1500}, Periods: []int64{30}, T0: no()},
			Clock: harness.ClockRequest,
		},
		// privacyIDEA: window 10, sync window 1000, failcounter 10, clear
		// after 600 s.
		"privacyidea": {
			LookAhead: harness.Uint64(9),
			Resync:    &harness.ResyncPolicy{Codes: 2, Window: 1000, Auto: &harness.AutoResync{Within: 300}},
			Lockout:   &harness.LockoutPolicy{After: 10, ReleaseAfter: 600},
		},
		// A throttle, then a lockout beyond it that resync unlocks and
		// rejected resyncs count towards.
		"throttle-then-lockout": {
			Kinds:     []harness.Kind{harness.HOTP},
			LookAhead: harness.Uint64(3),
			Resync:    &harness.ResyncPolicy{Codes: 2, Window: 50},
			Lockout:   &harness.LockoutPolicy{After: 5, ResyncUnlocks: true, CountsResync: true},
			Throttle:  &harness.ThrottlePolicy{After: 2, Delay: 5, Factor: 3},
		},
		// A rate limit over a lockout that releases.
		"rate-limit-over-lockout": {
			Kinds:     []harness.Kind{harness.HOTP, harness.TOTP},
			LookAhead: harness.Uint64(4),
			Resync:    &harness.ResyncPolicy{Codes: 3, Window: 200},
			Lockout:   &harness.LockoutPolicy{After: 4, ReleaseAfter: 120, CountsResync: true},
			RateLimit: &harness.RateLimitPolicy{Attempts: 2, Per: 60},
			TOTP:      &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 2},
			Clock:     harness.ClockRequest,
		},
		// One check per ten seconds, a narrow counter range, lenient
		// input, a lockout that never releases.
		"rate-one-narrow-counters": {
			Kinds:     []harness.Kind{harness.HOTP},
			Counters:  &harness.CounterRange{Min: 5, Max: 1 << 40},
			LookAhead: harness.Uint64(4),
			Input:     harness.InputLenient,
			Lockout:   &harness.LockoutPolicy{After: 3},
			RateLimit: &harness.RateLimitPolicy{Attempts: 1, Per: 10},
		},
		// A stateless time-token module: no replay protection at all.
		"totp-stateless": {
			Kinds: []harness.Kind{harness.TOTP},
			TOTP:  &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: harness.ReuseAny},
			Clock: harness.ClockRequest,
		},
		// Bounded drift, reuse once, two periods.
		"totp-drift-bounded": {
			Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
			Algorithms: []string{"SHA1", "SHA256"},
			LookAhead:  harness.Uint64(2),
			TOTP: &harness.TOTPPolicy{SkewBack: 2, SkewAhead: 2, Reuse: harness.ReuseOnce,
				Drift: &harness.DriftPolicy{Max: harness.Uint64(5)}, Periods: []int64{30, 60}},
			Clock: harness.ClockRequest,
		},
		// Time tokens only: a constant throttle, a lockout beyond it, skew
		// learning, drift bounded at the window's edge.
		"totp-only-throttle-learning": {
			Kinds:    []harness.Kind{harness.TOTP},
			Lockout:  &harness.LockoutPolicy{After: 3},
			Throttle: &harness.ThrottlePolicy{After: 1, Delay: 10, Factor: 1},
			TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Drift: &harness.DriftPolicy{Max: harness.Uint64(1)},
				Resync: &harness.TOTPResync{Codes: 2, Range: 40}, T0: no()},
			Clock: harness.ClockRequest,
		},
		// Automatic resync under a throttle, on_failure advance.
		"auto-resync-throttle-advance": {
			Kinds:     []harness.Kind{harness.HOTP},
			Digits:    []int{6, 8},
			LookAhead: harness.Uint64(1),
			OnFailure: harness.OnFailureAdvance,
			Resync:    &harness.ResyncPolicy{Codes: 2, Window: 100, Auto: &harness.AutoResync{Within: 60}},
			Throttle:  &harness.ThrottlePolicy{After: 3, Delay: 2, Factor: 2},
		},
		// Locked by one failure for 20 s; the reference says locked, which
		// tells this lock from a throttle.
		"lockout1-release20": {
			Kinds:     []harness.Kind{harness.HOTP},
			LookAhead: harness.Uint64(2),
			Resync:    &harness.ResyncPolicy{Codes: 2, Window: 30},
			Lockout:   &harness.LockoutPolicy{After: 1, ReleaseAfter: 20},
		},
		"hotp-sha256-resync1-lock1": {
			Kinds:      []harness.Kind{harness.HOTP},
			Algorithms: []string{"SHA256"},
			Digits:     []int{6},
			LookAhead:  harness.Uint64(3),
			Resync:     &harness.ResyncPolicy{Codes: 1, Window: 20},
			Lockout:    &harness.LockoutPolicy{After: 1, ResyncUnlocks: true},
		},
		"totp-wall-lock2": {
			Kinds:      []harness.Kind{harness.TOTP},
			Algorithms: []string{"SHA1", "SHA256"},
			Digits:     []int{6},
			Lockout:    &harness.LockoutPolicy{After: 2},
			TOTP:       &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 2},
			Clock:      harness.ClockWall,
		},
	}
}

// recovered is what the probe must print for a reference verifier that
// enforces p: p in its explicit form, the purposes it serves (login only
// when flows are not claimed), and on the wall clock (real time) no TOTP
// drift or skew learning, which need the verifier's clock at other steps.
func recovered(p harness.Profile) harness.Profile {
	want := probe.Explicit(p)
	want.Flows = served(p)
	if p.Clock == harness.ClockWall && want.TOTP != nil {
		want.TOTP.Drift, want.TOTP.Resync = nil, nil
	}
	return want
}

// served returns the purposes a reference verifier under p serves.
func served(p harness.Profile) []string {
	if len(p.Flows) == 0 {
		return []string{harness.PurposeLogin}
	}
	return p.Flows
}
