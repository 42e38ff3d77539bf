package harness

import (
	"fmt"
	"strings"

	"github.com/otplab/otplab/token"
)

// The cases of RFC 4226 §5.3 (generating an HOTP value): the hash
// algorithms, the number of digits, and how a typed code is read.

// caseDigits8 builds the case rfc4226/5.3/digits-8.
func caseDigits8() *caseDef {
	return &caseDef{
		id:          "rfc4226/5.3/digits-8",
		level:       PROFILE,
		requirement: "Digit = number of digits in an HOTP value; an 8-digit token is verified on all 8 digits (profile claims digits 8)",
		what:        "Enrolls an 8-digit HOTP token, submits the codes of counters 0 and 1 (accepted), then the last 6 digits of the code of counter 2 (rejected), then its full code (accepted).",
		needs:       needAlgorithm(HOTP, token.SHA1, 8),
		body: func(t *ct) {
			s := t.hotp(tokOpts{alg: token.SHA1, digits: 8, clean: func(k codes) bool {
				// "00" in front would make the 6-digit tail the same number.
				return distinct(0, 3+lookAhead(t.profile()), 0, 1, 2, 3)(k) && k.HOTP(2)[:2] != "00"
			}})
			s.check(s.at(0), true, fmt.Sprintf("the 8-digit code of counter %d", s.ctr(0)), "it is the expected code")
			s.check(s.at(1), true, fmt.Sprintf("the 8-digit code of counter %d", s.ctr(1)), "it is the expected code")
			s.check(s.at(2)[2:], false, fmt.Sprintf("the last 6 digits of the code of counter %d", s.ctr(2)), "the token has 8 digits; a 6-digit string is not its code")
			s.checkNext("a rejected code does not move the server counter")
		},
	}
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
		{name: "mathematical-digits", what: "the code in mathematical bold digits (U+1D7CE..U+1D7D7)", number: true, mangle: func(c string) string { return transliterate(c, digitSets["mathematical"]) }},
		{name: "superscript-digits", what: "the code in superscript digits (U+2070, U+00B9, U+00B2, U+00B3, U+2074..U+2079)", notDecimal: true, mangle: func(c string) string { return transliterate(c, digitSets["superscript"]) }},
		{name: "circled-digits", what: "the code in circled digits (U+24EA, U+2460..U+2468)", notDecimal: true, mangle: func(c string) string { return transliterate(c, digitSets["circled"]) }},
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
		needs:       needInputToken,
		realtimeIf:  inputOnTOTP,
		body: func(t *ct) {
			if inputOnTOTP(t.profile()) {
				at, st := t.stepNow(0, t.period())
				s := t.totp(tokOpts{clean: func(k codes) bool { return k.HOTP(st)[0] == '0' }})
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of the current step %d as displayed (with its leading zero)", st), "it is exactly the code the token shows")
				return
			}
			s := t.hotp(tokOpts{clean: leadingZero})
			s.check(s.at(0), true, fmt.Sprintf("the code of counter %d as displayed (with its leading zero)", s.ctr(0)), "it is exactly the code the token shows")
		},
	}}
	for _, v := range variants {
		c := &caseDef{
			id:          "rfc4226/5.3/input-" + v.name,
			level:       MUST,
			requirement: "the HOTP value is exactly Digit ASCII decimal digits; a string that is not the code's number (a prefix, an extension, a changed digit, an empty string) is rejected, leaving the counter unchanged",
			what:        fmt.Sprintf("Submits %s (rejected), then the code exactly as displayed (accepted: the counter did not move). With a TOTP token, the code of the current step, when the profile does not claim HOTP.", v.what),
			needs:       needInputToken,
			realtimeIf:  inputOnTOTP,
			body: func(t *ct) {
				p := t.profile()
				if inputOnTOTP(p) {
					inputTOTP(t, v)
					return
				}
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
		case v.notDecimal:
			c.level = SHOULD
			c.why = "hygiene, not an attack; PROFILE when an input rule is claimed (neither reads these as decimal digits)"
			c.requirement = "digits that are not Unicode decimal digits (superscripts, circled digits) are not the code under any input rule: Python's int() refuses them; accepting them (Unicode compatibility normalisation, NFKC) is hygiene, not an attack (SHOULD; a FAIL when the profile claims an input rule, since both exclude them)"
			c.dynLevel = func(p Profile) Level {
				if p.Input != "" {
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

func hotpAlgorithmCase(a token.Algorithm) *caseDef {
	return &caseDef{
		id:          "rfc4226/5.3/" + strings.ToLower(a.String()),
		level:       PROFILE,
		requirement: fmt.Sprintf("HOTP with HMAC-%s and a %d-byte secret is verified with that hash (profile claims %s)", a, a.Size(), a),
		what:        fmt.Sprintf("Enrolls a %s HOTP token with a %d-byte secret and submits the codes of its first three counters; each must be accepted.", a, a.Size()),
		needs:       needAlgorithm(HOTP, a, 0),
		body: func(t *ct) {
			s := t.hotp(tokOpts{alg: a})
			for c := range uint64(3) {
				s.check(s.at(c), true, fmt.Sprintf("the %s code of counter %d", a, s.ctr(c)), "it is the next expected code under "+a.String())
			}
		},
	}
}

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
	// notDecimal: digit forms that are not Unicode decimal digits
	// (category No: superscripts, circled digits), so not the code's
	// number under input "lenient" either (Python's int() refuses them,
	// Unicode compatibility normalisation would map them to the code):
	// SHOULD unless an input rule is claimed, as for minus.
	notDecimal bool
}

// digitSets are the ten digits 0..9 of other Unicode digit forms. The
// first three are decimal digits (category Nd, which Python's int() reads
// as numbers); superscripts and circled digits are not (category No).
var digitSets = map[string][]rune{
	"arabic-indic": []rune("٠١٢٣٤٥٦٧٨٩"),
	"fullwidth":    []rune("０１２３４５６７８９"),
	"mathematical": []rune("𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"),
	"superscript":  []rune("⁰¹²³⁴⁵⁶⁷⁸⁹"),
	"circled":      []rune("⓪①②③④⑤⑥⑦⑧⑨"),
}

func transliterate(code string, set []rune) string {
	var b strings.Builder
	for _, c := range code {
		b.WriteRune(set[c-'0'])
	}
	return b.String()
}

// leadingZero accepts a key whose first code starts with '0'.
func leadingZero(k codes) bool { return k.HOTP(0)[0] == '0' }

// inputOnTOTP reports whether the input cases use a TOTP token: when the
// profile does not claim HOTP, whose input rules matter as much.
func inputOnTOTP(p Profile) bool { return !p.SupportsKind(HOTP) && p.SupportsKind(TOTP) }

// inputTOTP is an input case with a TOTP token: the typed string v makes
// of the current step's code, then the code as displayed, which must be
// accepted unless the typed string was (and so used the step up).
func inputTOTP(t *ct, v hygiene) {
	p := t.profile()
	at, st := t.stepNowFor(0, t.period(), 2)
	clean := stepWindow(p, st, st)
	if v.zero {
		clean = func(k codes) bool { return k.HOTP(st)[0] == '0' && stepWindow(p, st, st)(k) }
	}
	s := t.totp(tokOpts{clean: clean})
	code := s.code(st)
	typed := v.mangle(code)
	what := fmt.Sprintf("%s (the code of the current step %d)", v.what, st)
	exact := fmt.Sprintf("the code of the current step %d as displayed", st)
	if v.number && p.Input == InputLenient {
		s.submitAt(typed, at, what, "the profile claims input \"lenient\": the string is the code's number, so taking it for the code and refusing it are both correct")
		exp := s.tr.expect(Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()})
		if len(exp) != 1 {
			t.abort("harness: the scenario is degenerate: the code as displayed could be accepted or rejected now%s", s.history())
		}
		why := "the typed string was refused, so the step is unused"
		if !exp[0] {
			why = "the typed string was taken for the code, which used the step up (RFC 6238 §5.2)"
		}
		s.checkAt(code, at, exp[0], exact, why)
		return
	}
	why := fmt.Sprintf("the token shows %q; only that exact string is its code", code)
	switch {
	case p.Input == InputExact:
		why += " (the profile claims input \"exact\")"
	case p.Input == InputLenient:
		why += " (input \"lenient\" reads decimal numbers, and this is not the code's number)"
	}
	s.checkAt(typed, at, false, what, why)
	s.checkAt(code, at, true, exact, "the rejected input did not use up the step")
}
