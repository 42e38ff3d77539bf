package harness

import (
	"fmt"
	"slices"
	"strings"
)

// why says which rule of the model decides the reply to req in state s,
// with its numbers: "refused: throttle after 2 consecutive failures, delay
// 1 s, factor 2: the check at 12 is 1 s after the 2nd failure at 11",
// "rejected: it is the code of counter 41, below the next expected counter
// 42 (a replay)". The words are checked against [Model.Outcomes]: when
// they would say another reply than the model gives, the state itself is
// described instead.
func (m *Model) why(s State, req Request) string {
	if m.q.clockMax != 0 && req.Time > m.q.clockMax {
		req.Time = m.q.clockMax
	}
	var accepted bool
	var words string
	switch req.Op {
	case opCheck:
		accepted, words = m.whyCheck(s, req.Codes[0], req.Time)
	case opResync:
		accepted, words = m.whyResync(s, req.Codes, req.Time)
	default:
		return ""
	}
	for _, o := range m.Outcomes(s, req) {
		if o.Accepted == accepted {
			return words
		}
	}
	return fmt.Sprintf("%s, in the state %s", expectWords(m.replies(s, req)), m.DescribeState(s))
}

// at says a time as scripts do: seconds from the script's start when the
// model knows it, Unix seconds otherwise.
func (m *Model) at(t int64) string {
	if m.origin != 0 {
		return fmt.Sprintf("t=%+ds", t-m.origin)
	}
	return fmt.Sprint(t)
}

// replies lists the replies the model allows to req in state s.
func (m *Model) replies(s State, req Request) []bool {
	var out []bool
	for _, o := range m.Outcomes(s, req) {
		if !slices.Contains(out, o.Accepted) {
			out = append(out, o.Accepted)
		}
	}
	return out
}

// refusedWhy names the rule that refuses a request before any compare, or
// returns "".
func (m *Model) refusedWhy(s State, now int64, rate bool) string {
	s = m.release(s, now)
	if rl := m.p.RateLimit; rate && rl != nil {
		var in []string
		for _, t := range unpackInts(s.rate) {
			if now >= t && now-t < rl.Per {
				in = append(in, m.at(t))
			}
		}
		if len(in) >= rl.Attempts {
			return fmt.Sprintf("refused: rate limit of %d check%s per %d s: %d checks of the token in the %d s before %s (at %s)",
				rl.Attempts, plural(rl.Attempts), rl.Per, len(in), rl.Per, m.at(now), strings.Join(in, ", "))
		}
	}
	if s.locked {
		w := fmt.Sprintf("refused: the token is locked (lockout after %d consecutive failures) since %s", m.p.LockoutAfter(), m.at(s.tLock))
		if r := m.p.ReleaseAfter(); r > 0 {
			w += fmt.Sprintf(", until %s (release_after %d s)", m.at(s.tLock+r), r)
		}
		return w
	}
	if m.throttled(s, now) {
		th := m.p.Throttle
		d := m.p.ThrottleDelay(s.fails)
		return fmt.Sprintf("refused: throttle after %d consecutive failure%s, delay %d s, factor %d: the request at %s is %d s after consecutive failure %d at %s, inside its delay of %d s (until %s)",
			th.After, plural(th.After), th.Delay, th.Factor, m.at(now), now-s.tFail, s.fails, m.at(s.tFail), d, m.at(s.tFail+d))
	}
	return ""
}

func (m *Model) whyCheck(s State, code string, now int64) (bool, string) {
	if w := m.refusedWhy(s, now, true); w != "" {
		return false, w
	}
	s = m.release(s, now)
	v, exact, lenient := m.parse(code)
	if !exact && !lenient {
		return false, fmt.Sprintf("rejected: %q is not %d ASCII digits (input %s)", code, m.key.Digits(), inputWord(m.p))
	}
	if m.kind == TOTP {
		return m.whyTOTP(s, v, now)
	}
	return m.whyHOTP(s, v)
}

func inputWord(p Profile) string {
	if p.Input == "" {
		return "exact, as RFC 4226 §5.3 writes the value"
	}
	return p.Input
}

// whySearch bounds how far from the window the explanation looks for the
// counter or step a code belongs to.
const whySearch = 1000

func (m *Model) whyHOTP(s State, v uint32) (bool, string) {
	if s.spent {
		return false, fmt.Sprintf("rejected: the token is spent (the code of counters.max %d was accepted or burnt)", m.p.CounterMax())
	}
	l := lookAhead(m.p)
	hi := min(satAdd(s.c, l), m.p.CounterMax())
	window := fmt.Sprintf("the window %d..%d (look_ahead %d)", s.c, hi, l)
	if k, ok := m.key.FindValue(v, s.c, hi-s.c); ok {
		return true, fmt.Sprintf("accepted: it is the code of counter %d, inside %s", k, window)
	}
	lo := s.c - min(s.c, whySearch)
	if s.c > lo {
		if k, ok := m.key.FindValue(v, lo, s.c-1-lo); ok {
			return false, fmt.Sprintf("rejected: it is the code of counter %d, below the next expected counter %d (used or skipped: a replay)", k, s.c)
		}
	}
	if top := satAdd(hi, whySearch); top > hi {
		if k, ok := m.key.FindValue(v, hi+1, top-hi-1); ok {
			return false, fmt.Sprintf("rejected: it is the code of counter %d, beyond %s", k, window)
		}
	}
	return false, fmt.Sprintf("rejected: it is the code of no counter in %s", window)
}

func (m *Model) whyTOTP(s State, v uint32, now int64) (bool, string) {
	t := floorDiv(now-m.t0, m.period)
	back, ahead := skew(m.p)
	centre := t + s.delta
	lo, hi := centre-int64(back), centre+int64(ahead)
	window := fmt.Sprintf("the window of steps %d..%d (step T = %d at %s", lo, hi, t, m.at(now))
	if s.delta != 0 {
		window += fmt.Sprintf(", drift %+d", s.delta)
	}
	window += ")"
	for st := lo; st <= hi; st++ {
		if st < 0 || m.key.Value(uint64(st)) != v {
			continue
		}
		if !m.reuseAllows(s, uint64(st)) {
			return false, fmt.Sprintf("rejected: it is the code of step %d, inside %s, but %s", st, window, m.reuseWords(s, uint64(st)))
		}
		return true, fmt.Sprintf("accepted: it is the code of step %d, inside %s, and %s", st, window, m.unusedWords(s))
	}
	for d := int64(1); d <= whySearch; d++ {
		for _, st := range []int64{lo - d, hi + d} {
			if st >= 0 && m.key.Value(uint64(st)) == v {
				return false, fmt.Sprintf("rejected: it is the code of step %d, outside %s", st, window)
			}
		}
	}
	return false, fmt.Sprintf("rejected: it is the code of no step in %s", window)
}

// reuseWords says why the reuse rule refuses step st.
func (m *Model) reuseWords(s State, st uint64) string {
	switch {
	case m.q.lastCode:
		return "it is the last accepted code (replay)"
	case m.p.ReuseOnce():
		return fmt.Sprintf("step %d was accepted before (reuse once: a replay)", st)
	}
	return fmt.Sprintf("the last accepted step is %d and only a later one may be accepted (reuse later: a replay)", s.last)
}

// unusedWords says why the reuse rule allows a step.
func (m *Model) unusedWords(s State) string {
	switch {
	case m.p.ReuseAny():
		return "the profile declares no replay protection (reuse any)"
	case !s.hasLast && s.steps == "":
		return "no step was accepted before"
	case m.p.ReuseOnce():
		return fmt.Sprintf("it is not one of the accepted steps %v (reuse once)", unpack(s.steps))
	}
	return fmt.Sprintf("it is later than the last accepted step %d (reuse later)", s.last)
}

func (m *Model) whyResync(s State, codes []string, now int64) (bool, string) {
	s = m.release(s, now)
	if s.locked && !(m.p.Lockout != nil && m.p.Lockout.ResyncUnlocks) && !m.q.lockedResync {
		return false, fmt.Sprintf("refused: the token is locked since %s and the profile claims no resync_unlocks", m.at(s.tLock))
	}
	if w := m.refusedWhy(s, now, false); w != "" && !strings.HasPrefix(w, "refused: the token is locked") {
		return false, w
	}
	n := m.p.ResyncCodes()
	switch {
	case m.kind != HOTP || n == 0:
		return false, "rejected: the profile claims no resync for this token"
	case len(codes) != n:
		return false, fmt.Sprintf("rejected: %d code%s sent, the profile's resync takes %d", len(codes), plural(len(codes)), n)
	case s.spent:
		return false, "rejected: the token is spent"
	}
	out := m.resync(s, codes, now)
	top := satAdd(s.c, m.p.Resync.Window)
	for _, o := range out {
		if o.Accepted {
			return true, fmt.Sprintf("accepted: %d consecutive codes starting inside the resync window %d..%d; the next expected counter becomes %d", n, s.c, top, o.State.c)
		}
	}
	return false, fmt.Sprintf("rejected: not %d consecutive codes in order starting inside the resync window %d..%d", n, s.c, top)
}

// whyAll says the rule for each state the tracker holds, once each.
func (tr *tracker) whyAll(r Request) string {
	var ws []string
	for _, s := range tr.states {
		if w := tr.m.why(s, r); w != "" && !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	if len(ws) > 3 {
		ws = append(ws[:3], fmt.Sprintf("%d more possible states", len(ws)-3))
	}
	return "one of: " + strings.Join(ws, "; or ")
}
