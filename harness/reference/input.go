package reference

import (
	"math"
	"strings"
	"unicode"

	"github.com/otplab/otplab/harness"
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
	return parseExact(code, digits)
}

// parseExact is the rule for input "exact", and when input is not
// claimed: exactly digits ASCII digits, nothing around them. (It does not
// use token.ParseCode, which wraps ten-digit numbers above 2^32 into
// 32 bits, where they could equal a genuine code.)
func parseExact(code string, digits int) (uint32, bool) {
	if len(code) != digits {
		return 0, false
	}
	var v uint64
	for i := range len(code) {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return asCode(v), true
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
	return asCode(v), true
}

// asCode returns v as a value to compare with codes, or noCode when v is
// above 2^31-1, the largest value RFC 4226's truncation yields.
func asCode(v uint64) uint32 {
	if v > math.MaxInt32 {
		return noCode
	}
	return uint32(v)
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
