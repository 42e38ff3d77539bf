package harness

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/otplab/otplab/token"
)

// Model is the exact meaning of a [Profile] for one token, written
// independently of any verifier, as docs/protocol.md states it. Where the
// profile leaves a choice open (whether a malformed code counts as a
// failure, which of two matching time steps was taken) a step allows every
// state a correct verifier could be in.
//
// Its shape is that of a nondeterministic model for a linearizability
// checker such as porcupine: [Model.Init] gives the initial states, a
// [State] is a comparable value (== is equality), [Model.Step] maps a state,
// a request and the reply to the states it allows (none: the reply is
// wrong), and [Model.DescribeState] and [Request.String] describe both for
// reports. A Model is not safe for concurrent use (it holds a prepared
// key); give each goroutine its own with [NewModel].
type Model struct {
	p      Profile
	kind   Kind
	key    *token.Key
	start  uint64
	period int64
	t0     int64
	q      quirks
	// origin is the time scripts count from, for the rule words (why.go).
	origin int64
}

// quirks are departures from any profile that the explanation of a failure
// tries: known defects that no claim can state.
type quirks struct {
	// storeLast stores the last used counter instead of the next one, so
	// after the first acceptance the window reaches one counter less.
	storeLast bool
	// counterBits, when 32 or 53, stores counters in a 32-bit integer
	// (wrapping) or in an IEEE double (rounding past 2^53), the double's
	// arithmetic included (a JavaScript number); 54 stores the counter as
	// a double but computes the window in exact integers (a driver that
	// writes a large integer to a REAL column).
	counterBits int
	// resyncKeepsFails leaves the failure count alone on an accepted
	// resync (protocol v1 resets it).
	resyncKeepsFails bool
	// racy serves concurrent requests on a stale state: a request may read
	// the state from before the burst and its write replaces whatever is
	// there (check-then-write without a lock: lost updates).
	racy bool
	// lastCode is TOTP replay memory of the last accepted code (its value)
	// instead of the last step: any other code of the window is accepted,
	// an earlier step's after a later one's included.
	lastCode bool
	// lockedResync serves a resync on a locked token as if it were not
	// locked, and leaves the lock in place.
	lockedResync bool
	// secBack and secAhead, when secWindow is set, are a TOTP tolerance in
	// seconds instead of steps: the verifier accepts the steps of the times
	// now-secBack .. now+secAhead.
	secWindow         bool
	secBack, secAhead int64
	// clockMax, when not 0, is the last time the verifier's clock can
	// show: later request times read as clockMax.
	clockMax int64
	// nfkc applies Unicode compatibility normalisation (NFKC) to the typed
	// code before the exact comparison: compatibility digits (fullwidth,
	// superscript, circled, mathematical) read as ASCII digits.
	nfkc bool
	// perNode keeps parts of the state in each node of a deployment
	// instead of the shared store (see [perNodeParts]); the other parts
	// stay shared. Only replaying a history with nodes reads it.
	perNode perNodeParts
}

// State is one possible server-side state of a token. It is a comparable
// value: two states are equal exactly when they are ==.
type State struct {
	c      uint64 // next expected counter (HOTP)
	spent  bool   // the code of counters.max was accepted (or burnt past)
	used   bool   // a code was accepted since enrollment (quirk storeLast)
	fails  int    // consecutive failures: n
	tFail  int64  // time of the n-th failure
	locked bool
	tLock  int64
	rate   string // packed times of recorded checks (rate_limit)
	// A code remembered for automatic resync: counter autoK, seen at autoAt.
	hasAuto bool
	autoK   uint64
	autoAt  int64
	// TOTP replay protection: the last accepted step (reuse "later") or
	// every accepted step, packed and sorted (reuse "once").
	hasLast bool
	last    uint64
	steps   string
	delta   int64 // recorded drift or learnt skew, in steps
	// A skew-learning run: its length, the step of its last check and the
	// offsets common to its checks, packed.
	runLen  int
	runStep uint64
	runOffs string
}

// Request is one request as the model sees it.
type Request struct {
	// Op is "check", "resync", "unlock" or "enroll" (the same token
	// enrolled again, which starts it over).
	Op string
	// Codes holds the code of a check, or the codes of a resync.
	Codes []string
	// Time is the request's time, in Unix seconds.
	Time int64
	// Purpose is the check's purpose ("" is login).
	Purpose string
	// node is the node of a deployment that served the request, from 1
	// (0: one verifier, or not known); only per-node variants read it.
	node int
}

// The request ops of the model.
const (
	opCheck  = "check"
	opResync = "resync"
	opUnlock = "unlock"
	// opEnroll is enrolling the same token again: everything starts over.
	opEnroll = "enroll"
)

// String describes the request for a script.
func (r Request) String() string {
	switch r.Op {
	case opCheck:
		if r.Purpose != "" && r.Purpose != PurposeLogin {
			return fmt.Sprintf("check %q for %s at %d", r.Codes[0], r.Purpose, r.Time)
		}
		return fmt.Sprintf("check %q at %d", r.Codes[0], r.Time)
	case opResync:
		return fmt.Sprintf("resync %q at %d", r.Codes, r.Time)
	}
	return r.Op
}

// Outcome is one reply a correct verifier may give, with the state it
// leaves.
type Outcome struct {
	Accepted bool
	State    State
}

// NewModel returns the model of profile p for token tok.
func NewModel(p Profile, tok Token) (*Model, error) {
	key, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		return nil, fmt.Errorf("model of %s: %w", tok, err)
	}
	return newModel(p, tok, key, quirks{}), nil
}

func newModel(p Profile, tok Token, key *token.Key, q quirks) *Model {
	return &Model{p: p, kind: tok.Kind, key: key, start: tok.Counter, period: tok.Period, t0: tok.T0, q: q}
}

// Init returns the state of a freshly enrolled token.
func (m *Model) Init() []State {
	if m.kind == TOTP {
		return []State{{}}
	}
	return []State{{c: m.store(m.start)}}
}

// Step returns the states a correct verifier may be in after answering req
// in state s with rep. None means the reply is wrong.
func (m *Model) Step(s State, req Request, rep Reply) []State {
	var out []State
	for _, o := range m.Outcomes(s, req) {
		if o.Accepted == rep.Accepted && !slices.Contains(out, o.State) {
			out = append(out, o.State)
		}
	}
	return out
}

// DescribeState describes s in the profile's terms.
func (m *Model) DescribeState(s State) string {
	var parts []string
	if m.kind == HOTP {
		if s.spent {
			parts = append(parts, "spent")
		} else {
			parts = append(parts, fmt.Sprintf("counter %d", s.c))
		}
	} else {
		switch {
		case m.p.ReuseAny():
		case m.q.lastCode && s.hasLast:
			parts = append(parts, fmt.Sprintf("last code %0*d", m.key.Digits(), s.last))
		case m.p.ReuseOnce():
			parts = append(parts, fmt.Sprintf("used steps %v", unpack(s.steps)))
		case s.hasLast:
			parts = append(parts, fmt.Sprintf("last step %d", s.last))
		}
		if s.delta != 0 {
			parts = append(parts, fmt.Sprintf("drift %+d", s.delta))
		}
	}
	if s.fails > 0 {
		parts = append(parts, fmt.Sprintf("%d failures (last at %d)", s.fails, s.tFail))
	}
	if s.locked {
		parts = append(parts, fmt.Sprintf("locked at %d", s.tLock))
	}
	return strings.Join(parts, ", ")
}

// Outcomes returns every reply a correct verifier may give to req in state
// s, each with the state it leaves.
func (m *Model) Outcomes(s State, req Request) []Outcome {
	if m.q.clockMax != 0 && req.Time > m.q.clockMax {
		req.Time = m.q.clockMax
	}
	switch req.Op {
	case opUnlock:
		s.locked, s.tLock, s.rate = false, 0, ""
		s = clearFails(s)
		return []Outcome{{true, s}}
	case opEnroll:
		return []Outcome{{true, m.Init()[0]}}
	case opResync:
		return m.resync(s, req.Codes, req.Time)
	}
	return m.check(s, req.Codes[0], req.Time)
}

// store applies the counter-storage quirk to a counter about to be stored.
func (m *Model) store(c uint64) uint64 {
	switch m.q.counterBits {
	case 32:
		return uint64(uint32(c))
	case 53, 54:
		return roundDouble(c)
	}
	return c
}

// roundDouble is c stored in an IEEE double and read back, saturating at
// 2^64-1 (the double nearest 2^64-1 is 2^64, which no counter reaches).
func roundDouble(c uint64) uint64 {
	f := float64(c)
	if f >= 1<<64 {
		return token.MaxCounter
	}
	return uint64(f)
}

func clearFails(s State) State {
	s.fails, s.tFail = 0, 0
	return s
}

// release ends a lock whose release_after has passed.
func (m *Model) release(s State, now int64) State {
	if r := m.p.ReleaseAfter(); r > 0 && s.locked && now >= s.tLock+r {
		s.locked, s.tLock = false, 0
		s = clearFails(s)
	}
	return s
}

func (m *Model) throttled(s State, now int64) bool {
	d := m.p.ThrottleDelay(s.fails)
	return d > 0 && now < s.tFail+d
}

// rateRefused reports whether the rate limit refuses a check at now, and
// returns the history with the check recorded. Every check time is kept:
// a clock set back makes old checks count again.
func (m *Model) rateRefused(hist string, now int64) (bool, string) {
	rl := m.p.RateLimit
	if rl == nil {
		return false, hist
	}
	ts := unpackInts(hist)
	n := 0
	for _, t := range ts {
		if now >= t && now-t < rl.Per {
			n++
		}
	}
	return n >= rl.Attempts, packInts(append(ts, now))
}

// refuse is the outcome of a request refused by a rule before any compare:
// rejected, counted nowhere.
func refuse(s State) []Outcome { return []Outcome{{false, usedUp(s)}} }

// usedUp forgets what only the very next request may use: a remembered
// automatic-resync code and a skew-learning run.
func usedUp(s State) State {
	s.hasAuto, s.autoK, s.autoAt = false, 0, 0
	return endRun(s)
}

func endRun(s State) State {
	s.runLen, s.runStep, s.runOffs = 0, 0, ""
	return s
}

// failure counts one failure at now, locking at F; burn moves a HOTP
// counter on (on_failure "advance").
func (m *Model) failure(s State, now int64, burn bool) State {
	s.fails++
	s.tFail = now
	if f := m.p.LockoutAfter(); f > 0 && s.fails >= f {
		s.locked, s.tLock = true, now
	}
	if burn && m.kind == HOTP && m.p.Advances() && !s.spent {
		if s.c >= m.p.CounterMax() {
			s.spent = true
		} else {
			s.c = m.store(s.c + 1)
		}
	}
	return s
}

// maybeFailure is a rejection whose counting the profile leaves open.
func (m *Model) maybeFailure(s State, now int64) []Outcome {
	counted := m.failure(s, now, false)
	if counted == s {
		return []Outcome{{false, s}}
	}
	return []Outcome{{false, counted}, {false, s}}
}

// parse reads a typed code under the profile's input rule: exact reports
// the code as exactly Digit ASCII digits, lenient a decimal number that a
// lenient verifier may take for the code.
func (m *Model) parse(code string) (v uint32, exact, lenient bool) {
	if v, ok := token.ParseCode(code, m.key.Digits()); ok {
		return v, true, false
	}
	if m.q.nfkc {
		if v, ok := token.ParseCode(nfkcDigits(code), m.key.Digits()); ok {
			return v, true, false
		}
	}
	if m.p.Input == InputLenient {
		if v, ok := lenientValue(code, m.key.Digits()); ok {
			return v, false, true
		}
	}
	return 0, false, false
}

// lenientValue reads code as Python's int() would (Unicode white space
// around, an optional '+', Unicode decimal digits) and reports its value; a
// number of 10^digits or more is reported as a value no code has, since a
// lenient verifier compares it (and rejects it) all the same.
func lenientValue(code string, digits int) (uint32, bool) {
	s := strings.TrimFunc(code, unicode.IsSpace)
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	limit := pow10(digits)
	var v uint64
	for _, r := range s {
		d, ok := decimalDigit(r)
		if !ok {
			return 0, false
		}
		v = min(v*10+uint64(d), limit) // saturate: stay clear of overflow
	}
	if v >= limit {
		return noCode, true
	}
	return uint32(v), true
}

// decimalDigit returns the value of a Unicode decimal digit (category Nd).
// Unicode lays decimal digits out in contiguous runs of ten, each starting
// at its zero, and runs may follow each other (the mathematical digits), so
// the value is the distance from the start of the contiguous block, mod 10.
func decimalDigit(r rune) (int, bool) {
	if !unicode.IsDigit(r) {
		return 0, false
	}
	z := r
	for z > 0 && unicode.IsDigit(z-1) {
		z--
	}
	return int(r-z) % 10, true
}

// noCode is a value no code has (codes are below 10^10 < 2^32-1).
const noCode = ^uint32(0)

func (m *Model) check(s State, code string, now int64) []Outcome {
	s = m.release(s, now)
	refused, hist := m.rateRefused(s.rate, now)
	s.rate = hist
	if refused || s.locked || m.throttled(s, now) {
		return refuse(s)
	}
	v, exact, lenient := m.parse(code)
	if !exact && !lenient {
		return m.maybeFailure(usedUp(s), now)
	}
	var out []Outcome
	if m.kind == TOTP {
		out = m.checkTOTP(s, v, now)
	} else {
		out = m.checkHOTP(s, v, now)
	}
	if lenient {
		// A lenient verifier may take the number for the code or not.
		out = append(out, m.maybeFailure(usedUp(s), now)...)
	}
	return out
}

func (m *Model) accept(s State) State { return usedUp(clearFails(s)) }

// advancePast moves the counter one past k, or spends the token at max.
func (m *Model) advancePast(s State, k uint64) State {
	switch {
	case k >= m.p.CounterMax():
		s.c, s.spent = k, true
	case m.q.counterBits == 53:
		s.c = roundDouble(uint64(float64(k) + 1)) // the increment is a double's too
	default:
		s.c = m.store(k + 1)
	}
	s.used = true
	return s
}

func (m *Model) checkHOTP(s State, v uint32, now int64) []Outcome {
	if s.spent {
		return []Outcome{{false, m.failure(usedUp(s), now, true)}}
	}
	l, max := lookAhead(m.p), m.p.CounterMax()
	hi := satAdd(s.c, l)
	if m.q.storeLast && s.used {
		if hi == s.c {
			hi = s.c - 1 // an empty window: nothing but a replay fits
		} else {
			hi--
		}
	}
	hi = min(hi, max)
	if m.q.counterBits == 53 {
		// Counters kept as IEEE doubles: the window is c+0, c+1, ...
		// computed in floating point, so past 2^53 some counters are
		// never tried and others twice.
		for k := uint64(0); k <= hi-min(hi, s.c); k++ {
			f := float64(s.c) + float64(k)
			if f >= 1<<64 {
				break // past every counter
			}
			if c := uint64(f); c <= max && m.key.Value(c) == v {
				return []Outcome{{true, m.advancePast(m.accept(s), c)}}
			}
		}
	} else if hi >= s.c && s.c <= max {
		if k, ok := m.key.FindValue(v, s.c, hi-s.c); ok {
			return []Outcome{{true, m.advancePast(m.accept(s), k)}}
		}
	}
	if a := m.p.Resync; a != nil && a.Auto != nil {
		if s.hasAuto && now-s.autoAt <= a.Auto.Within && s.autoK < max && m.key.Value(s.autoK+1) == v {
			return []Outcome{{true, m.advancePast(m.accept(s), s.autoK+1)}}
		}
		c := s.c
		s.hasAuto, s.autoK, s.autoAt = false, 0, 0
		if lo := satAdd(c, l+1); lo > c && a.Window > l {
			top := min(satAdd(c, a.Window), max)
			if lo <= top {
				if k, ok := m.key.FindValue(v, lo, top-lo); ok {
					s.hasAuto, s.autoK, s.autoAt = true, k, now
				}
			}
		}
		return []Outcome{{false, m.failure(endRun(s), now, true)}}
	}
	return []Outcome{{false, m.failure(usedUp(s), now, true)}}
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return token.MaxCounter
	}
	return a + b
}

// reuseAllows reports whether the reuse rule lets step st be accepted.
func (m *Model) reuseAllows(s State, st uint64) bool {
	switch {
	case m.p.ReuseAny():
		return true
	case m.q.lastCode:
		return !s.hasLast || uint64(m.key.Value(st)) != s.last
	}
	if m.p.ReuseOnce() {
		_, found := slices.BinarySearch(unpack(s.steps), st)
		return !found
	}
	return !s.hasLast || st > s.last
}

// recordStep books step st as accepted.
func (m *Model) recordStep(s State, st uint64) State {
	switch {
	case m.p.ReuseAny():
		return s
	case m.q.lastCode:
		s.last, s.hasLast = uint64(m.key.Value(st)), true
		return s
	}
	if m.p.ReuseOnce() {
		steps := unpack(s.steps)
		i, _ := slices.BinarySearch(steps, st)
		s.steps = pack(slices.Insert(steps, i, st))
		return s
	}
	s.last, s.hasLast = st, true
	return s
}

func (m *Model) checkTOTP(s State, v uint32, now int64) []Outcome {
	t := floorDiv(now-m.t0, m.period) // negative before t0
	back, ahead := skew(m.p)
	var drift *DriftPolicy
	if m.p.TOTP != nil {
		drift = m.p.TOTP.Drift
	}
	centre := t + s.delta
	lo, hi := centre-int64(back), centre+int64(ahead)
	if m.q.secWindow {
		lo = floorDiv(now-m.q.secBack-m.t0, m.period) + s.delta
		hi = floorDiv(now+m.q.secAhead-m.t0, m.period) + s.delta
	}
	var out []Outcome
	for st := lo; st <= hi; st++ {
		if st < 0 {
			continue
		}
		if drift != nil && drift.Max != nil && absDiff(st, t) > *drift.Max {
			continue
		}
		if !m.reuseAllows(s, uint64(st)) || m.key.Value(uint64(st)) != v {
			continue
		}
		n := m.recordStep(m.accept(s), uint64(st))
		if drift != nil {
			n.delta = st - t
		}
		out = append(out, Outcome{true, n})
	}
	if len(out) > 0 {
		return out
	}
	return m.learnSkew(s, v, t, now)
}

func absDiff(a, b int64) uint64 {
	if a > b {
		return uint64(a - b)
	}
	return uint64(b - a)
}

// floorDiv is floor(a / b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// learnSkew is totp.resync for a compared check at step t that the window
// rejected.
func (m *Model) learnSkew(s State, v uint32, t int64, now int64) []Outcome {
	var r *TOTPResync
	if m.p.TOTP != nil {
		r = m.p.TOTP.Resync
	}
	if r == nil {
		return []Outcome{{false, m.failure(endRun(s), now, true)}}
	}
	var cands []uint64 // offsets, stored as int64 bits
	for off := -int64(r.Range); off <= int64(r.Range); off++ {
		st := t + off
		if st < 0 || !m.reuseAllows(s, uint64(st)) || m.key.Value(uint64(st)) != v {
			continue
		}
		cands = append(cands, uint64(off))
	}
	if len(cands) == 0 {
		return []Outcome{{false, m.failure(endRun(s), now, true)}}
	}
	if s.runLen > 0 && int64(s.runStep)+1 == t {
		var common []uint64
		for _, o := range unpack(s.runOffs) {
			if slices.Contains(cands, o) {
				common = append(common, o)
			}
		}
		if len(common) > 0 {
			s.runLen, s.runStep, s.runOffs = s.runLen+1, uint64(t), pack(common)
		} else {
			s.runLen, s.runStep, s.runOffs = 1, uint64(t), pack(cands)
		}
	} else {
		s.runLen, s.runStep, s.runOffs = 1, uint64(t), pack(cands)
	}
	if s.runLen < r.Codes {
		return []Outcome{{false, m.failure(s, now, true)}}
	}
	var out []Outcome
	for _, o := range unpack(s.runOffs) {
		off := int64(o)
		n := m.recordStep(m.accept(s), uint64(t+off))
		n.delta = off
		out = append(out, Outcome{true, n})
	}
	return out
}

func (m *Model) resync(s State, codes []string, now int64) []Outcome {
	s = m.release(s, now)
	if s.locked && !(m.p.Lockout != nil && m.p.Lockout.ResyncUnlocks) && !m.q.lockedResync {
		return refuse(s)
	}
	if m.throttled(s, now) {
		return refuse(s)
	}
	s = usedUp(s) // any resync ends a run and uses up an auto code
	n := m.p.ResyncCodes()
	maybe := func() []Outcome {
		if m.p.CountsResync() {
			return m.maybeFailure(s, now)
		}
		return []Outcome{{false, s}}
	}
	if m.kind != HOTP || n == 0 || len(codes) != n || s.spent {
		return maybe()
	}
	vals := make([]uint32, n)
	anyLenient := false
	for i, c := range codes {
		v, exact, lenient := m.parse(c)
		if !exact && !lenient {
			return maybe()
		}
		anyLenient = anyLenient || lenient
		vals[i] = v
	}
	out := m.compareResync(s, vals, now)
	if anyLenient {
		// A lenient verifier may take the numbers for the codes or not.
		out = append(out, maybe()...)
	}
	return out
}

// compareResync is resync step 5 and 6 for well-formed codes.
func (m *Model) compareResync(s State, vals []uint32, now int64) []Outcome {
	n := len(vals)
	max := m.p.CounterMax()
	if s.c > max || max-s.c < uint64(n-1) {
		return m.rejectResync(s, now)
	}
	// The smallest k in [0, R] at which all N codes line up, the last
	// one at most max.
	top := min(satAdd(s.c, m.p.Resync.Window), max-uint64(n-1))
	for from := s.c; from <= top; {
		k, found := m.key.FindValue(vals[0], from, top-from)
		if !found {
			break
		}
		match := true
		for i := 1; i < n && match; i++ {
			match = m.key.Value(k+uint64(i)) == vals[i]
		}
		if match {
			a := m.advancePast(m.accept(s), k+uint64(n-1))
			if m.q.resyncKeepsFails {
				a.fails, a.tFail = s.fails, s.tFail
			}
			if m.q.lockedResync && !(m.p.Lockout != nil && m.p.Lockout.ResyncUnlocks) {
				a.locked, a.tLock = s.locked, s.tLock
			} else {
				a.locked, a.tLock = false, 0
			}
			return []Outcome{{true, a}}
		}
		if k == top {
			break
		}
		from = k + 1
	}
	return m.rejectResync(s, now)
}

func (m *Model) rejectResync(s State, now int64) []Outcome {
	if m.p.CountsResync() {
		return []Outcome{{false, m.failure(s, now, false)}}
	}
	return []Outcome{{false, s}}
}

// pack and unpack keep sets of counters and steps in a comparable State.
func pack(vs []uint64) string {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	return string(b)
}

func unpack(s string) []uint64 {
	out := make([]uint64, len(s)/8)
	for i := range out {
		out[i] = binary.BigEndian.Uint64([]byte(s[8*i : 8*i+8]))
	}
	return out
}

func packInts(vs []int64) string {
	u := make([]uint64, len(vs))
	for i, v := range vs {
		u[i] = uint64(v)
	}
	return pack(u)
}

func unpackInts(s string) []int64 {
	u := unpack(s)
	out := make([]int64, len(u))
	for i, v := range u {
		out[i] = int64(v)
	}
	return out
}

// tracker follows one token through a case: the set of every state a
// correct verifier could be in, pruned by each observed reply.
type tracker struct {
	m      *Model
	states []State
	// fuzz is how many seconds either way the verifier's time for a
	// check or resync may differ from the request's: on real time the
	// verifier reads its own clock, known to the harness to about a second
	// (its clock may count whole seconds, and requests take time to
	// arrive). Zero means exact.
	fuzz int64
	// last is the latest request time fed to the tracker: the verifier's
	// clock does not go back, so no request is judged before it.
	last int64
}

// outcomes are the model's outcomes for r in state s, at every time the
// verifier may have read for it. An outcome found at a time other than
// the request's records the request's own time in its state (see
// atRequestTime), so that the uncertainty stays one second between any
// two requests rather than growing with each.
func (tr *tracker) outcomes(s State, r Request) []Outcome {
	if tr.fuzz == 0 || r.Op != opCheck && r.Op != opResync {
		return tr.m.Outcomes(s, r)
	}
	var out []Outcome
	for at := max(r.Time-tr.fuzz, min(tr.last, r.Time)); at <= r.Time+tr.fuzz; at++ {
		q := r
		q.Time = at
		for _, o := range tr.m.Outcomes(s, q) {
			o.State = atRequestTime(s, o.State, at, r.Time)
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// atRequestTime rewrites the times that next recorded as read, from old,
// to the request's time: the failure, lock and remembered-code times, and
// the rate limit's newest entry.
func atRequestTime(old, next State, read, req int64) State {
	if read == req {
		return next
	}
	fix := func(was, now int64) int64 {
		if now == read && now != was {
			return req
		}
		return now
	}
	next.tFail = fix(old.tFail, next.tFail)
	next.tLock = fix(old.tLock, next.tLock)
	next.autoAt = fix(old.autoAt, next.autoAt)
	if next.rate != old.rate {
		if ts := unpackInts(next.rate); len(ts) > 0 && ts[len(ts)-1] == read {
			ts[len(ts)-1] = req
			next.rate = packInts(ts)
		}
	}
	return next
}

func newTracker(m *Model) *tracker { return &tracker{m: m, states: m.Init()} }

// oneNext reports whether the reply accepted to r leaves each possible
// state one next state: the request's time uncertainty does not branch.
func (tr *tracker) oneNext(r Request, accepted bool) bool {
	for _, s := range tr.states {
		if len(tr.step(s, r, accepted)) > 1 {
			return false
		}
	}
	return true
}

// step is [Model.Step] at every time the verifier may have read for r.
func (tr *tracker) step(s State, r Request, accepted bool) []State {
	var out []State
	for _, o := range tr.outcomes(s, r) {
		if o.Accepted == accepted && !slices.Contains(out, o.State) {
			out = append(out, o.State)
		}
	}
	return out
}

// expect returns the replies a correct verifier may give to r, without
// changing the tracker: one entry means the verdict is certain.
func (tr *tracker) expect(r Request) []bool {
	var out []bool
	for _, s := range tr.states {
		for _, o := range tr.outcomes(s, r) {
			if !slices.Contains(out, o.Accepted) {
				out = append(out, o.Accepted)
			}
		}
	}
	return out
}

// observe feeds the verifier's reply to r. It returns false, leaving the
// tracker unchanged, when no possible state explains the reply.
func (tr *tracker) observe(r Request, accepted bool) bool {
	var next []State
	for _, s := range tr.states {
		for _, n := range tr.step(s, r, accepted) {
			if !slices.Contains(next, n) {
				next = append(next, n)
			}
		}
	}
	if len(next) == 0 {
		return false
	}
	tr.states = next
	tr.seen(r)
	return true
}

// seen records the time of a request fed to the tracker.
func (tr *tracker) seen(reqs ...Request) {
	for _, r := range reqs {
		if r.Op == opCheck || r.Op == opResync {
			tr.last = max(tr.last, r.Time)
		}
	}
}

// observeAll feeds the replies to requests that were sent concurrently:
// any order of service is allowed. It walks (requests served, state) pairs,
// so identical requests and identical intermediate states are explored
// once: 2^n x states instead of n!. Under the racy quirk a request may
// also be served on the state from before the burst.
func (tr *tracker) observeAll(reqs []Request, accepted []bool) bool {
	if len(reqs) > 16 {
		panic("harness: too many concurrent requests for the model")
	}
	// Each distinct state gets a small number the first time it is
	// reached, and the orders already walked and the steps already taken
	// are keyed by numbers: a State (three strings among its fields) is
	// hashed once per state instead of at every edge, and the steps'
	// results are kept as numbers. A twelve-request racy burst costs a
	// twelfth of the time and 1/120 of the allocations it did
	// (BenchmarkObserveBurst).
	ids := map[State]uint32{}
	var states []State
	intern := func(st State) uint32 {
		id, ok := ids[st]
		if !ok {
			id = uint32(len(states))
			ids[st] = id
			states = append(states, st)
		}
		return id
	}
	full := uint32(1)<<len(reqs) - 1
	seen := map[uint64]struct{}{}  // served<<32 | state
	cache := map[uint64][]uint32{} // state<<5 | request
	done := map[uint32]struct{}{}  // states already in next
	var next []State
	var walk func(served, st, start uint32)
	walk = func(served, st, start uint32) {
		k := uint64(served)<<32 | uint64(st)
		if _, ok := seen[k]; ok {
			return
		}
		seen[k] = struct{}{}
		if served == full {
			if _, ok := done[st]; !ok {
				done[st] = struct{}{}
				next = append(next, states[st])
			}
			return
		}
		for i := range reqs {
			if served&(1<<i) != 0 {
				continue
			}
			bases := [2]uint32{st, start}
			nb := 1
			if tr.m.q.racy && st != start {
				nb = 2
			}
			for _, b := range bases[:nb] {
				e := uint64(b)<<5 | uint64(i)
				ns, ok := cache[e]
				if !ok {
					for _, n := range tr.step(states[b], reqs[i], accepted[i]) {
						ns = append(ns, intern(n))
					}
					cache[e] = ns
				}
				for _, n := range ns {
					walk(served|1<<i, n, start)
				}
			}
		}
	}
	for _, s := range tr.states {
		id := intern(s)
		walk(0, id, id)
	}
	if len(next) == 0 {
		return false
	}
	tr.states = next
	tr.seen(reqs...)
	return true
}

// counter returns the next expected HOTP counter if every possible state
// agrees on it.
func (tr *tracker) counter() (uint64, bool) {
	c := tr.states[0].c
	for _, s := range tr.states[1:] {
		if s.c != c {
			return 0, false
		}
	}
	return c, true
}

// nfkcDigits returns code with every compatibility digit replaced by the
// ASCII digit Unicode NFKC maps it to: fullwidth, superscript, subscript,
// circled and mathematical digits, and segmented digits. Other characters
// are kept as they are: NFKC leaves ASCII digits, '+', '-' and Arabic-Indic
// digits alone, and what it does to any other character (a no-break space
// to a space, say) still leaves a string that is not Digit ASCII digits.
func nfkcDigits(code string) string {
	var b strings.Builder
	for _, r := range code {
		if d, ok := nfkcDigit(r); ok {
			b.WriteByte(byte('0' + d))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// nfkcDigit returns the value of a character whose NFKC form is a single
// ASCII digit.
func nfkcDigit(r rune) (int, bool) {
	switch {
	case r >= 0xFF10 && r <= 0xFF19: // fullwidth
		return int(r - 0xFF10), true
	case r == 0x2070: // superscript zero
		return 0, true
	case r == 0x00B9:
		return 1, true
	case r == 0x00B2:
		return 2, true
	case r == 0x00B3:
		return 3, true
	case r >= 0x2074 && r <= 0x2079: // superscript four to nine
		return int(r-0x2074) + 4, true
	case r >= 0x2080 && r <= 0x2089: // subscript
		return int(r - 0x2080), true
	case r == 0x24EA: // circled zero
		return 0, true
	case r >= 0x2460 && r <= 0x2468: // circled one to nine
		return int(r-0x2460) + 1, true
	case r >= 0x1D7CE && r <= 0x1D7FF: // mathematical digits, five runs of ten
		return int(r-0x1D7CE) % 10, true
	case r >= 0x1FBF0 && r <= 0x1FBF9: // segmented digits
		return int(r - 0x1FBF0), true
	}
	return 0, false
}
