package token

import "errors"

// Errors returned by this package. They are wrapped with details about the
// offending input; test for them with [errors.Is].
var (
	// ErrSecret reports a secret that cannot be decoded or is empty.
	ErrSecret = errors.New("invalid secret")
	// ErrAlgorithm reports an unknown or unsupported hash algorithm.
	ErrAlgorithm = errors.New("unknown algorithm")
	// ErrDigits reports a digit count outside 6..10.
	ErrDigits = errors.New("invalid digit count")
	// ErrSerial reports a serial number that is not valid for its model.
	ErrSerial = errors.New("invalid serial")
	// ErrModel reports an unknown device model.
	ErrModel = errors.New("unknown model")
	// ErrCounterExhausted reports a press past the last counter value
	// (2^64-1): the device refuses rather than wrapping around.
	ErrCounterExhausted = errors.New("counter exhausted")
	// ErrPeriod reports a TOTP time step that is not a positive whole
	// number of seconds.
	ErrPeriod = errors.New("invalid period")
	// ErrConfig reports a device setting that makes no sense, such as a
	// negative display time.
	ErrConfig = errors.New("invalid device setting")
)
