package harness

import (
	"fmt"
	"slices"
	"strings"
)

// The cases of otplab/flows. The seeds' panel uses one C100 at several
// doors: login, password recovery, password change, "test OTP device" and
// every remote signature. Protocol v1 names the door in check's purpose and
// the profile lists the doors served in flows; every purpose verifies
// against one token state. The cases below judge exactly that; the
// single-code resync of the newer panel is in rfc4226_7_4.go.

// casePurposes builds the case otplab/flows/purposes.
func casePurposes() *caseDef {
	return flowsCase("purposes", PROFILE,
		"flows: check serves every purpose the profile lists, all of them against one token state (protocol v1, check's purpose)",
		"Submits the codes of counters 0, 1, 2, ... for each listed purpose in turn, one door after the other on one token; each must be accepted.",
		nil, nil, func(t *ct, p Profile, l uint64) {
			n := uint64(len(p.Flows))
			s := t.hotp(tokOpts{clean: distinct(0, n+l, upTo(n)...)})
			for i, f := range p.Flows {
				s.checkAs(s.at(uint64(i)), f, true, fmt.Sprintf("the code of counter %d", s.ctr(uint64(i))),
					fmt.Sprintf("%q is in flows and this is the next expected code: the %d codes before it were accepted at other doors of the same token", f, i))
			}
		})
}

// caseSpentForAll builds the case otplab/flows/spent-for-all.
func caseSpentForAll() *caseDef {
	return flowsCase("spent-for-all", MUST,
		"a code accepted for one purpose is spent for every purpose: all purposes verify against one token state, and after a successful validation the server moves the token's one counter past the code (RFC 4226 §7.2); a time step accepted once is never accepted again (RFC 6238 §5.2)",
		"For each listed purpose, on a fresh HOTP token: accepts the code of counter 0 for that purpose, then submits the same code for every other purpose (each must be rejected), then the next code for another purpose (accepted). With TOTP claimed, the same with the code of the current step.",
		nil, nil, func(t *ct, p Profile, l uint64) {
			n := uint64(len(p.Flows))
			for _, a := range p.Flows {
				s := t.hotp(tokOpts{clean: distinct(0, n+l+1, 0)})
				s.checkAs(s.at(0), a, true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
				others := otherFlows(p, a)
				for _, b := range others {
					s.checkAs(s.at(0), b, false, fmt.Sprintf("the same code of counter %d", s.ctr(0)),
						fmt.Sprintf("it was spent for %s: every door verifies against one token state (a code spent in recovery must not log in)", a))
				}
				s.nextAs(others[0], "the replays spent nothing")
			}
			if needTOTPClock(p) != "" {
				return
			}
			for _, a := range p.Flows {
				at, st := midStep(t.simNow, 0, t.period())
				s := t.totp(tokOpts{clean: stepWindow(p, st, st)})
				s.checkFor(s.code(st), a, at, true, fmt.Sprintf("the code of the current step %d", st), "it is the code the token shows now")
				for _, b := range otherFlows(p, a) {
					s.checkFor(s.code(st), b, at, false, fmt.Sprintf("the same code of step %d", st),
						fmt.Sprintf("it was accepted for %s: RFC 6238 §5.2, a code is accepted once, whatever the door", a))
				}
			}
		})
}

// caseRejectedStillGood builds the case otplab/flows/rejected-still-good.
func caseRejectedStillGood() *caseDef {
	return flowsCase("rejected-still-good", PROFILE,
		"a code rejected for one purpose is still good for another: a rejection spends no code, and the counter moves only on a successful validation (RFC 4226 §7.2; under on_failure advance, one counter per failure, whatever the door)",
		"For each listed purpose, on a fresh token: submits the code of counter L+1 (just beyond the look-ahead window) for that purpose (rejected), then, for the next purpose, the code of counter 0 (accepted, unless on_failure advance burnt it) and the code of counter L+1 (accepted: now inside the window).",
		nil, nil, func(t *ct, p Profile, l uint64) {
			for i, a := range p.Flows {
				b := p.Flows[(i+1)%len(p.Flows)]
				s := t.hotp(tokOpts{clean: distinct(0, 2*l+3, 0, l+1)})
				s.tell("pressed the button %d times without submitting", l+1)
				s.checkAs(s.at(l+1), a, false, fmt.Sprintf("the code of counter %d (offset L+1)", s.ctr(l+1)), fmt.Sprintf("it is beyond the look-ahead window %d", l))
				why := fmt.Sprintf("the rejection for %s spent no code: the server counter is now %d and the look-ahead window reaches %d", a, s.ctr(1), s.ctr(l+1))
				if !p.Advances() {
					s.check0(b)
				} else {
					why = fmt.Sprintf("under the declared on_failure advance the rejection for %s burnt counter %d, but no code: the window now reaches %d", a, s.ctr(0), s.ctr(l+1))
				}
				s.checkAs(s.at(l+1), b, true, fmt.Sprintf("the code of counter %d again, for %s", s.ctr(l+1), b), why)
			}
		})
}

// caseFailuresLock builds the case otplab/flows/failures-lock.
func caseFailuresLock() *caseDef {
	return flowsCase("failures-lock", PROFILE,
		"lockout {after F}: failures at every door add up: F consecutive rejected checks of the token, whatever their purposes, lock it for every purpose ("+rfc7_3+")",
		"For each purpose x other than login: F wrong codes for x on a fresh token, then the correct code for login; it must be rejected (locked). Then F wrong codes spread over all purposes in turn on a fresh token, and the correct code for login: rejected too.",
		nil, needLockout, func(t *ct, p Profile, l uint64) {
			f, base := p.LockoutAfter(), baseFlow(p)
			rounds := [][]string{}
			for _, x := range otherFlows(p, base) {
				rounds = append(rounds, []string{x})
			}
			rounds = append(rounds, p.Flows)
			for _, doors := range rounds {
				s := t.hotp(tokOpts{clean: distinct(0, 3+l+2*uint64(f), 0, 1)})
				s.strictLock = true
				s.failsAs(f, doors, "they are wrong codes")
				s.checkAs(s.cur(), base, false, s.curWhat("the correct code"),
					fmt.Sprintf("%d consecutive failure%s for %s lock the token for every purpose, %s included: one token, one failure count", f, plural(f), strings.Join(doors, ", "), base))
			}
		})
}

// caseLockedRefusesAll builds the case otplab/flows/locked-refuses-all.
func caseLockedRefusesAll() *caseDef {
	return flowsCase("locked-refuses-all", PROFILE,
		"lockout: a locked token refuses every purpose, recovery, password change and device test included, until unlock; otherwise recovery bypasses the lockout ("+rfc7_3+")",
		"Locks a fresh token with F wrong codes for login, then submits the correct code for every listed purpose (each must be rejected); then, when unlock is supported, unlocks and submits the correct code for the second purpose (accepted).",
		nil, needLockout, func(t *ct, p Profile, l uint64) {
			f, base := p.LockoutAfter(), baseFlow(p)
			s := t.hotp(tokOpts{clean: distinct(0, 3+l+2*uint64(f), 0, 1)})
			s.strictLock = true
			s.failsAs(f, []string{base}, "they are wrong codes")
			others := otherFlows(p, base)
			for _, x := range append(slices.Clone(others), base) {
				s.checkAs(s.cur(), x, false, s.curWhat("the correct code"), fmt.Sprintf("the token is locked after %s for %s, and a lock closes every door", failures(f), base))
			}
			if !t.run.info.Supports("unlock") {
				return
			}
			s.unlock()
			s.nextAs(others[0], "the token was unlocked and the refused codes spent nothing")
		})
}

// caseFailuresThrottle builds the case otplab/flows/failures-throttle.
func caseFailuresThrottle() *caseDef {
	return flowsCase("failures-throttle", PROFILE,
		"throttle {after F, delay D, factor K}: failures at every door add up to one delay (RFC 4226 §7.3's delay scheme): after the F-th consecutive failure for any purpose, every purpose is refused until the delay has passed",
		"For each purpose x other than login, on fresh tokens: F wrong codes for x, then at once the correct code for login (rejected: throttled), then after the delay the same code (accepted); and the other way round, failures for login and the correct code for x.",
		nil, func(p Profile) string {
			if p.Throttle == nil {
				return "the profile does not claim throttle"
			}
			if f := p.LockoutAfter(); f > 0 && f <= p.Throttle.After {
				return fmt.Sprintf("the profile's lockout after %d failures closes the token before the throttle after %d can be seen", f, p.Throttle.After)
			}
			return ""
		}, func(t *ct, p Profile, l uint64) {
			f, base := p.Throttle.After, baseFlow(p)
			for _, x := range otherFlows(p, base) {
				for _, pair := range [][2]string{{x, base}, {base, x}} {
					s := t.hotp(tokOpts{clean: distinct(0, 3+l+2*uint64(f), 0, 1)})
					s.strictLock = true
					s.failsAs(f, []string{pair[0]}, "they are wrong codes")
					d := p.ThrottleDelay(f)
					s.checkFor(s.cur(), pair[1], s.t.now(), false, s.curWhat("the correct code")+" at once",
						fmt.Sprintf("after %s for %s a delay of %d s holds every purpose, %s included", failures(f), pair[0], d, pair[1]))
					s.nextAs(pair[1], "the delay has passed and the refused check spent nothing")
				}
			}
		})
}

// caseResyncAll builds the case otplab/flows/resync-all.
func caseResyncAll() *caseDef {
	return flowsCase("resync-all", PROFILE,
		"resync moves the one counter for every purpose: after an accepted resync every door takes the codes after the sequence, and none takes a code before it (RFC 4226 §7.4, one counter per token)",
		"Presses a fresh token beyond the look-ahead window, resyncs with the N codes there (accepted), then submits the next codes for each listed purpose in turn (each accepted), then the code of counter 0, never used but behind the resync, for every purpose other than login (each rejected).",
		[]string{"resync"}, needResync, func(t *ct, p Profile, l uint64) {
			n, r := p.Resync.Codes, p.Resync.Window
			k := min(r, l+2)
			m := uint64(len(p.Flows))
			targets := append([]uint64{0}, upTo(uint64(n)+m)...)
			for i := range targets[1:] {
				targets[i+1] += k
			}
			s := t.hotp(tokOpts{clean: distinct(0, k+uint64(n)+m+l+1, targets...)})
			s.tell("pressed the button %d times without submitting", k)
			s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), fmt.Sprintf("offset %d is inside the resync window %d", k, r))
			next := k + uint64(n)
			for i, f := range p.Flows {
				c := next + uint64(i)
				s.checkAs(s.at(c), f, true, fmt.Sprintf("the code of counter %d", s.ctr(c)),
					fmt.Sprintf("the resync set the one counter to %d for every door, and %d codes were accepted since", s.ctr(next), i))
			}
			for _, f := range otherFlows(p, PurposeLogin) {
				s.checkAs(s.at(0), f, false, fmt.Sprintf("the code of counter %d (never used)", s.ctr(0)), "it is behind the counter the resync set, for every door")
			}
		})
}

// caseConcurrentTwoPurposes builds the case otplab/flows/concurrent-two-purposes.
func caseConcurrentTwoPurposes() *caseDef {
	return flowsCase("concurrent-two-purposes", MUST,
		"an accepted code is accepted once, also when it is sent to two doors at once: the check and the counter update are one atomic step of the one token state (RFC 4226 §7.2)",
		fmt.Sprintf("Submits the code of counter 0 twice for one purpose and twice for another, all four at once, on %d fresh tokens with the purposes drawn in turn from flows; exactly one submission per token must be accepted, and the code is then rejected for both purposes.", concurrencyRounds),
		nil, nil, func(t *ct, p Profile, l uint64) {
			m := len(p.Flows)
			for round := range concurrencyRounds {
				a, b := p.Flows[round%m], p.Flows[(round+1)%m]
				s := t.hotp(tokOpts{clean: distinct(0, l+1, 0)})
				code := s.at(0)
				s.parallelFor([]string{code, code, code, code}, []string{a, b, a, b}, fmt.Sprintf("the code of counter %d for %s and %s, twice each", s.ctr(0), a, b))
				for _, f := range []string{a, b} {
					s.checkAs(code, f, false, fmt.Sprintf("the code %q again, for %s", code, f), "it was accepted once in the burst: a code accepted at one door is spent at all")
				}
			}
		})
}

// baseFlow is the door other doors are compared with: login when served,
// else the first purpose listed.
func baseFlow(p Profile) string {
	if p.SupportsPurpose(PurposeLogin) {
		return PurposeLogin
	}
	return p.Flows[0]
}

// otherFlows returns the purposes of flows other than x, in their order.
func otherFlows(p Profile, x string) []string {
	var out []string
	for _, f := range p.Flows {
		if f != x {
			out = append(out, f)
		}
	}
	return out
}

func flowsCase(name string, level Level, requirement, what string, ops []string, needs func(Profile) string, body func(t *ct, p Profile, l uint64)) *caseDef {
	if needs == nil {
		needs = needFlows
	} else {
		needs = all(needFlows, needs)
	}
	c := &caseDef{
		id: "otplab/flows/" + name, level: level, requirement: requirement, what: what, ops: ops, needs: needs,
		source: body,
		body:   func(t *ct) { body(t, t.profile(), lookAhead(t.profile())) },
	}
	if name != "purposes" {
		c.gate = "otplab/flows/purposes"
	}
	return c
}

// rfc7_3 is RFC 4226 §7.3's sentence on where failures are counted.
const rfc7_3 = `RFC 4226 §7.3: "The validation server manages individual counters per HOTP device in order to take note of any failed attempt."`
