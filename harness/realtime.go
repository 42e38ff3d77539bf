package harness

import (
	"context"
	"fmt"
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

// measureOffset submits, on fresh TOTP tokens (period 30) one code each,
// the codes of the steps around the local now in ascending order: the
// first accepted step is the lower edge of the verifier's window, T-B,
// which gives the verifier's step. One check per token keeps the probes
// clear of every per-token rule (throttle, rate limit, lockout, reuse).
// It sets r.offset (seconds, a multiple of the period) and r.offsetKnown,
// and returns a note for the report.
func (r *run) measureOffset(ctx context.Context) string {
	p := r.p
	switch {
	case !p.SupportsKind(TOTP) || p.TOTP == nil:
		return "clock offset not measured: the profile claims no totp tokens with a skew policy"
	case !p.SupportsPeriod(measurePeriod):
		return fmt.Sprintf("clock offset not measured: the profile's totp.periods exclude %d s", measurePeriod)
	}
	alg := token.SHA1
	if !p.SupportsAlgorithm(alg) {
		alg, _ = token.ParseAlgorithm(p.Algorithms[0])
	}
	digits := 6
	if !p.SupportsDigits(6) {
		digits = p.Digits[0]
	}
	rng := rand.New(rand.NewPCG(r.seed, 0xc10c))
	call := func(f func(context.Context) error) error {
		c, cancel := context.WithTimeout(ctx, r.timeout)
		defer cancel()
		return f(c)
	}
	// The first accepted step is T'-B for T' within offsetReach steps of
	// the local step: at most 2*offsetReach rejections come first.
	const tries = 2*offsetReach + 1
	toks := make([]Token, tries)
	keys := make([]*token.Key, tries)
	for i := range toks {
		secret := make([]byte, alg.Size())
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		key, err := token.NewKey(secret, alg, digits)
		if err != nil {
			return fmt.Sprintf("clock offset not measured: %v", err)
		}
		keys[i] = key
		toks[i] = Token{Serial: r.nextSerial('3'), Kind: TOTP, Algorithm: alg, Digits: digits, Secret: key.Secret(), Period: measurePeriod}
		if err := call(func(c context.Context) error { return r.v.Enroll(c, toks[i]) }); err != nil {
			return fmt.Sprintf("clock offset not measured: enroll of a measuring token: %v", err)
		}
	}
	if err := r.awayFromBoundary(ctx, "", 0, measurePeriod, boundaryGuard, 3*boundaryGuard); err != nil {
		return fmt.Sprintf("clock offset not measured: %v", err)
	}
	now := r.now()
	local, _ := token.Step(now.Unix(), 0, measurePeriod)
	b := p.TOTP.SkewBack
	lo := local - min(local, b+offsetReach)
	for i := range toks {
		s := lo + uint64(i)
		var rep Reply
		err := call(func(c context.Context) error {
			var e error
			rep, e = r.v.Check(c, CheckRequest{Serial: toks[i].Serial, Code: keys[i].HOTP(s), Time: r.now()})
			return e
		})
		if err != nil {
			return fmt.Sprintf("clock offset not measured: check: %v", err)
		}
		if rep.Accepted {
			d := int64(s+b) - int64(local)
			if d < -offsetReach || d > offsetReach {
				break
			}
			r.offset, r.offsetKnown = d*measurePeriod, true
			return fmt.Sprintf("clock offset %+d s (the verifier's clock against the local clock, to one %d s step)", r.offset, measurePeriod)
		}
	}
	return fmt.Sprintf("clock offset unknown: the verifier accepted no code of the steps within %d steps of the local clock", offsetReach)
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
	if r.offset < -measurePeriod || r.offset > measurePeriod {
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

// maxRealWait is the longest a case judged on real time waits.
const maxRealWait = 40

// later returns at moved on by d seconds: on the simulated clock at once,
// and in real-time mode after waiting d seconds (a case SKIPs when d is
// more than maxRealWait).
func (t *ct) later(at time.Time, d int64) time.Time {
	if !t.run.realTime() {
		return at.Add(time.Duration(d) * time.Second)
	}
	if d > maxRealWait {
		t.skip("the case needs %d s to pass, more than the %d s a case waits on real time", d, maxRealWait)
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
