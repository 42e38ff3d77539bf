package harness

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
)

// propTB adapts rapid's reporting to the engine: it keeps what rapid says
// and never stops the calling goroutine except through FailNow.
type propTB struct {
	name   string
	mu     sync.Mutex
	failed bool
	out    []string
}

func (p *propTB) Helper()      {}
func (p *propTB) Name() string { return p.name }
func (p *propTB) Logf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) < 200 {
		p.out = append(p.out, fmt.Sprintf(format, a...))
	}
}
func (p *propTB) Log(a ...any)                   { p.Logf("%s", fmt.Sprint(a...)) }
func (p *propTB) Skipf(format string, a ...any)  { p.Logf(format, a...); p.SkipNow() }
func (p *propTB) Skip(a ...any)                  { p.Log(a...); p.SkipNow() }
func (p *propTB) SkipNow()                       { runtime.Goexit() }
func (p *propTB) Errorf(format string, a ...any) { p.Logf(format, a...); p.Fail() }
func (p *propTB) Error(a ...any)                 { p.Log(a...); p.Fail() }
func (p *propTB) Fatalf(format string, a ...any) { p.Errorf(format, a...); p.FailNow() }
func (p *propTB) Fatal(a ...any)                 { p.Error(a...); p.FailNow() }
func (p *propTB) FailNow()                       { p.Fail(); runtime.Goexit() }
func (p *propTB) Fail()                          { p.mu.Lock(); p.failed = true; p.mu.Unlock() }
func (p *propTB) Failed() bool                   { p.mu.Lock(); defer p.mu.Unlock(); return p.failed }
func (p *propTB) output() string                 { p.mu.Lock(); defer p.mu.Unlock(); return strings.Join(p.out, "\n") }

// errTransport marks a property failure that is the verifier's transport,
// not its judgement.
var errTransport = errors.New("verifier unavailable")

// maxRounds bounds how many distinct disagreements a property case looks
// for: after each explained one it plays again under the explaining
// variant, so that one cause cannot hide another.
const maxRounds = 3

// finding is one disagreement a property run found, shrunk.
type finding struct {
	script []string
	hist   []history
	expl   *Explanation
	// refused: the verifier refused to enroll a claimed token, which no
	// assumed cause changes, so the rounds end there.
	refused bool
}

// property runs the model-based test for one token kind, and again under
// each explained cause, and reports every distinct disagreement found.
func (t *ct) property(kind Kind) {
	seed := t.run.caseSeed(t.def.id) >> 1
	if seed == 0 {
		seed = 1
	}
	t.propSeed = seed
	// Each explained finding is assumed in the next round (p, q), with the
	// profile before it (p0, q0) kept: a round whose finding the profile
	// before the assumption explains refutes the assumption instead, and
	// the next candidate that fits both findings is tried.
	p, q := t.profile(), quirks{}
	p0, q0 := p, q
	var found []finding
	var cands []string
	for range maxRounds + 2 {
		f, agreed, transport := t.propertyRound(kind, seed+uint64(len(found)), p, q)
		if len(found) == 0 {
			t.agreed = append(t.agreed, agreed...)
		} else {
			// The sequences that agreed with the assumed cause rule out
			// the other candidates they do not fit.
			prev := &found[len(found)-1]
			var keep []string
			for _, k := range cands {
				vp, vq := variantByKey(p0, k).apply(p0, q0)
				if consistent(vp, vq, agreed) {
					keep = append(keep, k)
				}
			}
			if len(keep) > 0 && len(keep) < len(cands) {
				prev.expl.keys = keep
				prev.expl.describe(p0)
				cands = keep
			}
		}
		if transport != nil {
			if len(found) == 0 {
				t.abort("%v", transport)
			}
			break
		}
		if f == nil {
			break
		}
		if len(found) > 0 && !f.refused {
			// Another candidate of the finding before may explain this one
			// too: one mechanism that explains both beats the assumed one
			// plus a second. And when the finding exists only under the
			// assumed cause, it refutes that cause. Either way, go on with
			// the candidates that explain both findings.
			prev := &found[len(found)-1]
			both := append(slices.Clone(prev.hist), f.hist...)
			var keep []string
			for _, k := range cands[1:] {
				vp, vq := variantByKey(p0, k).apply(p0, q0)
				if consistent(vp, vq, both) {
					keep = append(keep, k)
				}
			}
			if onlyRace(keep) {
				// A race is the last resort: a sequential mechanism on top
				// of the assumed one explains this finding as well.
				if e := explain(p, q, f.hist); e != nil && len(e.keys) > 0 {
					keep = nil
				}
			}
			if len(keep) > 0 || (consistent(p0, q0, f.hist) && !onlyRaceLeft(cands[1:], p, q, f.hist)) {
				prev.expl.keys = keep
				prev.expl.describe(p0)
				prev.hist = both
				cands = keep
				if len(cands) == 0 || perNodeFamily(variantByKey(p0, cands[0]).family) {
					break
				}
				p, q = variantByKey(p0, cands[0]).apply(p0, q0)
				continue
			}
		}
		if len(found) == maxRounds {
			break
		}
		if f.refused {
			found = append(found, *f)
			break
		}
		// The sequences that agreed with the profile are weighed against
		// the candidates with every other failure of the run (groupCauses):
		// a candidate they refute alone may hold with a second mechanism.
		f.expl = explain(p, q, f.hist)
		found = append(found, *f)
		if f.expl == nil || len(f.expl.keys) == 0 {
			break
		}
		if perNodeFamily(variantByKey(p, f.expl.keys[0]).family) {
			// The sequences are played against one state: a cause kept
			// per node cannot be assumed for another round (nor above).
			break
		}
		// Play again as if the verifier had claimed what explains it.
		p0, q0, cands = p, q, f.expl.keys
		p, q = variantByKey(p0, cands[0]).apply(p0, q0)
	}
	if len(found) == 0 {
		return
	}
	t.script = found[0].script
	t.expl = found[0].expl
	var msgs []string
	for i, f := range found {
		head := "the verifier disagreed with the profile model; shortest script found:"
		if f.refused {
			head = "the verifier refused a request the profile claims it serves; shortest script found:"
		}
		if i > 0 {
			assumed := "the cause above"
			if e := found[i-1].expl; len(e.ConsistentWith) > 0 {
				assumed = e.ConsistentWith[0]
			}
			head = fmt.Sprintf("with that cause assumed (%s), another disagreement; shortest script found:", assumed)
		}
		msg := head + "\n  " + strings.Join(f.script, "\n  ")
		if line := explanationLine(f.expl); line != "" {
			msg += "\n  " + line
		}
		msgs = append(msgs, msg)
	}
	for _, m := range msgs[:len(msgs)-1] {
		t.note("%s", m)
	}
	t.fail("%s", msgs[len(msgs)-1])
}

// variantByKey finds a variant of p by key.
func variantByKey(p Profile, key string) variant {
	for _, v := range variants(p) {
		if v.key == key {
			return v
		}
	}
	panic("harness: no variant " + key)
}

// propertyRound plays the property sequences once under profile p and
// quirks q, and returns the shrunk failure, if any.
func (t *ct) propertyRound(kind Kind, seed uint64, p Profile, q quirks) (*finding, []history, error) {
	var (
		mu        sync.Mutex
		last      *finding
		transport error
		agreed    []history
	)
	tb := &propTB{name: t.run.opts.testName + "/" + t.def.id}
	prop := func(rt *rapid.T) {
		mu.Lock()
		dead := transport
		mu.Unlock()
		if dead != nil || t.ctx.Err() != nil {
			rt.Fatalf("%v", errTransport)
		}
		d := &driver{t: t, rt: rt, kind: kind, p: p, q: q}
		d.onFail = func() {
			mu.Lock()
			if errors.Is(d.err, errTransport) && transport == nil {
				transport = d.err
			}
			last = &finding{script: slices.Clone(d.script), hist: []history{withNodes(t.run.v, history{tok: d.tok, key: d.key, events: slices.Clone(d.hist), fuzz: d.tr.fuzz})}}
			if d.refused {
				last.refused = true
				last.expl = refusalExplanation(d.p, d.tok)
			}
			if d.refusedReq {
				last.refused = true
			}
			mu.Unlock()
			// The message must be the same on every replay (the script
			// names fresh serials), or rapid takes the failure for flaky
			// and does not shrink it; the script travels in last.
			rt.Fatalf("the verifier disagreed with the profile model")
		}
		d.play()
		// The sequence agreed with the model of p throughout: a fact
		// about the verifier that every explanation must fit.
		mu.Lock()
		if len(agreed) < maxAgreed && len(d.hist) > 0 {
			agreed = append(agreed, withNodes(t.run.v, history{tok: d.tok, key: d.key, events: slices.Clone(d.hist), fuzz: d.tr.fuzz}))
		}
		mu.Unlock()
	}
	checks := t.run.checks
	if kind == HOTP && t.run.realTime() && p.hasTimeRules() {
		checks = min(checks, realChecks)
	}
	// Outside go test rapid must not write fail files (in the user's
	// working directory); under go test the caller's setting stands.
	var noFailFile *bool
	if !t.run.opts.inTest {
		noFailFile = new(bool)
		*noFailFile = true
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rapidRuns.check(tb, prop, seed, checks, noFailFile)
	}()
	<-done
	t.mu.Lock()
	redo := t.redo
	t.mu.Unlock()
	if redo != "" {
		runtime.Goexit() // a late reply ended a sequence: this attempt has no verdict
	}
	if transport != nil {
		return nil, nil, transport
	}
	if tb.Failed() {
		if last == nil {
			return nil, nil, fmt.Errorf("harness: the property failed outside the driver: %s", tb.output())
		}
		if out := tb.output(); strings.Contains(out, "rapid.failfile") {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "To reproduce") {
					last.script = append(last.script, strings.TrimSpace(line))
				}
			}
		}
		return last, agreed, nil
	}
	return nil, agreed, nil
}

// maxAgreed bounds the agreeing sequences a property round keeps as
// evidence against explanations.
const maxAgreed = 256

// driver plays one random sequence against the verifier and the model.
type driver struct {
	t      *ct
	rt     *rapid.T
	kind   Kind
	p      Profile // what the model judges by (the claim, or a cause assumed)
	q      quirks
	tok    Token
	key    *token.Key
	dev    *token.C100
	tr     *tracker
	start  int64
	now    int64
	used   []string
	streak int // consecutive rejections, to stay clear of an unclaimed lockout
	script []string
	hist   []event
	err    error
	// refused is set when the verifier refused to enroll the token;
	// refusedReq when it answered a later request with an error.
	refused, refusedReq bool
	// real is set when the sequence is played on real time, inside one
	// step of the verifier's clock that ends (boundaryGuard s early) at
	// end, a verifier's Unix second.
	real bool
	end  int64
	// realHOTP is set for a HOTP sequence judged on real time under a
	// profile with time rules: secs maps its seconds onto real time, and
	// each request waits for its second (realclock.go).
	realHOTP bool
	secs     realSeconds
	onFail   func() // records the failure and stops the sequence
}

func (d *driver) say(format string, a ...any) {
	d.script = append(d.script, fmt.Sprintf("%d. ", len(d.script)+1)+fmt.Sprintf(format, a...))
}

// stamp is the request time as scripts show it.
func (d *driver) stamp() string { return fmt.Sprintf("[t=%+ds]", d.now-d.start) }

// startCounters are the counters a HOTP sequence may start at: the
// smallest claimed, and the edges where storage bugs live, inside the
// claimed range.
func startCounters(p Profile) []uint64 {
	lo, hi := p.CounterMin(), p.CounterMax()
	out := []uint64{lo, lo}
	for _, c := range []uint64{1<<32 - 3, 1<<53 - 3, 1<<63 - 3, hi - 40} {
		if c >= lo && c <= hi && hi-c >= 40 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// play enrolls a fresh token and runs a random sequence of events on it
// through rapid's state-machine loop, which shrinks by dropping steps. The
// first disagreement or transport failure ends it through onFail.
func (d *driver) play() {
	rt := d.rt
	o := d.t.defaults(tokOpts{kind: d.kind})
	secretSeed := rapid.Uint64().Draw(rt, "secret")
	src := rand.New(rand.NewPCG(secretSeed, 0xfeed))
	secret := make([]byte, o.alg.Size())
	for i := range secret {
		secret[i] = byte(src.Uint32())
	}
	key, _ := token.NewKey(secret, o.alg, o.digits)
	d.key = key
	d.start = simEpoch + int64(rapid.IntRange(0, 86400).Draw(rt, "start"))
	d.realHOTP = d.kind == HOTP && d.t.run.realTime() && d.p.hasTimeRules()
	if d.realHOTP {
		d.secs = newRealSeconds(d.t.run.now())
		d.start = d.secs.base
	}
	d.now = d.start
	if d.kind == HOTP {
		start := rapid.SampledFrom(startCounters(d.p)).Draw(rt, "counter")
		d.tok = Token{Serial: d.t.run.nextSerial('1'), Kind: HOTP, Algorithm: o.alg, Digits: o.digits, Secret: secret, Counter: start}
		dev, err := token.NewC100(token.C100Config{Serial: token.Serial(d.tok.Serial), Secret: secret, Counter: start, Algorithm: o.alg, Digits: o.digits})
		if err != nil {
			panic("harness: " + err.Error()) // the serial and secret are made here
		}
		d.dev = dev
	} else {
		d.tok = Token{Serial: d.t.run.nextSerial('2'), Kind: TOTP, Algorithm: o.alg, Digits: o.digits, Secret: secret, Period: o.period, T0: 0}
		if d.t.run.realTime() {
			d.placeReal()
		}
	}
	d.tr = newTracker(newModel(d.p, d.tok, key, d.q))
	if d.realHOTP || d.real && d.p.hasTimeRules() {
		d.tr.fuzz = realFuzz
	}
	ctx, cancel := d.t.reqCtx()
	err := d.t.run.v.Enroll(ctx, d.tok)
	cancel()
	if err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
			d.say("enroll %s -> refused: %s", d.tok, refused.Message)
			d.refused = true
			d.err = errors.New("the profile claims this token (kind, algorithm, digits, counter, period): a correct verifier enrolls it")
			d.script = append(d.script, "=> "+d.err.Error())
		} else {
			d.err = fmt.Errorf("%w: enroll: %w", errTransport, err)
		}
		d.onFail()
	}
	d.say("enroll %s", d.tok)
	if d.real {
		d.say("(real time: the verifier's now %d s into step %d, its clock %+d s off the local one)", d.now-token.StepStart(d.step(), d.tok.T0, d.tok.Period), d.step(), d.t.run.offset)
	}

	// Action names sort in the order rapid shrinks toward: a failing
	// sequence ends up told with plain submits where it can be.
	actions := map[string]func(*rapid.T){}
	d.commonActions(actions)
	if d.kind == HOTP {
		d.hotpActions(actions)
	} else {
		d.totpActions(actions)
	}
	if (d.p.LockoutAfter() > 0 || d.p.RateLimit != nil) && d.t.run.info.Supports("unlock") {
		actions["7-unlock"] = func(rt *rapid.T) { d.unlock() }
	}
	// Every disagreement is reported from this one invariant check, after
	// the action: rapid's shrinker only keeps a smaller sequence when it
	// fails at the same place, whichever action exposed the bug.
	actions[""] = func(*rapid.T) {
		if d.err != nil {
			d.onFail()
		}
	}
	rt.Repeat(actions)
}

func (d *driver) mayReject() bool {
	return d.p.LockoutAfter() > 0 || d.streak < 2
}

// waits returns the durations worth waiting: the edges of the profile's
// time rules, one second either side.
func waits(p Profile) []int64 {
	var edges []int64
	addEdge := func(s int64) {
		for _, d := range []int64{s - 1, s, s + 1} {
			if d > 0 && !slices.Contains(edges, d) {
				edges = append(edges, d)
			}
		}
	}
	if p.Throttle != nil {
		for n := p.Throttle.After; n < p.Throttle.After+3; n++ {
			addEdge(p.ThrottleDelay(n))
		}
	}
	if r := p.ReleaseAfter(); r > 0 {
		addEdge(r)
	}
	if rl := p.RateLimit; rl != nil {
		addEdge(rl.Per)
	}
	if p.Resync != nil && p.Resync.Auto != nil {
		addEdge(p.Resync.Auto.Within)
	}
	return edges
}

// commonActions adds the events both kinds share: replays of accepted
// codes, arbitrary codes and time passing.
func (d *driver) commonActions(a map[string]func(*rapid.T)) {
	a["4-replay"] = func(rt *rapid.T) {
		if len(d.used) == 0 || !d.mayReject() || !d.tick() {
			return
		}
		c := rapid.SampledFrom(d.used).Draw(rt, "replayed")
		d.check(c, fmt.Sprintf("replay the earlier code %q", c))
	}
	a["3-wrong"] = func(rt *rapid.T) {
		if !d.mayReject() || !d.tick() {
			return
		}
		v := rapid.Uint64Range(0, pow10(d.tok.Digits)-1).Draw(rt, "wrong")
		code := fmt.Sprintf("%0*d", d.tok.Digits, v)
		d.check(code, fmt.Sprintf("submit the arbitrary code %q", code))
	}
	// Time passes for HOTP tokens too, even under a profile without time
	// rules: it is what tells an undeclared throttle from a burnt counter.
	if d.real {
		return // real time passes by itself, inside one step
	}
	edges := waits(d.p)
	long := int64(100)
	if d.realHOTP {
		// Real seconds: only the edges of the rules, and short ones.
		edges = slices.DeleteFunc(edges, func(e int64) bool { return e > maxPropWait })
		long = 3
	}
	a["2-wait"] = func(rt *rapid.T) {
		gen := rapid.Int64Range(1, long)
		if len(edges) > 0 {
			gen = rapid.OneOf(rapid.SampledFrom(edges), gen)
		}
		s := gen.Draw(rt, "seconds")
		d.now += s
		if d.kind == TOTP {
			d.say("wait %d s (now %s, step %d)", s, d.stamp(), d.step())
		} else {
			d.say("wait %d s (now %s)", s, d.stamp())
		}
	}
}

// maxPropWait is the longest wait a sequence draws on real time.
const maxPropWait = 10

// realChecks bounds the sequences a property case plays on real time
// under time rules, where every wait is real.
const realChecks = 10

// place waits, on real time, for the real instant of the sequence's
// second, after moving it on to the real now when the sequence has fallen
// behind (realclock.go); on simulated time it does nothing.
func (d *driver) place() {
	if !d.realHOTP {
		return
	}
	d.now = max(d.now, d.secs.floor(d.t.run.now()))
	wait := d.secs.until(d.now, d.t.run.now())
	if wait <= 0 {
		return
	}
	if wait >= time.Second {
		d.t.run.waiting(d.t.def.id, int64(math.Ceil(wait.Seconds())), "time to pass in a random sequence")
	}
	select {
	case <-time.After(wait):
	case <-d.t.ctx.Done():
	}
}

// step is the TOTP step now.
func (d *driver) step() uint64 {
	st, _ := token.Step(d.now, d.tok.T0, d.tok.Period)
	return st
}

func (d *driver) hotpActions(a map[string]func(*rapid.T)) {
	p := d.p
	l := lookAhead(p)
	maxDrift := l + 2
	if n := p.ResyncCodes(); n > 0 && d.t.run.info.Supports("resync") {
		maxDrift = min(max(maxDrift, p.Resync.Window+2), 3000)
		a["5-resync"] = func(rt *rapid.T) {
			codes, first, ok := d.pressN(n)
			if !ok {
				return
			}
			d.resync(codes, fmt.Sprintf("press %d times and resync with the codes of counters %d..%d", n, first, first+uint64(n)-1))
		}
		a["5-resync-wrong-count"] = func(rt *rapid.T) {
			m := n + rapid.SampledFrom([]int{-1, 1}).Draw(rt, "count")
			if m < 1 || !d.mayReject() {
				return
			}
			codes, first, ok := d.pressN(m)
			if !ok {
				return
			}
			d.resync(codes, fmt.Sprintf("press %d times and resync with the %d codes of counters %d..%d (the profile claims %d)", m, m, first, first+uint64(m)-1, n))
		}
		a["6-concurrent-resync"] = func(rt *rapid.T) {
			k := rapid.IntRange(2, 4).Draw(rt, "copies")
			withCheck := rapid.Bool().Draw(rt, "with-check")
			codes, first, ok := d.pressN(n)
			if !ok || !d.mayReject() {
				return
			}
			reqs := make([]Request, k)
			for i := range reqs {
				reqs[i] = Request{Op: opResync, Codes: codes, Time: d.now}
			}
			what := fmt.Sprintf("press %d times and send the resync with the codes of counters %d..%d %d times at once", n, first, first+uint64(n)-1, k)
			if withCheck {
				reqs = append(reqs, Request{Op: opCheck, Codes: codes[:1], Time: d.now})
				what += fmt.Sprintf(", with a check of the code of counter %d", first)
			}
			d.burst(reqs, what)
		}
	} else if p.Resync != nil && p.Resync.Auto != nil {
		maxDrift = min(max(maxDrift, p.Resync.Window+2), 3000)
	}
	a["2-press"] = func(rt *rapid.T) {
		// Edges first: presses that leave the next code exactly at the
		// look-ahead or resync edge, or one beyond it.
		edges := []uint64{max(l, 1), l + 1}
		if p.Resync != nil && p.Resync.Window > 0 {
			edges = append(edges, max(p.Resync.Window, 1), p.Resync.Window+1)
		}
		k := rapid.OneOf(rapid.SampledFrom(edges), rapid.Uint64Range(1, maxDrift)).Draw(rt, "presses")
		if d.dev.Skip(k) != nil {
			return
		}
		d.say("press the button %s without submitting (token counter now %d)", times(k), d.dev.Counter())
	}
	a["1-submit"] = func(rt *rapid.T) {
		codes, first, ok := d.pressN(1)
		if ok {
			d.check(codes[0], fmt.Sprintf("press and submit the code of counter %d", first))
		}
	}
	a["8-reenroll"] = func(rt *rapid.T) { d.reenroll() }
	a["6-concurrent"] = func(rt *rapid.T) {
		k := rapid.IntRange(2, 4).Draw(rt, "copies")
		codes, first, ok := d.pressN(1)
		if !ok || !d.mayReject() {
			return
		}
		d.parallel(slicesRepeat(codes[0], k), fmt.Sprintf("press and submit the code of counter %d %d times at once", first, k))
	}
}

func (d *driver) totpActions(a map[string]func(*rapid.T)) {
	b, ahead := skew(d.p)
	a["8-reenroll"] = func(rt *rapid.T) { d.reenroll() }
	a["1-submit"] = func(rt *rapid.T) {
		off := rapid.Int64Range(-int64(b)-1, int64(ahead)+1).Draw(rt, "offset")
		if !d.tick() {
			return
		}
		st := int64(d.step()) + off
		if st < 0 || (off != 0 && !d.mayReject()) {
			return
		}
		code := d.key.HOTP(uint64(st))
		d.check(code, fmt.Sprintf("submit the code of step %d (T%+d)", st, off))
	}
	a["6-concurrent"] = func(rt *rapid.T) {
		if !d.mayReject() {
			return
		}
		k := rapid.IntRange(2, 4).Draw(rt, "copies")
		if !d.tick() {
			return
		}
		st := d.step()
		d.parallel(slicesRepeat(d.key.HOTP(st), k), fmt.Sprintf("submit the code of step %d %d times at once", st, k))
	}
	if d.real {
		return // no clock set back on real time
	}
	a["9-clock-back"] = func(rt *rapid.T) {
		k := rapid.Int64Range(1, 5).Draw(rt, "steps-back")
		d.now -= k * d.tok.Period
		d.say("set the clock back %d step%s (now %s, step %d)", k, plural(int(k)), d.stamp(), d.step())
	}
}

// seqSpan is how long (in seconds) a sequence on real time is given at
// least inside its step when it waits for a step to begin: sequences take
// milliseconds per request, and the rest of a step that runs out is played
// as no-ops.
const seqSpan = 3

// realPropertyReason says why the TOTP property cannot be played on real
// time with period-second steps, or "" when it can. (Time rules are no
// reason: their edges are judged a second either way, as in every case on
// real time, and the sequences stay clear of step boundaries by more.)
func realPropertyReason(period int64) string {
	if period < 2*boundaryGuard+seqSpan+1 {
		return fmt.Sprintf("on real time a sequence needs a step of at least %d s, longer than the %d s step the profile claims", 2*boundaryGuard+seqSpan+1, period)
	}
	return ""
}

// placeReal places a TOTP sequence on real time: when the profile claims
// totp.t0 the token's t0 puts the verifier's now boundaryGuard s into a
// step, else the driver waits until the step has at least seqSpan s left
// clear of its end. Every request is then sent at the verifier's now, and
// the sequence's requests end boundaryGuard s before the step does.
func (d *driver) placeReal() {
	t := d.t
	per := d.tok.Period
	if t.profile().SupportsT0(1) {
		now, _ := t.realNow(0, 1)
		d.tok.T0 = floorMod(now.Unix()-boundaryGuard, per)
	} else if err := t.run.awayFromBoundary(t.ctx, t.def.id, -t.run.offset, per, boundaryGuard, boundaryGuard+seqSpan); err != nil {
		d.err = fmt.Errorf("%w: %w", errTransport, err)
		d.onFail()
	}
	at, st := t.realNow(d.tok.T0, per)
	d.real, d.now, d.start = true, at.Unix(), at.Unix()
	d.end = token.StepStart(st+1, d.tok.T0, per) - boundaryGuard
}

// tick moves a sequence on real time to the verifier's now and reports
// whether a request may still go, clear of the step's end (the rest of the
// sequence is then played as no-ops). On the simulated clock it does
// nothing.
func (d *driver) tick() bool {
	if !d.real {
		return true
	}
	at, _ := d.t.realNow(0, 1)
	if at.Unix() >= d.end {
		return false
	}
	d.now = at.Unix()
	return true
}

// pressN presses the C100 n times and returns the codes shown, unless the
// token is exhausted.
func (d *driver) pressN(n int) ([]string, uint64, bool) {
	first := d.dev.Counter()
	if d.dev.Exhausted() || token.MaxCounter-first < uint64(n-1) {
		return nil, 0, false
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = d.key.HOTP(first + uint64(i))
	}
	if err := d.dev.Skip(uint64(n)); err != nil {
		return nil, 0, false
	}
	return codes, first, true
}

func (d *driver) record(accepted bool, codes ...string) {
	if accepted {
		d.used = append(d.used, codes...)
		d.streak = 0
	} else {
		d.streak++
	}
}

// replyInTime ends the sequence, and the attempt, when on real time the
// reply to r came a second or more after r's planned instant: the
// verifier may have read a second past the tracker's fuzz, and even a
// reply that agrees may have left its state a second off the model's (a
// failure counted late moves a throttle's delay on). The case runs again
// (sim.replyInTime); the sequence's goroutine ends here, and
// propertyRound ends the attempt.
func (d *driver) replyInTime(r Request) {
	if !d.realHOTP {
		return
	}
	late := -d.secs.until(r.Time, d.t.run.now())
	if late < time.Second {
		return
	}
	d.t.mu.Lock()
	d.t.redo = fmt.Sprintf("the verifier answered a request of a random sequence %v after its planned second", late.Round(10*time.Millisecond))
	d.t.late = true
	d.t.mu.Unlock()
	runtime.Goexit()
}

func (d *driver) disagree(did string, r Request, rep Reply, exp []bool) {
	locked := ""
	if rep.Locked {
		locked = " (the reply said locked)"
	}
	d.say("%s -> %s%s", did, verdictWord(rep.Accepted), locked)
	d.err = fmt.Errorf("a correct verifier would have %s", expectWords(exp))
	d.tr.m.origin = d.start
	if w := d.tr.whyAll(r); w != "" {
		for _, verdict := range []string{"rejected: ", "accepted: "} {
			w = strings.TrimPrefix(w, verdict)
		}
		d.err = fmt.Errorf("%w: %s", d.err, w)
	}
	d.script = append(d.script, "=> "+d.err.Error())
}

// reqErr ends a sequence whose request did failed: an application error
// (ok:false with an error, not unsupported) is a disagreement, shrunk like
// any other and told with the verifier's text; anything else is the
// transport's, and the case is not judged.
func (d *driver) reqErr(did, op string, err error) {
	var refused *RefusedError
	if errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
		d.say("%s -> %s: %s", did, refusedWords, refused.Message)
		d.refusedReq = true
		d.err = errors.New("the profile claims the verifier serves this request: a correct verifier answers it (a rejected code is ok:true with accepted:false)")
		d.script = append(d.script, "=> "+d.err.Error())
		return
	}
	d.say("%s -> error", did)
	d.err = fmt.Errorf("%w: %s: %w", errTransport, op, err)
}

func expectWords(exp []bool) string {
	if len(exp) == 1 {
		return verdictWord(exp[0]) + " it"
	}
	return "accepted or rejected it"
}

func (d *driver) check(code, did string) {
	var purpose string // absent: login
	if len(d.p.Flows) > 1 {
		purpose = rapid.SampledFrom(d.p.Flows).Draw(d.rt, "purpose")
		did += " for " + purpose
	}
	d.place()
	did = d.stamp() + " " + did
	r := Request{Op: opCheck, Codes: []string{code}, Time: d.now, Purpose: purpose}
	exp := d.tr.expect(r)
	ctx, cancel := d.t.reqCtx()
	rep, err := d.t.run.v.Check(ctx, CheckRequest{Serial: d.tok.Serial, Code: code, Time: time.Unix(d.now, 0), Purpose: purpose})
	cancel()
	if err != nil {
		d.reqErr(did, "check", err)
		return
	}
	d.replyInTime(r)
	d.hist = append(d.hist, event{[]Request{r}, []bool{rep.Accepted}})
	if !d.tr.observe(r, rep.Accepted) {
		d.disagree(did, r, rep, exp)
		return
	}
	d.record(rep.Accepted, code)
	d.say("%s -> %s", did, verdictWord(rep.Accepted))
}

func (d *driver) resync(codes []string, did string) {
	d.place()
	did = d.stamp() + " " + did
	r := Request{Op: opResync, Codes: codes, Time: d.now}
	exp := d.tr.expect(r)
	ctx, cancel := d.t.reqCtx()
	rep, err := d.t.run.v.Resync(ctx, ResyncRequest{Serial: d.tok.Serial, Codes: codes, Time: time.Unix(d.now, 0)})
	cancel()
	if err != nil {
		d.reqErr(did, "resync", err)
		return
	}
	d.replyInTime(r)
	d.hist = append(d.hist, event{[]Request{r}, []bool{rep.Accepted}})
	if !d.tr.observe(r, rep.Accepted) {
		d.disagree(did, r, rep, exp)
		return
	}
	if rep.Accepted {
		d.used = append(d.used, codes...)
	}
	d.say("%s -> %s", did, verdictWord(rep.Accepted))
}

func (d *driver) unlock() {
	ctx, cancel := d.t.reqCtx()
	err := d.t.run.v.Unlock(ctx, d.tok.Serial)
	cancel()
	if err != nil {
		// No profile field claims unlock: a refused one leaves the
		// property case unjudged, as a transport failure does.
		d.say("unlock -> error")
		d.err = fmt.Errorf("%w: unlock: %w", errTransport, err)
		return
	}
	r := Request{Op: opUnlock}
	d.tr.observe(r, true)
	d.hist = append(d.hist, event{[]Request{r}, []bool{true}})
	d.streak = 0
	d.say("unlock")
}

// reenroll enrolls the same token again: a correct verifier starts over.
func (d *driver) reenroll() {
	ctx, cancel := d.t.reqCtx()
	err := d.t.run.v.Enroll(ctx, d.tok)
	cancel()
	if err != nil {
		d.reqErr("enroll the same serial again", "enroll", err)
		return
	}
	r := Request{Op: opEnroll}
	d.tr.observe(r, true)
	d.hist = append(d.hist, event{[]Request{r}, []bool{true}})
	d.used, d.streak = nil, 0
	d.say("enroll the same serial again (%s)", d.tok)
}

// burst sends checks and resyncs at once and judges the replies in any
// order of service.
func (d *driver) burst(reqs []Request, did string) {
	d.place()
	for i := range reqs {
		reqs[i].Time = d.now
	}
	did = d.stamp() + " " + did
	got := make([]bool, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			ctx, cancel := d.t.reqCtx()
			defer cancel()
			var rep Reply
			var err error
			if r.Op == opResync {
				rep, err = d.t.run.v.Resync(ctx, ResyncRequest{Serial: d.tok.Serial, Codes: r.Codes, Time: time.Unix(d.now, 0)})
			} else {
				rep, err = d.t.run.v.Check(ctx, CheckRequest{Serial: d.tok.Serial, Code: r.Codes[0], Time: time.Unix(d.now, 0)})
			}
			got[i], errs[i] = rep.Accepted, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		d.reqErr(did, "concurrent requests", err)
		return
	}
	d.replyInTime(reqs[0])
	d.hist = append(d.hist, event{reqs, slices.Clone(got)})
	line := fmt.Sprintf("%s -> %s", did, countReplies(got))
	if !d.tr.observeAll(reqs, got) {
		d.say("%s", line)
		d.err = errors.New("no order of serving these requests one at a time gives these replies")
		d.script = append(d.script, "=> "+d.err.Error())
		return
	}
	// Book the replies in an order-free way, so that the rest of the
	// sequence does not depend on which goroutine won.
	accepted := 0
	for i, ok := range got {
		if ok {
			accepted++
			d.used = append(d.used, reqs[i].Codes...)
		}
	}
	if accepted > 0 {
		d.streak = 0
	} else {
		d.streak += len(got)
	}
	d.used = slices.Compact(d.used)
	d.say("%s", line)
}

// parallel submits the codes at once as checks.
func (d *driver) parallel(codes []string, did string) {
	reqs := make([]Request, len(codes))
	for i, code := range codes {
		reqs[i] = Request{Op: opCheck, Codes: []string{code}, Time: d.now}
	}
	d.burst(reqs, did)
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func times(n uint64) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// countReplies summarises replies to identical requests without their
// order, which is up to the scheduler.
func countReplies(got []bool) string {
	n := 0
	for _, ok := range got {
		if ok {
			n++
		}
	}
	return fmt.Sprintf("%d accepted, %d rejected", n, len(got)-n)
}

// onlyRace reports whether keys are all race variants (and not empty).
func onlyRace(keys []string) bool {
	for _, k := range keys {
		if k != "race" {
			return false
		}
	}
	return len(keys) > 0
}

// onlyRaceLeft reports whether the candidates after the assumed one are
// only a race while a sequential mechanism on top of the assumed one (p,
// q) explains the new finding: then the assumed cause stands, with a
// second one.
func onlyRaceLeft(rest []string, p Profile, q quirks, hs []history) bool {
	if !onlyRace(rest) {
		return false
	}
	e := explain(p, q, hs)
	return e != nil && len(e.keys) > 0
}
