package harness

import (
	"fmt"
	"time"

	"github.com/otplab/otplab/token"
)

// The cases of RFC 6238 §4.1 (notations): the time origin T0 and the
// time step X.

// caseT0Nonzero builds the case rfc6238/4.1/t0-nonzero.
func caseT0Nonzero() *caseDef {
	return &caseDef{
		id:          "rfc6238/4.1/t0-nonzero",
		level:       PROFILE,
		requirement: "T = floor((unix - T0) / X): the token's T0 is part of the step computation",
		what:        "Enrolls a token with T0 several steps after the epoch (not a multiple of X) and submits the code of the step counted from T0; it must be accepted. Verifiers that ignore T0 look several steps off.",
		needs: all(needTOTP, func(p Profile) string {
			if !p.SupportsT0(1) || !p.SupportsPeriod(30) {
				return "the profile claims no t0 other than 0 (totp.t0 false) or no 30 s step"
			}
			return ""
		}),
		realtime: true,
		body: func(t *ct) {
			b, a := skew(t.profile())
			t0 := int64(b+a+5)*30 + 7
			at, st := t.stepNow(t0, 30)
			wrong, _ := token.Step(at.Unix(), 0, 30)
			s := t.totp(tokOpts{t0: t0, period: 30, clean: func(k codes) bool {
				return stepWindow(t.profile(), st, st)(k) && stepWindow(t.profile(), wrong, st)(k)
			}})
			s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d counted from T0 = %d", st, t0), fmt.Sprintf("with T0 = %d the current step is %d (ignoring T0 gives %d)", t0, st, wrong))
		},
	}
}

// casePeriod60 builds the case rfc6238/4.1/period-60.
func casePeriod60() *caseDef {
	return &caseDef{
		id:          "rfc6238/4.1/period-60",
		level:       PROFILE,
		requirement: "T = floor((unix - T0) / X) with the token's own X; C200 tokens step every 60 s",
		what:        "Enrolls a token with a 60 s step (a C200) and submits its code 45 s into a step, where a 30 s step would be different; it must be accepted.",
		needs: all(needTOTP, func(p Profile) string {
			if !p.SupportsPeriod(60) {
				return "the profile's totp.periods exclude a 60 s step"
			}
			return ""
		}),
		realtime: true,
		body: func(t *ct) {
			var t0 int64
			st, _ := token.Step(t.simNow, 0, 60)
			at := time.Unix(token.StepStart(st, 0, 60)+45, 0)
			if t.run.realTime() {
				t0, at, st = t.realStep60()
			}
			into := (at.Unix() - t0) % 60
			s := t.totp(tokOpts{period: 60, t0: t0, clean: stepWindow(t.profile(), st, st)})
			s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of 60 s step %d, %d s into the step", st, into), "the token steps every 60 s")
		},
	}
}
