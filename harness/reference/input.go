package reference

import (
	"math"
	"strings"
	"unicode"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// noCode is the value of a well-formed number too large to be any code:
// no code of up to 10 digits (a 31-bit value) equals it.
const noCode = math.MaxUint32

// parseCode is check step 5: it reads a typed code under the profile's
// input rule and reports whether it is well-formed. A well-formed code is
// then compared as a number; a malformed one never is.
func parseCode(input, code string, digits int) (uint32, bool) {
	if input == harness.InputLenient {
		return parseLenient(code, digits)
	}
	// "exact", and the rule when input is not claimed: exactly digits
	// ASCII digits, nothing around them.
	return token.ParseCode(code, digits)
}

// parseLenient reads code the way Python's int() reads a decimal string:
// Unicode white space around it, an optional '+', then one or more Unicode
// decimal digits (category Nd, each read as its value). A '-' and an empty
// string are never well-formed. Python also allows '_' between digits;
// docs/protocol.md does not judge that, and the reference refuses it, the
// stricter choice. The number is returned if it can be a code of this
// length, and noCode if it is too large to be one.
func parseLenient(code string, digits int) (uint32, bool) {
	s := strings.TrimFunc(code, unicode.IsSpace)
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	limit := uint64(1)
	for range digits {
		limit *= 10
	}
	var v uint64
	for _, c := range s {
		if !unicode.IsDigit(c) {
			return 0, false
		}
		if v < limit { // past the limit the number is no code; keep reading
			v = v*10 + uint64(digitValue(c))
		}
	}
	if v >= limit {
		return noCode, true
	}
	return uint32(v), true
}

// digitValue returns the value of a Unicode decimal digit. Unicode encodes
// every decimal digit in runs of ten, 0 to 9, one run after another, so the
// value is the number of decimal digits just before c, modulo 10.
func digitValue(c rune) int {
	n := 0
	for p := c - 1; n < 100 && unicode.IsDigit(p); p-- {
		n++
	}
	return n % 10
}
