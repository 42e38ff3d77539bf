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
