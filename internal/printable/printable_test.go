package printable

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"otplab reference verifier", "otplab reference verifier"},
		{"naïve — ok ✓", "naïve — ok ✓"},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"a\x00b", `a\x00b`},
		{"line\nnext\ttab\rret", `line\nnext\ttab\rret`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{`back\slash \x41`, `back\slash \x41`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Escape(tt.in), "%q", tt.in)
	}
}

func TestBound(t *testing.T) {
	assert.Equal(t, "short", Bound("short", 10))
	got := Bound(strings.Repeat("é", 100), 11) // 2 bytes each: cut at 10
	assert.Equal(t, strings.Repeat("é", 5)+"… [cut: 200 bytes in all]", got)
	big := Text(strings.Repeat("\x1b", 1<<20), 1024)
	assert.LessOrEqual(t, len(big), 1024+40)
	assert.True(t, strings.HasSuffix(big, "[cut: 1048576 bytes in all]"), big[len(big)-40:])
	assert.Equal(t, "ab… [cut: 10 bytes in all]", Cut("abc", 2, 10))
	assert.Equal(t, "abc… [cut: 10 bytes in all]", Cut("abc", 5, 10), "a start of a longer text is marked")
}

// checkPrintable holds for every input: the result is valid UTF-8 with no
// control or direction character, escaping twice is escaping once, and
// Text is bounded.
func checkPrintable(t interface {
	Fatalf(string, ...any)
}, s string, max int) {
	e := Escape(s)
	if !utf8.ValidString(e) {
		t.Fatalf("Escape(%q) = %q: not UTF-8", s, e)
	}
	for _, r := range e {
		if r < 0x20 || r == 0x7f || unsafe(r) {
			t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
		}
	}
	if Escape(e) != e {
		t.Fatalf("Escape is not idempotent on %q", s)
	}
	if b := Text(s, max); len(b) > max+40 || !utf8.ValidString(b) {
		t.Fatalf("Text(%q, %d) = %q", s, max, b)
	}
}

func TestPrintableProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		runes := rapid.OneOf(rapid.Rune(), rapid.SampledFrom([]rune{0, 0x1b, 0x7f, 0x9b, 0x202e, '\n', '\\', 'x'}))
		s := rapid.StringOf(runes).Draw(t, "s") + string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
		checkPrintable(t, s, rapid.IntRange(0, 64).Draw(t, "max"))
	})
}

func FuzzPrintable(f *testing.F) {
	f.Add("\x1b[31mred\x1b[0m", 8)
	f.Add("\xff\u202e\u009b", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		checkPrintable(t, s, max)
	})
}
