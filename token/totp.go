package token

import "fmt"

// Default TOTP parameters: RFC 6238 recommends a 30 s step counted from the
// Unix epoch.
const (
	DefaultPeriod = 30
	C200Period    = 60
)

// Step returns the RFC 6238 time step T = floor((unix - t0) / period) for a
// moment given in Unix seconds. It reports false for a moment before t0 (no
// step exists there) or a period that is not positive.
func Step(unix, t0, period int64) (uint64, bool) {
	if period <= 0 || unix < t0 {
		return 0, false
	}
	return uint64(unix-t0) / uint64(period), true
}

// StepStart returns the Unix second at which step begins.
func StepStart(step uint64, t0, period int64) int64 {
	return t0 + int64(step)*period
}

// CheckPeriod returns an error wrapping [ErrPeriod] unless period is a
// positive number of seconds.
func CheckPeriod(period int64) error {
	if period <= 0 {
		return fmt.Errorf("period %d s: %w (want a positive number of seconds)", period, ErrPeriod)
	}
	return nil
}

// TOTP returns the code shown at Unix second unix for a token with the given
// epoch t0 and period, and reports false if unix is before t0.
func (k *Key) TOTP(unix, t0, period int64) (string, bool) {
	s, ok := Step(unix, t0, period)
	if !ok {
		return "", false
	}
	return k.HOTP(s), true
}
