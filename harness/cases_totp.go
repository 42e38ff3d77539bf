package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

// needTOTPClock is needTOTP without the skew policy: the case only submits
// codes of the current step.
func needTOTPClock(p Profile) string {
	if !p.SupportsKind(TOTP) {
		return "the profile does not claim totp tokens"
	}
	if p.Clock != ClockRequest {
		return `time-step cases need clock "request": the verifier reads its own clock, so steps cannot be placed exactly`
	}
	return ""
}

// skew returns the claimed (back, ahead), zero when not claimed.
func skew(p Profile) (uint64, uint64) {
	if p.TOTP == nil {
		return 0, 0
	}
	return p.TOTP.SkewBack, p.TOTP.SkewAhead
}

// midStep returns the middle of the step that contains unix, and the step.
func midStep(unix, t0, period int64) (time.Time, uint64) {
	st, _ := token.Step(unix, t0, period)
	return time.Unix(token.StepStart(st, t0, period)+period/2, 0), st
}

// stepWindow is a clean predicate for TOTP cases: the codes of the target
// steps appear nowhere else in [T-B-2, T+A+2].
func stepWindow(p Profile, t uint64, targets ...uint64) func(codes) bool {
	b, a := skew(p)
	lo := t - min(t, b+2)
	return distinct(lo, t+a+2, targets...)
}

// vectorDigits is the code length the Appendix B rows are judged at: 8,
// as published, or else the largest claimed length below 8 (6 when
// claimed), whose codes are the published codes' last digits (the value
// mod 10^Digit). Zero when the profile claims only lengths above 8.
func vectorDigits(p Profile) int {
	if p.SupportsDigits(vectors.TOTPDigits) {
		return vectors.TOTPDigits
	}
	if p.SupportsDigits(6) {
		return 6
	}
	for d := vectors.TOTPDigits - 1; d >= token.MinDigits; d-- {
		if p.SupportsDigits(d) {
			return d
		}
	}
	return 0
}

// vectorCode is a published 8-digit Appendix B code at d digits: its last d.
func vectorCode(code string, d int) string { return code[len(code)-d:] }

func totpVectorCase(a token.Algorithm) *caseDef {
	return &caseDef{
		id:          "rfc6238/4.2/appendix-b-" + lowerAlg(a),
		level:       PROFILE,
		requirement: fmt.Sprintf("TOTP = HOTP(K, T) with HMAC-%s, T = floor((unix - T0) / X); the RFC 6238 Appendix B values (T0 = 0, X = 30, 8 digits, %d-byte seed), or their last 6 digits at 6 digits (the value mod 10^Digit)", a, a.Size()),
		what:        fmt.Sprintf("Enrolls an 8-digit %s TOTP token with the Appendix B seed and submits the six published codes at their times, in order; each must be accepted. When the profile does not claim 8 digits, the token has the claimed length (6 when claimed) and each code is the published one's last digits. On real time (a verifier on its own clock that claims totp.t0) each row gets its own token, with a t0 that puts the verifier's now in the middle of the row's step (a negative t0 for the rows after now: a refused one leaves that row unjudged, and the case says so).", a),
		fixedClock:  "the RFC 6238 Appendix B times (1970 to 2603)",
		clockAt:     vectorTimes(a),
		clockRows:   true,
		realtime:    true,
		needs: all(needAlgorithm(TOTP, a, 0), func(p Profile) string {
			if vectorDigits(p) == 0 {
				return fmt.Sprintf("the Appendix B codes have 8 digits, and the profile claims only longer codes (%v)", p.Digits)
			}
			return ""
		}, func(p Profile) string {
			if !p.SupportsPeriod(vectors.TOTPPeriod) {
				return fmt.Sprintf("the Appendix B vectors use a %d s step, which the profile's totp.periods exclude", vectors.TOTPPeriod)
			}
			return ""
		}),
		body: func(t *ct) {
			rows, err := vectors.RFC6238()
			if err != nil {
				t.abort("harness: %v", err)
			}
			if t.run.realTime() {
				realVectors(t, a, rows)
				return
			}
			d := vectorDigits(t.profile())
			s := t.totp(tokOpts{alg: a, digits: d, period: vectors.TOTPPeriod, t0: vectors.TOTPT0, secret: vectors.RFC6238Secret(a.String())})
			var unreached []string
			for _, r := range rows {
				if r.Algorithm != a.String() {
					continue
				}
				if why, ok := t.clockUnreached(r.Time); ok {
					unreached = append(unreached, fmt.Sprintf("time %d (%s)", r.Time, why))
					continue
				}
				what, why := fmt.Sprintf("the Appendix B code for time %d (step %#x)", r.Time, r.Step), "RFC 6238 Appendix B lists it for that time"
				if d != vectors.TOTPDigits {
					what = fmt.Sprintf("the last %d digits of the Appendix B code %s for time %d (step %#x)", d, r.Code, r.Time, r.Step)
					why = fmt.Sprintf("RFC 6238 Appendix B lists %s for that time at 8 digits; at %d digits the code is its value mod 10^%d", r.Code, d, d)
				}
				s.checkAt(vectorCode(r.Code, d), time.Unix(r.Time, 0), true, what, why)
			}
			if len(unreached) > 0 {
				t.note("not judged: %s", strings.Join(unreached, "; "))
			}
		},
	}
}

// realVectors judges the Appendix B rows of algorithm a on real time: one
// token per row, its t0 chosen so that the verifier's now is in the middle
// of the row's step, then the row's code, which must be accepted. A row
// whose t0 is negative and refused is not judged (a verifier may keep t0
// unsigned and still compute every step right); the case says so, and
// SKIPs when no row is left.
func realVectors(t *ct, a token.Algorithm, rows []vectors.TOTP) {
	var unjudged []string
	judged := 0
	d := vectorDigits(t.profile())
	for _, r := range rows {
		if r.Algorithm != a.String() {
			continue
		}
		t0, at := t.placeStep(r.Step, vectors.TOTPPeriod)
		s, refused := t.totpNegT0(tokOpts{alg: a, digits: d, period: vectors.TOTPPeriod, t0: t0, secret: vectors.RFC6238Secret(a.String())})
		if s == nil {
			unjudged = append(unjudged, fmt.Sprintf("time %d (t0 %d refused: %s)", r.Time, t0, refused))
			continue
		}
		s.checkAt(vectorCode(r.Code, d), at, true, fmt.Sprintf("the Appendix B code for time %d (step %#x), on real time: t0 = %d puts the verifier's now (%d) in the middle of step %#x", r.Time, r.Step, t0, at.Unix(), r.Step),
			"RFC 6238 Appendix B lists it for that step, and the code depends on the step alone")
		judged++
	}
	if len(unjudged) > 0 {
		msg := fmt.Sprintf("not judged on real time: the verifier refused the negative t0 that places the step of %s; a clock the harness sets (--clock fake, exec verifiers) judges those rows", strings.Join(unjudged, ", "))
		if judged == 0 {
			t.skip("%s", msg)
		}
		t.note("%s", msg)
	}
}

// vectorTimes lists the times of algorithm a's Appendix B rows.
func vectorTimes(a token.Algorithm) func(Profile) []int64 {
	return func(Profile) []int64 {
		rows, _ := vectors.RFC6238()
		var out []int64
		for _, r := range rows {
			if r.Algorithm == a.String() {
				out = append(out, r.Time)
			}
		}
		return out
	}
}

func lowerAlg(a token.Algorithm) string {
	return map[token.Algorithm]string{token.SHA1: "sha1", token.SHA256: "sha256", token.SHA512: "sha512"}[a]
}

func totpCases() []*caseDef {
	out := []*caseDef{totpVectorCase(token.SHA1), totpVectorCase(token.SHA256), totpVectorCase(token.SHA512)}
	return append(out,
		&caseDef{
			id:          "rfc6238/4.2/current-step",
			level:       MUST,
			requirement: "the verifier accepts the code of the current time step T = floor((unix - T0) / X)",
			what:        "Submits the code of the current step in the middle of that step; it must be accepted.",
			needs:       needTOTPClock,
			realtime:    true,
			body: func(t *ct) {
				at, st := t.stepNow(0, t.period())
				s := t.totp(tokOpts{})
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of the current step %d", st), "it is the code the token shows now")
			},
		},
		skewCase("back-edge", true, 0, true),
		skewCase("back-beyond", true, 1, false),
		skewCase("ahead-edge", false, 0, true),
		skewCase("ahead-beyond", false, 1, false),
		&caseDef{
			id:          "rfc6238/5.2/reuse-same-step",
			level:       MUST,
			requirement: "the verifier MUST NOT accept the second attempt of the OTP after the successful validation has been issued for the first OTP",
			what:        "Accepts the code of the current step, then submits it again at once and again 5 s later in the same step; both must be rejected.",
			needs:       needTOTPClock,
			realtime:    true,
			body: func(t *ct) {
				at, st := t.stepNowFor(0, t.period(), 5)
				s := t.totp(tokOpts{clean: stepWindow(t.profile(), st, st)})
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d", st), "it is the current code")
				s.checkAt(s.code(st), at, false, fmt.Sprintf("the code of step %d again", st), "RFC 6238 §5.2: a code is accepted once")
				s.checkAt(s.code(st), t.later(at, 5), false, fmt.Sprintf("the code of step %d again, 5 s later in the same step", st), "RFC 6238 §5.2: a code is accepted once")
			},
		},
		&caseDef{
			id:          "rfc6238/5.2/reuse-older-step",
			level:       PROFILE,
			requirement: "totp reuse \"later\": the code of step T+d is accepted only if that step is later than the last accepted step; reuse \"once\": an unused step inside the window is accepted, a used one never",
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
				if t.profile().ReuseOnce() {
					s.checkAt(s.code(st-1), at, true, fmt.Sprintf("the code of step %d (one step back, unused)", st-1), "the profile claims reuse \"once\": an unused step inside the window is accepted")
					s.checkAt(s.code(st-1), at, false, fmt.Sprintf("the code of step %d again", st-1), "RFC 6238 §5.2: a code is accepted once")
					s.checkAt(s.code(st), at, false, fmt.Sprintf("the code of step %d again", st), "RFC 6238 §5.2: a code is accepted once")
					return
				}
				s.checkAt(s.code(st-1), at, false, fmt.Sprintf("the code of step %d (one step back)", st-1), fmt.Sprintf("step %d is not later than the last accepted step %d", st-1, st))
			},
		},
		&caseDef{
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
		},
		&caseDef{
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
		},
		&caseDef{
			id:          "rfc6238/4.2/year-2603",
			level:       MUST,
			requirement: "the implementation of this algorithm MUST support a time value T larger than a 32-bit integer when it is beyond the year 2038",
			what:        "Submits the code of the current step at Unix time 20000000000 (the year 2603); it must be accepted. On real time (a verifier on its own clock that claims totp.t0) the token's t0 is chosen, negative, so that the verifier's now is in the middle of that step (now - t0 beyond 32 bits); a refused negative t0 SKIPs the case with the reason.",
			needs:       needTOTPClock,
			fixedClock:  "Unix time 20000000000 (the year 2603)",
			clockAt: func(p Profile) []int64 {
				at, _ := midStep(20_000_000_000, 0, profilePeriod(p))
				return []int64{at.Unix()}
			},
			realtime: true,
			body: func(t *ct) {
				at, st := midStep(20_000_000_000, 0, t.period())
				if t.run.realTime() {
					t0, now := t.placeStep(st, t.period())
					s, refused := t.totpNegT0(tokOpts{t0: t0})
					if s == nil {
						t.skip("not judged on real time: the verifier refused t0 %d, the negative t0 that puts its now in step %d (%s): %s; a clock the harness sets (--clock fake, exec verifiers) judges it", t0, st, at.UTC().Format(time.RFC3339), refused)
					}
					s.checkAt(s.code(st), now, true, fmt.Sprintf("the code of step %d (the step of %s), on real time: t0 = %d puts the verifier's now (%d) in the middle of that step, now - t0 = %d", st, at.UTC().Format(time.RFC3339), t0, now.Unix(), now.Unix()-t0), "it is the code the token shows then")
					return
				}
				s := t.totp(tokOpts{})
				s.checkAt(s.code(st), at, true, fmt.Sprintf("the code of step %d at %s", st, at.UTC().Format(time.RFC3339)), "it is the code the token shows then")
			},
		},
	)
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
