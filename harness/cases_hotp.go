package harness

import (
	"errors"
	"fmt"
	"strings"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

func hotpCases() []*caseDef {
	return []*caseDef{
		{
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
		},
		{
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
		},
		hotpAlgorithmCase(token.SHA256),
		hotpAlgorithmCase(token.SHA512),
		{
			id:          "rfc4226/7.2/current-code",
			level:       MUST,
			requirement: "the server compares the received value with the HOTP value computed for its counter C and accepts a match",
			what:        "Enrolls a fresh token at a random counter inside the claimed range and submits the code of that counter; it must be accepted.",
			body: func(t *ct) {
				p := t.profile()
				span := p.CounterMax() - p.CounterMin()
				c := p.CounterMin() + t.rng.Uint64N(min(1<<20, span)+1)
				s := t.hotp(tokOpts{counter: c, absolute: true})
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d (the enrolled counter)", c), "it is the code the server expects next")
			},
		},
		{
			id:          "rfc4226/7.2/replay-accepted-code",
			level:       MUST,
			requirement: "after a successful validation the server increments the counter, so an accepted code is not accepted again",
			what:        "Accepts the code of counter 0, then submits the same code again; the replay must be rejected.",
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 1+l, 0)})
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
				s.check(s.at(0), false, fmt.Sprintf("the code of counter %d again (a replay)", s.ctr(0)), fmt.Sprintf("the server counter moved to %d when it was accepted", s.ctr(1)))
			},
		},
		{
			id:          "rfc4226/7.2/replay-older-code",
			level:       MUST,
			requirement: "codes of counters below the server's counter are never accepted",
			what:        "Accepts the codes of counters c, c+1, c+2, then submits the codes of counters c and c+1; both must be rejected, and the code of counter c+3 then accepted (or, under on_failure advance, the code after the two burnt ones).",
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 5+l, 0, 1, 3, 5)})
				for c := range uint64(3) {
					s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
				}
				s.check(s.at(0), false, fmt.Sprintf("the code of counter %d (already used)", s.ctr(0)), fmt.Sprintf("the server counter is %d", s.ctr(3)))
				s.check(s.at(1), false, fmt.Sprintf("the code of counter %d (already used)", s.ctr(1)), "it is behind the server counter")
				s.checkNext("rejected replays do not move the server counter")
			},
		},
		{
			id:          "rfc4226/7.2/reject-keeps-counter",
			level:       MUST,
			why:         "RFC 4226 §7.4; a burnt counter breaks resync and denies the user service; a declared on_failure advance FAILs here once, as declared",
			requirement: "if the value received does not match, the server's counter does not change (RFC 4226 §7.4: on failure the counter is unchanged)",
			what:        "Submits a wrong code (rejected), then the code of the enrolled counter c and the code of c+1; both must be accepted. A verifier that burns a counter on failure rejects the code of c. A profile that declares on_failure advance FAILs here, once, as declared.",
			body: func(t *ct) {
				p := t.profile()
				l := lookAhead(p)
				s := t.hotp(tokOpts{clean: distinct(0, 2+l, 0, 1, 2)})
				s.check(s.wrong(), false, "a wrong code (the code of no counter in the window)", "it matches nothing the token can show")
				if p.Advances() {
					s.check(s.at(0), false, fmt.Sprintf("the code of counter %d", s.ctr(0)), "the profile declares on_failure advance: the failure burnt it")
					s.check(s.at(2), true, fmt.Sprintf("the code of counter %d", s.ctr(2)), "the profile declares on_failure advance: one failure and one rejected replay burnt counters "+fmt.Sprint(s.ctr(0), " and ", s.ctr(1)))
					t.declared("declared by the profile: on_failure \"advance\" burns a counter on every failure, against RFC 4226 §7.4 (\"if the value received does not match, the server's counter does not change\"); every other case expects the burn")
				}
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), fmt.Sprintf("the failed attempt left the server counter at %d", s.ctr(0)))
				s.check(s.at(1), true, fmt.Sprintf("the code of counter %d", s.ctr(1)), fmt.Sprintf("the server counter is %d", s.ctr(1)))
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-edge",
			level:       PROFILE,
			requirement: "look_ahead L: check accepts the code of counter c+k for 0 <= k <= L",
			what:        "Presses the token L times without submitting, then submits the code of counter c+L (offset L from the server's counter c); it must be accepted.",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, l, l)})
				s.tell("pressed the button %d times without submitting", l)
				s.check(s.at(l), true, fmt.Sprintf("the code of counter %d (offset L=%d)", s.ctr(l), l), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is inside the window", l, l))
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-beyond",
			level:       PROFILE,
			requirement: "look_ahead L: any code other than those of counters c..c+L is rejected and c does not change",
			what:        "Presses the token L+1 times without submitting, then submits the code of counter c+L+1 (rejected), then the code of counter c (accepted; under on_failure advance, c+1).",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, l+2, l+1, 0, 1)})
				s.tell("pressed the button %d times without submitting", l+1)
				s.check(s.at(l+1), false, fmt.Sprintf("the code of counter %d (offset L+1=%d)", s.ctr(l+1), l+1), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is outside the window", l, l+1))
				s.checkNext("the rejected code did not move the server counter")
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-moves-counter",
			level:       PROFILE,
			requirement: "look_ahead L: after accepting the code of counter c+k the server sets c = c+k+1",
			what:        "Accepts the code of counter c+k, k = L (after L unsubmitted presses); then the code of counter c+k-1 and a replay of c+k are rejected and the next codes are accepted.",
			needs:       needLookAheadAtLeast(1),
			body: func(t *ct) {
				l := lookAhead(t.profile())
				k := l
				s := t.hotp(tokOpts{clean: distinct(0, k+4+l, k-1, k, k+1, k+2, k+3, k+4)})
				s.tell("pressed the button %d times without submitting", k)
				s.check(s.at(k), true, fmt.Sprintf("the code of counter %d (offset %d)", s.ctr(k), k), fmt.Sprintf("look_ahead %d covers offset %d", l, k))
				s.check(s.at(k-1), false, fmt.Sprintf("the code of counter %d (skipped, now behind)", s.ctr(k-1)), fmt.Sprintf("the server counter is %d after the hit at %d", s.ctr(k+1), s.ctr(k)))
				s.checkNext("the hit moved the server counter one past it")
				s.check(s.at(k), false, fmt.Sprintf("the code of counter %d again (a replay)", s.ctr(k)), "it is behind the server counter")
				s.checkNext("the replay did not move the server counter")
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-window-moves",
			level:       PROFILE,
			requirement: "look_ahead L: after a hit the window starts at the new c = c+k+1, so it reaches counter c+k+1+L",
			what:        "Accepts the code of counter c (the server counter becomes c+1), presses L times without submitting, then submits the code of counter c+1+L (offset L from the new counter); it must be accepted. Verifiers that store the last used counter instead of the next one reject it.",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 1+l, 0, 1+l)})
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
				s.tell("pressed the button %d times without submitting", l)
				s.check(s.at(1+l), true, fmt.Sprintf("the code of counter %d (offset L=%d from the server counter %d)", s.ctr(1+l), l, s.ctr(1)), fmt.Sprintf("the profile claims look_ahead %d and the server counter is %d", l, s.ctr(1)))
			},
		},
		{
			id:          "rfc4226/7.2/unknown-serial",
			level:       MUST,
			requirement: "a code for a token the server does not know is never accepted",
			what:        "Submits a code for a serial that was never enrolled; it must be rejected (or refused with an error).",
			body: func(t *ct) {
				serial := t.run.nextSerial('1')
				ctx, cancel := t.reqCtx()
				defer cancel()
				rep, err := t.run.v.Check(ctx, CheckRequest{Serial: serial, Code: "123456", Time: t.now()})
				var refused *RefusedError
				switch {
				case errors.As(err, &refused):
					t.note("the verifier refused the request: %s", refused.Message)
				case err != nil:
					t.callErr("check of an unknown serial", err)
				case rep.Accepted:
					t.fail("submitted \"123456\" for serial %s, which was never enrolled\n  => accepted, expected rejected: the server has no secret for it", serial)
				}
			},
		},
		counterCase("2^32", 1<<32, "counters stored in 32-bit integers wrap to 0 here"),
		counterCase("2^53", 1<<53, "counters stored as IEEE doubles (JavaScript numbers) lose the last bit here"),
		counterCase("2^63", 1<<63, "counters stored as signed 64-bit integers (SQL BIGINT, Java long) overflow here"),
		{
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
		},
	}
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
