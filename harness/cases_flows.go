package harness

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// The seeds' panel uses one C100 at several doors: login, password
// recovery, password change, "test OTP device" and every remote signature.
// Protocol v1 names the door in check's purpose and the profile lists the
// doors served in flows; every purpose verifies against one token state.
// The cases below judge exactly that, and the single-code resync of the
// newer panel.

// needFlows skips the flows section unless the profile lists two purposes
// or more. Every case of the section has this one reason, so that a
// verifier judged on login only sees the same line for each.
func needFlows(p Profile) string {
	switch len(p.Flows) {
	case 0:
		return `the profile does not claim flows, so check is judged for login only; list the purposes check serves (e.g. "flows": ["login", "recovery", "device-test"]) to judge the cross-flow properties`
	case 1:
		return fmt.Sprintf("the profile's flows list only %q; the cross-flow properties need two purposes or more", p.Flows[0])
	}
	return ""
}

// needSingleResync runs a case only under resync.codes 1.
func needSingleResync(p Profile) string {
	if r := needResync(p); r != "" {
		return r
	}
	if p.Resync.Codes != 1 {
		return fmt.Sprintf("the profile claims resync with %d codes; single-code cases need resync.codes 1 (the newer panel: serial and one code)", p.Resync.Codes)
	}
	return ""
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

// checkAs submits code for purpose at the case's current time, after
// keeping the token clear of rules the case is not about.
func (s *sim) checkAs(code, purpose string, want bool, what, why string) {
	s.relieve()
	s.checkFor(code, purpose, s.t.now(), want, what, why)
}

// nextAs submits, for purpose, the code of the counter a correct verifier
// now expects; it must be accepted.
func (s *sim) nextAs(purpose, why string) {
	c, ok := s.tr.counter()
	if !ok {
		s.t.abort("harness: the scenario is degenerate: a correct verifier could be at several counters now (a chance collision; rerun with another --seed)%s", s.history())
	}
	s.checkAs(s.code(c), purpose, true, fmt.Sprintf("the code of counter %d", c), fmt.Sprintf("%s: the server counter is %d", why, c))
}

// failsAs submits n wrong codes, each rejected, the i-th for purpose
// purposes[i mod len(purposes)].
//
// The wrong code is drawn after the token is relieved: drawn before, at a
// moment a throttle or rate limit refuses every code, it could be the
// correct code, refused then but accepted once the wait is over.
func (s *sim) failsAs(n int, purposes []string, why string) {
	for i := range n {
		s.relieve()
		s.checkFor(s.wrong(), purposes[i%len(purposes)], s.t.now(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

// parallelFor is parallel with a purpose for each code: the checks go out
// at once, one goroutine each, and the model accepts any order of service.
func (s *sim) parallelFor(codes, purposes []string, what string) []bool {
	s.relieve()
	ops := make([]Request, len(codes))
	got := make([]bool, len(codes))
	errs := make([]error, len(codes))
	now := s.t.now()
	if s.realHOTP() {
		now = s.realWhen()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, code := range codes {
		ops[i] = Request{Op: opCheck, Codes: []string{code}, Time: now.Unix(), Purpose: purposes[i]}
		wg.Go(func() {
			<-start
			ctx, cancel := s.t.reqCtx()
			defer cancel()
			rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: now, Purpose: purposes[i]})
			got[i], errs[i] = rep.Accepted, err
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.callErr("concurrent check", err)
		}
	}
	parts := make([]string, len(codes))
	for i := range codes {
		parts[i] = fmt.Sprintf("%q for %s %s", codes[i], purposes[i], verdictWord(got[i]))
	}
	did := fmt.Sprintf("%s submitted %s concurrently: %s", s.stamp(now), what, strings.Join(parts, ", "))
	s.hist = append(s.hist, event{ops, got})
	if !s.tr.observeAll(ops, got) {
		s.t.fail("%s\n  %d. %s\n  => no order of serving these requests one at a time gives these replies: one token state serves every purpose, and its checks must be atomic", s.history(), len(s.story)+1, did)
	}
	s.tell("%s", did)
	return got
}

// failures says "1 failure", "3 failures".
func failures(n int) string { return fmt.Sprintf("%d failure%s", n, plural(n)) }

// upTo returns 0, 1, ..., n-1 as counters.
func upTo(n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i)
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
		body: func(t *ct) { body(t, t.profile(), lookAhead(t.profile())) },
	}
	if name != "purposes" {
		c.gate = "otplab/flows/purposes"
	}
	return c
}

// rfc7_3 is RFC 4226 §7.3's sentence on where failures are counted.
const rfc7_3 = `RFC 4226 §7.3: "The validation server manages individual counters per HOTP device in order to take note of any failed attempt."`

func flowsCases() []*caseDef {
	return []*caseDef{
		flowsCase("purposes", PROFILE,
			"flows: check serves every purpose the profile lists, all of them against one token state (protocol v1, check's purpose)",
			"Submits the codes of counters 0, 1, 2, ... for each listed purpose in turn, one door after the other on one token; each must be accepted.",
			nil, nil, func(t *ct, p Profile, l uint64) {
				n := uint64(len(p.Flows))
				s := t.hotp(tokOpts{clean: distinct(0, n+l, upTo(n)...)})
				for i, f := range p.Flows {
					s.checkAs(s.at(uint64(i)), f, true, fmt.Sprintf("the code of counter %d", s.ctr(uint64(i))),
						fmt.Sprintf("%q is in flows and this is the next expected code: the %d codes before it were accepted at other doors of the same token", f, i))
				}
			}),
		flowsCase("spent-for-all", MUST,
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
			}),
		flowsCase("rejected-still-good", PROFILE,
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
			}),
		flowsCase("failures-lock", PROFILE,
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
			}),
		flowsCase("locked-refuses-all", PROFILE,
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
			}),
		flowsCase("failures-throttle", PROFILE,
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
			}),
		flowsCase("resync-all", PROFILE,
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
			}),
		flowsCase("concurrent-two-purposes", MUST,
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
			}),

		singleResyncCase("edge",
			"resync {codes 1, window R}: one code, that of counter c+k with 0 <= k <= R, is accepted and c becomes c+k+1; the code of c+R+1 is rejected with no change",
			"On one fresh token, presses R times and resyncs with the one code of counter R (accepted), then submits the next code by check (accepted); on another, resyncs with the code of counter R+1 (rejected), then submits the code of counter 0 by check (accepted: nothing changed).",
			needPlacedWindow, func(t *ct, p Profile, r, l uint64) {
				s := t.hotp(tokOpts{clean: distinct(0, r+1, r, r+1)})
				s.tell("pressed the button %d times without submitting", r)
				s.resync([]string{s.at(r)}, true, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), fmt.Sprintf("the profile claims a one-code resync over window %d", r))
				s.check(s.at(r+1), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(r+1)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(r+1)))

				b := t.hotp(tokOpts{clean: distinct(0, r+1, 0, r+1)})
				b.tell("pressed the button %d times without submitting", r+1)
				b.resync([]string{b.at(r + 1)}, false, fmt.Sprintf("the code of counter %d (offset R+1=%d)", b.ctr(r+1), r+1), fmt.Sprintf("the profile claims resync window %d", r))
				b.checkNext("a rejected resync does not move the server counter")
			}),
		singleResyncCase("behind",
			"resync {codes 1}: the window starts at the server's counter c: the last accepted code (counter c-1) and older ones are rejected, the code of c itself is accepted",
			"Accepts the codes of counters 0, 1 and 2 by check, then resyncs with the code of counter 2 (rejected: the last used), with the code of counter 0 (rejected), and with the code of counter 3 (accepted, offset 0), then submits the code of counter 4 by check (accepted).",
			needPlacedWindow, func(t *ct, p Profile, r, l uint64) {
				s := t.hotp(tokOpts{clean: distinct(0, r+5, 0, 1, 2, 3, 4)})
				for c := range uint64(3) {
					s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
				}
				s.resync([]string{s.at(2)}, false, fmt.Sprintf("the code of counter %d (the last accepted)", s.ctr(2)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(3)))
				s.resync([]string{s.at(0)}, false, fmt.Sprintf("the code of counter %d (used)", s.ctr(0)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(3)))
				s.resync([]string{s.at(3)}, true, fmt.Sprintf("the code of counter %d (offset 0)", s.ctr(3)), "offset 0 is the lower edge of the window")
				s.check(s.at(4), true, fmt.Sprintf("the code of counter %d", s.ctr(4)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(4)))
			}),
		singleResyncCase("count",
			"resync {codes 1}: exactly one code; two consecutive codes (the older panel's form) or none are rejected with no change",
			"Resyncs with the two consecutive codes of counters k and k+1 (rejected), then with no code (rejected), then with the one code of counter k (accepted), then submits the code of counter k+1 by check (accepted).",
			nil, func(t *ct, p Profile, r, l uint64) {
				k := min(r, l+2)
				s := t.hotp(tokOpts{clean: distinct(0, k+l+2, k, k+1)})
				s.tell("pressed the button %d times without submitting", k+2)
				s.resync(s.seq(k, 2), false, fmt.Sprintf("the two codes of counters %d and %d", s.ctr(k), s.ctr(k+1)), "the profile claims a resync of exactly 1 code")
				s.resync([]string{}, false, "no code", "the profile claims a resync of exactly 1 code")
				s.resync([]string{s.at(k)}, true, fmt.Sprintf("the one code of counter %d", s.ctr(k)), fmt.Sprintf("offset %d is inside the resync window %d, and the rejected attempts changed nothing", k, r))
				s.check(s.at(k+1), true, fmt.Sprintf("the code of counter %d", s.ctr(k+1)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(k+1)))
			}),
		{
			id:    "rfc4226/7.4/resync-single-guessing",
			level: SHOULD,
			requirement: `RFC 4226 §7.3: "We RECOMMEND T not to be too large, particularly if the resynchronization method used on the server is window-based, and the window size is large." ` +
				"A one-code resync over window R accepts a guess with probability about R/10^6, so it needs a lockout or throttle that counts rejected resyncs (counts_resync)",
			what:  "Reads the claimed policy: NON-STRICT, with the guessing odds of the claimed window, unless rejected resyncs count toward a claimed lockout or throttle (counts_resync); otherwise PASS with the bound noted. Sends nothing.",
			ops:   []string{"resync"},
			needs: needSingleResync,
			body: func(t *ct) {
				p := t.profile()
				r, d := p.Resync.Window, t.defaults(tokOpts{}).digits
				odds := min(1, float64(r+1)/float64(pow10(d)))
				guesses := max(1, uint64(1/odds))
				// Rejected resyncs count toward the lockout and the throttle
				// only with counts_resync: without it, an attacker who sends
				// nothing but resyncs is never slowed down.
				switch {
				case p.CountsResync() && p.LockoutAfter() > 0:
					t.note("the profile claims a lockout after %d failures that counts rejected resyncs: at most %d guesses at odds of about %.2g each before the token locks", p.LockoutAfter(), p.LockoutAfter(), odds)
				case p.CountsResync() && p.Throttle != nil:
					t.note("the profile claims a throttle (after %d, delay %d s, factor %d) and counts rejected resyncs as failures: guesses at odds of about %.2g each are slowed down", p.Throttle.After, p.Throttle.Delay, p.Throttle.Factor, odds)
				default:
					lock := "no lockout"
					if p.LockoutAfter() > 0 {
						lock = fmt.Sprintf("a lockout after %d failures that does not count rejected resyncs (counts_resync false)", p.LockoutAfter())
					}
					t.fail("the profile claims a one-code resync over window %d with %s, and rejected resyncs slow nothing down: with window R and no lockout, each guess succeeds with probability about R/10^%d, here (%d+1)/10^%d = %.2g, so about %d guesses on average resync the token and are accepted, and nothing claimed stops them; claim \"lockout\": {\"after\": F, \"counts_resync\": true} to bound them, or narrow the window",
						r, lock, d, r, d, odds, guesses)
				}
			},
		},
	}
}

// check0 submits the code of counter 0 for purpose: accepted.
func (s *sim) check0(purpose string) {
	s.checkAs(s.at(0), purpose, true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code: the rejection spent nothing")
}

// maxPlacedWindow is the widest one-code window whose edges the cases
// place: wider, a code matches somewhere inside by chance too often for a
// clean token to be drawn quickly (a window of 10^6 covers most 6-digit
// codes).
const maxPlacedWindow = 100_000

func needPlacedWindow(p Profile) string {
	if p.Resync.Window > maxPlacedWindow {
		return fmt.Sprintf("a one-code window of %d counters matches most codes by chance, so no edge can be placed (the cases place edges up to %d)", p.Resync.Window, maxPlacedWindow)
	}
	return ""
}

func singleResyncCase(name, requirement, what string, needs func(Profile) string, body func(t *ct, p Profile, r, l uint64)) *caseDef {
	n := needSingleResync
	if needs != nil {
		n = all(needSingleResync, needs)
	}
	return &caseDef{
		id: "rfc4226/7.4/resync-single-" + name, level: PROFILE, requirement: requirement, what: what,
		ops: []string{"resync"}, needs: n,
		body: func(t *ct) {
			p := t.profile()
			body(t, p, p.Resync.Window, lookAhead(p))
		},
	}
}
