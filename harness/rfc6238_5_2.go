package harness

import (
	"fmt"
	"time"
)

// The cases of RFC 6238 §5.2 (validation and time-step size): the skew
// window, reuse of a step, and skew learning.

// caseReuseSameStep builds the case rfc6238/5.2/reuse-same-step.
func caseReuseSameStep() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/reuse-same-step",
		level:       MUST,
		requirement: "the verifier MUST NOT accept the second attempt of the OTP after the successful validation has been issued for the first OTP",
		what:        "Accepts the code of the current step, then submits it again at once and again 5 s later in the same step; both must be rejected. A profile that declares totp.reuse \"any\" (no replay protection) FAILs here, once, as declared.",
		why:         "a replayed code is an open door; a declared reuse \"any\" FAILs here once",
		needs:       needTOTPClock,
		realtime:    true,
		body: func(t *ct) {
			at, st := t.stepNowFor(0, t.period(), 5)
			s := t.totp(tokOpts{clean: stepWindow(t.profile(), st, st)})
			s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d", st), "it is the current code")
			if t.profile().ReuseAny() {
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d again", st), "the profile declares totp.reuse \"any\": no replay protection")
				s.checkAt(s.code(st), t.later(at, 5), true, fmt.Sprintf("the code of step %d again, 5 s later in the same step", st), "the profile declares totp.reuse \"any\": no replay protection")
				t.declared("declared by the profile: totp.reuse \"any\" accepts a code as often as it is typed while its step is in the window, against RFC 6238 §5.2 (\"the verifier MUST NOT accept the second attempt of the OTP after the successful validation has been issued for the first OTP\"); every other case expects it")
			}
			s.checkAt(s.code(st), at, false, fmt.Sprintf("the code of step %d again", st), "RFC 6238 §5.2: a code is accepted once")
			s.checkAt(s.code(st), t.later(at, 5), false, fmt.Sprintf("the code of step %d again, 5 s later in the same step", st), "RFC 6238 §5.2: a code is accepted once")
		},
	}
}

// caseReuseOlderStep builds the case rfc6238/5.2/reuse-older-step.
func caseReuseOlderStep() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/reuse-older-step",
		level:       PROFILE,
		requirement: "totp reuse \"later\": the code of step T+d is accepted only if that step is later than the last accepted step; reuse \"once\": an unused step inside the window is accepted, a used one never; reuse \"any\" (declared): every code of the window, as often as typed",
		what:        "Accepts the code of the current step T, then submits the code of step T-1 (inside the skew window): rejected under reuse \"later\"; under reuse \"once\" accepted, and then T-1 and T are both rejected.",
		needs: all(needTOTP, func(p Profile) string {
			if b, _ := skew(p); b == 0 {
				return "the profile claims skew_back 0: no older step is inside the window"
			}
			return ""
		}),
		realtime: true,
		body: func(t *ct) {
			at, st := t.stepNow(0, t.period())
			s := t.totp(tokOpts{clean: stepWindow(t.profile(), st, st, st-1)})
			s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d (current)", st), "it is the current code")
			if t.profile().ReuseAny() {
				s.checkAt(s.code(st-1), at, true, fmt.Sprintf("the code of step %d (one step back)", st-1), "the profile declares reuse \"any\": every code of the window is accepted")
				s.checkAt(s.code(st-1), at, true, fmt.Sprintf("the code of step %d again", st-1), "the profile declares reuse \"any\": a code is accepted as often as it is typed")
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d again", st), "the profile declares reuse \"any\": a code is accepted as often as it is typed")
				return
			}
			if t.profile().ReuseOnce() {
				s.checkAt(s.code(st-1), at, true, fmt.Sprintf("the code of step %d (one step back, unused)", st-1), "the profile claims reuse \"once\": an unused step inside the window is accepted")
				s.checkAt(s.code(st-1), at, false, fmt.Sprintf("the code of step %d again", st-1), "RFC 6238 §5.2: a code is accepted once")
				s.checkAt(s.code(st), at, false, fmt.Sprintf("the code of step %d again", st), "RFC 6238 §5.2: a code is accepted once")
				return
			}
			s.checkAt(s.code(st-1), at, false, fmt.Sprintf("the code of step %d (one step back)", st-1), fmt.Sprintf("step %d is not later than the last accepted step %d", st-1, st))
		},
	}
}

// caseReuseClockBack builds the case rfc6238/5.2/reuse-clock-back.
func caseReuseClockBack() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/reuse-clock-back",
		level:       MUST,
		requirement: "the verifier MUST NOT accept the second attempt of the OTP after the successful validation has been issued for the first OTP; a clock set back does not reopen used steps",
		what:        "Accepts the code of step T, then 4 steps later the code of step T+4, then sets the clock back to step T and submits both codes again; both must be rejected.",
		needs:       needTOTP,
		fixedClock:  "a time set back by 4 steps after a check 4 steps later (a clock that goes back: real time never does, and no t0 can move the steps of a token already enrolled)",
		body: func(t *ct) {
			p := t.profile()
			per := t.period()
			at, st := midStep(t.simNow, 0, per)
			s := t.totp(tokOpts{clean: stepWindow(p, st+2, st, st+4)})
			s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d", st), "it is the current code")
			later := at.Add(time.Duration(4*per) * time.Second)
			s.checkAt(s.code(st+4), later, true, fmt.Sprintf("the code of step %d, %d s later", st+4, 4*per), "it is the current code then")
			if p.ReuseAny() {
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d again, with the clock set back to step %d", st, st), "the profile declares totp.reuse \"any\" (reported at rfc6238/5.2/reuse-same-step): the code of the current step is accepted as often as it is typed")
				s.checkAt(s.code(st+4), at, false, fmt.Sprintf("the code of step %d, with the clock set back", st+4), fmt.Sprintf("step %d is outside the window around step %d", st+4, st))
				return
			}
			s.checkAt(s.code(st), at, false, fmt.Sprintf("the code of step %d again, with the clock set back to step %d", st, st), "RFC 6238 §5.2: a used code is never accepted again, whatever the clock says")
			s.checkAt(s.code(st+4), at, false, fmt.Sprintf("the code of step %d again, with the clock set back", st+4), "RFC 6238 §5.2: a used code is never accepted again")
		},
	}
}

// caseSkewLearningAccepts builds the case rfc6238/5.2/skew-learning-accepts.
func caseSkewLearningAccepts() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/skew-learning-accepts",
		level:       PROFILE,
		requirement: "totp {resync {codes N, range R}}: N rejected checks in successive steps whose codes are those of steps T_i+s for one offset s, |s| <= R: the N-th is accepted and the window moves by s",
		what:        "In N successive steps submits the code of the step s ahead (s beyond the window): the first N-1 rejected, the N-th accepted; in the next step the code s ahead is accepted at once. On real time the steps pass for real, on a token with the shortest claimed step of at least 10 s (and a chosen t0 when claimed); it SKIPs, with the reason, when that needs more than --max-wait (10 min by default).",
		needs:       needSkewLearning,
		realtime:    true,
		body: func(t *ct) {
			p := t.profile()
			n, off := p.TOTP.Resync.Codes, learnOffset(p)
			follow := true
			if d := p.TOTP.Drift; d != nil && d.Max != nil && uint64(off) > *d.Max {
				follow = false // the drift bound keeps the window from following the learnt skew
			}
			k := int64(n)
			if !follow {
				k--
			}
			pl, st := t.planSteps(k, 0)
			s := t.totp(tokOpts{period: pl.period, t0: pl.t0, clean: skewClean(p, st, off, n+1)})
			for i := range n {
				at := pl.at(st + uint64(i))
				want, why := false, "it is beyond the window; the verifier notes the offset"
				if i == n-1 {
					want, why = true, fmt.Sprintf("the %d-th code in successive steps at the offset %+d: the skew is learnt", n, off)
				}
				s.checkAt(s.code(st+uint64(i)+uint64(off)), at, want, fmt.Sprintf("the code of step %d (T%+d, at step %d)", st+uint64(i)+uint64(off), off, st+uint64(i)), why)
			}
			if !follow {
				return
			}
			at := pl.at(st + uint64(n))
			s.checkAt(s.code(st+uint64(n)+uint64(off)), at, true, fmt.Sprintf("the code of step %d (T%+d, at step %d)", st+uint64(n)+uint64(off), off, st+uint64(n)), fmt.Sprintf("the learnt skew of %+d steps moved the window", off))
		},
	}
}

// caseSkewLearningReplayRejected builds the case rfc6238/5.2/skew-learning-replay-rejected.
func caseSkewLearningReplayRejected() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/skew-learning-replay-rejected",
		level:       MUST,
		why:         "RFC 6238 §5.2 MUST: used codes replayed later logging in through skew learning is google-authenticator-libpam's flaw",
		requirement: "the verifier MUST NOT accept the second attempt of the OTP after the successful validation has been issued for the first OTP: codes already used never count toward skew learning, so replaying them later at one offset does not log in",
		what:        "Accepts the codes of N successive steps, then 1000 steps later (or the claimed range) replays them, one a step; every replay must be rejected. google-authenticator-libpam accepts the N-th. On real time the replays come skew_back+1 steps later (just outside the window, inside the range), the steps passing for real as in skew-learning-accepts.",
		needs:       needSkewLearning,
		realtime:    true,
		body: func(t *ct) {
			p := t.profile()
			n := p.TOTP.Resync.Codes
			gap := min(uint64(1000), p.TOTP.Resync.Range)
			if t.run.realTime() {
				// Just outside the window: the flaw is the same, and
				// the steps between pass for real.
				gap = min(p.TOTP.SkewBack+1, p.TOTP.Resync.Range)
			}
			pl, st := t.planSteps(int64(gap)+int64(n)-1, 0)
			s := t.totp(tokOpts{period: pl.period, t0: pl.t0, clean: skewClean(p, st, int64(gap), n)})
			for i := range n {
				c := st + uint64(i)
				s.checkAt(s.code(c), pl.at(c), true, fmt.Sprintf("the code of step %d", c), "it is the current code")
			}
			for i := range n {
				c := st + uint64(i)
				s.checkAt(s.code(c), pl.at(c+gap), false, fmt.Sprintf("the used code of step %d, replayed at step %d", c, c+gap), "RFC 6238 §5.2: a used code is never accepted again, and it never counts toward learning a skew")
			}
		},
	}
}

// caseSkewLearningNotSuccessive builds the case rfc6238/5.2/skew-learning-not-successive.
func caseSkewLearningNotSuccessive() *caseDef {
	return &caseDef{
		id:          "rfc6238/5.2/skew-learning-not-successive",
		level:       PROFILE,
		requirement: "totp {resync}: the N checks that teach a skew come in successive steps",
		what:        "Submits the code s steps ahead at steps T, T+2, T+4, ... (not successive) N times; every one must be rejected. On real time the steps pass for real, as in skew-learning-accepts.",
		needs:       needSkewLearning,
		realtime:    true,
		body: func(t *ct) {
			p := t.profile()
			n, off := p.TOTP.Resync.Codes, learnOffset(p)
			pl, st := t.planSteps(2*int64(n-1), 0)
			s := t.totp(tokOpts{period: pl.period, t0: pl.t0, clean: skewClean(p, st, off, 2*n)})
			for i := range n {
				c := st + 2*uint64(i)
				s.checkAt(s.code(c+uint64(off)), pl.at(c), false, fmt.Sprintf("the code of step %d (T%+d, at step %d)", c+uint64(off), off, c), "the checks are a step apart, not in successive steps")
			}
		},
	}
}

// skewCase builds the four skew-edge cases: offset 0 is the edge of the
// claimed window (accepted), offset 1 is one step beyond it (rejected).
func skewCase(name string, back bool, beyond uint64, want bool) *caseDef {
	side, field := "ahead", "skew_ahead A"
	if back {
		side, field = "back", "skew_back B"
	}
	return &caseDef{
		id:          "rfc6238/5.2/skew-" + name,
		level:       PROFILE,
		requirement: fmt.Sprintf("totp {%s}: check accepts the code of step T+d for -B <= d <= A and rejects codes outside", field),
		what:        fmt.Sprintf("Submits the code of the step %s the edge of the claimed window %s; it must be %s.", map[bool]string{true: "one step beyond", false: "at"}[beyond > 0], side, verdictWord(want)),
		needs:       needTOTP,
		realtime:    true,
		body: func(t *ct) {
			b, a := skew(t.profile())
			at, st := t.stepNow(0, t.period())
			target := st + a + beyond
			d := fmt.Sprintf("T+%d", a+beyond)
			if back {
				target = st - b - beyond
				d = fmt.Sprintf("T-%d", b+beyond)
			}
			s := t.totp(tokOpts{clean: stepWindow(t.profile(), st, target)})
			s.checkAt(s.code(target), at, want, fmt.Sprintf("the code of step %d (%s, with T = %d)", target, d, st),
				fmt.Sprintf("the profile claims skew_back %d and skew_ahead %d", b, a))
		},
	}
}
