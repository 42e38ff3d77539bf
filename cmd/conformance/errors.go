package main

import (
	"errors"
	"fmt"
)

// Exit codes of conformance.
const (
	exitOK         = 0 // nothing failed
	exitFailed     = 1 // a case failed, or the results differ from --expect, or writing the report failed
	exitUsage      = 2 // usage or configuration error
	exitIncomplete = 3 // the verifier did not answer, a case ended in ERROR, or the run was interrupted
)

// usageError reports a command line or an input file that does not make
// sense: a bad flag, an unreadable or invalid profile or expect file, a bad
// --verifier.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// ioError is a failure to write the report or the output: the system's
// fault, not the command line's, so exit code 1 rather than 2.
type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }
func (e ioError) Unwrap() error { return e.err }

// outcomeError is a run that went through to its verdict, which is not a
// pass: the report has been written; the message sums it up.
type outcomeError struct {
	code int
	msg  string
}

func (o outcomeError) Error() string { return o.msg }

// exitCode maps an error to the exit code documented in the package
// comment. Errors of unknown kind come from the command line (cobra's own
// errors) and are usage errors.
func exitCode(err error) int {
	var o outcomeError
	if errors.As(err, &o) {
		return o.code
	}
	var w ioError
	if errors.As(err, &w) {
		return exitFailed
	}
	return exitUsage
}
