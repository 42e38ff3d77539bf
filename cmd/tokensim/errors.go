package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/drift"
	"github.com/otplab/otplab/token/fleet"
	"github.com/otplab/otplab/token/otpauth"
	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/token/state"
)

// Exit codes of tokensim.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the system failed: I/O, locks
	exitInput   = 2 // usage error or bad input
)

// usageError reports a command line that does not make sense: unknown
// flags, missing arguments, flags that do not apply to the device.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// inputErrors are the sentinels that mean the input, not the system, is
// at fault.
var inputErrors = []error{
	fs.ErrExist, fs.ErrNotExist, safefile.ErrTooLarge, safefile.ErrNotRegular,
	token.ErrSecret, token.ErrAlgorithm, token.ErrDigits, token.ErrSerial, token.ErrModel,
	token.ErrCounterExhausted, token.ErrPeriod, token.ErrConfig,
	pskc.ErrFormat, pskc.ErrTruncated, pskc.ErrTooLarge, pskc.ErrDoctype, pskc.ErrAlgorithm,
	pskc.ErrValue, pskc.ErrNeedKey, pskc.ErrWrongKey, pskc.ErrMAC, pskc.ErrSerial,
	state.ErrState, state.ErrRange, drift.ErrSpec, fleet.ErrPlan, otpauth.ErrURI, errDuplicate,
}

// errDuplicate reports a seed file that holds one serial twice.
var errDuplicate = errors.New("duplicate serial")

// exitCode maps an error to the exit code documented in the package
// comment.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitInput
	}
	for _, s := range inputErrors {
		if errors.Is(err, s) {
			return exitInput
		}
	}
	return exitFailure
}
