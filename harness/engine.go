package harness

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a run. The zero value runs every case with a random
// seed, the default number of property sequences and a 5 s request timeout.
type Options struct {
	// Profile, when set, is the policy to judge against; it wins over the
	// profile in the verifier's hello reply.
	Profile *Profile
	// Name names the verifier in the report when hello does not.
	Name string
	// Run and Skip select cases by ID: a case runs when Run is nil or
	// matches, and Skip is nil or does not match.
	Run, Skip *regexp.Regexp
	// Seed makes the run reproducible: tokens, secrets and property
	// sequences all derive from it. Zero picks a random seed, which the
	// report records.
	Seed uint64
	// Checks is the number of random sequences each property case plays;
	// zero means DefaultChecks, a negative value skips property cases.
	Checks int
	// Timeout bounds each request to the verifier; zero means 5 s.
	Timeout time.Duration
	// Now reads the wall clock, for the report and for verifiers that use
	// their own clock. Nil means time.Now.
	Now func() time.Time
	// Progress, when set, is called before each case starts (with a nil
	// Result) and after it ends, in catalogue order. Calls come from one
	// goroutine. Cases judged on real time start earlier, all at once, and
	// are reported in their turn.
	Progress func(Progress)
	// Waiting, when set, is called each time a case judged on real time
	// (or the clock-offset measurement before the cases) starts waiting for
	// real time to pass. Cases judged on real time run concurrently, so
	// calls may come from several goroutines at once.
	Waiting func(Waiting)
	// MaxWait bounds the real time one case waits when the verifier is
	// judged on real time: in total for the profile's time rules
	// (throttle, rate limit, release, automatic resync) to run out, and
	// for the TOTP steps a case needs to pass; a case that needs more
	// SKIPs. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// SetClock, when set, sets the clock of an in-process verifier that
	// reads its own time (such as a [ManualClock]'s Set for a verifier
	// built on its Now). The harness calls it with each check's and
	// resync's time just before the request reaches the verifier, and never
	// has requests at different times in flight together (requests at one
	// time may still run concurrently; enroll and unlock carry no time and
	// go at whatever time the clock says). A profile with clock "wall" is
	// then judged on simulated time, exactly as one with clock "request":
	// every time-dependent case runs. It is the in-process counterpart of
	// an exec verifier under the fake clock (conformance run --clock fake).
	// SetClock must return promptly and must not call the verifier. Nil
	// leaves the verifier's clock alone: a "wall" verifier is judged on
	// real time.
	SetClock func(time.Time)
	// Nodes are further nodes of the deployment, over the store the
	// verifier passed to Execute (node 1) uses: each token's requests go
	// round the nodes, from a node drawn from the seed and the serial, so
	// that a code accepted on one node is sent again on another and
	// failures on several nodes must add up. Enrolling on one node and
	// checking on another must work.
	Nodes []Verifier

	// inTest and testName are set by Run: under go test rapid may write
	// its fail files, named after the test.
	inTest   bool
	testName string
}

// Progress reports a case starting or ending.
type Progress struct {
	// Index counts cases from 1; Total is the number selected.
	Index, Total int
	// ID is the case.
	ID string
	// Result is nil when the case starts.
	Result *Result
}

// Waiting reports a wait for real time to pass.
type Waiting struct {
	// ID is the waiting case, empty for the clock-offset measurement.
	ID string
	// For is how long the wait lasts; Why says what it waits for.
	For time.Duration
	Why string
	// InFlight is the number of cases judged on real time running now.
	InFlight int
}

// DefaultChecks is the number of property sequences per property case.
const DefaultChecks = 100

// DefaultTimeout bounds one request when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// refusedWords is how a script tells an application error: the verifier
// answered, with ok:false and an error.
const refusedWords = "refused with an error"

// ErrHello reports that the verifier did not answer hello: the run could
// not start.
var ErrHello = errors.New("verifier did not answer hello")

// RefusedError is returned by a Verifier when the verifier itself answered
// a request with an error (protocol v1's ok:false), as opposed to a
// transport failure.
type RefusedError struct {
	// Op is the refused operation.
	Op string
	// Message is the verifier's error text.
	Message string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("verifier refused %s: %s", e.Op, e.Message)
}

// Execute runs the selected cases against v and returns the report. It
// returns an error only when the run cannot start: an invalid profile
// (wrapping [ErrProfile]) or a verifier that does not answer hello
// (wrapping [ErrHello]). A cancelled ctx stops the run between cases; the
// report then has Interrupted set and holds the cases that finished (none
// when ctx was cancelled while the verifier was starting).
func Execute(ctx context.Context, v Verifier, opts Options) (*Report, error) {
	r, err := newRun(ctx, v, opts)
	if err != nil && errors.Is(err, ErrHello) && errors.Is(ctx.Err(), context.Canceled) {
		// Interrupted before hello was answered: not the verifier's fault.
		return interruptedAtStart(opts), nil
	}
	if err != nil {
		return nil, err
	}
	cases := r.selected()
	if r.realTime() && anyRealTime(cases, r.p) {
		r.report.ClockNote = joinNotes(r.report.ClockNote, r.measureOffset(ctx))
		if r.offsetKnown {
			off := r.offset
			r.report.ClockOffset = &off
		}
	}
	// Cases judged on real time start at once, each on its own tokens, so
	// that their waits overlap; their results are collected in order.
	early := map[*caseDef]chan Result{}
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.realTime() {
		sem := make(chan struct{}, maxEarly)
		for _, c := range cases {
			if !r.startsEarly(c) || r.skipReason(c) != "" {
				continue
			}
			ch := make(chan Result, 1)
			early[c] = ch
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				r.inFlight.Add(1)
				defer r.inFlight.Add(-1)
				ch <- r.runCase(ctx, c)
			}()
		}
	}
	for i, c := range cases {
		if ctx.Err() != nil {
			r.report.Interrupted = true
			break
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Index: i + 1, Total: len(cases), ID: c.id})
		}
		var res Result
		if ch, ok := early[c]; ok {
			res = <-ch
		} else {
			res = r.runCase(ctx, c)
		}
		if ctx.Err() != nil && res.Verdict == Error {
			r.report.Interrupted = true
			break
		}
		r.report.Results = append(r.report.Results, res)
		if opts.Progress != nil {
			opts.Progress(Progress{Index: i + 1, Total: len(cases), ID: c.id, Result: &res})
		}
	}
	r.report.Duration = r.now().Sub(r.report.Started)
	setCauses(r.report)
	r.confirmClaims(ctx, cases)
	return r.report, nil
}

// run is the state shared by the cases of one run.
type run struct {
	v       Verifier
	p       Profile
	info    Info
	opts    Options
	seed    uint64
	checks  int
	timeout time.Duration
	now     func() time.Time
	report  *Report
	serials atomic.Uint64
	base    uint64
	// clockSet: the verifier reads its own clock, and the adapter sets it
	// to each request's time (a ClockSetter); clock is what the check of
	// that clock found (clockcheck.go).
	clockSet bool
	clock    *ClockCheck
	// offset is the verifier's clock minus the local clock in seconds
	// (real-time mode), valid when offsetKnown.
	offset      int64
	offsetKnown bool
	// inFlight counts the cases judged on real time running now.
	inFlight atomic.Int64
}

// maxEarly bounds how many cases run at once on real time.
const maxEarly = 16

// startsEarly reports whether case c runs on real time concurrently with
// the others, so that its waits overlap theirs: the time-step cases once
// the clock offset is known, and, when the profile claims time rules that
// any case may have to wait out, every case (each has its own tokens; the
// property cases take turns, rapid being one per process).
func (r *run) startsEarly(c *caseDef) bool {
	if c.onRealTime(r.p) {
		return r.offsetKnown
	}
	return r.p.hasTimeRules()
}

// anyRealTime reports whether a case can be judged on the real clock.
func anyRealTime(cases []*caseDef, p Profile) bool {
	for _, c := range cases {
		if c.onRealTime(p) {
			return true
		}
	}
	return false
}

// interruptedAtStart is the report of a run stopped before the verifier
// answered hello: interrupted, with no result.
func interruptedAtStart(opts Options) *Report {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	p := Profile{}
	if opts.Profile != nil {
		p = *opts.Profile
	}
	return &Report{Schema: ReportSchema, Verifier: opts.Name, Profile: p, Seed: opts.Seed, Checks: opts.Checks,
		Started: now(), Interrupted: true, Results: []Result{}}
}

func newRun(ctx context.Context, v Verifier, opts Options) (*run, error) {
	r := &run{opts: opts, seed: opts.Seed, checks: opts.Checks, timeout: opts.Timeout, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	if r.seed == 0 {
		r.seed = rand.Uint64()>>1 | 1
	}
	if len(opts.Nodes) > 0 {
		v = newSpread(append([]Verifier{v}, opts.Nodes...), r.seed)
	}
	if opts.SetClock != nil {
		v = withClock(v, opts.SetClock)
	}
	r.v = v
	if r.checks == 0 {
		r.checks = DefaultChecks
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	r.base = rand.New(rand.NewPCG(r.seed, 0x5e71a1)).Uint64N(1_000_000_000_000)
	if d, ok := v.(Describer); ok {
		hctx, cancel := context.WithTimeout(ctx, r.timeout)
		info, err := d.Describe(hctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHello, err)
		}
		r.info = info
	}
	switch {
	case opts.Profile != nil:
		r.p = *opts.Profile
	case r.info.Profile != nil:
		r.p = *r.info.Profile
	}
	if err := r.p.Validate(); err != nil {
		return nil, err
	}
	judged := r.p
	if cs, ok := v.(ClockSetter); ok && cs.SetsClock() && r.p.Clock == ClockWall {
		// The verifier's own clock follows the requests: judge it on
		// simulated time.
		r.p.Clock = ClockRequest
		r.clockSet = true
	}
	name := r.info.Name
	if name == "" {
		name = opts.Name
	}
	r.report = &Report{Schema: ReportSchema, Verifier: name, Profile: judged, Seed: r.seed, Checks: r.checks, Started: r.now(), ClockSet: r.clockSet}
	r.verifyClock(ctx)
	return r, nil
}

func (r *run) selected() []*caseDef {
	var out []*caseDef
	chosen := map[string]*caseDef{}
	for _, c := range catalogue() {
		if r.opts.Run != nil && !r.opts.Run.MatchString(c.id) {
			continue
		}
		if r.opts.Skip != nil && r.opts.Skip.MatchString(c.id) {
			continue
		}
		if g := chosen[c.gate]; g != nil {
			if why := r.skipReason(c); why != "" && why == r.skipReason(g) {
				continue // the gate's SKIP says it for the section
			}
		}
		chosen[c.id] = c
		out = append(out, c)
	}
	return out
}

// nextSerial returns a serial that no other token of this run has.
func (r *run) nextSerial(prefix byte) string {
	n := (r.base + r.serials.Add(1)) % 1_000_000_000_000
	return fmt.Sprintf("%c%012d", prefix, n)
}

// caseSeed derives a case's seed from the run seed and the case ID, so a
// case replays alone with --run and the same --seed.
func (r *run) caseSeed(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return r.seed ^ h.Sum64()
}

// runCase runs one case in its own goroutine, so that a verdict can end
// the case from anywhere in its body (runtime.Goexit, as testing does).
func (r *run) runCase(ctx context.Context, c *caseDef) (res Result) {
	res = Result{ID: c.id, Section: c.section(), Level: c.level, Requirement: c.requirement}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	if reason := r.skipReason(c); reason != "" {
		res.Verdict, res.Messages = Skip, []string{reason}
		return res
	}
	seed := r.caseSeed(c.id)
	res.Seed = seed
	res.Level = c.levelFor(r.p)
	// On real time a case whose requests went out late (a busy machine,
	// a slow verifier) may find no second that makes a correct verifier's
	// answer certain, and judges that check leniently; a reply that comes
	// a second or more after its planned instant ends the attempt without
	// a verdict (realclock.go, replyInTime). Either way the case runs
	// again, on fresh tokens, up to realAttempts times in all: a quieter
	// moment judges it in full. When every attempt ended without a
	// verdict, the case SKIPs and says why.
	var t *ct
	for attempt := 1; ; attempt++ {
		t = r.attempt(ctx, c, seed)
		again := t.redo != "" || t.late && t.lenient && t.verdict == Pass && !c.property
		if !again || attempt == realAttempts || ctx.Err() != nil {
			if t.redo != "" {
				t.verdict = Skip
				t.msgs = []string{fmt.Sprintf("on real time, in each of %d runs, %s (a busy machine or a slow verifier): the verifier may have read a second the model does not follow, so its time rules were not judged; a verifier whose clock the harness sets (exec under libfaketime) is judged without waiting", attempt, t.redo)}
				t.script = nil
			} else if attempt > 1 {
				t.note("on real time this case ran %d times: requests of each earlier run went out or came back late (the machine or the verifier was busy), too late for every check to be judged to the second", attempt)
			}
			break
		}
	}
	res.Verdict, res.Messages, res.Script = t.verdict, t.msgs, t.script
	if t.propSeed != 0 {
		res.Seed = t.propSeed
	}
	res.hist = t.histories()
	res.agreed = t.agreed
	if t.expl != nil {
		res.Explanation = t.expl
	} else if res.Verdict == Fail || res.Verdict == NonStrict {
		res.Explanation = r.explainCase(t)
		if r.opts.inTest && res.Explanation != nil && len(res.Messages) > 0 {
			res.Messages[len(res.Messages)-1] += "\n  " + explanationLine(res.Explanation)
		}
	}
	return res
}

// realAttempts bounds how many times a case runs on real time when its
// requests went out late and left a check judged leniently, or a reply
// came a second late.
const realAttempts = 3

// attempt runs the case's body once, in its own goroutine, and returns
// its runtime with the verdict built.
func (r *run) attempt(ctx context.Context, c *caseDef, seed uint64) *ct {
	t := &ct{ctx: ctx, run: r, def: c, rng: rand.New(rand.NewPCG(seed, 0x07b1ab)), verdict: Pass, simNow: simEpoch}
	if r.realTime() {
		t.startReal()
	}
	t.start = t.now().Unix()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				t.verdict = Error
				t.msgs = append(t.msgs, fmt.Sprintf("harness panic: %v", p))
			}
		}()
		c.body(t)
	}()
	<-done
	return t
}

func (r *run) skipReason(c *caseDef) string {
	for _, op := range c.ops {
		if !r.info.Supports(op) {
			return fmt.Sprintf("the verifier does not support %s (hello lists %s)", op, strings.Join(r.info.Ops, ", "))
		}
	}
	if why := r.clockSkip(c); why != "" {
		return why
	}
	if c.property && r.checks < 0 {
		return "property cases are switched off (checks < 0)"
	}
	// A fixed-clock case that is also realtime places its steps with a
	// chosen t0: it is judged on real time when the profile claims t0.
	if c.fixedClock != "" && r.realTime() && c.needs != nil && !(c.onRealTime(r.p) && r.p.SupportsT0(-1)) {
		q := r.p
		q.Clock = ClockRequest
		if c.needs(q) == "" {
			why := "needs the verifier's clock at " + c.fixedClock + ": the verifier reads its own clock, which the harness cannot set"
			notSet := r.clock != nil && r.clock.Verdict == ClockRealTime
			if notSet {
				why = "needs the verifier's clock at " + c.fixedClock + ": the harness set the verifier's clock, but the verifier reads real time (clock_check)"
			}
			switch {
			case c.onRealTime(r.p) && notSet:
				why += "; claiming totp.t0 would judge it on real time (with a t0 chosen to place the step)"
			case c.onRealTime(r.p):
				why += "; claiming totp.t0 would judge it on real time (with a t0 chosen to place the step), and so would a clock the harness sets (--clock fake, exec verifiers)"
			}
			return why
		}
	}
	if c.onRealTime(r.p) && r.realTime() {
		// The case places its codes on the real clock: judge what it
		// needs as if the clock were the request's, then the offset.
		q := r.p
		q.Clock = ClockRequest
		if c.needs != nil {
			if why := c.needs(q); why != "" {
				return why
			}
		}
		return r.realTimeReason()
	}
	if c.needs != nil {
		return c.needs(r.p)
	}
	return ""
}

// simEpoch is the simulated "now" at which every case starts when the
// verifier takes its time from requests: 2026-01-01T00:00:00Z.
const simEpoch = 1_767_225_600

// ct is the runtime of one case: the verifier, the profile, a seeded
// random source and the verdict being built.
type ct struct {
	ctx    context.Context
	run    *run
	def    *caseDef
	rng    *rand.Rand
	simNow int64
	start  int64 // the case's first request time, for scripts
	// rt maps the case's seconds onto real time, on real time
	// (realclock.go); waited is the real time waited so far, lenient is
	// set once a check was judged leniently, late once a request went out
	// more than placeSlack after its planned instant, and redo says why
	// the attempt ended without a verdict (a reply a second late).
	rt      realSeconds
	waited  time.Duration
	lenient bool
	late    bool
	redo    string
	// quirks are model departures the case's trackers assume (set only
	// when a property case re-runs under an explained cause).
	quirks   quirks
	mu       sync.Mutex
	verdict  Verdict
	msgs     []string
	script   []string
	propSeed uint64
	// agreed are the property sequences that agreed with the profile's
	// model: evidence every cause must fit.
	agreed []history
	sims   []*sim
	expl   *Explanation
}

func (t *ct) profile() Profile { return t.run.p }

// fail records a broken requirement and ends the case. The verdict follows
// the case's level: FAIL for MUST and PROFILE, NON-STRICT for SHOULD, and
// a note for INFO.
func (t *ct) fail(format string, a ...any) {
	v := Pass
	switch t.def.levelFor(t.profile()) {
	case MUST, PROFILE:
		v = Fail
	case SHOULD:
		v = NonStrict
	}
	t.failAt(v, format, a...)
}

// failAt records a verdict with its message and ends the case.
func (t *ct) failAt(v Verdict, format string, a ...any) {
	t.mu.Lock()
	if v != Pass {
		t.verdict = v
	}
	t.msgs = append(t.msgs, fmt.Sprintf(format, a...))
	t.mu.Unlock()
	runtime.Goexit()
}

// wait lets d seconds pass on the case's clock: at once on simulated time,
// and on real time when the next request is placed (realclock.go).
func (t *ct) wait(d int64, why *sim) {
	if d <= 0 {
		return
	}
	t.simNow += d
	if why != nil {
		why.tell("waited %d s", d)
	}
}

// note records an observation without changing the verdict.
func (t *ct) note(format string, a ...any) {
	t.mu.Lock()
	t.msgs = append(t.msgs, fmt.Sprintf(format, a...))
	t.mu.Unlock()
}

// skip ends the case as SKIP.
func (t *ct) skip(format string, a ...any) {
	t.mu.Lock()
	t.verdict = Skip
	t.msgs = append(t.msgs, fmt.Sprintf(format, a...))
	t.mu.Unlock()
	runtime.Goexit()
}

// abort ends the case as ERROR: the verifier could not be judged.
func (t *ct) abort(format string, a ...any) {
	t.mu.Lock()
	t.verdict = Error
	t.msgs = append(t.msgs, fmt.Sprintf(format, a...))
	t.mu.Unlock()
	runtime.Goexit()
}

// callErr turns a verifier error into the case's end: SKIP when the
// operation is unsupported, FAIL when the verifier answered with an
// application error (ok:false with an error: it could not serve a request
// the profile claims), ERROR for a transport failure, a timeout or a
// malformed reply (the verifier was not judged).
func (t *ct) callErr(op string, err error) {
	t.callErrAfter("", op, err)
}

// callErrAfter is callErr for a request that follows story, the numbered
// steps of a token so far.
func (t *ct) callErrAfter(story, op string, err error) {
	if errors.Is(err, ErrUnsupported) {
		t.skip("the verifier does not support %s: %v", op, err)
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		t.failAt(Fail, "%s%s\n  => %s: the verifier answered with an error (%s) to a request the profile claims it serves; a rejected code is ok:true with accepted:false", story, op, refusedWords, refused.Message)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.abort("%s: no reply within %v: %v", op, t.run.timeout, err)
	}
	t.abort("%s: %v", op, err)
}

func (t *ct) reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.ctx, t.run.timeout)
}

// now returns the time to put in requests: the case's clock, which on
// real time follows the real clock (it moves on when the case falls
// behind, realclock.go).
func (t *ct) now() time.Time {
	if t.run.realTime() {
		t.catchUp()
	}
	return time.Unix(t.simNow, 0)
}
