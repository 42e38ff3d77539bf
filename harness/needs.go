package harness

import (
	"fmt"

	"github.com/otplab/otplab/token"
)

// Reasons to skip, shared by the cases. Each returns "" when the profile
// claims what the case needs.

func needLookAhead(p Profile) string {
	if p.LookAhead == nil {
		return "the profile does not claim look_ahead"
	}
	return ""
}

func needLookAheadAtLeast(n uint64) func(Profile) string {
	return func(p Profile) string {
		if p.LookAhead == nil {
			return "the profile does not claim look_ahead"
		}
		if *p.LookAhead < n {
			return fmt.Sprintf("the profile claims look_ahead %d; this case needs at least %d", *p.LookAhead, n)
		}
		return ""
	}
}

func needResync(p Profile) string {
	if p.ResyncCodes() == 0 {
		return "the profile does not claim resync"
	}
	return ""
}

func needResyncPair(p Profile) string {
	if r := needResync(p); r != "" {
		return r
	}
	if p.Resync.Codes < 2 {
		return fmt.Sprintf("the profile claims resync with %d code; this case needs a sequence of 2 or more", p.Resync.Codes)
	}
	return ""
}

func needLockout(p Profile) string {
	if p.LockoutAfter() == 0 {
		return "the profile does not claim lockout"
	}
	return ""
}

func needTOTP(p Profile) string {
	if !p.SupportsKind(TOTP) {
		return "the profile does not claim totp tokens"
	}
	if p.TOTP == nil {
		return "the profile does not claim a totp skew policy"
	}
	if p.Clock != ClockRequest {
		return `time-step cases need clock "request": the verifier reads its own clock, so steps cannot be placed exactly`
	}
	return ""
}

func needAlgorithm(k Kind, a token.Algorithm, digits int) func(Profile) string {
	return func(p Profile) string {
		switch {
		case !p.SupportsKind(k):
			return fmt.Sprintf("the profile does not claim %s tokens", k)
		case !p.SupportsAlgorithm(a):
			return fmt.Sprintf("the profile does not claim %s", a)
		case digits != 0 && !p.SupportsDigits(digits):
			return fmt.Sprintf("the profile does not claim %d-digit codes", digits)
		}
		if k == TOTP {
			return needTOTP(p)
		}
		return ""
	}
}

// all combines reasons: the first non-empty one wins.
func all(fs ...func(Profile) string) func(Profile) string {
	return func(p Profile) string {
		for _, f := range fs {
			if r := f(p); r != "" {
				return r
			}
		}
		return ""
	}
}

// lookAhead returns L, or 0 when not claimed.
func lookAhead(p Profile) uint64 {
	if p.LookAhead == nil {
		return 0
	}
	return *p.LookAhead
}

// needNoLimit runs a guessing-limit case only where no limit is claimed:
// a claimed lockout, throttle or rate limit is judged by its own cases.
func needNoLimit(p Profile) string {
	if p.HasLimit() {
		return fmt.Sprintf("the profile claims %s: the lockout, throttle and rate-limit cases (rfc4226/7.3/lockout-*, throttle-* and rate-limit-*) judge it", p.limitNames())
	}
	return ""
}

func needThrottle(p Profile) string {
	if p.Throttle == nil {
		return "the profile does not claim throttle"
	}
	if f := p.LockoutAfter(); f > 0 && f <= p.Throttle.After+1 {
		return fmt.Sprintf("the profile's lockout after %d failures comes before the throttle can be seen twice (throttle after %d)", f, p.Throttle.After)
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts <= p.Throttle.After+3 {
		return fmt.Sprintf("the profile's rate limit of %d checks would refuse first", rl.Attempts)
	}
	return ""
}

func needRateLimit(p Profile) string {
	if p.RateLimit == nil {
		return "the profile does not claim rate_limit"
	}
	if p.Throttle != nil || p.LockoutAfter() > 0 && p.LockoutAfter() <= p.RateLimit.Attempts+1 {
		return "the profile's throttle or lockout would interfere with counting checks"
	}
	return ""
}

func needRelease(p Profile) string {
	if p.ReleaseAfter() == 0 {
		return "the profile does not claim lockout.release_after"
	}
	if r := needLockout(p); r != "" {
		return r
	}
	if p.Throttle != nil || p.RateLimit != nil {
		return "the profile's throttle or rate limit would refuse the failures that lock"
	}
	return ""
}

func needAuto(p Profile) string {
	if p.Resync == nil || p.Resync.Auto == nil {
		return "the profile does not claim resync.auto"
	}
	if f := p.LockoutAfter(); f > 0 && f < 3 {
		return fmt.Sprintf("the profile's lockout after %d failures locks before an automatic resync can be seen", f)
	}
	if d := p.ThrottleDelay(1); d > p.Resync.Auto.Within {
		return "the profile's throttle refuses the second code of an automatic resync"
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts < 4 {
		return "the profile's rate limit refuses the codes of an automatic resync"
	}
	return ""
}

// needInputToken: the input cases need HOTP, or TOTP with steps the
// harness can place.
func needInputToken(p Profile) string {
	if inputOnTOTP(p) {
		return needTOTPClock(p)
	}
	return ""
}

// needFlows skips the flows section unless the profile lists two purposes
// or more. Every case of the section has this one reason, so that a
// verifier judged on login only sees the same line for each.
func needFlows(p Profile) string {
	switch len(p.Flows) {
	case 0:
		return `the profile does not claim flows, so check is judged for login only; list the purposes check serves (e.g. "flows": ["login", "recovery", "device-test"]) to judge the cross-flow properties`
	case 1:
		return fmt.Sprintf("the profile's flows list only %q; the cross-flow properties need two purposes or more", p.Flows[0])
	}
	return ""
}

// needSingleResync runs a case only under resync.codes 1.
func needSingleResync(p Profile) string {
	if r := needResync(p); r != "" {
		return r
	}
	if p.Resync.Codes != 1 {
		return fmt.Sprintf("the profile claims resync with %d codes; single-code cases need resync.codes 1 (the newer panel: serial and one code)", p.Resync.Codes)
	}
	return ""
}

// maxPlacedWindow is the widest one-code window whose edges the cases
// place: wider, a code matches somewhere inside by chance too often for a
// clean token to be drawn quickly (a window of 10^6 covers most 6-digit
// codes).
const maxPlacedWindow = 100_000

func needPlacedWindow(p Profile) string {
	if p.Resync.Window > maxPlacedWindow {
		return fmt.Sprintf("a one-code window of %d counters matches most codes by chance, so no edge can be placed (the cases place edges up to %d)", p.Resync.Window, maxPlacedWindow)
	}
	return ""
}

// needTOTPClock is needTOTP without the skew policy: the case only submits
// codes of the current step.
func needTOTPClock(p Profile) string {
	if !p.SupportsKind(TOTP) {
		return "the profile does not claim totp tokens"
	}
	if p.Clock != ClockRequest {
		return `time-step cases need clock "request": the verifier reads its own clock, so steps cannot be placed exactly`
	}
	return ""
}

func needDrift(p Profile) string {
	if r := needTOTP(p); r != "" {
		return r
	}
	if p.TOTP.Drift == nil {
		return "the profile does not claim totp.drift"
	}
	if p.TOTP.SkewAhead == 0 {
		return "the profile claims skew_ahead 0: no step ahead can be accepted to record drift"
	}
	return ""
}

func needSkewLearning(p Profile) string {
	if r := needTOTP(p); r != "" {
		return r
	}
	r := p.TOTP.Resync
	if r == nil {
		return "the profile does not claim totp.resync"
	}
	if r.Range <= p.TOTP.SkewAhead+2 && r.Range <= p.TOTP.SkewBack+2 {
		return "the claimed skew-learning range does not reach beyond the window"
	}
	if f := p.LockoutAfter(); f > 0 && f < r.Codes {
		return "the profile's lockout locks before a skew can be learnt"
	}
	if p.Throttle != nil {
		return "the profile's throttle refuses the codes that teach the skew"
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts < 2 {
		return "the profile's rate limit refuses the codes that teach the skew"
	}
	return ""
}
