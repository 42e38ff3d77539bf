package harness

import "fmt"

func lockoutCase(name, requirement, what string, ops []string, needs func(Profile) string, body func(t *ct, s *sim, f int)) *caseDef {
	if needs == nil {
		needs = needLockout
	} else {
		needs = all(needLockout, needs)
	}
	return &caseDef{
		id: "rfc4226/7.3/lockout-" + name, level: PROFILE, requirement: requirement, what: what, ops: ops, needs: needs,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{clean: distinct(0, 3+l+2*uint64(t.profile().LockoutAfter()), 0, 1, 2, 3)})
			s.strictLock = true
			body(t, s, t.profile().LockoutAfter())
		},
	}
}

// fails submits n wrong codes, each rejected.
func (s *sim) fails(n int, why string) {
	for i := range n {
		s.relieve() // first, so the wrong code is drawn for the moment it is sent
		s.check(s.wrong(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

func lockoutCases() []*caseDef {
	return []*caseDef{
		lockoutCase("after-f",
			"lockout {after F}: after F consecutive rejected checks the token is locked: every check is rejected, a correct code included, until unlock",
			"Submits F wrong codes, then the correct code (of the counter the server expects next); it must be rejected because the token is locked.",
			nil, nil, func(t *ct, s *sim, f int) {
				s.fails(f, "they are wrong codes")
				s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("the profile claims lockout after %d failures, and %d have been made", f, f))
			}),
		lockoutCase("not-before-f",
			"lockout {after F}: the token is not locked before the F-th consecutive failure",
			"Submits F-1 wrong codes, then the correct code (of the counter the server expects next); it must be accepted.",
			nil, nil, func(t *ct, s *sim, f int) {
				s.fails(f-1, "they are wrong codes")
				s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("only %d failures were made; the profile claims lockout after %d", f-1, f))
			}),
		lockoutCase("holds",
			"lockout {after F}: once locked every check is rejected until unlock, however many correct codes follow",
			"Locks the token with F wrong codes, then submits the correct codes of counters 0, 1 and 2; each must be rejected.",
			nil, nil, func(t *ct, s *sim, f int) {
				s.fails(f, "they are wrong codes")
				for range 3 {
					s.check(s.cur(), false, s.curWhat("the correct code"), "the token is locked")
				}
			}),
		lockoutCase("unlock",
			"lockout: a locked token accepts correct codes again after unlock",
			"Locks the token with F wrong codes, unlocks it, then submits the correct code (of the counter the server expects next); it must be accepted.",
			[]string{"unlock"}, nil, func(t *ct, s *sim, f int) {
				s.fails(f, "they are wrong codes")
				s.check(s.cur(), false, s.curWhat("the correct code"), "the token is locked")
				s.unlock()
				s.check(s.cur(), true, s.curWhat("the correct code"), "the token was unlocked and the counter did not move while locked")
			}),
		lockoutCase("success-resets",
			"lockout {after F}: the failures must be consecutive; an accepted check resets the count",
			"Submits F-1 wrong codes, the correct code (of the counter the server expects next), F-1 wrong codes again, then the next correct code; it must be accepted.",
			nil, nil, func(t *ct, s *sim, f int) {
				s.fails(f-1, "they are wrong codes")
				s.check(s.cur(), true, s.curWhat("the correct code"), "fewer than F failures were made")
				s.fails(f-1, "they are wrong codes")
				s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("the success reset the count, so only %d consecutive failures were made", f-1))
			}),
		lockoutCase("repeated-bad-code",
			"lockout {after F}: every rejected check of a well-formed code counts, the same wrong code repeated included",
			"Submits the same wrong code F times, then the correct code (of the counter the server expects next); it must be rejected (locked).",
			nil, nil, func(t *ct, s *sim, f int) {
				bad := s.wrong()
				for i := range f {
					s.check(bad, false, fmt.Sprintf("the same wrong code, attempt %d of %d", i+1, f), "it is a wrong code")
				}
				s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("%d consecutive rejected checks lock the token, repeated or not", f))
			}),
		lockoutCase("rejected-resync-not-counted",
			"lockout: a rejected resync does not count toward the lockout",
			"Submits F-1 wrong codes and a rejected resync, then the correct code; it must be accepted. SKIPs when the profile claims counts_resync.",
			[]string{"resync"}, all(needResync, func(p Profile) string {
				if p.CountsResync() {
					return "the profile claims counts_resync: a rejected resync counts (rfc4226/7.3/lockout-counts-resync checks it)"
				}
				return ""
			}), func(t *ct, s *sim, f int) {
				s.fails(f-1, "they are wrong codes")
				n := t.profile().Resync.Codes
				bad := make([]string, n)
				for i := range bad {
					bad[i] = s.wrong()
				}
				s.resync(bad, false, "wrong codes", "they are not codes of the token")
				s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("only %d checks failed; a rejected resync does not count", f-1))
			}),
		lockoutCase("resync-while-locked",
			"lockout: while locked, resync is rejected unless resync_unlocks is true, and then an accepted resync also unlocks",
			"Locks the token with F wrong codes, then resyncs with genuine codes a little ahead: accepted and unlocked if the profile claims resync_unlocks, rejected (counter unchanged) otherwise.",
			[]string{"resync"}, needResync, func(t *ct, s *sim, f int) {
				p := t.profile()
				n, k := p.Resync.Codes, min(p.Resync.Window, lookAhead(p)+2)
				s.fails(f, "they are wrong codes")
				s.tell("pressed the button %d times without submitting", k)
				if p.Lockout.ResyncUnlocks {
					s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the profile claims resync_unlocks: true")
					s.checkNext("the accepted resync unlocked the token")
					return
				}
				s.resync(s.seq(k, n), false, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the token is locked and the profile claims resync_unlocks: false")
				s.check(s.cur(), false, s.curWhat("the correct code"), "the token is still locked: the resync must not unlock it")
			}),
	}
}
