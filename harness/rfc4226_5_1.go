package harness

import (
	"fmt"

	"github.com/otplab/otplab/token"
)

// The cases of RFC 4226 §5.1 (the counter C is 8 bytes): counters at the
// edges of the integer types verifiers store them in.

// caseCounter2To64 builds the case rfc4226/5.1/counter-2^64.
func caseCounter2To64() *caseDef {
	return &caseDef{
		id:          "rfc4226/5.1/counter-2^64",
		level:       MUST,
		why:         "a wrap after 2^64-1 reopens every used code; a declared counters.max below 2^64-1 is NON-STRICT here once",
		requirement: "C: 8-byte counter value; the last counter is 2^64-1 and no counter follows it",
		what:        "Enrolls a token at counter 2^64-3 (or at the claimed counters.max - 2), accepts the codes of the last three counters, then submits the code of the next counter and of the smallest counter; both must be rejected (the counter does not wrap). A claimed counters.max below 2^64-1 is reported here, once, NON-STRICT.",
		body: func(t *ct) {
			p := t.profile()
			last := p.CounterMax()
			if last-p.CounterMin() < 2 {
				t.skip("the claimed counter range %d..%d is too small for this case", p.CounterMin(), last)
			}
			first := p.CounterMin()
			l := lookAhead(p)
			s := t.hotp(tokOpts{counter: last - 2, absolute: true, clean: func(k codes) bool {
				wrap := first - (last - 2) // the smallest counter, seen from last-2
				return distinct(0, 3, 0, 1, 2, 3)(k) && distinct(wrap, wrap+l, wrap)(k) &&
					k.Value(wrap) != k.Value(0) && k.Value(wrap) != k.Value(1) && k.Value(wrap) != k.Value(2)
			}})
			for c := range uint64(3) {
				s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
			}
			// The token is spent: the profile claims no counter past
			// its last, so a verifier may answer these with an error
			// (a column that cannot hold the next counter) as long as
			// it does not accept them.
			s.unclaimed = fmt.Sprintf("the token is spent: the profile claims no counter past %d", last)
			if last < token.MaxCounter {
				s.check(s.at(3), false, fmt.Sprintf("the code of counter %d (one past the claimed counters.max)", s.ctr(3)), fmt.Sprintf("the profile claims counters.max %d: the token is spent", last))
			}
			s.check(s.code(first), false, fmt.Sprintf("the code of counter %d", first), fmt.Sprintf("after counter %d the token is spent; the counter must not wrap to %d", last, first))
			s.unclaimed = ""
			if last < token.MaxCounter {
				t.failAt(NonStrict, "declared by the profile: counters.max %d is below 2^64-1 = %d; RFC 4226 §5.1 makes C an 8-byte counter, so a token cannot count to its end here (the declared range itself was honoured)", last, uint64(token.MaxCounter))
			}
		},
	}
}

func counterCase(name string, at uint64, why string) *caseDef {
	return &caseDef{
		id:          "rfc4226/5.1/counter-" + name,
		level:       MUST,
		requirement: "C: 8-byte counter value, the moving factor; every counter value up to 2^64-1 (inside the claimed counters range) is valid",
		what:        fmt.Sprintf("Enrolls a token at counter %s-2 and submits the codes of counters %s-2 to %s+3 in order (each accepted), then replays the code of %s (rejected): %s. SKIPs when the claimed counters range does not reach %s+3.", name, name, name, name, why, name),
		needs: func(p Profile) string {
			if !p.SupportsCounter(at-2) || !p.SupportsCounter(at+3) {
				return fmt.Sprintf("the profile claims counters %d..%d, which does not hold %s-2..%s+3 (a max below 2^64-1 is reported at rfc4226/5.1/counter-2^64)", p.CounterMin(), p.CounterMax(), name, name)
			}
			return ""
		},
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{counter: at - 2, absolute: true, clean: distinct(0, 5+l, 0, 1, 2, 3, 4, 5)})
			for k := range uint64(6) {
				c := s.ctr(k)
				s.check(s.at(k), true, fmt.Sprintf("the code of counter %d (%s%+d)", c, name, int64(c-at)), "it is the next expected code")
			}
			s.check(s.code(at), false, fmt.Sprintf("the code of counter %d (%s) again", at, name), fmt.Sprintf("the server counter is %d", at+4))
		},
	}
}
