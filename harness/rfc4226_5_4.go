package harness

import (
	"fmt"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

// The cases of RFC 4226 §5.4 (the example of HOTP computation): the
// published test values of Appendix D.

// caseAppendixD builds the case rfc4226/5.4/appendix-d.
func caseAppendixD() *caseDef {
	return &caseDef{
		id:          "rfc4226/5.4/appendix-d",
		level:       MUST,
		requirement: "HOTP(K,C) = Truncate(HMAC-SHA-1(K,C)); the RFC 4226 Appendix D values for K = \"12345678901234567890\", C = 0..9",
		what:        "Enrolls a token with the Appendix D secret at counter 0 (or at the profile's smallest counter, when that is at most 9) and submits the published codes from there in order; each must be accepted.",
		needs: func(p Profile) string {
			if p.CounterMin() > 9 || !p.SupportsAlgorithm(token.SHA1) || !p.SupportsDigits(6) {
				return fmt.Sprintf("the Appendix D vectors are SHA1, 6 digits, counters 0..9; the profile claims counters from %d, %v, %v digits", p.CounterMin(), p.Algorithms, p.Digits)
			}
			return ""
		},
		body: func(t *ct) {
			rows, err := vectors.RFC4226()
			if err != nil {
				t.abort("harness: %v", err)
			}
			s := t.hotp(tokOpts{secret: vectors.RFC4226Secret(), alg: token.SHA1, digits: 6})
			for _, r := range rows {
				if r.Counter < s.c0 {
					continue
				}
				s.check(r.Code, true, fmt.Sprintf("the Appendix D code of counter %d", r.Counter), "RFC 4226 Appendix D lists it as HOTP(K, "+fmt.Sprint(r.Counter)+")")
			}
		},
	}
}
