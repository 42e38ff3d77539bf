// Package printable makes text that a verifier (or a file edited by hand)
// supplied safe to show on a terminal and to store: control characters
// are escaped, so that it cannot move the cursor, rewrite the screen or
// retitle the window, and its length is bounded, with the cut marked.
package printable

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every byte or character that a terminal would act
// on written as a Go escape: C0 controls and DEL (\n, \t and \r by
// their short names, the others as \xNN), C1 controls and the Unicode
// direction controls (as \uNNNN), and bytes that are not UTF-8 (as \xNN).
// Other text, backslashes included, is kept as it is, so Escape of an
// escaped string changes nothing.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether s needs no escape.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			if c < 0x80 {
				return false
			}
			for _, r := range s[i:] {
				if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafe(r) {
					return false
				}
			}
			return true
		}
	}
	return true
}

// unsafe reports a C1 control or a character that reorders text (the
// Unicode bidirectional controls, which can make a line read otherwise
// than it is).
func unsafe(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// Bound returns s if it is at most limit bytes long, and otherwise its
// start, cut on a character boundary, followed by a mark stating the
// length of s: the result is at most limit+40 bytes.
func Bound(s string, limit int) string { return Cut(s, limit, len(s)) }

// Cut is Bound for text that is itself the start of a longer one of
// total bytes: the mark states total, and is added whenever total is
// more than len(s) too.
func Cut(s string, limit, total int) string {
	if len(s) <= limit && total <= len(s) {
		return s
	}
	return fmt.Sprintf("%s… [cut: %d bytes in all]", s[:runeCut(s, limit)], max(total, len(s)))
}

// runeCut returns the largest n <= limit (and <= len(s)) at which s can
// be cut without splitting a character.
func runeCut(s string, limit int) int {
	n := min(max(limit, 0), len(s))
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// Text is verifier-supplied text as it is stored and shown: escaped
// (see [Escape]) and at most limit bytes, the cut marked with the length
// of s. Only the first limit bytes of s are read, so a huge s costs no
// more than a short one.
func Text(s string, limit int) string {
	return Cut(Escape(s[:runeCut(s, limit)]), limit, len(s))
}
