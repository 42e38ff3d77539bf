package harness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/otplab/otplab/token"
)

// The verdicts of a clock check (ClockCheck.Verdict).
const (
	// ClockFollows: the verifier's clock showed every time the run needs.
	ClockFollows = "follows"
	// ClockPartial: it showed some of them; at the others it was found to
	// read another time (a clock that stops at a date, or real time), and
	// the cases that need those times SKIP; or it read a time the check
	// could not identify, and the cases judge it.
	ClockPartial = "partial"
	// ClockRealTime: it showed none of them and reads real time: the
	// clock does not follow, and the verifier is judged on real time.
	ClockRealTime = "real time"
	// ClockUnverified: the check could not tell (no time token could be
	// enrolled, or the verifier accepted a code far from the time it was
	// set to); the run goes on as if the clock followed.
	ClockUnverified = "unverified"
)

// ClockCheck is what a check of a verifier's clock found: the times at
// which a sentinel TOTP token showed that the clock the harness sets is
// the clock the verifier reads, and what it reads where it is not.
type ClockCheck struct {
	// Verdict is ClockFollows, ClockPartial, ClockRealTime or
	// ClockUnverified.
	Verdict string `json:"verdict"`
	// Follows lists the times (Unix seconds) at which the verifier
	// accepted the sentinel's code of the step of that time and rejected
	// a code far from it, in ascending order.
	Follows []int64 `json:"follows,omitempty"`
	// Misses lists the times at which it did not.
	Misses []ClockMiss `json:"misses,omitempty"`
	// Note says in words what was found and what it means for the run.
	Note string `json:"note"`
	// Requests is the number of requests the check sent, enrolls included.
	Requests int `json:"requests"`

	period int64 // the sentinels' step, the granularity of Unreached
}

// ClockMiss is a time at which the verifier's clock did not show what the
// harness set.
type ClockMiss struct {
	// Time is the time the clock was set to, in Unix seconds.
	Time int64 `json:"time"`
	// Reads, when set, is the time the verifier's clock was found to read
	// instead, to one step (the last time it follows, for a clock that
	// stops; the real time, for one that does not follow). Nil when the
	// check could not find it: the cases then judge the verifier there.
	Reads *int64 `json:"reads,omitempty"`
	// RealTime is set when what it reads is the real time: the clock does
	// not follow there at all.
	RealTime bool `json:"real_time,omitempty"`
	// Reason says what was seen, and for a time the clock cannot reach,
	// what would let the cases that need it run.
	Reason string `json:"reason"`
}

// Unreached reports whether the check found that the verifier's clock does
// not reach time at (a miss at that step whose reading was found), and if
// so why, in one sentence.
func (c *ClockCheck) Unreached(at int64) (string, bool) {
	if c == nil {
		return "", false
	}
	period := c.period
	if period <= 0 {
		period = DefaultSentinelPeriod
	}
	for _, m := range c.Misses {
		if m.Reads != nil && floorDiv(m.Time, period) == floorDiv(at, period) {
			return m.Reason, true
		}
	}
	return "", false
}

// ClockCheckOptions configure [CheckClock].
type ClockCheckOptions struct {
	// Algorithm, Digits and Period are the sentinel tokens'; they must
	// be supported by the verifier (zero means SHA1, 6 and
	// DefaultSentinelPeriod).
	Algorithm token.Algorithm
	Digits    int
	Period    int64
	// Window is how many steps either way the verifier may accept around
	// its own step (its skew): codes of steps that close to a time the
	// verifier's clock might read are never used as evidence. Zero means 1.
	Window int64
	// Serial returns a fresh serial for each sentinel token.
	Serial func() string
	// Seed derives the sentinels' secrets.
	Seed uint64
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// Now reads the real clock; nil means time.Now.
	Now func() time.Time
	// Hint, when set, is appended to the reason of a time the clock
	// cannot reach: what would let the cases that need it run.
	Hint string
}

// DefaultSentinelPeriod is the sentinel tokens' step unless
// ClockCheckOptions.Period says otherwise.
const DefaultSentinelPeriod = 30

// farSteps is how far from the step of the time it was set to the
// sentinel's negative code lies: a verifier that accepts it accepts codes
// no clock near that time would, and shows nothing about its clock.
const farSteps = 1_000_003

// CheckClock verifies that the clock of v, which the caller sets to each
// request's time (a [ClockSetter] that reports true, or a verifier behind
// Options.SetClock), follows at each of times (Unix seconds, at or after
// 1970). At each time a fresh sentinel TOTP token (t0 0, its own secret)
// must have the code of that time's step accepted, and another the code
// of a step a million steps away rejected. The sentinel's codes are
// chosen to be the code of no other step the verifier's clock might read
// (near the real time, near the other times). Where the clock does not
// follow, CheckClock looks for what it reads: the real time, or a date at
// which it stops (found by bisection between a time it follows and the
// time it misses, then confirmed by the code of that date accepted at the
// missed time). It returns an error only when a request fails in
// transport or times out; a refused enrollment makes the check
// ClockUnverified.
func CheckClock(ctx context.Context, v Verifier, times []int64, o ClockCheckOptions) (*ClockCheck, error) {
	if o.Algorithm == 0 {
		o.Algorithm = token.SHA1
	}
	if o.Digits == 0 {
		o.Digits = 6
	}
	if o.Window <= 0 {
		o.Window = 1
	}
	if o.Period <= 0 {
		o.Period = DefaultSentinelPeriod
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &sentinel{ctx: ctx, v: v, o: o, rng: rand.New(rand.NewPCG(o.Seed, 0xc10cc)), c: &ClockCheck{period: o.Period}}
	times = slices.DeleteFunc(slices.Clone(times), func(at int64) bool { return at < 0 })
	slices.Sort(times)
	times = slices.CompactFunc(times, s.sameStep)
	for _, at := range times {
		s.steps = append(s.steps, uint64(s.step(at)))
	}
	err := s.run(times)
	if err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) || errors.Is(err, ErrUnsupported) {
			s.c.Verdict, s.c.Follows, s.c.Misses = ClockUnverified, nil, nil
			s.c.Note = fmt.Sprintf("the verifier's clock was not verified: it refused a sentinel TOTP token (%s/%d, 30 s step): %v", o.Algorithm, o.Digits, err)
			return s.c, nil
		}
		return s.c, fmt.Errorf("checking the verifier's clock: %w", err)
	}
	return s.c, nil
}

// sameStep reports whether two times are in one sentinel step: the
// granularity at which the check tells times apart.
func (s *sentinel) sameStep(a, b int64) bool {
	return floorDiv(a, s.o.Period) == floorDiv(b, s.o.Period)
}

// step is the sentinels' step of time at.
func (s *sentinel) step(at int64) int64 { return floorDiv(at, s.o.Period) }

// sentinel is the state of one clock check.
type sentinel struct {
	ctx   context.Context
	v     Verifier
	o     ClockCheckOptions
	rng   *rand.Rand
	c     *ClockCheck
	steps []uint64 // the steps of the times checked
}

func (s *sentinel) run(times []int64) error {
	var missed []int64
	for _, at := range times {
		ok, err := s.accepts(at, uint64(s.step(at)), 0)
		if err != nil {
			return err
		}
		if !ok {
			missed = append(missed, at)
			continue
		}
		far, err := s.accepts(at, uint64(s.step(at)), farSteps)
		if err != nil {
			return err
		}
		if far {
			s.c.Verdict = ClockUnverified
			s.c.Note = fmt.Sprintf("the verifier's clock was not verified: set to %s it accepted the sentinel's code of a step %d steps away as well, so its acceptance shows nothing about its clock; the cases run on the clock the harness sets", stamp(at), farSteps)
			s.c.Follows, s.c.Misses = nil, nil
			return nil
		}
		s.c.Follows = append(s.c.Follows, at)
	}
	for _, at := range missed {
		m, err := s.explain(at)
		if err != nil {
			return err
		}
		s.c.Misses = append(s.c.Misses, m)
	}
	s.conclude()
	return nil
}

// conclude sets the verdict and the note from the follows and misses.
func (s *sentinel) conclude() {
	c := s.c
	if len(c.Misses) == 0 {
		c.Verdict = ClockFollows
		c.Note = fmt.Sprintf("the verifier's clock follows the clock the harness sets: a sentinel TOTP token's code was accepted at %s, and a far code rejected", stamps(c.Follows))
		return
	}
	real := 0
	for _, m := range c.Misses {
		if m.RealTime {
			real++
		}
	}
	// A time at the real time's step shows nothing: a clock that reads
	// real time is right there too.
	now := s.o.Now().Unix()
	shown := slices.DeleteFunc(slices.Clone(c.Follows), func(at int64) bool {
		return abs64(s.step(at)-s.step(now)) <= s.o.Window+1
	})
	if len(shown) == 0 && real == len(c.Misses) {
		c.Verdict = ClockRealTime
		c.Note = fmt.Sprintf("warning: the verifier's clock does not follow the clock the harness sets: set to %s, it read the real time; the verifier is judged on real time (as a verifier on its own clock)", stamps(missTimes(c.Misses)))
		return
	}
	found := slices.ContainsFunc(c.Misses, func(m ClockMiss) bool { return m.Reads != nil })
	if len(c.Follows) == 0 && !found {
		c.Verdict = ClockUnverified
		c.Note = fmt.Sprintf("the verifier's clock was not verified: it rejected the sentinel's code at %s, and was found neither on real time nor stopped at a date; the cases run on the clock the harness sets and judge it", stamps(missTimes(c.Misses)))
		return
	}
	c.Verdict = ClockPartial
	var parts []string
	if len(c.Follows) > 0 {
		parts = append(parts, "the verifier's clock follows at "+stamps(c.Follows))
	}
	for _, m := range c.Misses {
		parts = append(parts, m.Reason)
	}
	c.Note = strings.Join(parts, "; ")
}

// explain finds what the verifier's clock reads when it is set to at and
// the sentinel's code of at's step was rejected.
func (s *sentinel) explain(at int64) (ClockMiss, error) {
	m := ClockMiss{Time: at}
	now := s.o.Now().Unix()
	if !s.sameStep(now, at) {
		for range 2 {
			real := s.o.Now().Unix()
			ok, err := s.accepts(at, uint64(s.step(real)), 0)
			if err != nil {
				return m, err
			}
			if ok {
				m.Reads, m.RealTime = &real, true
				m.Reason = fmt.Sprintf("set to %s, the verifier's clock read the real time (%s): it does not follow the clock the harness sets there", stamp(at), stamp(real))
				return m, nil
			}
			if real%s.o.Period > 3 && real%s.o.Period < s.o.Period-3 {
				break // far from a step boundary: one look is enough
			}
		}
	}
	// The nearest time it follows, below or above.
	var lo, hi int64
	found := false
	for i := len(s.c.Follows) - 1; i >= 0; i-- {
		if f := s.c.Follows[i]; f < at {
			lo, hi, found = f, at, true
			break
		}
	}
	if !found {
		for _, f := range s.c.Follows {
			if f > at {
				lo, hi, found = at, f, true
				break
			}
		}
	}
	if !found {
		m.Reason = fmt.Sprintf("set to %s, the verifier rejected the sentinel's code of that time, and its clock was found neither on real time nor stopped at a date (it follows at no time the run needs): the cases judge it", stamp(at))
		return m, nil
	}
	up := lo < at // the clock stops on the way up (else on the way down)
	// Bisection: good is a time it follows, bad one it misses.
	good, bad := lo, hi
	if !up {
		good, bad = hi, lo
	}
	for abs64(s.step(bad)-s.step(good)) > 1 {
		mid := good + (bad-good)/2
		ok, err := s.accepts(mid, uint64(s.step(mid)), 0)
		if err != nil {
			return m, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	// Confirm: set to at, the clock reads the edge (the step of good, or
	// the next one, where the edge may fall).
	for _, st := range []int64{s.step(good), s.step(bad)} {
		if st < 0 {
			continue
		}
		ok, err := s.accepts(at, uint64(st), 0)
		if err != nil {
			return m, err
		}
		if ok {
			edge := st*s.o.Period + s.o.Period/2
			m.Reads = &edge
			dir := "up"
			if !up {
				dir = "down"
			}
			m.Reason = fmt.Sprintf("the verifier's clock does not reach %s: set there, it reads about %s, where it stops (it follows %s to about %s)%s", stamp(at), stamp(edge), dir, stamp(good), s.hint(edge))
			return m, nil
		}
	}
	m.Reason = fmt.Sprintf("set to %s, the verifier rejected the sentinel's code of that time; its clock follows up to about %s but was not found stopped there nor on real time, so the cases judge it (its TOTP computation may be wrong from there on)", stamp(at), stamp(good))
	return m, nil
}

// hint names a runtime known to stop at edge and what would fix it.
func (s *sentinel) hint(edge int64) string {
	var out string
	// The edge is found to the verifier's window: it accepts the code of a
	// step up to Window steps from its own.
	near := func(at int64) bool { return abs64(edge-at) <= (s.o.Window+1)*s.o.Period }
	if near(cpythonMax) {
		out = ": CPython's clock counts 64-bit nanoseconds, so under libfaketime datetime.now() saturates at 2262-04-11T23:47:16Z and time.time() may raise OverflowError; a verifier on CPython that reads time.clock_gettime(time.CLOCK_REALTIME) (a float) follows"
	} else if near(1<<31 - 1) {
		out = ": a 32-bit time_t stops at 2038-01-19T03:14:07Z"
	}
	if s.o.Hint != "" {
		out += "; " + s.o.Hint
	}
	return out
}

// cpythonMax is the last second a signed 64-bit count of nanoseconds
// since 1970 holds: 2262-04-11T23:47:16Z.
const cpythonMax = (1<<63 - 1) / 1_000_000_000

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// accepts enrolls a fresh sentinel token and reports whether the verifier,
// its clock set to at, accepts the code of step st+off. The token's secret
// is drawn until that code is the code of no step near st (other than
// st+off), near the real time or near the other times checked, so an
// acceptance says which step the verifier's clock is in.
func (s *sentinel) accepts(at int64, st uint64, off uint64) (bool, error) {
	target := st + off
	key, err := s.key(target)
	if err != nil {
		return false, err
	}
	tok := Token{Serial: s.o.Serial(), Kind: TOTP, Algorithm: s.o.Algorithm, Digits: s.o.Digits, Secret: key.Secret(), Period: s.o.Period}
	ctx, cancel := context.WithTimeout(s.ctx, s.o.Timeout)
	defer cancel()
	s.c.Requests++
	if err := s.v.Enroll(ctx, tok); err != nil {
		return false, fmt.Errorf("enroll of a sentinel token: %w", err)
	}
	s.c.Requests++
	rep, err := s.v.Check(ctx, CheckRequest{Serial: tok.Serial, Code: key.HOTP(target), Time: time.Unix(at, 0)})
	if err != nil {
		return false, fmt.Errorf("check of a sentinel token at %s: %w", stamp(at), err)
	}
	return rep.Accepted, nil
}

// key draws a secret whose code of step target is the code of no other
// step where the verifier's clock might be.
func (s *sentinel) key(target uint64) (*token.Key, error) {
	w := uint64(s.o.Window) + 2
	centres := append([]uint64{target, uint64(s.step(s.o.Now().Unix())), uint64(s.step(cpythonMax))}, s.steps...)
	for range 100 {
		secret := make([]byte, s.o.Algorithm.Size())
		for i := range secret {
			secret[i] = byte(s.rng.Uint32())
		}
		key, err := token.NewKey(secret, s.o.Algorithm, s.o.Digits)
		if err != nil {
			return nil, err
		}
		v, clean := key.Value(target), true
		for _, c := range centres {
			for st := c - min(c, w); st <= c+w && clean; st++ {
				clean = st == target || key.Value(st) != v
			}
		}
		if clean {
			return key, nil
		}
	}
	return nil, errors.New("no sentinel secret with an unambiguous code in 100 draws")
}

func missTimes(ms []ClockMiss) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Time
	}
	return out
}

// stamp formats a Unix second for a message.
func stamp(at int64) string { return time.Unix(at, 0).UTC().Format(time.RFC3339) }

func stamps(ts []int64) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = stamp(t)
	}
	return strings.Join(out, ", ")
}

// verifyClock checks, before any case runs, that the clock the harness
// sets (r.clockSet) is the clock the verifier reads, at the present
// simulated time and at every time a selected case needs. A clock that
// does not follow at all and reads real time makes the run judge the
// verifier on real time; times it cannot reach SKIP the cases that need
// them (skipReason, t.clockUnreached).
func (r *run) verifyClock(ctx context.Context) {
	if !r.clockSet {
		return
	}
	p := r.p
	var why string
	switch {
	case !p.SupportsKind(TOTP):
		why = "the profile claims no totp tokens, so no sentinel token can show the verifier's clock"
	}
	if why != "" {
		r.clock = &ClockCheck{Verdict: ClockUnverified, Note: "the verifier's clock was not verified: " + why + "; the cases run on the clock the harness sets"}
		r.report.ClockCheck = r.clock
		return
	}
	o := ClockCheckOptions{Algorithm: token.SHA1, Digits: 6, Period: profilePeriod(p), Window: 1, Seed: r.seed, Timeout: r.timeout,
		Serial: func() string { return r.nextSerial('2') },
		Hint:   `what would judge those cases: a verifier that takes the request's time (profile clock "request"), or one run on a runtime whose clock reaches that date`}
	if !p.SupportsAlgorithm(o.Algorithm) {
		o.Algorithm, _ = token.ParseAlgorithm(p.Algorithms[0])
	}
	if !p.SupportsDigits(o.Digits) {
		o.Digits = p.Digits[0]
	}
	if p.TOTP != nil {
		o.Window = int64(max(p.TOTP.SkewBack, p.TOTP.SkewAhead, 1))
	}
	c, err := CheckClock(ctx, r.v, r.clockTimes(), o)
	if err != nil {
		c.Verdict = ClockUnverified
		c.Note = fmt.Sprintf("the verifier's clock was not verified: %v; the cases run on the clock the harness sets", err)
		c.Follows, c.Misses = nil, nil
	}
	r.clock = c
	r.report.ClockCheck = c
	if c.Verdict == ClockRealTime {
		// Judge it as a verifier on its own clock.
		r.clockSet = false
		r.p.Clock = ClockWall
		r.report.ClockSet = false
		r.report.ClockNote = c.Note
	}
}

// clockTimes lists the simulated times the selected cases need the
// verifier's clock at: the present simulated time, and the times of the
// cases that name theirs (clockAt) and do not SKIP anyway.
func (r *run) clockTimes() []int64 {
	times := []int64{simEpoch}
	for _, c := range r.selected() {
		if c.clockAt == nil || r.skipReason(c) != "" {
			continue
		}
		times = append(times, c.clockAt(r.p)...)
	}
	return times
}

// clockSkip returns why case c cannot run on the verifier's clock: a time
// it needs that the clock check found out of reach (every time, for a
// case with clockRows). Empty when it can.
func (r *run) clockSkip(c *caseDef) string {
	if r.clock == nil || c.clockAt == nil || !r.clockSet {
		return ""
	}
	times := c.clockAt(r.p)
	var whys []string
	for _, at := range times {
		if why, ok := r.clock.Unreached(at); ok {
			whys = append(whys, why)
		}
	}
	if len(whys) == 0 || c.clockRows && len(whys) < len(times) {
		return ""
	}
	return strings.Join(slices.Compact(whys), "; ")
}

// clockUnreached reports whether the clock check found that the verifier's
// clock does not reach time at, and why: a case with clockRows leaves that
// time unjudged.
func (t *ct) clockUnreached(at int64) (string, bool) {
	if !t.run.clockSet {
		return "", false
	}
	return t.run.clock.Unreached(at)
}

// joinNotes joins the non-empty notes with "; ".
func joinNotes(notes ...string) string {
	return strings.Join(slices.DeleteFunc(notes, func(n string) bool { return n == "" }), "; ")
}
