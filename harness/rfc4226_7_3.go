package harness

import (
	"fmt"
	"time"

	"github.com/otplab/otplab/token"
)

// The cases of RFC 4226 §7.3 (throttling at the server): lockout,
// throttle, rate limit, and guessing against a verifier that claims none.

// caseLockoutAfterF builds the case rfc4226/7.3/lockout-after-f.
func caseLockoutAfterF() *caseDef {
	return lockoutCase("after-f",
		"lockout {after F}: after F consecutive rejected checks the token is locked: every check is rejected, a correct code included, until unlock",
		"Submits F wrong codes, then the correct code (of the counter the server expects next); it must be rejected because the token is locked.",
		nil, nil, func(t *ct, s *sim, f int) {
			s.fails(f, "they are wrong codes")
			s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("the profile claims lockout after %d failures, and %d have been made", f, f))
		})
}

// caseLockoutNotBeforeF builds the case rfc4226/7.3/lockout-not-before-f.
func caseLockoutNotBeforeF() *caseDef {
	return lockoutCase("not-before-f",
		"lockout {after F}: the token is not locked before the F-th consecutive failure",
		"Submits F-1 wrong codes, then the correct code (of the counter the server expects next); it must be accepted.",
		nil, nil, func(t *ct, s *sim, f int) {
			s.fails(f-1, "they are wrong codes")
			s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("only %d failures were made; the profile claims lockout after %d", f-1, f))
		})
}

// caseLockoutHolds builds the case rfc4226/7.3/lockout-holds.
func caseLockoutHolds() *caseDef {
	return lockoutCase("holds",
		"lockout {after F}: once locked every check is rejected until unlock, however many correct codes follow",
		"Locks the token with F wrong codes, then submits the correct codes of counters 0, 1 and 2; each must be rejected.",
		nil, nil, func(t *ct, s *sim, f int) {
			s.fails(f, "they are wrong codes")
			for range 3 {
				s.check(s.cur(), false, s.curWhat("the correct code"), "the token is locked")
			}
		})
}

// caseLockoutUnlock builds the case rfc4226/7.3/lockout-unlock.
func caseLockoutUnlock() *caseDef {
	return lockoutCase("unlock",
		"lockout: a locked token accepts correct codes again after unlock",
		"Locks the token with F wrong codes, unlocks it, then submits the correct code (of the counter the server expects next); it must be accepted.",
		[]string{"unlock"}, nil, func(t *ct, s *sim, f int) {
			s.fails(f, "they are wrong codes")
			s.check(s.cur(), false, s.curWhat("the correct code"), "the token is locked")
			s.unlock()
			s.check(s.cur(), true, s.curWhat("the correct code"), "the token was unlocked and the counter did not move while locked")
		})
}

// caseLockoutSuccessResets builds the case rfc4226/7.3/lockout-success-resets.
func caseLockoutSuccessResets() *caseDef {
	return lockoutCase("success-resets",
		"lockout {after F}: the failures must be consecutive; an accepted check resets the count",
		"Submits F-1 wrong codes, the correct code (of the counter the server expects next), F-1 wrong codes again, then the next correct code; it must be accepted.",
		nil, nil, func(t *ct, s *sim, f int) {
			s.fails(f-1, "they are wrong codes")
			s.check(s.cur(), true, s.curWhat("the correct code"), "fewer than F failures were made")
			s.fails(f-1, "they are wrong codes")
			s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("the success reset the count, so only %d consecutive failures were made", f-1))
		})
}

// caseLockoutRepeatedBadCode builds the case rfc4226/7.3/lockout-repeated-bad-code.
func caseLockoutRepeatedBadCode() *caseDef {
	return lockoutCase("repeated-bad-code",
		"lockout {after F}: every rejected check of a well-formed code counts, the same wrong code repeated included",
		"Submits the same wrong code F times, then the correct code (of the counter the server expects next); it must be rejected (locked).",
		nil, nil, func(t *ct, s *sim, f int) {
			bad := s.wrong()
			for i := range f {
				s.check(bad, false, fmt.Sprintf("the same wrong code, attempt %d of %d", i+1, f), "it is a wrong code")
			}
			s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("%d consecutive rejected checks lock the token, repeated or not", f))
		})
}

// caseLockoutRejectedResyncNotCounted builds the case rfc4226/7.3/lockout-rejected-resync-not-counted.
func caseLockoutRejectedResyncNotCounted() *caseDef {
	return lockoutCase("rejected-resync-not-counted",
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
		})
}

// caseLockoutResyncWhileLocked builds the case rfc4226/7.3/lockout-resync-while-locked.
func caseLockoutResyncWhileLocked() *caseDef {
	return lockoutCase("resync-while-locked",
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
		})
}

// caseGuessingLimit builds the case rfc4226/7.3/guessing-limit.
func caseGuessingLimit() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.3/guessing-limit",
		level:       SHOULD,
		why:         guessingWhy,
		requirement: guessingRequirement,
		what:        fmt.Sprintf("When the profile claims no lockout, throttle or rate limit: enrolls a HOTP token, submits %d well-formed codes that no counter in reach has (each must be rejected), then the code of the counter the server expects next. Accepted: nothing stops guessing, NON-STRICT, with the window size, the guesses per second observed and the expected time to a hit; rejected: a limit was seen, PASS (FAIL under a declared limits \"none\").", guesses),
		needs:       needNoLimit,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{})
			guessRun(t, s, l+1, func() (string, time.Time) { return s.wrong(), t.now() }, func() (string, string, time.Time) {
				c, ok := s.tr.counter()
				if !ok {
					t.abort("harness: the scenario is degenerate: a correct verifier could be at several counters now (a chance collision; rerun with another --seed)%s", s.history())
				}
				return s.code(c), fmt.Sprintf("the code of counter %d, the one the server expects next", c), t.now()
			})
		},
	}
}

// caseGuessingLimitTotp builds the case rfc4226/7.3/guessing-limit-totp.
func caseGuessingLimitTotp() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.3/guessing-limit-totp",
		level:       SHOULD,
		why:         guessingWhy,
		requirement: guessingRequirement,
		what:        fmt.Sprintf("When the profile claims no lockout, throttle or rate limit: enrolls a TOTP token, submits %d well-formed codes that no step in the window has (each must be rejected), then the code of the current step. Judged as rfc4226/7.3/guessing-limit, with the window of skew_back + 1 + skew_ahead steps. When the profile claims a limit but not HOTP tokens (so that the lockout, throttle and rate-limit cases cannot run), the same guesses, then the current code, which the claimed limit must refuse (PROFILE; on simulated time only).", guesses),
		needs: all(func(p Profile) string {
			if p.SupportsKind(HOTP) {
				return needNoLimit(p)
			}
			return "" // a claimed limit is judged here: the lockout cases need HOTP
		}, needTOTPClock),
		realtime: true,
		body: func(t *ct) {
			b, a := skew(t.profile())
			per := t.period()
			if t.profile().HasLimit() && t.run.realTime() {
				t.skip("the profile claims %s and no HOTP tokens: the claimed limit is judged with TOTP tokens on simulated time only (a clock the harness sets: --clock fake, exec verifiers)", t.profile().limitNames())
			}
			// On simulated time every request is at one moment, in the
			// middle of a step; on real time at the verifier's now.
			at0, _ := t.stepNow(0, per)
			s := t.totp(tokOpts{})
			guessRun(t, s, b+1+a, func() (string, time.Time) {
				at := at0
				if t.run.realTime() {
					at, _ = t.realNow(0, 1)
				}
				return s.wrongAround(at, per), at
			}, func() (string, string, time.Time) {
				at, st := at0, uint64(0)
				if t.run.realTime() {
					at, st = t.stepNow(0, per)
				} else {
					st, _ = token.Step(at.Unix(), 0, per)
				}
				return s.code(st), fmt.Sprintf("the code of the current step %d", st), at
			})
		},
	}
}

// caseThrottleRefuses builds the case rfc4226/7.3/throttle-refuses.
func caseThrottleRefuses() *caseDef {
	return policyCase("rfc4226/7.3/throttle-refuses",
		"throttle {after F, delay D}: after the F-th consecutive failure every check is refused until D seconds after that failure (RFC 4226 §7.3's delay scheme)",
		"Submits F wrong codes at t, then the correct code at t+D-1 (refused: rejected) and at t+D (accepted).",
		nil, needThrottle, func(t *ct, p Profile, s *sim) {
			f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
			s.failsNow(f, "they are wrong codes")
			s.advance(d - 1)
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("%d s after the %d-th failure the claimed delay of %d s has not passed: the check is refused", d-1, f, d))
			s.advance(1)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d s after the last failure the delay is over, and the refused check did not count", d))
		})
}

// caseThrottleGrows builds the case rfc4226/7.3/throttle-grows.
func caseThrottleGrows() *caseDef {
	return policyCase("rfc4226/7.3/throttle-grows",
		"throttle {after F, delay D, factor K}: after the n-th consecutive failure, n >= F, the delay is D*K^(n-F)",
		"Submits F wrong codes at t, one more at t+D (compared: the delay had passed), then the correct code at t+D+D*K-1 (refused) and at t+D+D*K (accepted).",
		nil, needThrottle, func(t *ct, p Profile, s *sim) {
			f := p.Throttle.After
			d1, d2 := p.ThrottleDelay(f), p.ThrottleDelay(f+1)
			s.failsNow(f, "they are wrong codes")
			s.advance(d1)
			s.checkAt(s.wrong(), t.now(), false, fmt.Sprintf("wrong code %d", f+1), fmt.Sprintf("the %d s delay has passed, so it is compared, and it is wrong", d1))
			s.advance(d2 - 1)
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("after %d consecutive failures the claimed delay is %d s; only %d s have passed", f+1, d2, d2-1))
			s.advance(1)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("the %d s delay is over", d2))
		})
}

// caseThrottleRefusedNotCounted builds the case rfc4226/7.3/throttle-refused-not-counted.
func caseThrottleRefusedNotCounted() *caseDef {
	return policyCase("rfc4226/7.3/throttle-refused-not-counted",
		"throttle: a check refused by the delay is rejected without being compared or counted, so it neither grows nor restarts the delay",
		"Submits F wrong codes at t, another wrong code at t+D-1 (refused), then the correct code at t+D; it must be accepted.",
		nil, needThrottle, func(t *ct, p Profile, s *sim) {
			f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
			s.failsNow(f, "they are wrong codes")
			s.advance(d - 1)
			s.checkAt(s.wrong(), t.now(), false, "a wrong code while throttled", "the delay refuses it")
			s.advance(1)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d s after the last counted failure; a refused check is not a failure", d))
		})
}

// caseThrottleSuccessResets builds the case rfc4226/7.3/throttle-success-resets.
func caseThrottleSuccessResets() *caseDef {
	return policyCase("rfc4226/7.3/throttle-success-resets",
		"throttle: an accepted check resets the count of consecutive failures, so the next delay starts again at D",
		"Submits F wrong codes, waits D, submits the correct code (accepted), then F wrong codes again and the correct code D seconds later; it must be accepted (the delay did not grow).",
		nil, needThrottle, func(t *ct, p Profile, s *sim) {
			f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
			s.failsNow(f, "they are wrong codes")
			s.advance(d)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "the delay is over")
			s.failsNow(f, "they are wrong codes")
			s.advance(d)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("the success reset the count, so %d failures give a delay of %d s again", f, d))
		})
}

// caseThrottleResyncRefused builds the case rfc4226/7.3/throttle-resync-refused.
func caseThrottleResyncRefused() *caseDef {
	return policyCase("rfc4226/7.3/throttle-resync-refused",
		"throttle: while the delay runs, resync is refused too; after it the same resync is accepted",
		"Submits F wrong codes at t, resyncs with genuine codes a little ahead at t+D-1 (refused), then again at t+D (accepted).",
		[]string{"resync"}, all(needThrottle, needResync), func(t *ct, p Profile, s *sim) {
			f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
			s.failsNow(f, "they are wrong codes")
			c, _ := s.tr.counter()
			k := c - s.c0 + min(p.Resync.Window, lookAhead(p)+2)
			n := p.Resync.Codes
			s.advance(d - 1)
			s.resyncAt(s.seq(k, n), false, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the throttle's delay refuses every request until it is over")
			s.advance(1)
			s.resyncAt(s.seq(k, n), true, fmt.Sprintf("the same %d codes", n), "the delay is over and the refused resync changed nothing")
		})
}

// caseRateLimitRefuses builds the case rfc4226/7.3/rate-limit-refuses.
func caseRateLimitRefuses() *caseDef {
	return policyCase("rfc4226/7.3/rate-limit-refuses",
		"rate_limit {attempts N, per S}: a check is refused when N checks of the token arrived in the S seconds before it, accepted ones included",
		"Submits N correct codes at t (each accepted), then the next correct code at t (refused), then at t+S (accepted).",
		nil, needRateLimit, func(t *ct, p Profile, s *sim) {
			n, per := p.RateLimit.Attempts, p.RateLimit.Per
			for i := range n {
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d checks arrived before it; the limit is %d", i, n))
			}
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("%d checks arrived in the last %d s: the rate limit refuses it", n, per))
			s.advance(per)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d s later the earlier checks are out of the window", per))
		})
}

// caseRateLimitCountsRefused builds the case rfc4226/7.3/rate-limit-counts-refused.
func caseRateLimitCountsRefused() *caseDef {
	return policyCase("rfc4226/7.3/rate-limit-counts-refused",
		"rate_limit: every check counts, refused ones included, so attempts during a block keep it alive",
		"Submits N correct codes at t, then N correct codes at t+S-1 (each refused), then the correct code at t+S; it must be refused too.",
		nil, all(needRateLimit, func(p Profile) string {
			if p.RateLimit.Per < 2 {
				return "the rate limit's window is 1 s: no moment inside it after the first checks to send refused ones"
			}
			return ""
		}), func(t *ct, p Profile, s *sim) {
			n, per := p.RateLimit.Attempts, p.RateLimit.Per
			for range n {
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "fewer than N checks came before it")
			}
			s.advance(per - 1)
			for range n {
				s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("the %d checks of %d s ago are still in the window", n, per-1))
			}
			s.advance(1)
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("the %d refused checks of 1 s ago count: refused attempts keep the block alive", n))
		})
}

// caseRateLimitUnlockClears builds the case rfc4226/7.3/rate-limit-unlock-clears.
func caseRateLimitUnlockClears() *caseDef {
	return policyCase("rfc4226/7.3/rate-limit-unlock-clears",
		"rate_limit: unlock clears the history of checks",
		"Submits N correct codes at t, unlocks, then submits the next correct code at t; it must be accepted.",
		[]string{"unlock"}, needRateLimit, func(t *ct, p Profile, s *sim) {
			for range p.RateLimit.Attempts {
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "fewer than N checks came before it")
			}
			s.unlock()
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "unlock cleared the rate limit's history")
		})
}

// caseRateLimitResyncNotLimited builds the case rfc4226/7.3/rate-limit-resync-not-limited.
func caseRateLimitResyncNotLimited() *caseDef {
	return policyCase("rfc4226/7.3/rate-limit-resync-not-limited",
		"rate_limit: resync is neither limited nor counted",
		"Submits N correct codes at t, then resyncs with genuine codes a little ahead at t; it must be accepted.",
		[]string{"resync"}, all(needRateLimit, needResync), func(t *ct, p Profile, s *sim) {
			for range p.RateLimit.Attempts {
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "fewer than N checks came before it")
			}
			c, _ := s.tr.counter()
			k := c - s.c0 + min(p.Resync.Window, lookAhead(p)+2)
			s.resyncAt(s.seq(k, p.Resync.Codes), true, fmt.Sprintf("the %d codes from counter %d", p.Resync.Codes, s.ctr(k)), "the rate limit applies to checks only")
		})
}

// caseLockoutRelease builds the case rfc4226/7.3/lockout-release.
func caseLockoutRelease() *caseDef {
	return policyCase("rfc4226/7.3/lockout-release",
		"lockout {release_after S}: a lock ends by itself S seconds after the failure that set it",
		"Locks the token with F wrong codes at t, then submits the correct code at t+S-1 (rejected: locked) and at t+S (accepted).",
		nil, needRelease, func(t *ct, p Profile, s *sim) {
			f, r := p.LockoutAfter(), p.ReleaseAfter()
			s.failsNow(f, "they are wrong codes")
			s.advance(r - 1)
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("the lock is %d s old; the profile claims it ends after %d s", r-1, r))
			s.advance(1)
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("the lock ended %d s after the failure that set it", r))
		})
}

// caseLockoutReleaseResetsCount builds the case rfc4226/7.3/lockout-release-resets-count.
func caseLockoutReleaseResetsCount() *caseDef {
	return policyCase("rfc4226/7.3/lockout-release-resets-count",
		"lockout {release_after S}: a released lock starts the count of failures again from 0",
		"Locks the token with F wrong codes at t, waits S, submits F-1 wrong codes and then the correct code; it must be accepted.",
		nil, all(needRelease, func(p Profile) string {
			if p.LockoutAfter() < 2 {
				return "the profile locks after 1 failure: no count to restart"
			}
			return ""
		}), func(t *ct, p Profile, s *sim) {
			f, r := p.LockoutAfter(), p.ReleaseAfter()
			s.failsNow(f, "they are wrong codes")
			s.advance(r)
			s.failsNow(f-1, "they are wrong codes, after the release")
			s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("the release set the count to 0, so only %d failures followed", f-1))
		})
}

// caseLockoutCountsResync builds the case rfc4226/7.3/lockout-counts-resync.
func caseLockoutCountsResync() *caseDef {
	return policyCase("rfc4226/7.3/lockout-counts-resync",
		"lockout {counts_resync}: a compared, rejected resync counts as a failure toward the lockout",
		"Submits F-1 wrong codes and a rejected resync of N well-formed wrong codes, then the correct code; it must be rejected (locked).",
		[]string{"resync"}, all(needLockout, needResync, func(p Profile) string {
			if !p.CountsResync() {
				return "the profile does not claim lockout.counts_resync"
			}
			if p.Throttle != nil || p.RateLimit != nil {
				return "the profile's throttle or rate limit would refuse the failures"
			}
			return ""
		}), func(t *ct, p Profile, s *sim) {
			f, n := p.LockoutAfter(), p.Resync.Codes
			s.failsNow(f-1, "they are wrong codes")
			bad := make([]string, n)
			for i := range bad {
				bad[i] = s.wrong()
			}
			s.resyncAt(bad, false, "wrong codes", "they are not codes of the token")
			s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("%d rejected checks and one rejected resync make %d failures: locked", f-1, f))
		})
}

// caseConcurrentLockout builds the case rfc4226/7.3/concurrent-lockout.
func caseConcurrentLockout() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.3/concurrent-lockout",
		level:       PROFILE,
		requirement: "lockout {after F}: the lock holds under concurrent failures: wrong codes sent at once past the threshold lock the token, and the correct code is then rejected",
		what:        fmt.Sprintf("Sends F+3 wrong codes at once, on %d fresh tokens in turn, then the correct code; it must be rejected.", concurrencyRounds),
		needs: all(needLockout, func(p Profile) string {
			if p.LockoutAfter()+3 > 16 {
				return "the lockout threshold is too high for one burst"
			}
			if p.Throttle != nil || p.RateLimit != nil {
				return "the profile's throttle or rate limit refuses the burst before the lock"
			}
			return ""
		}),
		body: func(t *ct) {
			f := t.profile().LockoutAfter()
			for range concurrencyRounds {
				s := t.hotp(tokOpts{clean: distinct(0, lookAhead(t.profile())+uint64(f)+6, 0, 1, 2, 3)})
				s.strictLock = true
				reqs := make([]Request, f+3)
				for i := range reqs {
					reqs[i] = Request{Op: opCheck, Codes: []string{s.wrong()}}
				}
				s.burst(reqs, fmt.Sprintf("%d wrong codes", f+3))
				s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("%d failures arrived, %d lock the token", f+3, f))
			}
		},
	}
}

func lockoutCase(name, requirement, what string, ops []string, needs func(Profile) string, body func(t *ct, s *sim, f int)) *caseDef {
	if needs == nil {
		needs = needLockout
	} else {
		needs = all(needLockout, needs)
	}
	return &caseDef{
		id: "rfc4226/7.3/lockout-" + name, level: PROFILE, requirement: requirement, what: what, ops: ops, needs: needs,
		source: body,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{clean: distinct(0, 3+l+2*uint64(t.profile().LockoutAfter()), 0, 1, 2, 3)})
			s.strictLock = true
			body(t, s, t.profile().LockoutAfter())
		},
	}
}

// policyCase builds a case about a time rule of the profile: its token
// is kept clear of the harness's relief (no unlock, no waiting).
func policyCase(id, requirement, what string, ops []string, needs func(Profile) string, body func(t *ct, p Profile, s *sim)) *caseDef {
	return &caseDef{
		id: id, level: PROFILE, requirement: requirement, what: what, ops: ops, needs: needs,
		source: body,
		body: func(t *ct) {
			p := t.profile()
			l := lookAhead(p)
			span := l + 12
			if p.Resync != nil {
				span += p.Resync.Window
			}
			targets := make([]uint64, 12)
			for i := range targets {
				targets[i] = uint64(i)
			}
			s := t.hotp(tokOpts{clean: distinct(0, span, targets...)})
			s.strictLock, s.strictTime = true, true
			body(t, p, s)
		},
	}
}
