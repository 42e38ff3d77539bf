package harness

import (
	"fmt"
	"slices"

	"github.com/otplab/otplab/token"
)

// model is the exact meaning of a Profile for one token, written
// independently of any verifier. Where the profile leaves a choice open
// (whether a malformed code counts toward lockout, the order in which
// concurrent requests were served) the model keeps every state a correct
// verifier could be in, and each observed reply prunes the ones it rules out.
// A reply that no possible state explains is a disagreement. This is how the
// harness computes verdicts exactly instead of hoping codes do not collide.
type model struct {
	p      Profile
	kind   Kind
	key    *token.Key
	period int64
	t0     int64
	states []mstate
}

// mstate is one possible server-side state of a token.
type mstate struct {
	c       uint64 // next expected counter (HOTP)
	spent   bool   // the code of counter 2^64-1 was accepted: nothing is left
	fails   int    // consecutive rejected checks of well-formed codes
	locked  bool
	last    uint64 // last accepted time step (TOTP)
	hasLast bool
}

// op is one request as the model sees it.
type op struct {
	kind  string // "check", "resync", "unlock"
	codes []string
	time  int64
}

func (o op) String() string {
	switch o.kind {
	case "check":
		return fmt.Sprintf("check %q", o.codes[0])
	case "resync":
		return fmt.Sprintf("resync %q", o.codes)
	}
	return o.kind
}

func newModel(p Profile, tok Token, key *token.Key) *model {
	s := mstate{c: tok.Counter}
	return &model{p: p, kind: tok.Kind, key: key, period: tok.Period, t0: tok.T0, states: []mstate{s}}
}

// expect returns the replies a correct verifier may give to o, without
// changing the model: one entry means the verdict is certain.
func (m *model) expect(o op) []bool {
	var out []bool
	for _, s := range m.states {
		for _, b := range m.apply(s, o) {
			if !slices.Contains(out, b.accepted) {
				out = append(out, b.accepted)
			}
		}
	}
	return out
}

// observe feeds the verifier's reply to o into the model. It returns false,
// leaving the model unchanged, when no possible state explains the reply.
func (m *model) observe(o op, accepted bool) bool {
	var next []mstate
	for _, s := range m.states {
		for _, b := range m.apply(s, o) {
			if b.accepted == accepted && !slices.Contains(next, b.state) {
				next = append(next, b.state)
			}
		}
	}
	if len(next) == 0 {
		return false
	}
	m.states = next
	return true
}

// observeAll feeds the replies to ops that were sent concurrently: any
// order of service is allowed. It searches the orders as a walk over
// (requests served, state) pairs, so identical requests and identical
// intermediate states are explored once: 2^n x states instead of n!.
func (m *model) observeAll(ops []op, accepted []bool) bool {
	if len(ops) > 16 {
		panic("harness: too many concurrent requests for the model")
	}
	type node struct {
		served uint32
		st     mstate
	}
	type edge struct {
		st mstate
		op int
	}
	full := uint32(1)<<len(ops) - 1
	seen := map[node]bool{}
	cache := map[edge][]branch{}
	var next []mstate
	var walk func(served uint32, st mstate)
	walk = func(served uint32, st mstate) {
		if seen[node{served, st}] {
			return
		}
		seen[node{served, st}] = true
		if served == full {
			if !slices.Contains(next, st) {
				next = append(next, st)
			}
			return
		}
		for i := range ops {
			if served&(1<<i) != 0 {
				continue
			}
			e := edge{st, i}
			bs, ok := cache[e]
			if !ok {
				bs = m.apply(st, ops[i])
				cache[e] = bs
			}
			for _, b := range bs {
				if b.accepted == accepted[i] {
					walk(served|1<<i, b.state)
				}
			}
		}
	}
	for _, s := range m.states {
		walk(0, s)
	}
	if len(next) == 0 {
		return false
	}
	m.states = next
	return true
}

// counter returns the next expected HOTP counter if every possible state
// agrees on it.
func (m *model) counter() (uint64, bool) {
	c := m.states[0].c
	for _, s := range m.states[1:] {
		if s.c != c {
			return 0, false
		}
	}
	return c, true
}

// branch is one possible outcome of an op in one state.
type branch struct {
	accepted bool
	state    mstate
}

func (m *model) apply(s mstate, o op) []branch {
	switch o.kind {
	case "unlock":
		s.locked, s.fails = false, 0
		return []branch{{true, s}}
	case "resync":
		return m.resync(s, o.codes)
	}
	return m.check(s, o.codes[0], o.time)
}

// reject returns the outcomes of a rejected check: a well-formed code
// counts toward lockout; a malformed one may or may not.
func (m *model) reject(s mstate, wellFormed bool) []branch {
	counted := s
	if f := m.p.LockoutAfter(); f > 0 && !s.locked {
		counted.fails++
		if counted.fails >= f {
			counted.locked = true
		}
	}
	if wellFormed || counted == s {
		return []branch{{false, counted}}
	}
	return []branch{{false, counted}, {false, s}}
}

func (m *model) check(s mstate, code string, now int64) []branch {
	v, ok := token.ParseCode(code, m.key.Digits())
	if !ok {
		return m.reject(s, false)
	}
	if s.locked {
		return []branch{{false, s}}
	}
	if m.kind == TOTP {
		return m.checkTOTP(s, v, now)
	}
	var l uint64
	if m.p.LookAhead != nil {
		l = *m.p.LookAhead
	}
	if s.spent {
		return m.reject(s, true)
	}
	k, found := m.key.FindValue(v, s.c, l)
	if !found {
		return m.reject(s, true)
	}
	s.fails = 0
	if k == token.MaxCounter {
		s.c, s.spent = k, true
	} else {
		s.c = k + 1
	}
	return []branch{{true, s}}
}

func (m *model) checkTOTP(s mstate, v uint32, now int64) []branch {
	t, ok := token.Step(now, m.t0, m.period)
	if !ok {
		return m.reject(s, true)
	}
	var back, ahead uint64
	if m.p.TOTP != nil {
		back, ahead = m.p.TOTP.SkewBack, m.p.TOTP.SkewAhead
	}
	lo := t - min(back, t)
	var out []branch
	for step := lo; step <= t+ahead; step++ {
		if s.hasLast && step <= s.last {
			continue
		}
		if m.key.Value(step) != v {
			continue
		}
		n := s
		n.fails, n.last, n.hasLast = 0, step, true
		out = append(out, branch{true, n})
	}
	if len(out) == 0 {
		return m.reject(s, true)
	}
	return out
}

func (m *model) resync(s mstate, codes []string) []branch {
	n := m.p.ResyncCodes()
	if m.kind != HOTP || n == 0 || len(codes) != n || s.spent {
		return []branch{{false, s}}
	}
	if s.locked && !m.p.Lockout.ResyncUnlocks {
		return []branch{{false, s}}
	}
	vals := make([]uint32, n)
	for i, c := range codes {
		v, ok := token.ParseCode(c, m.key.Digits())
		if !ok {
			return []branch{{false, s}}
		}
		vals[i] = v
	}
	// The smallest k in [0, R] at which all N codes line up.
	from, r := s.c, m.p.Resync.Window
	for {
		k, found := m.key.FindValue(vals[0], from, r-(from-s.c))
		if !found {
			return []branch{{false, s}}
		}
		if k > token.MaxCounter-uint64(n-1) {
			return []branch{{false, s}}
		}
		match := true
		for i := 1; i < n && match; i++ {
			match = m.key.Value(k+uint64(i)) == vals[i]
		}
		if match {
			last := k + uint64(n-1)
			if last == token.MaxCounter {
				s.c, s.spent = last, true
			} else {
				s.c = last + 1
			}
			if s.locked { // resync_unlocks: the accepted resync unlocks
				s.locked, s.fails = false, 0
				return []branch{{true, s}}
			}
			// The profile does not say whether an accepted resync resets
			// the failure count: both are correct.
			reset := s
			reset.fails = 0
			if reset == s {
				return []branch{{true, s}}
			}
			return []branch{{true, s}, {true, reset}}
		}
		if k-s.c >= r {
			return []branch{{false, s}}
		}
		from = k + 1
	}
}
