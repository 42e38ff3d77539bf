package harness

import (
	"fmt"
	"strings"
)

// hygiene is one way of typing a code that must not be taken for it.
type hygiene struct {
	name, what string
	zero       bool // the case needs a code with a leading zero
	mangle     func(code string) string
	// number says the string is still the code's decimal number, so a
	// lenient verifier may take it for the code: the level is SHOULD
	// unless exactness is claimed, and under input "lenient" either
	// answer passes. Otherwise (a prefix, an extension, a changed digit,
	// an empty string) it opens an attack and is MUST.
	number bool
	// minus: a '-' is not the code under any input rule, but it is
	// hygiene, not an attack: SHOULD unless an input rule is claimed.
	minus bool
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
		{name: "leading-zero-dropped", what: "the code without its leading zero", zero: true, number: true, mangle: func(c string) string { return c[1:] }},
		{name: "extra-leading-zero", what: "the code with one more leading zero", number: true, mangle: func(c string) string { return "0" + c }},
		{name: "plus-sign", what: "the code with a leading '+'", number: true, mangle: func(c string) string { return "+" + c }},
		{name: "minus-sign", what: "the code with a leading '-'", minus: true, mangle: func(c string) string { return "-" + c }},
		{name: "leading-space", what: "the code with a leading space", number: true, mangle: func(c string) string { return " " + c }},
		{name: "trailing-space", what: "the code with a trailing space", number: true, mangle: func(c string) string { return c + " " }},
		{name: "tab", what: "the code with a leading tab", number: true, mangle: func(c string) string { return "\t" + c }},
		{name: "newline", what: "the code with a trailing newline", number: true, mangle: func(c string) string { return c + "\n" }},
		{name: "arabic-indic-digits", what: "the code in Arabic-Indic digits (U+0660..U+0669)", number: true, mangle: func(c string) string { return transliterate(c, digitSets["arabic-indic"]) }},
		{name: "fullwidth-digits", what: "the code in fullwidth digits (U+FF10..U+FF19)", number: true, mangle: func(c string) string { return transliterate(c, digitSets["fullwidth"]) }},
		{name: "too-short", what: "the code without its last digit (a prefix)", mangle: func(c string) string { return c[:len(c)-1] }},
		{name: "too-long", what: "the code with one digit appended", mangle: func(c string) string { return c + "7" }},
		{name: "changed-digit", what: "the code with its last digit changed", mangle: func(c string) string { return c[:len(c)-1] + string('0'+(c[len(c)-1]-'0'+1)%10) }},
		{name: "empty", what: "an empty string", mangle: func(string) string { return "" }},
	}
	out := []*caseDef{{
		id:          "rfc4226/5.3/input-leading-zero",
		level:       MUST,
		requirement: "the HOTP value is the Digit-digit decimal string of Snum mod 10^Digit, leading zeros included",
		what:        "Enrolls a token whose next code starts with '0' and submits it exactly as the display shows it; it must be accepted.",
		body: func(t *ct) {
			s := t.hotp(tokOpts{clean: leadingZero})
			s.check(s.at(0), true, fmt.Sprintf("the code of counter %d as displayed (with its leading zero)", s.ctr(0)), "it is exactly the code the token shows")
		},
	}}
	for _, v := range variants {
		c := &caseDef{
			id:          "rfc4226/5.3/input-" + v.name,
			level:       MUST,
			requirement: "the HOTP value is exactly Digit ASCII decimal digits; a string that is not the code's number (a prefix, an extension, a changed digit, an empty string) is rejected, leaving the counter unchanged",
			what:        fmt.Sprintf("Submits %s (rejected), then the code exactly as displayed (accepted: the counter did not move).", v.what),
			body: func(t *ct) {
				p := t.profile()
				l := lookAhead(p)
				clean := distinct(0, l+1, 0, 1)
				if v.zero {
					clean = func(k codes) bool { return leadingZero(k) && distinct(0, l+1, 0, 1)(k) }
				}
				s := t.hotp(tokOpts{clean: clean})
				code := s.at(0)
				typed := v.mangle(code)
				what := fmt.Sprintf("%s (the code of counter %d)", v.what, s.ctr(0))
				if v.number && p.Input == InputLenient {
					s.submit(typed, what, "the profile claims input \"lenient\": the string is the code's number, so taking it for the code and refusing it are both correct")
					s.checkNext("the code the server expects next")
					return
				}
				why := fmt.Sprintf("the token shows %q; only that exact string is its code", code)
				switch {
				case p.Input == InputExact:
					why += " (the profile claims input \"exact\")"
				case p.Input == InputLenient:
					why += " (input \"lenient\" reads decimal numbers, and this is not the code's number)"
				}
				s.check(typed, false, what, why)
				s.checkNext("the rejected input did not move the server counter")
			},
		}
		c.why = "a string that is not the code's number taken for the code weakens every guess"
		switch {
		case v.number:
			c.level = SHOULD
			c.why = "the code's own number written another way: hygiene, not an attack; PROFILE under input exact; PASSes either way under input lenient"
			c.requirement = "the HOTP value is exactly Digit ASCII decimal digits; a string that is the code's number written another way (white space, '+', leading zeros, other decimal digits) SHOULD be rejected: robustness, not an attack (MUST when the profile claims input \"exact\"; either answer passes under input \"lenient\")"
			c.dynLevel = func(p Profile) Level {
				if p.Input == InputExact {
					return PROFILE
				}
				return SHOULD
			}
		case v.minus:
			c.level = SHOULD
			c.why = "a parsing defect, not an attack; PROFILE when an input rule is claimed (both exclude '-')"
			c.requirement = "a code with a '-' is not the code under any input rule; accepting it is a parsing defect, not an attack (SHOULD; a FAIL when the profile claims an input rule, since both exclude it)"
			c.dynLevel = func(p Profile) Level {
				if p.Input != "" {
					return PROFILE
				}
				return SHOULD
			}
		}
		out = append(out, c)
	}
	return out
}

// leadingZero accepts a key whose first code starts with '0'.
func leadingZero(k codes) bool { return k.HOTP(0)[0] == '0' }
