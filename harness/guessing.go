package harness

import (
	"fmt"
	"math"
	"time"
)

// Guessing runs: many provably wrong codes and then the right one, and
// the odds they give an attacker.

// guesses is how many provably wrong codes the guessing-limit cases send
// before the right one: enough that any lockout, throttle or rate limit
// a deployed verifier sets shows up, few enough to keep the run fast on a
// verifier served over HTTP.
const guesses = 300

// guessingRequirement is RFC 4226 §7.3's requirement, which both
// guessing-limit cases check.
const guessingRequirement = `RFC 4226 §7.3: "the authentication server needs to detect and stop brute force attacks" (lockout or a growing delay after failures, SHOULD); a verifier whose profile claims no lockout, throttle or rate limit is judged here`

// guessingWhy says why the guessing-limit cases have their level.
const guessingWhy = "no limit on guessing opens a brute-force attack, but RFC 4226 §7.3 gives no number: SHOULD; a declared limits \"none\" is reported here once (NON-STRICT) and is a FAIL when a limit is seen after all"

// wrongAround returns a well-formed code that a correct verifier must
// reject at at and a step later: on real time a guess may reach the
// verifier in the next step, and must be wrong there too.
func (s *sim) wrongAround(at time.Time, period int64) string {
	for {
		code := s.wrongAt(at)
		exp := s.tr.expect(Request{Op: opCheck, Codes: []string{code}, Time: at.Unix() + period})
		if len(exp) == 1 && !exp[0] {
			return code
		}
	}
}

// guessRun is the body of the guessing-limit cases: guesses wrong codes
// from wrong, each of which must be rejected, then the right code from
// right. window is the number of codes one check accepts.
func guessRun(t *ct, s *sim, window uint64, wrong func() (string, time.Time), right func() (string, string, time.Time)) {
	p := t.profile()
	s.strictLock, s.strictTime = true, true
	start := time.Now()
	locked := 0
	for i := range guesses {
		code, at := wrong()
		acc, lock, did := s.guess(code, at, fmt.Sprintf("wrong code %d of %d", i+1, guesses))
		if acc {
			t.failAt(Fail, "%s\n  %d. %s\n  => accepted, expected rejected: no counter or step a correct verifier could accept has this code", s.history(), len(s.story)+1, did)
		}
		if lock {
			locked++
		}
	}
	elapsed := time.Since(start)
	code, what, at := right()
	if p.HasLimit() {
		// A claimed limit, judged by the model: it must stop the right
		// code after the guesses.
		exp := s.tr.expect(Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()})
		if len(exp) != 1 {
			t.abort("harness: the scenario is degenerate: after the guesses a correct verifier could accept or reject %s", what)
		}
		acc, lock, _ := s.guess(code, at, what)
		said := ""
		if lock {
			said = " (the reply said locked)"
		}
		if acc != exp[0] {
			t.failAt(Fail, "%d wrong codes, then %s\n  => %s%s, expected %s: the profile claims %s", guesses, what, verdictWord(acc), said, verdictWord(exp[0]), p.limitNames())
		}
		t.note("after %d wrong codes %s was %s%s, as the claimed %s requires", guesses, what, verdictWord(acc), said, p.limitNames())
		return
	}
	acc, lock, _ := s.guess(code, at, what)
	rate := float64(guesses) / max(elapsed.Seconds(), 1e-6)
	odds := guessOdds(window, s.tok.Digits, rate)
	if !acc {
		said := ""
		if lock || locked > 0 {
			said = " (a reply said locked)"
		}
		if p.NoLimitDeclared() {
			q := p
			q.Limits = "" // the variants that add a limit contradict the declaration
			t.expl = explain(q, t.quirks, t.histories())
			t.failAt(Fail, "%d wrong codes, then %s\n  => rejected%s, expected accepted: the profile declares limits \"none\" (no lockout, throttle or rate limit), but something stopped the right code; claim the limit instead", guesses, what, said)
		}
		t.note("a limit on guessing was seen: after %d wrong codes %s was rejected%s; claim it (lockout, throttle or rate_limit) so that its own cases judge it", guesses, what, said)
		return
	}
	head := fmt.Sprintf("no limit on guessing: %d wrong codes, then %s: accepted", guesses, what)
	if p.NoLimitDeclared() {
		t.failAt(NonStrict, "%s\n  the profile declares limits \"none\", a departure from RFC 4226 §7.3 (reported here once)\n  %s", head, odds)
	}
	t.failAt(NonStrict, "%s\n  the profile claims no lockout, throttle or rate limit, and none was seen: RFC 4226 §7.3 asks the server to detect and stop brute force attacks\n  %s\n  (a verifier that has none can say so with \"limits\": \"none\"; one that has a limit should claim it)", head, odds)
}

// guessOdds is the arithmetic of guessing: window codes of 10^digits
// accepted per guess, at rate guesses per second.
func guessOdds(window uint64, digits int, rate float64) string {
	space := float64(pow10(digits))
	w := float64(max(window, 1))
	per := space / w
	secs := per / rate
	return fmt.Sprintf("each guess matches one of %s codes out of 10^%d, 1 in %s; at %s guesses/s observed (one at a time) a hit is expected after about %s guesses, in about %s",
		group(w), digits, group(math.Round(per)), group(math.Round(rate)), group(math.Round(per)), humanSeconds(secs))
}

// group writes a whole number with thousands separators.
func group(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	n := len(s)
	if n <= 3 {
		return s
	}
	out := make([]byte, 0, n+n/3)
	for i := range n {
		if i > 0 && (n-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// humanSeconds writes a duration in the largest unit that keeps it above 1.
func humanSeconds(s float64) string {
	units := []struct {
		name string
		secs float64
	}{{"years", 365.25 * 86400}, {"days", 86400}, {"hours", 3600}, {"minutes", 60}}
	for _, u := range units {
		if s >= u.secs {
			return fmt.Sprintf("%.1f %s", s/u.secs, u.name)
		}
	}
	if s >= 1 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

// guess submits code at at outside the case's story: the reply is recorded
// in the token's history but judged by the caller. It returns whether the
// code was accepted, whether the reply said locked, and the step as a
// script tells it.
func (s *sim) guess(code string, at time.Time, what string) (bool, bool, string) {
	r := Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()}
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: at})
	cancel()
	if err != nil {
		s.callErr(fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code)), err)
	}
	s.hist = append(s.hist, event{[]Request{r}, []bool{rep.Accepted}})
	s.tr.observe(r, rep.Accepted)
	return rep.Accepted, rep.Locked, fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code))
}
