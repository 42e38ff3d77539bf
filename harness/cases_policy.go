package harness

import "fmt"

func needThrottle(p Profile) string {
	if p.Throttle == nil {
		return "the profile does not claim throttle"
	}
	if f := p.LockoutAfter(); f > 0 && f <= p.Throttle.After+1 {
		return fmt.Sprintf("the profile's lockout after %d failures comes before the throttle can be seen twice (throttle after %d)", f, p.Throttle.After)
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts <= p.Throttle.After+3 {
		return fmt.Sprintf("the profile's rate limit of %d checks would refuse first", rl.Attempts)
	}
	return ""
}

func needRateLimit(p Profile) string {
	if p.RateLimit == nil {
		return "the profile does not claim rate_limit"
	}
	if p.Throttle != nil || p.LockoutAfter() > 0 && p.LockoutAfter() <= p.RateLimit.Attempts+1 {
		return "the profile's throttle or lockout would interfere with counting checks"
	}
	return ""
}

func needRelease(p Profile) string {
	if p.ReleaseAfter() == 0 {
		return "the profile does not claim lockout.release_after"
	}
	if r := needLockout(p); r != "" {
		return r
	}
	if p.Throttle != nil || p.RateLimit != nil {
		return "the profile's throttle or rate limit would refuse the failures that lock"
	}
	return ""
}

func needAuto(p Profile) string {
	if p.Resync == nil || p.Resync.Auto == nil {
		return "the profile does not claim resync.auto"
	}
	if f := p.LockoutAfter(); f > 0 && f < 3 {
		return fmt.Sprintf("the profile's lockout after %d failures locks before an automatic resync can be seen", f)
	}
	if d := p.ThrottleDelay(1); d > p.Resync.Auto.Within {
		return "the profile's throttle refuses the second code of an automatic resync"
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts < 4 {
		return "the profile's rate limit refuses the codes of an automatic resync"
	}
	return ""
}

// policyCase builds a case about a time rule of the profile: its token
// is kept clear of the harness's relief (no unlock, no waiting).
func policyCase(id, requirement, what string, ops []string, needs func(Profile) string, body func(t *ct, p Profile, s *sim)) *caseDef {
	return &caseDef{
		id: id, level: PROFILE, requirement: requirement, what: what, ops: ops, needs: needs,
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

func policyCases() []*caseDef {
	return []*caseDef{
		policyCase("rfc4226/7.3/throttle-refuses",
			"throttle {after F, delay D}: after the F-th consecutive failure every check is refused until D seconds after that failure (RFC 4226 §7.3's delay scheme)",
			"Submits F wrong codes at t, then the correct code at t+D-1 (refused: rejected) and at t+D (accepted).",
			nil, needThrottle, func(t *ct, p Profile, s *sim) {
				f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
				s.failsNow(f, "they are wrong codes")
				s.advance(d - 1)
				s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("%d s after the %d-th failure the claimed delay of %d s has not passed: the check is refused", d-1, f, d))
				s.advance(1)
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d s after the last failure the delay is over, and the refused check did not count", d))
			}),
		policyCase("rfc4226/7.3/throttle-grows",
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
			}),
		policyCase("rfc4226/7.3/throttle-refused-not-counted",
			"throttle: a check refused by the delay is rejected without being compared or counted, so it neither grows nor restarts the delay",
			"Submits F wrong codes at t, another wrong code at t+D-1 (refused), then the correct code at t+D; it must be accepted.",
			nil, needThrottle, func(t *ct, p Profile, s *sim) {
				f, d := p.Throttle.After, p.ThrottleDelay(p.Throttle.After)
				s.failsNow(f, "they are wrong codes")
				s.advance(d - 1)
				s.checkAt(s.wrong(), t.now(), false, "a wrong code while throttled", "the delay refuses it")
				s.advance(1)
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("%d s after the last counted failure; a refused check is not a failure", d))
			}),
		policyCase("rfc4226/7.3/throttle-success-resets",
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
			}),
		policyCase("rfc4226/7.3/throttle-resync-refused",
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
			}),
		policyCase("rfc4226/7.3/rate-limit-refuses",
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
			}),
		policyCase("rfc4226/7.3/rate-limit-counts-refused",
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
			}),
		policyCase("rfc4226/7.3/rate-limit-unlock-clears",
			"rate_limit: unlock clears the history of checks",
			"Submits N correct codes at t, unlocks, then submits the next correct code at t; it must be accepted.",
			[]string{"unlock"}, needRateLimit, func(t *ct, p Profile, s *sim) {
				for range p.RateLimit.Attempts {
					s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "fewer than N checks came before it")
				}
				s.unlock()
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "unlock cleared the rate limit's history")
			}),
		policyCase("rfc4226/7.3/rate-limit-resync-not-limited",
			"rate_limit: resync is neither limited nor counted",
			"Submits N correct codes at t, then resyncs with genuine codes a little ahead at t; it must be accepted.",
			[]string{"resync"}, all(needRateLimit, needResync), func(t *ct, p Profile, s *sim) {
				for range p.RateLimit.Attempts {
					s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), "fewer than N checks came before it")
				}
				c, _ := s.tr.counter()
				k := c - s.c0 + min(p.Resync.Window, lookAhead(p)+2)
				s.resyncAt(s.seq(k, p.Resync.Codes), true, fmt.Sprintf("the %d codes from counter %d", p.Resync.Codes, s.ctr(k)), "the rate limit applies to checks only")
			}),
		policyCase("rfc4226/7.3/lockout-release",
			"lockout {release_after S}: a lock ends by itself S seconds after the failure that set it",
			"Locks the token with F wrong codes at t, then submits the correct code at t+S-1 (rejected: locked) and at t+S (accepted).",
			nil, needRelease, func(t *ct, p Profile, s *sim) {
				f, r := p.LockoutAfter(), p.ReleaseAfter()
				s.failsNow(f, "they are wrong codes")
				s.advance(r - 1)
				s.checkAt(s.cur(), t.now(), false, s.curWhat("the correct code"), fmt.Sprintf("the lock is %d s old; the profile claims it ends after %d s", r-1, r))
				s.advance(1)
				s.checkAt(s.cur(), t.now(), true, s.curWhat("the correct code"), fmt.Sprintf("the lock ended %d s after the failure that set it", r))
			}),
		policyCase("rfc4226/7.3/lockout-release-resets-count",
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
			}),
		policyCase("rfc4226/7.3/lockout-counts-resync",
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
			}),
		policyCase("rfc4226/7.4/auto-resync-accepts",
			"resync {auto {within W}}: a check rejected by the look-ahead with the code of c+k, L < k <= R, followed within W seconds by the code of c+k+1, is accepted, and c becomes c+k+2",
			"Presses the token R times, submits the code of counter c+R (rejected: beyond the look-ahead), then at t+W the code of c+R+1 (accepted) and the code of c+R+2 (accepted).",
			nil, needAuto, func(t *ct, p Profile, s *sim) {
				r, w := p.Resync.Window, p.Resync.Auto.Within
				s.tell("pressed the button %d times without submitting", r)
				s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), fmt.Sprintf("it is beyond the look-ahead %d; the verifier remembers it", lookAhead(p)))
				s.advance(w)
				s.checkAt(s.at(r+1), t.now(), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(r+1)), fmt.Sprintf("it follows the remembered code within %d s: an automatic resync", w))
				s.checkAt(s.at(r+2), t.now(), true, fmt.Sprintf("the code of counter %d", s.ctr(r+2)), fmt.Sprintf("the automatic resync set the counter to %d", s.ctr(r+2)))
			}),
		policyCase("rfc4226/7.4/auto-resync-timeout",
			"resync {auto {within W}}: the second code must come at most W seconds after the first",
			"Presses the token R times, submits the code of counter c+R (rejected), then at t+W+1 the code of c+R+1; it must be rejected.",
			nil, needAuto, func(t *ct, p Profile, s *sim) {
				r, w := p.Resync.Window, p.Resync.Auto.Within
				s.tell("pressed the button %d times without submitting", r)
				s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
				s.advance(w + 1)
				s.checkAt(s.at(r+1), t.now(), false, fmt.Sprintf("the code of counter %d", s.ctr(r+1)), fmt.Sprintf("%d s after the first code, one more than the claimed %d", w+1, w))
			}),
		policyCase("rfc4226/7.4/auto-resync-gap",
			"resync {auto}: the second code must be that of the very next counter",
			"Presses the token R times, submits the code of counter c+R (rejected), then the code of c+R+2 (a press skipped); it must be rejected.",
			nil, needAuto, func(t *ct, p Profile, s *sim) {
				r := p.Resync.Window
				s.tell("pressed the button %d times without submitting", r)
				s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
				s.checkAt(s.at(r+2), t.now(), false, fmt.Sprintf("the code of counter %d (one press skipped)", s.ctr(r+2)), "the codes of an automatic resync are consecutive")
			}),
		policyCase("rfc4226/7.4/auto-resync-used-up",
			"resync {auto}: the remembered code is for the very next check of the token; any check in between uses it up",
			"Presses the token R times, submits the code of counter c+R (rejected), a wrong code (rejected), then the code of c+R+1; it must be rejected.",
			nil, needAuto, func(t *ct, p Profile, s *sim) {
				r := p.Resync.Window
				s.tell("pressed the button %d times without submitting", r)
				s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
				s.checkAt(s.wrong(), t.now(), false, "a wrong code", "it matches nothing")
				s.checkAt(s.at(r+1), t.now(), false, fmt.Sprintf("the code of counter %d", s.ctr(r+1)), "the wrong code in between used the remembered code up")
			}),
	}
}

// failsNow submits n wrong codes at the case's current time, each rejected.
func (s *sim) failsNow(n int, why string) {
	for i := range n {
		s.checkAt(s.wrong(), s.t.now(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

// resyncAt submits a resync at the case's current time, without relief.
func (s *sim) resyncAt(codes []string, want bool, what, why string) {
	saved := s.strictTime
	s.strictTime = true
	lock := s.strictLock
	s.strictLock = true
	defer func() { s.strictTime, s.strictLock = saved, lock }()
	s.resync(codes, want, what, why)
}
