package reference

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
)

// asciiNumber is Python int()'s grammar for strings of ASCII characters
// only (the white space there is exactly these six characters).
var asciiNumber = regexp.MustCompile(`^[ \t\n\v\f\r]*\+?([0-9]+)[ \t\n\v\f\r]*$`)

// FuzzParseLenient compares parseLenient with a second reading, by regular
// expression and strconv, on ASCII strings, and checks its invariants on
// every string.
func FuzzParseLenient(f *testing.F) {
	for _, s := range []string{"755224", " +0755224\n", "-1", "", "+", "٧٥٥٢٢٤", "99999999999", "2147483648", "7_5", "\x00"} {
		f.Add(s, 6)
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, digits int) {
		if digits < 6 || digits > 10 {
			return
		}
		v, ok := parseLenient(s, digits)
		if ok && v != noCode {
			limit := uint64(1)
			for range digits {
				limit *= 10
			}
			if uint64(v) >= limit || v > 1<<31-1 {
				t.Fatalf("parseLenient(%q, %d) = %d: no code is that large", s, digits, v)
			}
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII }) {
			return
		}
		m := asciiNumber.FindStringSubmatch(s)
		if (m != nil) != ok {
			t.Fatalf("parseLenient(%q) well-formed = %v, Python's grammar says %v", s, ok, m != nil)
		}
		if m == nil {
			return
		}
		want := uint32(noCode)
		trimmed := strings.TrimLeft(m[1], "0")
		if len(trimmed) <= digits {
			if n, err := strconv.ParseUint("0"+trimmed, 10, 64); err == nil && n <= 1<<31-1 {
				want = uint32(n)
			}
		}
		if v != want {
			t.Fatalf("parseLenient(%q, %d) = %d, want %d", s, digits, v, want)
		}
	})
}

// TestLenientProperty: any code, written with leading zeros, in any mix of
// Unicode decimal scripts, with a '+' and Unicode white space around it,
// reads as its number.
func TestLenientProperty(t *testing.T) {
	var zeros, spaces []rune
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if unicode.IsDigit(c) && !unicode.IsDigit(c-1) {
			zeros = append(zeros, c)
		}
		if unicode.IsSpace(c) {
			spaces = append(spaces, c)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 999999).Draw(t, "n")
		digits := strconv.Itoa(n)
		digits = strings.Repeat("0", rapid.IntRange(0, 8).Draw(t, "zeros")) + digits
		var b strings.Builder
		pad := func(name string) {
			for _, i := range rapid.SliceOfN(rapid.IntRange(0, len(spaces)-1), 0, 3).Draw(t, name) {
				b.WriteRune(spaces[i])
			}
		}
		pad("before")
		if rapid.Bool().Draw(t, "plus") {
			b.WriteByte('+')
		}
		for _, d := range digits {
			// zeros holds the first digit, a zero, of every run of
			// decimal digits.
			z := zeros[rapid.IntRange(0, len(zeros)-1).Draw(t, "script")]
			b.WriteRune(z + d - '0')
		}
		pad("after")
		got, ok := parseLenient(b.String(), 6)
		if !ok || got != uint32(n) {
			t.Fatalf("parseLenient(%q) = %d, %v; want %d", b.String(), got, ok, n)
		}
	})
}

// FuzzParseExact compares parseExact with token.ParseCode, which it must
// agree with except that a value above 2^31-1 is no code.
func FuzzParseExact(f *testing.F) {
	for _, s := range []string{"755224", " 755224", "+755224", "7552240", "", "9999999999", "2147483647", "٧٥٥٢٢٤"} {
		f.Add(s, 6)
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, digits int) {
		if digits < 6 || digits > 10 {
			return
		}
		v, ok := parseExact(s, digits)
		w, wok := token.ParseCode(s, digits)
		if ok != wok {
			t.Fatalf("parseExact(%q, %d) well-formed = %v, token.ParseCode says %v", s, digits, ok, wok)
		}
		if n, _ := strconv.ParseUint(s, 10, 64); ok && n > 1<<31-1 {
			if v != noCode {
				t.Fatalf("parseExact(%q) = %d, want noCode", s, v)
			}
		} else if ok && v != w {
			t.Fatalf("parseExact(%q) = %d, token.ParseCode %d", s, v, w)
		}
	})
}
