package probe

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// errRefused marks a request the verifier answered with an error that
// means "no" (an unsupported operation, a refused enrollment) rather than
// a failure of the probe.
var errRefused = errors.New("refused by the verifier")

// maxDraws bounds the search for a secret without chance collisions.
const maxDraws = 2000

// tok is a token the probe enrolled.
type tok struct {
	p   *prober
	t   harness.Token
	key *token.Key
	// c is the enrolled counter (HOTP) or the step at `at` (TOTP).
	c uint64
	// at is when checks are made: for TOTP, a moment inside step c.
	at time.Time
	// rt is the token's clock on real time.
	rt rtClock
}

// fatal reports whether err must end the probe: a cancelled context or a
// request that timed out.
func (p *prober) fatal(err error) bool {
	return p.ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// refusal classifies the error of an enroll, resync or unlock: a refusal
// (wrapping errRefused) or a fatal error.
func (p *prober) refusal(op string, err error) error {
	if p.ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, p.ctx.Err())
	}
	if p.fatal(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%w: %w", errRefused, &refusedReq{what: op, err: err})
}

// reqCtx counts a request and bounds it with the per-request timeout.
func (p *prober) reqCtx() (context.Context, context.CancelFunc) {
	p.mu.Lock()
	p.res.Requests++
	p.mu.Unlock()
	return context.WithTimeout(p.ctx, p.o.Timeout)
}

// nextSerial returns a serial no other token of this probe has.
func (p *prober) nextSerial(kind harness.Kind) string {
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	if p.o.Serial != nil {
		return p.o.Serial(kind)
	}
	p.count++
	prefix := '1'
	if kind == harness.TOTP {
		prefix = '2'
	}
	return fmt.Sprintf("%c%012d", prefix, (p.serial+p.count)%1_000_000_000_000)
}

// newKey draws a secret for cfg whose key satisfies clean (nil: any).
func (p *prober) newKey(alg token.Algorithm, digits int, clean func(*token.Key) bool) (*token.Key, error) {
	p.rngMu.Lock()
	defer p.rngMu.Unlock()
	for range maxDraws {
		secret := make([]byte, alg.Size())
		for i := range secret {
			secret[i] = byte(p.rng.Uint32())
		}
		k, err := token.NewKey(secret, alg, digits)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		if clean == nil || clean(k) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("found no secret without a chance collision in %d draws", maxDraws)
}

// enroll enrolls a fresh token of configuration cfg. For HOTP the counter
// is drawn at random (well above 0, so that c-1 exists); for TOTP the
// token has period 30 and t0 0, and checks are made at `at` (the zero time
// means the simulated time for a request clock, the wall clock otherwise).
// clean receives the key and the counter or step c. A refused enrollment
// returns an error wrapping errRefused.
func (p *prober) enroll(cfg config, at time.Time, clean func(k *token.Key, c uint64) bool) (*tok, error) {
	return p.enrollWith(cfg, at, spec{}, clean)
}

// spec overrides what enroll would draw: the HOTP counter, the TOTP period
// and t0.
type spec struct {
	counter *uint64
	period  int64
	t0      int64
}

// enrollWith is enroll with the counter, period or t0 given by s.
func (p *prober) enrollWith(cfg config, at time.Time, s spec, clean func(k *token.Key, c uint64) bool) (*tok, error) {
	t := &tok{p: p}
	period := int64(token.DefaultPeriod)
	if s.period > 0 {
		period = s.period
	}
	if cfg.kind == harness.HOTP {
		p.rngMu.Lock()
		t.c = p.counterBase() + p.rng.Uint64N(1<<20)
		p.rngMu.Unlock()
		if s.counter != nil {
			t.c = *s.counter
		}
		t.at = p.simAt
	} else {
		if at.IsZero() {
			var err error
			if at, err = p.totpNow(); err != nil {
				return nil, err
			}
		}
		t.at = at
		t.c, _ = token.Step(at.Unix(), s.t0, period)
	}
	var pred func(*token.Key) bool
	if clean != nil {
		pred = func(k *token.Key) bool { return clean(k, t.c) }
	}
	key, err := p.newKey(cfg.alg, cfg.digits, pred)
	if err != nil {
		return nil, err
	}
	t.key = key
	t.t = harness.Token{Serial: p.nextSerial(cfg.kind), Kind: cfg.kind, Algorithm: cfg.alg, Digits: cfg.digits, Secret: key.Secret()}
	if cfg.kind == harness.HOTP {
		t.t.Counter = t.c
	} else {
		t.t.Period, t.t.T0 = period, s.t0
	}
	ctx, cancel := p.reqCtx()
	defer cancel()
	if err := p.v.Enroll(ctx, t.t); err != nil {
		return nil, p.refusal("an enroll of "+t.t.String(), err)
	}
	return t, nil
}

// counterBase is the smallest counter enroll draws: 1000, or above the
// measured counters.min.
func (p *prober) counterBase() uint64 {
	if r := p.counterRange; r != nil && r.Min > 0 && r.Min < 1<<62 {
		return r.Min + 1000
	}
	return 1000
}

// totpNow returns the moment at which a TOTP check is made: the simulated
// time for a request clock, the wall clock otherwise.
func (p *prober) totpNow() (time.Time, error) {
	if p.clock == harness.ClockWall {
		return p.wallAt()
	}
	return p.simAt, nil
}

// wallAt returns the wall clock, waiting for the next step when the
// current one has less than 3 s left (or began less than 1 s ago), so
// that a probe made now is judged in the same step on the other side.
func (p *prober) wallAt() (time.Time, error) {
	const period = token.DefaultPeriod
	for range 2 {
		now := p.o.Now()
		into := now.Unix() % period
		if into >= 1 && period-into >= 3 {
			return now, nil
		}
		wait := time.Duration((period-into)%period+1)*time.Second - time.Duration(now.Nanosecond())
		timer := time.NewTimer(wait)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return time.Time{}, p.ctx.Err()
		case <-timer.C:
		}
	}
	return p.o.Now(), nil
}

// code returns the code of counter (or step) c+i.
func (t *tok) code(i int64) string { return t.key.HOTP(t.c + uint64(i)) }

// check submits code at the token's time.
func (t *tok) check(code string) (harness.Reply, error) {
	return t.checkAt(code, t.at)
}

func (t *tok) checkAt(code string, at time.Time) (harness.Reply, error) {
	p := t.p
	if t.t.Kind == harness.TOTP && p.ownClock() {
		at = p.o.Now()
	}
	if err := p.ctx.Err(); err != nil {
		return harness.Reply{}, err
	}
	ctx, cancel := p.reqCtx()
	defer cancel()
	rep, err := p.v.Check(ctx, harness.CheckRequest{Serial: t.t.Serial, Code: code, Time: at})
	if err != nil {
		return rep, &refusedReq{what: t.describeCheck(code, at), err: err}
	}
	return rep, nil
}

// describeCheck names a check of code in the terms of the measurement: the
// HOTP counter whose code it is (or the counter the token was enrolled
// at), the TOTP step, with the serial.
func (t *tok) describeCheck(code string, at time.Time) string {
	if t.t.Kind == harness.HOTP {
		for i := uint64(0); i <= 2048 && t.c+i >= t.c; i++ {
			if t.key.HOTP(t.c+i) == code {
				return fmt.Sprintf("a check at counter %s (HOTP token %s)", counterWords(t.c+i), t.t.Serial)
			}
		}
		return fmt.Sprintf("a check of a HOTP token enrolled at counter %s (%s)", counterWords(t.c), t.t.Serial)
	}
	st, _ := token.Step(at.Unix(), t.t.T0, t.t.Period)
	return fmt.Sprintf("a check at time %d, step %d (TOTP token %s)", at.Unix(), st, t.t.Serial)
}

// counterWords writes a counter near a power of two as that power
// ("2^63", "2^64-1"), any other counter in decimal.
func counterWords(c uint64) string {
	for e := 31; e <= 64; e++ {
		var pow uint64
		if e < 64 {
			pow = 1 << e
		}
		for d := int64(-3); d <= 3; d++ {
			if pow+uint64(d) != c || (e == 64 && d >= 0) {
				continue
			}
			switch {
			case d == 0:
				return fmt.Sprintf("2^%d", e)
			case d > 0:
				return fmt.Sprintf("2^%d+%d", e, d)
			default:
				return fmt.Sprintf("2^%d%d", e, d)
			}
		}
	}
	return fmt.Sprint(c)
}

// resync submits the codes of counters c+k .. c+k+n-1.
func (t *tok) resync(k uint64, n int) (harness.Reply, error) {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = t.key.HOTP(t.c + k + uint64(i))
	}
	p := t.p
	ctx, cancel := p.reqCtx()
	defer cancel()
	rep, err := p.v.Resync(ctx, harness.ResyncRequest{Serial: t.t.Serial, Codes: codes, Time: t.at})
	if err != nil {
		return rep, p.refusal(fmt.Sprintf("a resync with the %d codes from counter %s (HOTP token %s)", n, counterWords(t.c+k), t.t.Serial), err)
	}
	return rep, nil
}

// unlock asks the verifier to unlock the token.
func (t *tok) unlock() error {
	ctx, cancel := t.p.reqCtx()
	defer cancel()
	if err := t.p.v.Unlock(ctx, t.t.Serial); err != nil {
		return t.p.refusal("an unlock of "+t.t.Serial, err)
	}
	return nil
}

// distinct returns a clean predicate: the codes of counters c+i for each
// target i appear nowhere else in [c+lo, c+hi] and differ from each other.
func distinct(lo, hi int64, targets ...int64) func(*token.Key, uint64) bool {
	return func(k *token.Key, c uint64) bool {
		want := make(map[uint32]int64, len(targets))
		for _, t := range targets {
			v := k.Value(c + uint64(t))
			if _, dup := want[v]; dup {
				return false
			}
			want[v] = t
		}
		for i := lo; i <= hi; i++ {
			if t, ok := want[k.Value(c+uint64(i))]; ok && t != i {
				return false
			}
		}
		return true
	}
}

// edge finds the largest x in [lo, max] for which pred holds, given that
// pred(lo) holds and pred is monotone (true up to an edge, false after).
// It tries hint and hint+1 first, then gallops up from lo and bisects.
// atMax reports that pred(max) holds: the edge is max or beyond.
func edge(lo, max uint64, hint *uint64, pred func(uint64) (bool, error)) (x uint64, atMax bool, err error) {
	if lo >= max {
		return max, true, nil
	}
	var hi uint64
	haveHi := false
	if hint != nil && *hint >= lo && *hint <= max {
		h := *hint
		ok := true
		if h > lo {
			if ok, err = pred(h); err != nil {
				return 0, false, err
			}
		}
		if ok {
			lo = h
			if h == max {
				return max, true, nil
			}
			if ok, err = pred(h + 1); err != nil {
				return 0, false, err
			}
			if !ok {
				return h, false, nil
			}
			lo = h + 1
		} else {
			hi, haveHi = h, true
		}
	}
	if !haveHi {
		for step := uint64(1); ; step *= 2 {
			x := lo + step
			if x > max || x < lo {
				x = max
			}
			ok, err := pred(x)
			if err != nil {
				return 0, false, err
			}
			if !ok {
				hi = x
				break
			}
			lo = x
			if x == max {
				return max, true, nil
			}
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := pred(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, false, nil
}

// series starts a chart row and returns a function that records a probe.
func (p *prober) series(name, unit string) func(x int64, accepted bool) {
	p.res.Series = append(p.res.Series, Series{Name: name, Unit: unit})
	i := len(p.res.Series) - 1
	return func(x int64, accepted bool) {
		s := &p.res.Series[i]
		s.Points = append(s.Points, Point{X: x, Accepted: accepted})
	}
}

// describePoints summarises probes as "accepted at 0, 3; rejected at 4".
func describePoints(pts []Point, unit string) string {
	var acc, rej []int64
	for _, pt := range pts {
		if pt.Accepted {
			acc = append(acc, pt.X)
		} else {
			rej = append(rej, pt.X)
		}
	}
	list := func(xs []int64) string {
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ", ")
	}
	var parts []string
	if len(acc) > 0 {
		parts = append(parts, "accepted at "+list(acc))
	}
	if len(rej) > 0 {
		parts = append(parts, "rejected at "+list(rej))
	}
	return fmt.Sprintf("one fresh token per %s: %s", unit, strings.Join(parts, "; "))
}

// add records a finding; requests is the number of requests sent since
// the measurement started (the value of p.res.Requests then).
func (p *prober) add(since int, f Finding) {
	f.Requests = p.res.Requests - since
	p.res.Findings = append(p.res.Findings, f)
}

// unix returns the token's check time in Unix seconds.
func (t *tok) unix() int64 { return t.at.Unix() }

// stepAt returns the TOTP step of the token at Unix second u.
func (t *tok) stepAt(u int64) uint64 {
	s, _ := token.Step(u, t.t.T0, t.t.Period)
	return s
}

// codeAt returns the code of step stepAt(u)+i of a TOTP token.
func (t *tok) codeAt(u int64, i int64) string { return t.key.HOTP(uint64(int64(t.stepAt(u)) + i)) }

// checkUnix submits code at Unix second u, noting a locked reply.
func (t *tok) checkUnix(code string, u int64) (harness.Reply, error) {
	rep, err := t.checkAt(code, time.Unix(u, 0))
	if rep.Locked {
		t.p.mu.Lock()
		t.p.lockedSeen = true
		t.p.mu.Unlock()
	}
	return rep, err
}

// request reports whether the probe controls the verifier's time: the
// verifier takes the request's time, or reads a clock that is set to it
// (an exec verifier under the fake clock, a harness.ClockSetter).
func (p *prober) request() bool { return p.clock != harness.ClockWall || p.setsClock() }

// setsClock reports whether the verifier's own clock is set to each
// request's time.
func (p *prober) setsClock() bool {
	if p.clockOff {
		return false
	}
	cs, ok := p.v.(harness.ClockSetter)
	return ok && cs.SetsClock()
}

// ownClock reports whether a check is judged at the verifier's own time,
// which the probe does not set: then the probe sends its real time.
func (p *prober) ownClock() bool { return p.clock == harness.ClockWall && !p.setsClock() }

// quiet makes the next check of t meet no rate limit, throttle or lock
// that the probe's own earlier checks caused: it unlocks t (which also
// resets the failure count and clears the rate-limit history) when the
// verifier supports unlock, and otherwise lets Wait seconds pass on t's
// clock. It reports whether the token is quiet for sure (false when only
// time passed and a lock that never releases may remain).
func (p *prober) quiet(t *tok) (bool, error) {
	if p.unlockOK >= 0 {
		err := t.unlock()
		switch {
		case err == nil:
			p.unlockOK = 1
			return true, nil
		case errors.Is(err, errRefused):
			p.unlockOK = -1
		default:
			return false, err
		}
	}
	if p.request() {
		t.at = t.at.Add(Wait * time.Second)
	}
	return false, nil
}
