package probe

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
)

// copies is the number of concurrent submissions of one code per trial.
const copies = 8

// concurrency measures whether concurrent submissions of one code are
// served atomically: in each trial a fresh token gets its correct code
// copies times at once, and a trial in which more than one copy was
// accepted is a double acceptance (RFC 4226 §7.2: a code is accepted once).
// This is a finding, not a profile field: a race shows up only now and
// then, so the finding gives the trial count and the observed rate.
func (p *prober) concurrency() error {
	since := p.res.Requests
	if p.o.Trials < 0 {
		return nil
	}
	cfg := p.primary()
	if cfg.kind == harness.TOTP && p.reuse == harness.ReuseAny {
		p.add(since, Finding{Name: "concurrency", Value: "-", Certainty: NotMeasured,
			Evidence: "the verifier has no TOTP replay protection (reuse any) and no HOTP token: every concurrent copy of a code is accepted by design"})
		return nil
	}
	gi := p.goodIndex(cfg.kind)
	doubles, most := 0, 0
	for range p.o.Trials {
		t, err := p.enroll(cfg, time.Time{}, distinct(-p.span(cfg.kind), p.span(cfg.kind), gi))
		if err != nil {
			return err
		}
		code := t.code(gi)
		p.res.Requests += copies
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		var firstErr error
		for range copies {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(p.ctx, p.o.Timeout)
				defer cancel()
				rep, err := p.v.Check(ctx, harness.CheckRequest{Serial: t.t.Serial, Code: code, Time: t.at})
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil && rep.Accepted {
					accepted++
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return fmt.Errorf("check %s: %w", t.t.Serial, firstErr)
		}
		if accepted > 1 {
			doubles++
		}
		most = max(most, accepted)
	}
	f := Finding{Name: "concurrency", Value: fmt.Sprintf("atomic: 0 of %d trials accepted a code twice", p.o.Trials), Certainty: NotObserved,
		Evidence: fmt.Sprintf("%d trials, each %d concurrent checks of one correct code on a fresh token: never more than one accepted (observed rate 0/%d; a rarer race cannot be ruled out)", p.o.Trials, copies, p.o.Trials)}
	if doubles > 0 {
		f.Value, f.Certainty, f.Departs = fmt.Sprintf("not atomic: %d of %d trials accepted a code twice", doubles, p.o.Trials), Exact, true
		f.Evidence = fmt.Sprintf("%d trials, each %d concurrent checks of one correct code on a fresh token: %d trials accepted it more than once (up to %d times), an observed rate of %.0f%% (RFC 4226 §7.2)",
			p.o.Trials, copies, doubles, most, 100*float64(doubles)/float64(p.o.Trials))
	}
	p.add(since, f)
	return nil
}

// flows measures the purposes check serves: for each purpose, a fresh
// token's correct code typed at that door.
func (p *prober) flows() error {
	since := p.res.Requests
	cfg := p.primary()
	gi := p.goodIndex(cfg.kind)
	var served, not []string
	for _, purpose := range harness.Purposes() {
		t, err := p.enroll(cfg, time.Time{}, distinct(-p.span(cfg.kind), p.span(cfg.kind), gi))
		if err != nil {
			return err
		}
		ctx, cancel := p.reqCtx()
		rep, err := p.v.Check(ctx, harness.CheckRequest{Serial: t.t.Serial, Code: t.code(gi), Time: t.at, Purpose: purpose})
		cancel()
		if err != nil && p.fatal(err) {
			return fmt.Errorf("check %s: %w", t.t.Serial, err)
		}
		if err == nil && rep.Accepted {
			served = append(served, purpose)
		} else {
			not = append(not, purpose)
		}
	}
	p.flowList = served
	ev := "the correct code of a fresh token, typed for each purpose: served " + strings.Join(served, ", ")
	if len(not) > 0 {
		ev += "; not served " + strings.Join(not, ", ")
	}
	p.add(since, Finding{Name: "flows", Value: strings.Join(served, ", "), Certainty: Exact, Evidence: ev})
	return nil
}
