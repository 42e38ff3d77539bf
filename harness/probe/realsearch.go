package probe

import (
	"fmt"
	"sort"
	"time"
)

// The searches on real time. Time passing is what costs there, not
// requests: a refusal is scanned second by second on one token (a refused
// check is not a failure and changes nothing but the rate limit's
// history, which the scan respects), and searches that need fresh tokens
// prepare them together and probe them in the order of their seconds, so
// that their waits overlap.

// maxCandidates bounds the fresh tokens of one round of a real-time
// search.
const maxCandidates = 32

// scanUnblock is unblock on real time: the correct code at every second
// after the last failure (or the first the rate limit lets through) on one
// token, up to the horizon. finite is false when it was refused throughout.
// When the rate limit (or a late request) leaves a gap between the last
// refusal and the acceptance, fresh tokens probe the seconds between.
func (p *prober) scanUnblock(bt *blockTok, build func() (*blockTok, error), lo int64) (int64, bool, error) {
	if bt == nil || bt.used || lo < bt.probes {
		var err error
		if bt, err = build(); err != nil {
			return 0, false, err
		}
	}
	h := p.horizon()
	prev := lo
	p.announce(time.Duration(h-lo) * time.Second)
	for x := lo + 1; x <= h; {
		at := p.rateFree(bt, bt.last+x)
		if at-bt.last > h {
			break
		}
		ok, err := bt.goodAt(at)
		if err != nil {
			return 0, false, err
		}
		off := at - bt.last // further than planned after a late request
		if !ok {
			prev, x = off, off+1
			continue
		}
		if off-prev > 1 {
			return p.refine(build, prev, off)
		}
		return off, true, nil
	}
	return 0, false, nil
}

// refine finds the first second in (lo, hi] at which the correct code is
// accepted on tokens that build makes, given that it is refused at lo and
// accepted at hi: one fresh token per second between (built together),
// probed in order.
func (p *prober) refine(build func() (*blockTok, error), lo, hi int64) (int64, bool, error) {
	xs := spread(lo, hi, maxCandidates)
	toks := make([]*blockTok, len(xs))
	jobs := make([]func() error, len(xs))
	for i := range xs {
		jobs[i] = func() error {
			bt, err := build()
			toks[i] = bt
			return err
		}
	}
	if err := p.together(jobs); err != nil {
		return 0, false, err
	}
	for i, x := range xs {
		bt := toks[i]
		if p.rateFree(bt, bt.last+x) != bt.last+x {
			continue
		}
		ok, err := bt.goodAt(bt.last + x)
		if err != nil {
			return 0, false, err
		}
		if ok {
			return x, true, nil
		}
	}
	return hi, true, nil
}

// spread returns the seconds strictly between lo and hi, or n of them
// evenly spaced when there are more.
func spread(lo, hi int64, n int) []int64 {
	var xs []int64
	if hi-lo-1 <= int64(n) {
		for x := lo + 1; x < hi; x++ {
			xs = append(xs, x)
		}
		return xs
	}
	seen := map[int64]bool{}
	for i := 1; i <= n; i++ {
		x := lo + (hi-lo)*int64(i)/int64(n+1)
		if x > lo && x < hi && !seen[x] {
			seen[x] = true
			xs = append(xs, x)
		}
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs
}

// firstTrue finds on real time the smallest x in (lo, horizon] at which
// a probe holds, probes being false up to an edge and true from there.
// prepare(x) readies a fresh token (enroll and the requests at its start,
// which wait for nothing) and returns its probe, which waits for second x
// of the token's clock. Each round prepares its candidates together and
// probes them in order until one holds: first the galloping seconds lo+1,
// lo+2, lo+4, ... up to the horizon, then the seconds between the last
// that failed and the first that held. rec, when set, records each probe.
// ok is false when no probe up to the horizon held.
//
// A probe also says whether its request slipped: went out, or was
// answered, in a later second than planned. Probes hold from the edge on,
// so a probe that slipped and held proves nothing about x: it runs again
// on a fresh token prepared then (up to rtTries in all, then errTooSlow);
// one that slipped and did not hold is kept.
func (p *prober) firstTrue(lo int64, prepare func(x int64) (timedProbe, error), rec func(x int64, v bool)) (int64, bool, error) {
	h := p.horizon()
	var xs []int64
	for step := int64(1); lo+step < h; step *= 2 {
		xs = append(xs, lo+step)
	}
	xs = append(xs, h)
	hi := int64(-1)
	for {
		probes := make([]timedProbe, len(xs))
		for i, x := range xs {
			pr, err := prepare(x)
			if err != nil {
				return 0, false, err
			}
			probes[i] = pr
		}
		for i, x := range xs {
			v, err := p.onTimeProbe(x, probes[i], prepare)
			if err != nil {
				return 0, false, err
			}
			if rec != nil {
				rec(x, v)
			}
			if v {
				hi = x
				break
			}
			lo = x
		}
		if hi < 0 {
			return 0, false, nil
		}
		if hi-lo <= 1 {
			return hi, true, nil
		}
		xs = spread(lo, hi, maxCandidates)
	}
}

// timedProbe sends a prepared probe's request at its second and reports
// whether it held and whether the request slipped into a later second
// than planned.
type timedProbe func() (held, slipped bool, err error)

// onTimeProbe runs pr, a probe prepared for x, and while it holds after
// slipping, probes x again on a fresh token (firstTrue).
func (p *prober) onTimeProbe(x int64, pr timedProbe, prepare func(x int64) (timedProbe, error)) (bool, error) {
	for i := 1; ; i++ {
		v, slipped, err := pr()
		if err != nil || !v || !slipped {
			return v, err
		}
		p.noteSlip()
		if i == rtTries {
			return false, fmt.Errorf("a probe %d s after its token's first requests (%d tries on fresh tokens): %w", x, rtTries, errTooSlow)
		}
		if pr, err = prepare(x); err != nil {
			return false, err
		}
	}
}
