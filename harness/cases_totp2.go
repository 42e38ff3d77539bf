package harness

import (
	"fmt"
	"time"
)

func needDrift(p Profile) string {
	if r := needTOTP(p); r != "" {
		return r
	}
	if p.TOTP.Drift == nil {
		return "the profile does not claim totp.drift"
	}
	if p.TOTP.SkewAhead == 0 {
		return "the profile claims skew_ahead 0: no step ahead can be accepted to record drift"
	}
	return ""
}

func needSkewLearning(p Profile) string {
	if r := needTOTP(p); r != "" {
		return r
	}
	r := p.TOTP.Resync
	if r == nil {
		return "the profile does not claim totp.resync"
	}
	if r.Range <= p.TOTP.SkewAhead+2 && r.Range <= p.TOTP.SkewBack+2 {
		return "the claimed skew-learning range does not reach beyond the window"
	}
	if f := p.LockoutAfter(); f > 0 && f < r.Codes {
		return "the profile's lockout locks before a skew can be learnt"
	}
	if p.Throttle != nil {
		return "the profile's throttle refuses the codes that teach the skew"
	}
	if rl := p.RateLimit; rl != nil && rl.Attempts < 2 {
		return "the profile's rate limit refuses the codes that teach the skew"
	}
	return ""
}

// walkSpan is how long (in seconds) drift-walk may take inside one step
// on real time: a few dozen checks.
const walkSpan = 5

// learnOffset returns the skew offset the skew-learning cases use: beyond
// the window ahead, inside the claimed range, and inside a drift bound
// when one leaves room beyond the window.
func learnOffset(p Profile) int64 {
	off := min(p.TOTP.SkewAhead+5, p.TOTP.Resync.Range)
	if d := p.TOTP.Drift; d != nil && d.Max != nil && *d.Max > p.TOTP.SkewAhead {
		off = min(off, *d.Max)
	}
	return int64(off)
}

func totpPolicyCases() []*caseDef {
	return []*caseDef{
		{
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
		},
		{
			id:          "rfc6238/6/drift-follows",
			level:       PROFILE,
			requirement: "totp {drift}: accepting the code of step s records the drift s-T, and the window is then centred at T+drift",
			what:        "Accepts the code of step T+A (the window's edge), then in the next step submits the code of step T+1+2A, at the edge of the moved window; it must be accepted (a verifier that does not record drift rejects it). On real time the next step comes for real (a chosen t0 puts it a few seconds after the first check).",
			needs: all(needDrift, func(p Profile) string {
				if m := p.TOTP.Drift.Max; m != nil && *m < 2*p.TOTP.SkewAhead {
					return "the claimed drift bound is below twice skew_ahead"
				}
				return ""
			}),
			realtime: true,
			body: func(t *ct) {
				p := t.profile()
				a := p.TOTP.SkewAhead
				pl, st := t.planSteps(1, 0)
				s := t.totp(tokOpts{period: pl.period, t0: pl.t0, clean: stepWindow(p, st+1+a, st+a, st+1+2*a)})
				s.checkAt(s.code(st+a), pl.at(st), true, fmt.Sprintf("the code of step %d (T+%d)", st+a, a), "it is at the edge of the window")
				s.checkAt(s.code(st+1+2*a), pl.at(st+1), true, fmt.Sprintf("the code of step %d (T+%d, one step later)", st+1+2*a, 2*a), fmt.Sprintf("the recorded drift of %d steps moved the window: it is centred at T+%d", a, a))
			},
		},
		{
			id:          "rfc6238/6/drift-walk",
			level:       PROFILE,
			why:         "a claimed bound; unbounded drift (declared max null) is NON-STRICT here once, against RFC 6238 §6",
			requirement: "totp {drift {max D}}: a code whose step would make the recorded drift larger than D is rejected, so codes accepted one after another in one real step cannot walk the window away (RFC 6238 §6; unbounded drift is reported NON-STRICT here)",
			what:        "In one real step T, submits the codes of steps T+1, T+2, ... one after another, each at the edge of the window the previous one moved: accepted up to T+D, and T+D+1 rejected. With unbounded drift the walk is played for a few steps and reported NON-STRICT, as declared. On real time the walk is played inside one step of the verifier's clock, clear of its boundaries.",
			needs: all(needDrift, func(p Profile) string {
				if p.TOTP.SkewAhead != 1 {
					return "the walk needs skew_ahead 1 (each step moves the window by one)"
				}
				if m := p.TOTP.Drift.Max; m != nil && *m > 50 {
					return "the claimed drift bound is too large to walk to"
				}
				return ""
			}),
			realtime: true,
			body: func(t *ct) {
				p := t.profile()
				pl, st := t.planSteps(0, walkSpan)
				walk, bounded := uint64(5), false
				if m := p.TOTP.Drift.Max; m != nil {
					walk, bounded = *m, true
				}
				targets := make([]uint64, walk+2)
				for i := range targets {
					targets[i] = st + uint64(i)
				}
				s := t.totp(tokOpts{period: pl.period, t0: pl.t0, clean: stepWindow(p, st+walk/2, targets...)})
				at := pl.at(st)
				for i := uint64(1); i <= walk; i++ {
					s.checkAt(s.code(st+i), at, true, fmt.Sprintf("the code of step %d (T+%d)", st+i, i), fmt.Sprintf("the drift recorded so far is %d, so T+%d is at the edge of the window", i-1, i))
				}
				if !bounded {
					t.failAt(NonStrict, "declared by the profile: totp.drift.max null (unbounded); in one real step the window walked %d steps ahead, one accepted code at a time; RFC 6238 §6 asks that drift be bounded (\"the validation server SHOULD ... not accept\" codes too far from the current time)", walk)
				}
				s.checkAt(s.code(st+walk+1), at, false, fmt.Sprintf("the code of step %d (T+%d)", st+walk+1, walk+1), fmt.Sprintf("it would make the drift %d, more than the claimed max %d", walk+1, walk))
			},
		},
		{
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
		},
		{
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
		},
		{
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
		},
	}
}

// skewClean is a clean predicate for skew-learning cases: over the steps
// they use, the codes at offset off appear nowhere else in the claimed
// range, and the window's codes differ from them.
func skewClean(p Profile, st uint64, off int64, steps int) func(codes) bool {
	r := p.TOTP.Resync.Range
	return func(k codes) bool {
		lo := st - min(st, r+1)
		hi := st + uint64(steps) + r + 1
		seen := map[uint32]uint64{}
		for c := lo; c <= hi; c++ {
			seen[k.Value(c)]++
		}
		for i := range uint64(steps) {
			for _, c := range []uint64{st + i, uint64(int64(st+i) + off)} {
				if seen[k.Value(c)] > 1 {
					return false
				}
			}
		}
		return true
	}
}
