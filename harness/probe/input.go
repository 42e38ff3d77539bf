package probe

import (
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// The input family: how a typed code is read. Under input "exact" a code
// is exactly the token's number of ASCII digits; under "lenient" it is
// read as a decimal number, Python's int(): white space around it, a
// leading +, leading zeros, any Unicode decimal digits. Each variant of the
// first acceptable code goes to a fresh token, so that a rejected variant
// (a failure) disturbs nothing.

// variant is one way of typing a code.
type variant struct {
	name string
	typ  func(code string) string
	// zero: the variant needs a code that starts with 0.
	zero bool
}

func variants() []variant {
	arabic := func(code string) string {
		var b strings.Builder
		for _, c := range code {
			b.WriteRune('\u0660' + (c - '0'))
		}
		return b.String()
	}
	return []variant{
		{"a space before", func(c string) string { return " " + c }, false},
		{"a leading +", func(c string) string { return "+" + c }, false},
		{"one more leading zero", func(c string) string { return "0" + c }, false},
		{"Arabic-Indic digits", arabic, false},
		{"its leading zero left out", func(c string) string { return c[1:] }, true},
	}
}

// input measures the input rule on the primary kind.
func (p *prober) input() error {
	since := p.res.Requests
	cfg := p.primary()
	gi := p.goodIndex(cfg.kind)
	span := p.span(cfg.kind)
	var acc, rej []string
	for _, v := range variants() {
		clean := func(k *token.Key, c uint64) bool {
			lo := int64(0)
			if cfg.kind == harness.TOTP {
				lo = -span
			}
			if !distinct(lo, span, gi)(k, c) {
				return false
			}
			return !v.zero || strings.HasPrefix(k.HOTP(c+uint64(gi)), "0")
		}
		t, err := p.enroll(cfg, time.Time{}, clean)
		if err != nil {
			return err
		}
		rep, err := t.check(v.typ(t.code(gi)))
		if err != nil {
			return err
		}
		if rep.Accepted {
			acc = append(acc, v.name)
		} else {
			rej = append(rej, v.name)
		}
	}
	p.inputDone = true
	f := Finding{Name: "input", Certainty: Exact}
	switch {
	case len(acc) == 0:
		p.inputRule = harness.InputExact
		f.Value = "exact"
		f.Evidence = "the correct code typed with " + strings.Join(rej, ", with ") + ": each rejected on a fresh token"
	case len(rej) == 0:
		p.inputRule = harness.InputLenient
		f.Value = "lenient"
		f.Evidence = "the correct code typed with " + strings.Join(acc, ", with ") + ": each accepted on a fresh token"
	default:
		p.inputRule = ""
		f.Value, f.Departs = "neither exact nor lenient", true
		f.Evidence = fmt.Sprintf("accepted with %s; rejected with %s: the profile cannot state this, so input is left unclaimed (judged at SHOULD level)",
			strings.Join(acc, ", "), strings.Join(rej, ", "))
	}
	p.add(since, f)
	return nil
}
