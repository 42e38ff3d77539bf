package harness

import "fmt"

// The cases of otplab/enroll: what enrolling a serial again does.

// caseReEnrollReplaces builds the case otplab/enroll/re-enroll-replaces.
func caseReEnrollReplaces() *caseDef {
	return &caseDef{
		id:          "otplab/enroll/re-enroll-replaces",
		level:       MUST,
		requirement: "enrolling a serial again replaces the token: the old counter, failure count, lock and last time step are gone (protocol v1, enroll)",
		what:        "Moves a HOTP token's counter on and makes failures (locking it when a lockout is claimed), enrolls the same serial again at its first counter, then the first code must be accepted; a TOTP token's used step is accepted again after re-enrollment.",
		body: func(t *ct) {
			p := t.profile()
			l := lookAhead(p)
			f := p.LockoutAfter()
			s := t.hotp(tokOpts{clean: distinct(0, l+uint64(f)+6, 0, 1, 2, 3)})
			s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
			s.check(s.at(1), true, fmt.Sprintf("the code of counter %d", s.ctr(1)), "it is the next expected code")
			if f > 0 {
				s.strictLock = true
				s.fails(f, "they are wrong codes, and lock the token")
			} else {
				s.fails(1, "it is a wrong code")
			}
			s.reenroll()
			s.strictLock = false
			s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "the new enrollment starts at this counter, unlocked, with no failures")
			if f > 1 {
				s.strictLock = true
				s.fails(f-1, "they are wrong codes")
				s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("only %d failures since the new enrollment", f-1))
			}
			if !p.SupportsKind(TOTP) || p.Clock == ClockWall {
				return
			}
			at, st := midStep(t.simNow, 0, t.period())
			u := t.totp(tokOpts{clean: stepWindow(p, st, st)})
			u.checkAt(u.code(st), at, true, fmt.Sprintf("the code of step %d", st), "it is the current code")
			u.reenroll()
			u.checkAt(u.code(st), at, true, fmt.Sprintf("the code of step %d again", st), "the new enrollment has no used step")
		},
	}
}
