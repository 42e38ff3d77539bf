package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

// The cases of RFC 6238 §4.2 (the TOTP algorithm): the Appendix B values,
// the code of the current step, and steps past 2^32 seconds.

// caseCurrentStep builds the case rfc6238/4.2/current-step.
func caseCurrentStep() *caseDef {
	return &caseDef{
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
	}
}

// caseYear2603 builds the case rfc6238/4.2/year-2603.
func caseYear2603() *caseDef {
	return &caseDef{
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
	}
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
