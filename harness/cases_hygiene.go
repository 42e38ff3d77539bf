package harness

import (
	"fmt"
	"strings"

	"github.com/otplab/otplab/token"
)

// hygiene is one way of typing a code that must not be taken for it.
type hygiene struct {
	name, what string
	zero       bool // the case needs a code with a leading zero
	mangle     func(code string) string
}

var digitSets = map[string][]rune{
	"arabic-indic": []rune("٠١٢٣٤٥٦٧٨٩"),
	"fullwidth":    []rune("０１２３４５６７８９"),
}

func transliterate(code string, set []rune) string {
	var b strings.Builder
	for _, c := range code {
		b.WriteRune(set[c-'0'])
	}
	return b.String()
}

func hygieneCases() []*caseDef {
	variants := []hygiene{
		{"leading-zero-dropped", "the code without its leading zero", true, func(c string) string { return c[1:] }},
		{"extra-leading-zero", "the code with one more leading zero", false, func(c string) string { return "0" + c }},
		{"plus-sign", "the code with a leading '+'", false, func(c string) string { return "+" + c }},
		{"minus-sign", "the code with a leading '-'", false, func(c string) string { return "-" + c }},
		{"leading-space", "the code with a leading space", false, func(c string) string { return " " + c }},
		{"trailing-space", "the code with a trailing space", false, func(c string) string { return c + " " }},
		{"tab", "the code with a leading tab", false, func(c string) string { return "\t" + c }},
		{"newline", "the code with a trailing newline", false, func(c string) string { return c + "\n" }},
		{"arabic-indic-digits", "the code in Arabic-Indic digits (U+0660..U+0669)", false, func(c string) string { return transliterate(c, digitSets["arabic-indic"]) }},
		{"fullwidth-digits", "the code in fullwidth digits (U+FF10..U+FF19)", false, func(c string) string { return transliterate(c, digitSets["fullwidth"]) }},
		{"too-short", "the code without its last digit (a prefix)", false, func(c string) string { return c[:len(c)-1] }},
		{"too-long", "the code with one digit appended", false, func(c string) string { return c + "7" }},
		{"empty", "an empty string", false, func(string) string { return "" }},
	}
	out := []*caseDef{{
		id:          "rfc4226/5.3/input-leading-zero",
		level:       MUST,
		requirement: "the HOTP value is the Digit-digit decimal string of Snum mod 10^Digit, leading zeros included",
		what:        "Enrolls a token whose code of counter 0 starts with '0' and submits it exactly as the display shows it; it must be accepted.",
		body: func(t *ct) {
			s := t.hotp(tokOpts{clean: leadingZero})
			s.check(s.code(0), true, "the code of counter 0 as displayed (with its leading zero)", "it is exactly the code the token shows")
		},
	}}
	for _, v := range variants {
		out = append(out, &caseDef{
			id:          "rfc4226/5.3/input-" + v.name,
			level:       MUST,
			requirement: "the HOTP value is exactly Digit ASCII decimal digits; any other string typed is not the code and is rejected, leaving the counter unchanged",
			what:        fmt.Sprintf("Submits %s for counter 0 (rejected), then the code exactly as displayed (accepted: the counter did not move).", v.what),
			body: func(t *ct) {
				l := lookAhead(t.profile())
				clean := distinct(0, l, 0)
				if v.zero {
					clean = func(k *token.Key) bool { return leadingZero(k) && distinct(0, l, 0)(k) }
				}
				s := t.hotp(tokOpts{clean: clean})
				code := s.code(0)
				s.check(v.mangle(code), false, fmt.Sprintf("%s of counter 0", v.what), fmt.Sprintf("the token shows %q; only that exact string is its code", code))
				s.check(code, true, "the code of counter 0 exactly as displayed", "the rejected input left the server counter at 0")
			},
		})
	}
	return out
}

// leadingZero accepts a key whose code of counter 0 starts with '0'.
func leadingZero(k *token.Key) bool { return k.HOTP(0)[0] == '0' }
