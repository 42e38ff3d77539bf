package probe

import (
	"github.com/otplab/otplab/harness"
)

// checkClock checks, once, that a clock the client sets to each request's
// time (a harness.ClockSetter that reports true) is the clock the verifier
// reads, with sentinel TOTP tokens of cfg at the times the probe uses: the
// present, a Wait later (the probe lets Wait seconds pass on a token's
// clock to outlast a refusal) and the simulated time at which it tells a
// verifier that takes the request's time. A clock that does not follow at all makes
// the probe treat the verifier as one on its own clock (real time). The
// finding "clock-check" says what was verified.
func (p *prober) checkClock(cfg config) error {
	if p.clockChecked || !p.setsClock() {
		return nil
	}
	p.clockChecked = true
	since := p.res.Requests
	now := p.o.Now().Unix()
	o := harness.ClockCheckOptions{Algorithm: cfg.alg, Digits: cfg.digits, Window: int64(p.o.MaxSkew), Seed: p.o.Seed,
		Timeout: p.o.Timeout, Now: p.o.Now, Serial: func() string { return p.nextSerial(harness.TOTP) },
		Hint: `the probe measures only what the verifier's clock reaches`}
	c, err := harness.CheckClock(p.ctx, p.v, []int64{p.simAt.Unix(), now, now + Wait}, o)
	p.mu.Lock()
	p.res.Requests += c.Requests
	p.mu.Unlock()
	if err != nil {
		if p.fatal(err) {
			return err
		}
		c.Verdict, c.Note = harness.ClockUnverified, err.Error()
	}
	f := Finding{Name: "clock-check", Value: c.Verdict, Certainty: Exact, Evidence: c.Note}
	switch c.Verdict {
	case harness.ClockRealTime:
		p.clockOff = true
		f.Evidence += "; probed as a verifier on its own clock"
	case harness.ClockUnverified:
		f.Certainty = CouldNotTell
	}
	p.add(since, f)
	return nil
}
