package harness

import (
	"errors"
	"fmt"
	"math"
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
			what:        "Enrolls a token with the Appendix D secret at counter 0 and submits the ten published codes in order; each must be accepted.",
			body: func(t *ct) {
				rows, err := vectors.RFC4226()
				if err != nil {
					t.abort("harness: %v", err)
				}
				s := t.hotp(tokOpts{secret: vectors.RFC4226Secret()})
				for _, r := range rows {
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
				s := t.hotp(tokOpts{digits: 8, clean: distinct(0, 2+lookAhead(t.profile()), 0, 1, 2)})
				s.check(s.code(0), true, "the 8-digit code of counter 0", "it is the expected code")
				s.check(s.code(1), true, "the 8-digit code of counter 1", "it is the expected code")
				s.check(s.code(2)[2:], false, "the last 6 digits of the code of counter 2", "the token has 8 digits; a 6-digit string is not its code")
				s.check(s.code(2), true, "the 8-digit code of counter 2", "a rejected code leaves the counter where it was")
			},
		},
		hotpAlgorithmCase(token.SHA256),
		hotpAlgorithmCase(token.SHA512),
		{
			id:          "rfc4226/7.2/current-code",
			level:       MUST,
			requirement: "the server compares the received value with the HOTP value computed for its counter C and accepts a match",
			what:        "Enrolls a fresh token at a random counter and submits the code of that counter; it must be accepted.",
			body: func(t *ct) {
				c := t.rng.Uint64N(1 << 20)
				s := t.hotp(tokOpts{counter: c})
				s.check(s.code(c), true, fmt.Sprintf("the code of counter %d (the enrolled counter)", c), "it is the code the server expects next")
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
				s.check(s.code(0), true, "the code of counter 0", "it is the next expected code")
				s.check(s.code(0), false, "the code of counter 0 again (a replay)", "the server counter moved to 1 when it was accepted")
			},
		},
		{
			id:          "rfc4226/7.2/replay-older-code",
			level:       MUST,
			requirement: "codes of counters below the server's counter are never accepted",
			what:        "Accepts the codes of counters 0, 1, 2, then submits the codes of counters 0 and 1; both must be rejected, and the code of counter 3 then accepted.",
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 3+l, 0, 1, 3)})
				for c := range uint64(3) {
					s.check(s.code(c), true, fmt.Sprintf("the code of counter %d", c), "it is the next expected code")
				}
				s.check(s.code(0), false, "the code of counter 0 (already used)", "the server counter is 3")
				s.check(s.code(1), false, "the code of counter 1 (already used)", "the server counter is 3")
				s.check(s.code(3), true, "the code of counter 3", "rejected replays leave the counter at 3")
			},
		},
		{
			id:          "rfc4226/7.2/reject-keeps-counter",
			level:       MUST,
			requirement: "if the value received does not match, the server's counter does not change (RFC 4226 §7.4: on failure the counter is unchanged)",
			what:        "Submits a wrong code (rejected), then the code of counter 0 and the code of counter 1; both must be accepted. A verifier that burns a counter on failure rejects the code of counter 0.",
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 1+l, 0, 1)})
				s.check(s.wrong(), false, "a wrong code (the code of no counter in the window)", "it matches nothing the token can show")
				s.check(s.code(0), true, "the code of counter 0", "the failed attempt left the server counter at 0")
				s.check(s.code(1), true, "the code of counter 1", "the server counter is 1")
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-edge",
			level:       PROFILE,
			requirement: "look_ahead L: check accepts the code of counter c+k for 0 <= k <= L",
			what:        "Presses the token L times without submitting, then submits the code of counter L (offset L from the server's counter 0); it must be accepted.",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, l, l)})
				s.tell("pressed the button %d times without submitting", l)
				s.check(s.code(l), true, fmt.Sprintf("the code of counter %d (offset L=%d)", l, l), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is inside the window", l, l))
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-beyond",
			level:       PROFILE,
			requirement: "look_ahead L: any code other than those of counters c..c+L is rejected and c does not change",
			what:        "Presses the token L+1 times without submitting, then submits the code of counter L+1 (rejected), then the code of counter 0 (accepted).",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, l+1, l+1, 0)})
				s.tell("pressed the button %d times without submitting", l+1)
				s.check(s.code(l+1), false, fmt.Sprintf("the code of counter %d (offset L+1=%d)", l+1, l+1), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is outside the window", l, l+1))
				s.check(s.code(0), true, "the code of counter 0", "the rejected code left the server counter at 0")
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-moves-counter",
			level:       PROFILE,
			requirement: "look_ahead L: after accepting the code of counter c+k the server sets c = c+k+1",
			what:        "Accepts the code of counter k = L (after L unsubmitted presses); then the code of counter k-1 and a replay of k are rejected and the code of counter k+1 is accepted.",
			needs:       needLookAheadAtLeast(1),
			body: func(t *ct) {
				l := lookAhead(t.profile())
				k := l
				s := t.hotp(tokOpts{clean: distinct(0, k+2+l, k-1, k, k+1, k+2)})
				s.tell("pressed the button %d times without submitting", k)
				s.check(s.code(k), true, fmt.Sprintf("the code of counter %d (offset %d)", k, k), fmt.Sprintf("look_ahead %d covers offset %d", l, k))
				s.check(s.code(k-1), false, fmt.Sprintf("the code of counter %d (skipped, now behind)", k-1), fmt.Sprintf("the server counter is %d after the hit at %d", k+1, k))
				s.check(s.code(k+1), true, fmt.Sprintf("the code of counter %d", k+1), fmt.Sprintf("the server counter is %d", k+1))
				s.check(s.code(k), false, fmt.Sprintf("the code of counter %d again (a replay)", k), fmt.Sprintf("the server counter is %d", k+2))
				s.check(s.code(k+2), true, fmt.Sprintf("the code of counter %d", k+2), fmt.Sprintf("the server counter is %d", k+2))
			},
		},
		{
			id:          "rfc4226/7.4/look-ahead-window-moves",
			level:       PROFILE,
			requirement: "look_ahead L: after a hit the window starts at the new c = c+k+1, so it reaches counter c+k+1+L",
			what:        "Accepts the code of counter 0 (the server counter becomes 1), presses L times without submitting, then submits the code of counter 1+L (offset L from the new counter); it must be accepted. Verifiers that store the last used counter instead of the next one reject it.",
			needs:       needLookAhead,
			body: func(t *ct) {
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{clean: distinct(0, 1+l, 0, 1+l)})
				s.check(s.code(0), true, "the code of counter 0", "it is the next expected code")
				s.tell("pressed the button %d times without submitting", l)
				s.check(s.code(1+l), true, fmt.Sprintf("the code of counter %d (offset L=%d from the server counter 1)", 1+l, l), fmt.Sprintf("the profile claims look_ahead %d and the server counter is 1", l))
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
		{
			id:          "rfc4226/5.1/counter-2^64",
			level:       MUST,
			requirement: "C: 8-byte counter value; the last counter is 2^64-1 and no counter follows it",
			what:        "Enrolls a token at counter 2^64-3, accepts the codes of the last three counters, then submits the code of counter 0; it must be rejected (the counter does not wrap).",
			body: func(t *ct) {
				const last = math.MaxUint64
				l := lookAhead(t.profile())
				s := t.hotp(tokOpts{counter: last - 2, clean: func(k *token.Key) bool {
					return distinct(last-2, last, last-2, last-1, last)(k) && distinct(0, l, 0)(k) &&
						k.Value(0) != k.Value(last-2) && k.Value(0) != k.Value(last-1) && k.Value(0) != k.Value(last)
				}})
				for c := uint64(last - 2); ; c++ {
					s.check(s.code(c), true, fmt.Sprintf("the code of counter %d", c), "it is the next expected code")
					if c == last {
						break
					}
				}
				s.check(s.code(0), false, "the code of counter 0", "after counter 2^64-1 the token is spent; the counter must not wrap to 0")
			},
		},
	}
}

func hotpAlgorithmCase(a token.Algorithm) *caseDef {
	return &caseDef{
		id:          "rfc4226/5.3/" + strings.ToLower(a.String()),
		level:       PROFILE,
		requirement: fmt.Sprintf("HOTP with HMAC-%s and a %d-byte secret is verified with that hash (profile claims %s)", a, a.Size(), a),
		what:        fmt.Sprintf("Enrolls a %s HOTP token with a %d-byte secret and submits the codes of counters 0, 1 and 2; each must be accepted.", a, a.Size()),
		needs:       needAlgorithm(HOTP, a, 6),
		body: func(t *ct) {
			s := t.hotp(tokOpts{alg: a})
			for c := range uint64(3) {
				s.check(s.code(c), true, fmt.Sprintf("the %s code of counter %d", a, c), "it is the next expected code under "+a.String())
			}
		},
	}
}

func counterCase(name string, at uint64, why string) *caseDef {
	return &caseDef{
		id:          "rfc4226/5.1/counter-" + name,
		level:       MUST,
		requirement: "C: 8-byte counter value, the moving factor; every counter value up to 2^64-1 is valid",
		what:        fmt.Sprintf("Enrolls a token at counter %s-2 and submits the codes of counters %s-2 to %s+3 in order (each accepted), then replays the code of %s (rejected): %s.", name, name, name, name, why),
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{counter: at - 2, clean: distinct(at-2, at+3+l, at-2, at-1, at, at+1, at+2, at+3)})
			for c := at - 2; c <= at+3; c++ {
				s.check(s.code(c), true, fmt.Sprintf("the code of counter %d (%s%+d)", c, name, int64(c-at)), "it is the next expected code")
			}
			s.check(s.code(at), false, fmt.Sprintf("the code of counter %d (%s) again", at, name), fmt.Sprintf("the server counter is %d", at+4))
		},
	}
}
