package harness

import "fmt"

// The cases of RFC 6238 §6 (resynchronization): following the drift of a
// token's clock.

// caseDriftFollows builds the case rfc6238/6/drift-follows.
func caseDriftFollows() *caseDef {
	return &caseDef{
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
	}
}

// caseDriftWalk builds the case rfc6238/6/drift-walk.
func caseDriftWalk() *caseDef {
	return &caseDef{
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
	}
}
