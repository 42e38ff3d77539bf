package harness

import (
	"errors"
	"fmt"
)

// The cases of RFC 4226 §7.2 (validation of HOTP values): the code of the
// server's counter is accepted once, and nothing else moves the counter.

// caseCurrentCode builds the case rfc4226/7.2/current-code.
func caseCurrentCode() *caseDef {
	return &caseDef{
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
	}
}

// caseReplayAcceptedCode builds the case rfc4226/7.2/replay-accepted-code.
func caseReplayAcceptedCode() *caseDef {
	return &caseDef{
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
	}
}

// caseReplayOlderCode builds the case rfc4226/7.2/replay-older-code.
func caseReplayOlderCode() *caseDef {
	return &caseDef{
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
	}
}

// caseRejectKeepsCounter builds the case rfc4226/7.2/reject-keeps-counter.
func caseRejectKeepsCounter() *caseDef {
	return &caseDef{
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
	}
}

// caseUnknownSerial builds the case rfc4226/7.2/unknown-serial.
func caseUnknownSerial() *caseDef {
	return &caseDef{
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
	}
}

// caseConcurrentSameCode builds the case rfc4226/7.2/concurrent-same-code.
func caseConcurrentSameCode() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.2/concurrent-same-code",
		level:       MUST,
		requirement: "an accepted code is accepted once: the check and the counter update are one atomic step, also under concurrent submissions",
		what:        fmt.Sprintf("Submits the valid code of counter 0 %d times at once, on %d fresh tokens in turn; exactly one submission per token must be accepted.", concurrentSubmits, concurrencyRounds),
		body: func(t *ct) {
			l := lookAhead(t.profile())
			for range concurrencyRounds {
				s := t.hotp(tokOpts{clean: distinct(0, l+1, 0)})
				codes := make([]string, concurrentSubmits)
				for i := range codes {
					codes[i] = s.at(0)
				}
				got := s.parallel(codes, fmt.Sprintf("the code of counter %d, %d times", s.ctr(0), concurrentSubmits))
				s.replayAccepted(codes, got)
			}
		},
	}
}
