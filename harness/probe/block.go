package probe

import (
	"fmt"
	"slices"
	"time"

	"github.com/otplab/otplab/harness"
)

// The block family: rate limit, lockout (with release_after,
// resync_unlocks and counts_resync) and throttle. Each refuses the correct
// code for a while; they differ in what starts the refusal (checks of any
// outcome, or failures), in how long it lasts (a window, forever or until
// a release, a delay that grows with the failures) and in what a further
// failure does. The probe tells them apart with the request clock:
//
//   - the rate limit first, with accepted codes only, so that no failure
//     is involved: N correct codes at one moment, the (N+1)-th refused, and
//     the window S from the moment the refusal ends;
//   - then the first number of failures F after which the correct code is
//     refused. Without a rate limit the failures are all sent at one
//     moment (a lock or a throttle then lasts, and the count is monotone);
//     with one they are Wait seconds apart, so that every failure is
//     compared and counted, and the numbers are scanned one by one from 1
//     (a lock that releases by itself restarts the count, which only a
//     scan from 1 cannot miss);
//   - then how long the refusal lasts (galloping and bisecting simulated
//     time, up to Wait: beyond, it is a lock that never releases);
//   - a refusal that ends is a throttle or a lock that releases: one more
//     failure after it ends tells them apart (a throttle refuses again, for
//     the next delay, which gives the factor; a released lock has counted
//     from 0 again);
//   - with a throttle known, failures spaced by its delays find a lockout
//     beyond it.
//
// A refusal that the rate limit could also explain is never taken as
// evidence: probes are placed where the rate limit lets a check through,
// and what could only be seen under it is reported as "could not tell".
//
// On real time (realtime.go) the same steps run with real seconds: the
// refusals are scanned second by second on one token (scanUnblock), the
// failures under a rate limit go at the first second it lets through
// rather than Wait apart, every check meant to be past a delay goes a
// second past it (margin), and nothing waits longer than MaxWait.

// blockTok is a fresh token of the primary kind for the block family,
// with the times of every check sent to it.
type blockTok struct {
	*tok
	avoid  map[uint32]bool
	shift  int64   // HOTP: counters moved by compared failures and accepted codes
	hist   []int64 // the time of every check, in the order sent
	last   int64   // the time of the last failure
	n      int     // failures sent
	used   bool    // a correct code was accepted: the failure count is gone
	locked bool    // a reply said locked
	probes int64   // the largest probe offset sent after the last failure
	nhist  int     // the checks up to the last failure: hist[:nhist]
	// slipped is set when the last check may have reached the verifier in
	// a later second than planned (on real time only): it went out a
	// second or more late, or its reply came after its second ended.
	// Time passing only ends refusals, so an acceptance that slipped does
	// not show that a refusal had ended at the planned second.
	slipped bool
}

// blockToken enrolls a fresh token for the block family.
func (p *prober) blockToken() (*blockTok, error) {
	cfg := p.primary()
	gi := p.goodIndex(cfg.kind)
	hi := p.span(cfg.kind) + 4 + int64(p.o.MaxResyncCodes)
	if p.burns {
		hi += int64(p.o.MaxLockout) + 4
	}
	t, err := p.enroll(cfg, time.Time{}, distinct(0, hi, gi, gi+1))
	if err != nil {
		return nil, err
	}
	bt := &blockTok{tok: t, avoid: map[uint32]bool{}, probes: -1}
	if cfg.kind == harness.HOTP {
		for i := int64(-1); i <= hi; i++ {
			bt.avoid[t.key.Value(t.c+uint64(i))] = true
		}
	}
	return bt, nil
}

// wrongAt returns a well-formed code, new on this token, that no counter
// or step the verifier could accept at Unix second u has.
func (bt *blockTok) wrongAt(u int64) string {
	mod := uint32(1)
	for range bt.key.Digits() {
		mod *= 10
	}
	near := func(v uint32) bool {
		if bt.t.Kind != harness.TOTP {
			return false
		}
		s := int64(bt.stepAt(u))
		span := int64(bt.p.back+bt.p.ahead) + 4
		for i := s - span; i <= s+span; i++ {
			if i >= 0 && bt.key.Value(uint64(i)) == v {
				return true
			}
		}
		return false
	}
	bt.p.rngMu.Lock()
	defer bt.p.rngMu.Unlock()
	for {
		var v uint32
		if bt.key.Digits() > 9 {
			v = uint32(bt.p.rng.Uint64N(1 << 31))
		} else {
			v = bt.p.rng.Uint32N(mod)
		}
		if !bt.avoid[v] && !near(v) {
			bt.avoid[v] = true
			return fmt.Sprintf("%0*d", bt.key.Digits(), v)
		}
	}
}

// send submits code at Unix second u and records the check. On real time
// it waits for u first; a late request moves the earlier ones back.
func (bt *blockTok) send(code string, u int64) (harness.Reply, error) {
	moved, err := bt.placeAt(u)
	if err != nil {
		return harness.Reply{}, err
	}
	rep, err := bt.checkUnix(code, u)
	if err != nil {
		return rep, err
	}
	bt.slipped = moved > 0 || bt.overran(u)
	bt.hist = append(bt.hist, u)
	if rep.Locked {
		bt.locked = true
	}
	return rep, nil
}

// failAt submits a wrong code at u, taken to be a compared failure.
func (bt *blockTok) failAt(u int64) error {
	rep, err := bt.send(bt.wrongAt(u), u)
	if err != nil {
		return err
	}
	if rep.Accepted {
		return fmt.Errorf("check %s: a wrong code was accepted", bt.t.Serial)
	}
	bt.n++
	bt.last = u
	bt.nhist = len(bt.hist)
	bt.probes = -1
	if bt.p.burns {
		bt.shift++
	}
	return nil
}

// goodAt submits the correct code at u and reports whether it was
// accepted; an accepted code moves the token on.
func (bt *blockTok) goodAt(u int64) (bool, error) {
	code := bt.codeAt(u, 0)
	if bt.t.Kind == harness.HOTP {
		code = bt.code(bt.p.lower + bt.shift)
	}
	rep, err := bt.send(code, u)
	if err != nil {
		return false, err
	}
	if u-bt.last > bt.probes {
		bt.probes = u - bt.last
	}
	if rep.Accepted {
		bt.used = true
		if bt.t.Kind == harness.HOTP {
			bt.shift++
		}
	}
	return rep.Accepted, nil
}

// placeAt waits on real time for second u of bt's clock; when the
// request is late and the clock moves on, the checks before it (and the
// last failure) are that much further back than planned. It returns by
// how many seconds the clock moved.
func (bt *blockTok) placeAt(u int64) (int64, error) {
	moved, err := bt.place(u)
	if err != nil {
		return 0, err
	}
	if moved > 0 {
		for i := range bt.hist {
			bt.hist[i] -= moved
		}
		bt.last -= moved
		if bt.probes >= 0 {
			bt.probes += moved
		}
	}
	return moved, nil
}

// rateFree returns the earliest moment at or after u at which the
// measured rate limit lets a check of bt through.
func (p *prober) rateFree(bt *blockTok, u int64) int64 {
	r := p.rate
	if r == nil {
		return u
	}
	per := r.Per + p.margin()
	for {
		n, oldest := 0, int64(0)
		for _, h := range bt.hist {
			if d := u - h; d >= 0 && d < per {
				if n == 0 || h < oldest {
					oldest = h
				}
				n++
			}
		}
		if n < r.Attempts {
			return u
		}
		u = oldest + per
	}
}

// x0 is the earliest offset after bt's last failure at which a check is
// not refused by the rate limit for the checks up to that failure.
func (p *prober) x0(bt *blockTok) int64 {
	upto := &blockTok{hist: bt.hist[:bt.nhist]}
	return p.rateFree(upto, bt.last) - bt.last
}

// build enrolls a token and sends it f failures, the i-th gap(i) seconds
// after the one before (gap(i) is the wait after the i-th failure).
func (p *prober) build(f int, gap func(i int) int64) (*blockTok, error) {
	bt, err := p.blockToken()
	if err != nil {
		return nil, err
	}
	u := bt.unix()
	for i := 1; i <= f; i++ {
		if i > 1 {
			u += gap(i - 1)
		}
		if p.realTime() {
			// As early as the rate limit lets the failure be compared.
			u = p.rateFree(bt, u)
		}
		if err := bt.failAt(u); err != nil {
			return nil, err
		}
	}
	if f == 0 {
		bt.last = u
	}
	return bt, nil
}

// initialGap is the spacing of failures before anything is known: none
// without a rate limit, Wait with one.
func (p *prober) initialGap(int) int64 {
	if p.rate != nil && p.request() {
		return Wait
	}
	return 0
}

// throttleGap spaces failures so that each is compared under the
// measured throttle and rate limit.
func (p *prober) throttleGap(i int) int64 {
	g := p.delay(i)
	if g > 0 {
		g += p.margin()
	}
	if p.rate != nil && p.rate.Per > g {
		g = p.rate.Per
	}
	return g
}

// delay is the measured throttle's delay after the i-th failure, capped
// at maxDelay.
func (p *prober) delay(i int) int64 {
	t := p.throttle
	if t == nil || i < t.After {
		return 0
	}
	d := t.Delay
	for range i - t.After {
		if d > maxDelay {
			return maxDelay + 1
		}
		d *= t.Factor
	}
	return d
}

// maxDelay bounds the throttle delays the probe waits through.
const maxDelay = 1000 * Wait

// blocked builds f failures with gap and probes the correct code at the
// earliest moment the rate limit allows, plus wait.
// On real time an acceptance that slipped is redone on a fresh token
// (onTime).
func (p *prober) blocked(f int, gap func(int) int64, wait func(int) int64) (bool, *blockTok, error) {
	return p.onTime(fmt.Sprintf("the correct code after %d %s", f, plural(f, "failure")), func() (bool, *blockTok, error) {
		bt, err := p.build(f, gap)
		if err != nil {
			return false, nil, err
		}
		u := p.rateFree(bt, bt.last+wait(f))
		ok, err := bt.goodAt(u)
		return !ok, bt, err
	})
}

// unblock finds the smallest offset x after the last failure at which the
// correct code is accepted, up to Wait (finite false: refused at Wait).
// bt is a token just built (or nil); build makes another. lo is an offset
// known to be refused.
func (p *prober) unblock(bt *blockTok, build func() (*blockTok, error), lo int64, hint int64, name string) (int64, bool, error) {
	if p.realTime() {
		return p.scanUnblock(bt, build, lo)
	}
	var pts []Point
	probe := func(x int64) (bool, error) {
		if bt == nil || bt.used || x <= bt.probes || p.rateFree(bt, bt.last+x) != bt.last+x {
			var err error
			if bt, err = build(); err != nil {
				return false, err
			}
			if p.rateFree(bt, bt.last+x) != bt.last+x {
				return false, fmt.Errorf("%s: no moment %d s after the failures escapes the rate limit", name, x)
			}
		}
		ok, err := bt.goodAt(bt.last + x)
		pts = append(pts, Point{X: x, Accepted: ok})
		return ok, err
	}
	hi := int64(-1)
	if hint == Wait { // a claimed lock that never releases: one probe
		ok, err := probe(Wait)
		if err != nil || !ok {
			return 0, false, err
		}
		hi = Wait
	} else if hint > lo && hint < Wait {
		if hint-1 > lo {
			ok, err := probe(hint - 1)
			if err != nil {
				return 0, false, err
			}
			if ok {
				hi = hint - 1
			} else {
				lo = hint - 1
			}
		}
		if hi < 0 {
			ok, err := probe(hint)
			if err != nil {
				return 0, false, err
			}
			if ok {
				hi = hint
			} else {
				lo = hint
			}
		}
	}
	return gallop(lo, hi, probe, nil)
}

// resyncAt submits the codes of counters c+shift+k .. on bt at u.
func (bt *blockTok) resyncAt(codes []string, u int64) (harness.Reply, error) {
	p := bt.p
	if _, err := bt.placeAt(u); err != nil {
		return harness.Reply{}, err
	}
	ctx, cancel := p.reqCtx()
	defer cancel()
	rep, err := p.v.Resync(ctx, harness.ResyncRequest{Serial: bt.t.Serial, Codes: codes, Time: time.Unix(u, 0)})
	if err != nil {
		return rep, p.refusal("resync "+bt.t.Serial, err)
	}
	if rep.Locked {
		bt.locked = true
	}
	return rep, nil
}

// genuine returns the n codes from counter c+lower+shift+k.
func (bt *blockTok) genuine(k uint64, n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = bt.key.HOTP(bt.t.Counter + uint64(bt.p.lower+bt.shift) + k + uint64(i))
	}
	return codes
}

// pow returns k^n for small n, saturating at maxDelay.
func pow(k int64, n int) int64 {
	r := int64(1)
	for range n {
		if r > maxDelay {
			return r
		}
		r *= k
	}
	return r
}

// resyncUnblock finds the smallest x > lo at which a genuine resync is
// accepted x seconds after the last failure of a token that build makes,
// galloping on one token while refused (a refused resync changes nothing)
// and bisecting on fresh ones. ok is false when it is refused at Wait.
func (p *prober) resyncUnblock(build func() (*blockTok, error), lo int64) (int64, bool, error) {
	k := p.resyncLo()
	if p.realTime() {
		// A refused resync changes nothing: one token, every second.
		bt, err := build()
		if err != nil {
			return 0, false, err
		}
		p.announce(time.Duration(p.horizon()-lo) * time.Second)
		for x := lo + 1; x <= p.horizon(); x++ {
			u := bt.last + x
			rep, err := bt.resyncAt(bt.genuine(k, p.resyncN), u)
			if err != nil {
				return 0, false, err
			}
			if rep.Accepted {
				bt.used = true
				return u - bt.last, true, nil
			}
			x = u - bt.last
		}
		return 0, false, nil
	}
	var bt *blockTok
	probe := func(x int64) (bool, error) {
		if bt == nil || bt.used {
			var err error
			if bt, err = build(); err != nil {
				return false, err
			}
		}
		rep, err := bt.resyncAt(bt.genuine(k, p.resyncN), bt.last+x)
		if err != nil {
			return false, err
		}
		if rep.Accepted {
			bt.used = true
		}
		return rep.Accepted, nil
	}
	// The probes of the bisection go back in time: a fresh token each.
	return gallop(lo, -1, probe, func() { bt = nil })
}

// gallop finds the smallest x > lo for which probe holds, probe being
// false up to some point and true from there: when hi < 0 it doubles the
// step from lo until probe holds (giving up at Wait, ok false), then it
// bisects (lo, hi], calling fresh, when set, before each bisecting probe.
func gallop(lo, hi int64, probe func(int64) (bool, error), fresh func()) (int64, bool, error) {
	for step := int64(1); hi < 0; step *= 2 {
		x := min(lo+step, Wait)
		ok, err := probe(x)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = x
			break
		}
		lo = x
		if x == Wait {
			return 0, false, nil
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fresh != nil {
			fresh()
		}
		ok, err := probe(mid)
		if err != nil {
			return 0, false, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true, nil
}

// freeTwice returns the first moment at or after u at which a check of bt
// and another right after it both escape the rate limit.
func (p *prober) freeTwice(bt *blockTok, u int64) int64 {
	if p.rate == nil {
		return u
	}
	for range 1000 {
		u = p.rateFree(bt, u)
		next := &blockTok{hist: append(slices.Clone(bt.hist), u)}
		if p.rateFree(next, u) == u {
			return u
		}
		u++
	}
	return u
}
