package harness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/otplab/otplab/token"
)

// Real-time mode: a verifier whose profile says clock "wall" and whose
// clock the adapter cannot set (an HTTP verifier, or exec without
// libfaketime) is judged on the real clock. Before the cases the run
// measures the verifier's clock against the local one with one TOTP token;
// the cases marked realtime then place their codes on the real clock,
// shifted by the measured offset.

// realTime reports whether the run judges the verifier on the real clock.
func (r *run) realTime() bool { return r.p.Clock == ClockWall && !r.clockSet }

// offsetReach is how many steps either way the offset measurement looks.
const offsetReach = 2

// measurePeriod is the step length of the measuring token.
const measurePeriod = 30

// boundaryGuard is how close to a step boundary (in seconds) the local
// clock may be when a code is placed: closer, the harness waits.
const boundaryGuard = 3

// measureOffset measures the verifier's clock against the local one, on
// fresh TOTP tokens (period 30) with one check each, which keeps the
// probes clear of every per-token rule (throttle, rate limit, lockout,
// reuse). First the step: the codes of the steps around the local now, in
// ascending order; the first accepted is the lower edge of the verifier's
// window, T-B, which gives its step T. Then, when the profile claims t0,
// the second within the step: a token with t0 = k is a step behind exactly
// when k is past the verifier's second in its step, which a code of step
// T-B-1 (accepted only a step behind) tells; a bisection over k finds that
// second. It sets r.offset (seconds) and r.offsetKnown, and returns a note
// for the report.
func (r *run) measureOffset(ctx context.Context) string {
	p := r.p
	switch {
	case !p.SupportsKind(TOTP) || p.TOTP == nil:
		return "clock offset not measured: the profile claims no totp tokens with a skew policy"
	case !p.SupportsPeriod(measurePeriod):
		return fmt.Sprintf("clock offset not measured: the profile's totp.periods exclude %d s", measurePeriod)
	}
	m := &offsetProbe{r: r, ctx: ctx, rng: rand.New(rand.NewPCG(r.seed, 0xc10c)), alg: token.SHA1, digits: 6}
	if !p.SupportsAlgorithm(m.alg) {
		m.alg, _ = token.ParseAlgorithm(p.Algorithms[0])
	}
	if !p.SupportsDigits(6) {
		m.digits = p.Digits[0]
	}
	var note string
	for range 2 {
		var again bool
		note, again = r.measureOnce(m)
		if !again {
			break
		}
	}
	return note
}

// measureOnce is one measurement; again is set when the verifier's step
// changed while the second was being measured (it is then repeated once).
func (r *run) measureOnce(m *offsetProbe) (note string, again bool) {
	b := r.p.TOTP.SkewBack
	if err := r.awayFromBoundary(m.ctx, "", 0, measurePeriod, boundaryGuard, 3*boundaryGuard); err != nil {
		return fmt.Sprintf("clock offset not measured: %v", err), false
	}
	local, _ := token.Step(r.now().Unix(), 0, measurePeriod)
	lo := local - min(local, b+offsetReach)
	// The first accepted step is T-B for T within offsetReach steps of
	// the local step: at most 2*offsetReach rejections come first.
	var step uint64
	found := false
	for s := lo; s <= lo+2*offsetReach; s++ {
		ok, err := m.probe(0, s)
		if err != nil {
			return fmt.Sprintf("clock offset not measured: %v", err), false
		}
		if ok {
			step, found = s+b, true
			break
		}
	}
	if d := int64(step) - int64(local); !found || d < -offsetReach || d > offsetReach {
		return fmt.Sprintf("clock offset unknown: the verifier accepted no code of the steps within %d steps of the local clock", offsetReach), false
	}
	if !r.p.SupportsT0(1) {
		return r.watchStep(m, step)
	}
	// The verifier's second in step T, sec: a token with t0 = k is at step
	// T-1 exactly when k > sec, where the code of T-B-1 is accepted.
	start := r.now()
	lo2, hi2 := int64(0), int64(measurePeriod) // sec in [lo2, hi2)
	for hi2-lo2 > 1 {
		k := (lo2 + hi2) / 2
		behind, err := m.probe(k, step-b-1)
		if err != nil {
			return fmt.Sprintf("clock offset not measured: %v", err), false
		}
		if behind {
			hi2 = k
		} else {
			lo2 = k
		}
	}
	// The step must not have moved on meanwhile: the code of T-B is still
	// accepted at t0 0.
	still, err := m.probe(0, step-b)
	if err != nil {
		return fmt.Sprintf("clock offset not measured: %v", err), false
	}
	if !still {
		return "clock offset unknown: the verifier's step moved on while its second was measured", true
	}
	verifier := float64(int64(step)*measurePeriod+lo2) + 0.5
	off := verifier - float64(start.UnixNano())/1e9
	r.offset, r.offsetKnown = int64(math.Round(off)), true
	return fmt.Sprintf("clock offset %+d s (the verifier's clock against the local clock, to about a second: its step, then its second within the step found with tokens of t0 0 to 29)", r.offset), false
}

// watchStep finds the verifier's second without t0: it checks the code of
// T-B on a fresh token each second until it is rejected, which says the
// verifier's step has become T+1 since the check before (at most one step
// and a few probes of waiting).
func (r *run) watchStep(m *offsetProbe, step uint64) (string, bool) {
	b := r.p.TOTP.SkewBack
	before := r.now()
	r.waiting("", measurePeriod, "the verifier's step to change, which gives its second (the profile claims no t0)")
	for range measurePeriod + 2 {
		select {
		case <-time.After(time.Second):
		case <-m.ctx.Done():
			return fmt.Sprintf("clock offset not measured: interrupted: %v", m.ctx.Err()), false
		}
		at := r.now()
		still, err := m.probe(0, step-b)
		if err != nil {
			return fmt.Sprintf("clock offset not measured: %v", err), false
		}
		if !still {
			// The boundary 30(T+1) came between before and at.
			mid := float64(before.UnixNano()+at.UnixNano()) / 2e9
			r.offset, r.offsetKnown = int64(math.Round(float64(int64(step+1)*measurePeriod)-mid)), true
			return fmt.Sprintf("clock offset %+d s (the verifier's clock against the local clock, to about a second: its step, then the moment that step ended, watched once a second)", r.offset), false
		}
		before = at
	}
	return "clock offset unknown: the verifier's step did not change within one step of watching", false
}

// offsetProbe makes the measuring tokens: each is fresh, with its own
// secret, and is checked once.
type offsetProbe struct {
	r      *run
	ctx    context.Context
	rng    *rand.Rand
	alg    token.Algorithm
	digits int
}

// probe enrolls a fresh token with t0 and reports whether the verifier
// accepts the code of step s at once.
func (m *offsetProbe) probe(t0 int64, s uint64) (bool, error) {
	r := m.r
	secret := make([]byte, m.alg.Size())
	for j := range secret {
		secret[j] = byte(m.rng.Uint32())
	}
	key, err := token.NewKey(secret, m.alg, m.digits)
	if err != nil {
		return false, err
	}
	tok := Token{Serial: r.nextSerial('3'), Kind: TOTP, Algorithm: m.alg, Digits: m.digits, Secret: key.Secret(), Period: measurePeriod, T0: t0}
	c, cancel := context.WithTimeout(m.ctx, r.timeout)
	defer cancel()
	if err := r.v.Enroll(c, tok); err != nil {
		return false, fmt.Errorf("enroll of a measuring token: %w", err)
	}
	rep, err := r.v.Check(c, CheckRequest{Serial: tok.Serial, Code: key.HOTP(s), Time: r.now()})
	if err != nil {
		return false, fmt.Errorf("check: %w", err)
	}
	return rep.Accepted, nil
}

// awayFromBoundary waits until the local clock is at least before seconds
// past a boundary of the steps (t0, period) and at least after seconds
// before the next one (before+after < period). It gives up after a few
// waits: a clock that does not advance.
func (r *run) awayFromBoundary(ctx context.Context, id string, t0, period, before, after int64) error {
	for range 4 {
		now := r.now().Unix()
		into := (now - t0) % period
		if into < 0 {
			into += period
		}
		var d int64
		switch {
		case into < before:
			d = before - into
		case into > period-after:
			d = period - into + before
		default:
			return nil
		}
		r.waiting(id, d, "a step boundary to pass")
		select {
		case <-time.After(time.Duration(d) * time.Second):
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for a step boundary to pass: %w", ctx.Err())
		}
	}
	return fmt.Errorf("the local clock (Options.Now) stayed near a step boundary through 4 waits: it does not advance in real time")
}

// realTimeReason returns why a realtime case cannot be judged on the real
// clock, or "" when it can.
func (r *run) realTimeReason() string {
	if !r.offsetKnown {
		return "the verifier reads its own clock and its offset against the local clock is unknown (" + r.report.ClockNote + ")"
	}
	// The offset is known to about a second: a clock one step off may
	// measure a second more.
	if r.offset < -measurePeriod-1 || r.offset > measurePeriod+1 {
		return fmt.Sprintf("the verifier's clock is %+d s off the local clock, more than one step", r.offset)
	}
	return ""
}

// stepNow returns the time to place a code at and the verifier's step for
// a token with steps (t0, period): the middle of the current step on the
// simulated clock, or the real now (moved by the measured offset) at least
// boundaryGuard seconds from a step boundary in real-time mode.
func (t *ct) stepNow(t0, period int64) (time.Time, uint64) { return t.stepNowFor(t0, period, 0) }

// stepNowFor is stepNow for a case that stays span more seconds in the
// step: in real-time mode the step has span+boundaryGuard seconds left.
func (t *ct) stepNowFor(t0, period, span int64) (time.Time, uint64) {
	if !t.run.realTime() {
		return midStep(t.simNow, t0, period)
	}
	if err := t.run.awayFromBoundary(t.ctx, t.def.id, t0-t.run.offset, period, boundaryGuard, boundaryGuard+span); err != nil {
		t.abort("%v", err)
	}
	return t.realNow(t0, period)
}

// realNow is the verifier's time in real-time mode (the local clock moved
// by the measured offset) and its step.
func (t *ct) realNow(t0, period int64) (time.Time, uint64) {
	at := t.run.now().Add(time.Duration(t.run.offset) * time.Second)
	st, _ := token.Step(at.Unix(), t0, period)
	return at, st
}

// maxRealWait is the longest a case judged on real time waits for steps
// to pass, in seconds: Options.MaxWait (--max-wait), by default
// DefaultMaxWait. The time-step cases wait at once, so a run takes about
// its longest case.
func (t *ct) maxRealWait() int64 {
	if w := t.run.opts.MaxWait; w > 0 {
		return int64(w / time.Second)
	}
	return int64(DefaultMaxWait / time.Second)
}

// later returns at moved on by d seconds: on the simulated clock at once,
// and in real-time mode after waiting d seconds (a case SKIPs when d is
// more than maxRealWait).
func (t *ct) later(at time.Time, d int64) time.Time {
	if !t.run.realTime() {
		return at.Add(time.Duration(d) * time.Second)
	}
	if d > t.maxRealWait() {
		t.skip("the case needs %d s to pass, more than the %d s a case waits on real time (--max-wait)", d, t.maxRealWait())
	}
	t.run.waiting(t.def.id, d, "time to pass")
	select {
	case <-time.After(time.Duration(d) * time.Second):
	case <-t.ctx.Done():
		t.abort("interrupted while waiting %d s", d)
	}
	at, _ = t.realNow(0, 1)
	return at
}

// waiting tells Options.Waiting about a wait of d seconds.
func (r *run) waiting(id string, d int64, why string) {
	if r.opts.Waiting != nil {
		r.opts.Waiting(Waiting{ID: id, For: time.Duration(d) * time.Second, Why: why, InFlight: int(r.inFlight.Load())})
	}
}

// realStep60 places period-60's code on real time in the second half of a
// 60 s step (where the 30 s step count is odd): with a t0 chosen so that
// the verifier's now is 45 s into a step when the profile claims t0 other
// than 0, else after waiting for the second half of a step (at most 36 s).
func (t *ct) realStep60() (t0 int64, at time.Time, st uint64) {
	if t.profile().SupportsT0(1) {
		now, _ := t.realNow(0, 60)
		t0 = ((now.Unix()-45)%60 + 60) % 60
		at, st = t.realNow(t0, 60)
		return t0, at, st
	}
	if err := t.run.awayFromBoundary(t.ctx, t.def.id, 30-t.run.offset, 60, boundaryGuard, 30+boundaryGuard); err != nil {
		t.abort("%v", err)
	}
	at, st = t.realNow(0, 60)
	return 0, at, st
}

// minRealPeriod is the shortest step a case judged on real time gives a
// token when a shorter step makes the steps it needs pass sooner.
const minRealPeriod = 10

// floorMod is a mod b in [0, b) for b > 0.
func floorMod(a, b int64) int64 { return (a%b + b) % b }

// steps places a case's checks on the steps of one token: on the simulated
// clock in the middle of each step, at once; on real time at the
// verifier's now (the local clock moved by the measured offset), at least
// boundaryGuard seconds from a step boundary, waiting for each step to
// begin.
type steps struct {
	t      *ct
	t0     int64
	period int64
	real   bool
}

// realWaitBound is the longest a case waits on real time for k step
// boundaries of period-second steps to pass (a case staying span seconds
// in its step when k is 0): with a chosen t0 the first boundary comes
// 2*boundaryGuard+1 s after the first check, else the case may first wait
// to be clear of a boundary and then a whole step.
func realWaitBound(k, span, period int64, chosenT0 bool) int64 {
	switch {
	case k == 0 && chosenT0:
		return 0
	case k == 0:
		return 2*boundaryGuard + span
	case chosenT0:
		return 2*boundaryGuard + 1 + (k-1)*period
	}
	return 2*boundaryGuard + k*period
}

// realPeriod is the step a case judged on real time gives its token when
// it needs steps to pass: the shortest the profile claims of at least
// minRealPeriod seconds, else the usual one.
func (t *ct) realPeriod() int64 {
	p := t.profile()
	if p.TOTP == nil || len(p.TOTP.Periods) == 0 {
		return minRealPeriod
	}
	best := int64(0)
	for _, per := range p.TOTP.Periods {
		if per >= minRealPeriod && (best == 0 || per < best) {
			best = per
		}
	}
	if best == 0 {
		return t.period()
	}
	return best
}

// planSteps prepares a case whose checks visit the steps st, st+1, ...,
// st+k of one token (k step boundaries pass between its first and its
// last check; with k 0 the case stays span seconds in one step) and
// returns the plan and st. On the simulated clock the token has t0 0 and
// the usual period. On real time a case that needs steps to pass takes
// the shortest claimed step of at least minRealPeriod s; when the profile
// claims totp.t0 the token's t0 is chosen to put the verifier's now
// boundaryGuard s into a step (k 0) or boundaryGuard+1 s before its end,
// so that no wait comes first; otherwise the case waits to be clear of a
// boundary. The case SKIPs when the waits could exceed maxRealWait, and
// says so.
func (t *ct) planSteps(k, span int64) (*steps, uint64) {
	if !t.run.realTime() {
		per := t.period()
		_, st := midStep(t.simNow, 0, per)
		return &steps{t: t, period: per}, st
	}
	per := t.period()
	if k > 0 {
		per = t.realPeriod()
	}
	chosen := t.profile().SupportsT0(1)
	if per < 2*boundaryGuard+2+span {
		t.skip("on real time the case needs a step of at least %d s (%d s clear of either boundary), longer than the %d s step the profile claims", 2*boundaryGuard+2+span, boundaryGuard, per)
	}
	if w := realWaitBound(k, span, per, chosen); w > t.maxRealWait() {
		how := "the profile claims no t0 other than 0 (totp.t0), so no t0 can move the steps"
		if chosen {
			how = "even with a t0 chosen to put a boundary right after the first check"
		}
		t.skip("on real time the case needs %d step boundaries of the verifier's clock to pass: up to %d s with %d s steps (the shortest the profile claims of at least %d s), more than the %d s a case waits on real time (--max-wait); %s. The request's clock, or a clock the harness sets (--clock fake, exec verifiers), judges it",
			k, w, per, minRealPeriod, t.maxRealWait(), how)
	}
	s := &steps{t: t, period: per, real: true}
	if chosen {
		pos := int64(boundaryGuard)
		if k > 0 {
			pos = per - boundaryGuard - 1
		}
		now, _ := t.realNow(0, 1)
		s.t0 = floorMod(now.Unix()-pos, per)
	} else if err := t.run.awayFromBoundary(t.ctx, t.def.id, -t.run.offset, per, boundaryGuard, boundaryGuard+span); err != nil {
		t.abort("%v", err)
	}
	at, st := t.realNow(s.t0, per)
	passing := ""
	if k > 0 {
		passing = fmt.Sprintf("; %d step boundaries pass for real", k)
	}
	t.note("judged on real time: %d s steps, t0 %d (the verifier's now %d s into step %d, its clock %+d s off the local one)%s",
		per, s.t0, at.Unix()-token.StepStart(st, s.t0, per), st, t.run.offset, passing)
	return s, st
}

// at returns the time of a check in step st: its middle on the simulated
// clock; on real time the verifier's now, after waiting until it is
// boundaryGuard s into step st. The case ends as ERROR when the verifier's
// clock is already past step st or too near its end (replies too slow, or
// a local clock that jumped).
func (s *steps) at(st uint64) time.Time {
	start := token.StepStart(st, s.t0, s.period)
	if !s.real {
		return time.Unix(start+s.period/2, 0)
	}
	t := s.t
	now, _ := t.realNow(s.t0, s.period)
	if d := time.Unix(start+boundaryGuard, 0).Sub(now); d > 0 {
		t.run.waiting(t.def.id, int64((d+time.Second-1)/time.Second), fmt.Sprintf("step %d to begin", st))
		select {
		case <-time.After(d):
		case <-t.ctx.Done():
			t.abort("interrupted while waiting for step %d", st)
		}
	}
	at, cur := t.realNow(s.t0, s.period)
	if into := at.Unix() - token.StepStart(cur, s.t0, s.period); cur != st || into > s.period-boundaryGuard {
		t.abort("harness: a check meant for step %d of the verifier's clock would come %d s into step %d (too slow replies, or a local clock that jumped): not judged", st, into, cur)
	}
	return at
}

// placeStep returns a t0 that puts the verifier's now in the middle of
// step st of a token with the given period, and that now (real time). A
// step later than the verifier's now needs a negative t0.
func (t *ct) placeStep(st uint64, period int64) (int64, time.Time) {
	now, _ := t.realNow(0, 1)
	return now.Unix() - int64(st)*period - period/2, now
}

// totpNegT0 enrolls a TOTP token like t.totp (o.secret, when set, is the
// secret; no clean predicate), except that a verifier refusing a negative
// t0 does not end the case: the refusal's message is returned with a nil
// sim. A refusal of any other token the profile claims is a FAIL, as for
// t.totp.
func (t *ct) totpNegT0(o tokOpts) (*sim, string) {
	o.kind = TOTP
	o = t.defaults(o)
	if !t.profile().SupportsKind(TOTP) {
		t.skip("the profile does not claim totp tokens")
	}
	secret := o.secret
	if secret == nil {
		secret = make([]byte, o.alg.Size())
		for i := range secret {
			secret[i] = byte(t.rng.Uint32())
		}
	}
	key, err := token.NewKey(secret, o.alg, o.digits)
	if err != nil {
		t.abort("harness: %v", err)
	}
	tok := Token{Serial: t.run.nextSerial('2'), Kind: TOTP, Algorithm: o.alg, Digits: o.digits, Secret: key.Secret(), Period: o.period, T0: o.t0}
	ctx, cancel := t.reqCtx()
	err = t.run.v.Enroll(ctx, tok)
	cancel()
	if err != nil {
		var refused *RefusedError
		if o.t0 < 0 && errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
			return nil, refused.Message
		}
		t.enrollErr(tok, err)
	}
	s := &sim{t: t, tok: tok, key: key, tr: newTracker(newModel(t.profile(), tok, key, t.quirks))}
	t.mu.Lock()
	t.sims = append(t.sims, s)
	t.mu.Unlock()
	s.tell("enrolled %s", tok)
	return s, ""
}
