// Package probe measures the policy of a black-box verifier and writes it
// down as a [harness.Profile], ready for --profile.
//
// Every measurement enrolls fresh tokens (new serial, new secret drawn
// from a seeded source) so that measurements never disturb each other, and
// spends as few requests as it can: where the answer is monotonic (the
// look-ahead edge, the resync window, the lockout threshold, the TOTP
// skew) it gallops and then bisects, and when the verifier claims a value
// in its hello the claim is tried first, so that a truthful claim is
// confirmed with two probes on either side of the edge. The prober knows
// every secret and never draws a conclusion from a code that also belongs
// to another counter or step in the range that matters: it draws another
// secret instead.
//
// Each [Finding] says how sure it is ([Exact], [LowerBound], [NotObserved],
// [NotMeasured]) and how many requests it cost. Some behaviours cannot be
// written in a profile (a verifier that stores the last used counter, a
// code length taken from the typed code); those findings are marked
// Departs and explained, and the profile keeps the value that is exact on
// fresh tokens.
//
// A command needs only this:
//
//	res, err := probe.Probe(ctx, v, probe.Options{Seed: seed})
//	os.Stdout.Write(res.Profile.JSON())
//	res.Table(os.Stderr)
//	res.SVG(chartFile)
package probe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// Default limits of the searches, used when the Options leave them zero.
const (
	// DefaultMaxLookAhead is the largest look-ahead searched for: the
	// largest a profile can claim (a wider one cannot be judged).
	DefaultMaxLookAhead = 1_000
	// DefaultMaxResyncWindow is the largest resync window searched for.
	DefaultMaxResyncWindow = 100_000
	// DefaultMaxResyncCodes is the largest number of resync codes tried.
	DefaultMaxResyncCodes = 3
	// DefaultMaxLockout is the largest lockout threshold searched for.
	DefaultMaxLockout = 100
	// DefaultMaxSkew is the largest TOTP skew searched for, in steps.
	DefaultMaxSkew = 10
	// DefaultMaxRate is the largest rate limit searched for, in checks.
	DefaultMaxRate = 20
	// DefaultMaxDrift is how far the probe walks a recorded TOTP drift
	// before it calls the drift unbounded, in steps.
	DefaultMaxDrift = 32
	// DefaultMaxSkewRange is the largest skew-learning range searched
	// for, in steps.
	DefaultMaxSkewRange = 4096
	// DefaultTrials is the number of concurrency trials: each submits one
	// correct code 8 times at once on a fresh token.
	DefaultTrials = 16
)

// Wait is how long the probe lets simulated time pass to conclude that a
// refusal lasts "forever": longer than any delay, release or window a
// profile can state (100,000,000 s), and a whole number of 30, 45, 60 and
// 3600 s steps, so that a TOTP token keeps its place in the step.
const Wait = 108_000_000

// Options configure a probe. The zero value probes with a random seed, a
// 5 s request timeout, the default limits and clock detection.
type Options struct {
	// Seed makes the probe reproducible: serials and secrets derive from
	// it. Zero picks a random seed, which the result records.
	Seed uint64
	// Timeout bounds each request; zero means harness.DefaultTimeout.
	Timeout time.Duration
	// MaxLookAhead bounds the look-ahead search; zero means
	// DefaultMaxLookAhead.
	MaxLookAhead uint64
	// MaxResyncWindow bounds the resync window search; zero means
	// DefaultMaxResyncWindow.
	MaxResyncWindow uint64
	// MaxResyncCodes is the largest number of codes per resync tried (from
	// 1 up); zero means DefaultMaxResyncCodes.
	MaxResyncCodes int
	// MaxLockout bounds the lockout search, in consecutive failures; zero
	// means DefaultMaxLockout.
	MaxLockout int
	// MaxSkew bounds the TOTP skew search, in steps each way; zero means
	// DefaultMaxSkew.
	MaxSkew uint64
	// Digits are the code lengths the profile may list; accepted lengths
	// outside it are reported but left out of the profile. Nil means 6
	// and 8, the lengths the conformance suite judges.
	Digits []int
	// Serial returns a fresh 13-digit serial for a token of the given
	// kind. Nil derives serials from the seed (prefix 1 for HOTP, 2 for
	// TOTP), so that probes with different seeds do not clash on a shared
	// verifier.
	Serial func(kind harness.Kind) string
	// Clock is "" to detect the verifier's clock, or harness.ClockRequest
	// or harness.ClockWall to take it as given.
	Clock string
	// Now reads the wall clock; nil means time.Now.
	Now func() time.Time
	// MaxRate bounds the rate-limit search, in checks; zero means
	// DefaultMaxRate.
	MaxRate int
	// MaxDrift bounds the drift walk, in steps; zero means
	// DefaultMaxDrift.
	MaxDrift uint64
	// MaxSkewRange bounds the skew-learning range search, in steps; zero
	// means DefaultMaxSkewRange.
	MaxSkewRange uint64
	// Trials is the number of concurrency trials; zero means
	// DefaultTrials, a negative value skips them.
	Trials int
	// IgnoreClaim measures as if the verifier claimed nothing in its hello.
	// By default a claimed value is tried first, which confirms a truthful
	// claim with the fewest requests; the result is measured either way.
	IgnoreClaim bool
	// MaxWait bounds, on real time (a verifier that reads its own clock,
	// which the probe cannot set), how long one search lets time pass: a
	// refusal that lasts longer is reported as lasting more than MaxWait.
	// Zero means DefaultMaxWait.
	MaxWait time.Duration
	// Waiting, when set, is told of every wait of a second or more for
	// real time to pass. Waits of several tokens overlap, so calls may
	// come from several goroutines at once.
	Waiting func(Waiting)
}

// Certainty says how far a finding can be trusted.
type Certainty string

// The certainties of a finding.
const (
	// Exact: the value was observed on both sides (an accepted and a
	// rejected probe next to each other), with unambiguous codes.
	Exact Certainty = "exact"
	// LowerBound: the value is at least this; the search reached its limit.
	LowerBound Certainty = "lower bound"
	// NotObserved: the behaviour did not show up within the limits (no
	// lockout after the maximum number of failures, no resync accepted).
	NotObserved Certainty = "not observed"
	// NotMeasured: the finding needs something the verifier lacks (a token
	// kind, an operation) or a value that was only bounded.
	NotMeasured Certainty = "not measured"
	// CouldNotTell: what was observed fits more than one value (a rate
	// limit masking a throttle, a lockout that releases like a throttle);
	// the profile holds one value consistent with every observation and
	// the evidence names the others.
	CouldNotTell Certainty = "could not tell"
)

// Finding is one measured property of the verifier.
type Finding struct {
	// Name identifies the property ("look-ahead", "lockout", ...).
	Name string `json:"name"`
	// Value is the measured value, as a person reads it.
	Value string `json:"value"`
	// Certainty says how sure the value is.
	Certainty Certainty `json:"certainty"`
	// Requests is the number of requests the measurement cost, enrolls
	// included.
	Requests int `json:"requests"`
	// Evidence says what was sent and what came back.
	Evidence string `json:"evidence"`
	// Departs is set when the verifier departs from RFC 4226/6238 or from
	// the profile's meaning in a way the profile cannot express.
	Departs bool `json:"departs,omitempty"`
	// Weak is set when the profile can state the measured value but it
	// falls short of what the RFCs ask (no limit on guessing): a finding
	// the conformance suite reports too.
	Weak bool `json:"weak,omitempty"`
}

// Point is one probe of a monotonic search: the probed value and whether
// the verifier accepted.
type Point struct {
	// X is the probed value: an offset, a number of failures, a step.
	X int64 `json:"x"`
	// Accepted is the verifier's verdict on the probe.
	Accepted bool `json:"accepted"`
	// Y is, in a curve, the measured value at X (a delay in seconds).
	Y int64 `json:"y,omitempty"`
}

// Series is the data of one chart row: the probes of one search.
type Series struct {
	// Name says what was searched ("HOTP look-ahead").
	Name string `json:"name"`
	// Unit names X ("offset from the counter").
	Unit string `json:"unit"`
	// Points are the probes in the order they were made.
	Points []Point `json:"points"`
	// Curve marks a row of measured values (X, Y) rather than accepted
	// and rejected probes: the throttle's delay after X failures.
	Curve bool `json:"curve,omitempty"`
}

// Result is what a probe found.
type Result struct {
	// Name is the verifier's name from its hello, if any.
	Name string `json:"name,omitempty"`
	// Profile is the measured policy, ready for --profile.
	Profile harness.Profile `json:"profile"`
	// Claimed is the policy the verifier claims in its hello, if any.
	Claimed *harness.Profile `json:"claimed,omitempty"`
	// Findings are the measurements, in the order they were made.
	Findings []Finding `json:"findings"`
	// Series are the probes of the monotonic searches, for a chart.
	Series []Series `json:"series,omitempty"`
	// Requests is the total number of requests sent.
	Requests int `json:"requests"`
	// Seed replays the probe.
	Seed uint64 `json:"seed"`
	// Duration is how long the probe took.
	Duration time.Duration `json:"duration_ns"`
}

// Finding returns the finding with the given name and whether there is one.
func (r *Result) Finding(name string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Name == name {
			return f, true
		}
	}
	return Finding{}, false
}

// Probe measures v's policy. It returns an error when the probe cannot be
// completed: a request timed out or failed in transport, ctx was
// cancelled, or no token of any kind could be enrolled and verified. The
// Result is then partial (what was measured so far) but never nil. A
// request the verifier answers with an application error (ok:false with
// an error) does not stop the probe: that measurement becomes a finding
// that could not tell, naming the refused request and the verifier's
// text, and the rest goes on.
func Probe(ctx context.Context, v harness.Verifier, opts Options) (*Result, error) {
	p := newProber(ctx, v, opts)
	start := time.Now()
	// Each step has the name of its finding and says what it measures.
	steps := []struct {
		name, what string
		run        func() error
	}{
		{"hello", "hello", p.hello}, {"kinds", "the token kinds", p.kinds}, {"counters", "the counter range", p.counters},
		{"look-ahead", "the look-ahead", p.lookAhead}, {"rate-limit", "the rate limit", p.rateLimit},
		{"stored-counter", "the stored counter", p.storedCounter}, {"algorithms", "the algorithms", p.algorithms},
		{"digits", "the digit counts", p.digits}, {"code-length", "the code length", p.codeLength},
		{"input", "the input rule", p.input}, {"on-failure", "on_failure", p.onFailure}, {"resync", "resync", p.resync},
		{"totp-skew", "the TOTP skew", p.totpSkew}, {"lockout", "lockout and throttle", p.block},
		{"resync-auto", "automatic resync", p.autoResync}, {"totp-drift", "TOTP drift", p.drift},
		{"totp-reuse", "TOTP reuse", p.totpReuse}, {"totp-skew-learning", "TOTP skew learning", p.skewLearning},
		{"totp-periods", "the TOTP periods", p.periods}, {"totp-t0", "t0", p.t0}, {"flows", "the flows", p.flows},
		{"concurrency", "concurrency", p.concurrency}, {"claim", "the claim", p.compareClaim},
	}
	var err error
	for _, step := range steps {
		since := p.res.Requests
		if err = step.run(); err == nil {
			continue
		}
		var refused *harness.RefusedError
		if step.name != "hello" && step.name != "kinds" && !p.fatal(err) && errors.As(err, &refused) && !errors.Is(err, harness.ErrUnsupported) {
			p.add(since, Finding{Name: step.name, Value: "could not tell", Certainty: CouldNotTell, Departs: true,
				Evidence: fmt.Sprintf("could not tell (the verifier refused %s: %s); the rest of the probe went on", refusedWhat(err), refused.Message)})
			p.unsettled(step.name)
			err = nil
			continue
		}
		if errors.Is(err, errTooSlow) && !p.fatal(err) {
			p.add(since, Finding{Name: step.name, Value: "could not tell", Certainty: CouldNotTell,
				Evidence: fmt.Sprintf("could not tell: %v; each such check was accepted, but in a later second than planned, when a refusal may have ended; the profile leaves this unset; the rest of the probe went on", err)})
			p.unsettled(step.name)
			err = nil
			continue
		}
		if step.name != "hello" {
			err = fmt.Errorf("measuring %s: %w", step.what, err)
		}
		break
	}
	p.res.Profile = p.profile()
	p.res.Duration = time.Since(start)
	if err != nil {
		return p.res, fmt.Errorf("probe: %w", err)
	}
	return p.res, nil
}

// unsettled forgets what a step that could not tell had begun to
// conclude, so that the profile does not claim it: a lockout step that
// found neither a lockout nor a throttle must not declare "limits"
// "none".
func (p *prober) unsettled(step string) {
	if step == "lockout" && p.lockAfter == 0 && p.throttle == nil {
		p.lockDone = false
	}
}

// refusedReq is a request the verifier answered with an application
// error, told in the terms of the measurement: "a check at counter 2^63".
type refusedReq struct {
	what string
	err  error
}

func (e *refusedReq) Error() string { return e.what + ": " + e.err.Error() }
func (e *refusedReq) Unwrap() error { return e.err }

// refusedWhat names the refused request in err, or says "a request".
func refusedWhat(err error) string {
	var r *refusedReq
	if errors.As(err, &r) {
		return r.what
	}
	var h *harness.RefusedError
	if errors.As(err, &h) && h.Op != "" {
		return "a " + h.Op + " request"
	}
	return "a request"
}

// prober holds the state of one probe: the options, the seeded sources
// and what has been measured so far.
type prober struct {
	ctx    context.Context
	v      harness.Verifier
	o      Options
	rng    *rand.Rand
	serial uint64 // base of the default serial source
	count  uint64 // serials handed out
	res    *Result
	claim  *harness.Profile
	simAt  time.Time // the simulated "now" for request-clock checks

	hotp, totp *config // working token configurations, nil if unsupported
	clock      string  // measured clock, for TOTP
	totpTok    *tok    // the TOTP token whose current code was accepted
	// clockChecked: the clock the client sets was checked (checkClock);
	// clockOff: it was found not to follow, so the probe treats the
	// verifier as one on its own clock.
	clockChecked, clockOff bool

	algs       []token.Algorithm // accepted algorithms
	digitsOK   []int             // accepted digit counts
	lower      int64             // lower edge of the HOTP window (0 normally)
	l          uint64            // look-ahead
	lBound     bool              // l is only a lower bound
	lastUsed   bool              // the verifier stores the last used counter
	resyncN    int
	resyncR    uint64
	resyncDone bool // resync was measured
	back       uint64
	ahead      uint64
	lockAfter  int
	lockDone   bool // lockout was measured
	burns      bool // a rejected check moves the HOTP counter
	burnKnown  bool // whether it does has been measured
	resyncUnl  bool

	counterRange *harness.CounterRange    // measured HOTP counter range
	inputRule    string                   // exact, lenient or "" (neither)
	inputDone    bool                     // input was measured
	rate         *harness.RateLimitPolicy // measured rate limit
	rateDone     bool                     // the rate limit was measured
	throttle     *harness.ThrottlePolicy  // measured throttle
	release      int64                    // lockout.release_after
	countsResync bool
	auto         *harness.AutoResync
	reuse        string               // totp.reuse
	driftPol     *harness.DriftPolicy // totp.drift
	learn        *harness.TOTPResync  // totp.resync
	periodList   []int64              // totp.periods; nil is any
	t0OK         *bool                // totp.t0
	flowList     []string
	unlockOK     int    // 0 unknown, 1 works, -1 refused
	lockedSeen   bool   // some reply said locked
	knownCounter uint64 // a HOTP counter that was enrolled

	// On real time several tokens wait at once: mu guards the request
	// count, lockedSeen and the fields below, rngMu the seeded sources.
	mu      sync.Mutex
	rngMu   sync.Mutex
	waitFor string // the measurement that waits, for Options.Waiting
	waitWhy string // what it waits for
	late    int64  // seconds the tokens' real-time clocks moved on
	slips   int64  // checks redone because they slipped into a later second
}

// config is a token configuration the verifier accepts.
type config struct {
	kind   harness.Kind
	alg    token.Algorithm
	digits int
}

func newProber(ctx context.Context, v harness.Verifier, o Options) *prober {
	if o.Seed == 0 {
		o.Seed = rand.Uint64()>>1 | 1
	}
	if o.Timeout <= 0 {
		o.Timeout = harness.DefaultTimeout
	}
	if o.MaxLookAhead == 0 {
		o.MaxLookAhead = DefaultMaxLookAhead
	}
	if o.MaxResyncWindow == 0 {
		o.MaxResyncWindow = DefaultMaxResyncWindow
	}
	if o.MaxResyncCodes <= 0 {
		o.MaxResyncCodes = DefaultMaxResyncCodes
	}
	if o.MaxLockout <= 0 {
		o.MaxLockout = DefaultMaxLockout
	}
	if o.MaxSkew == 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.MaxRate <= 0 {
		o.MaxRate = DefaultMaxRate
	}
	if o.MaxDrift == 0 {
		o.MaxDrift = DefaultMaxDrift
	}
	if o.MaxSkewRange == 0 {
		o.MaxSkewRange = DefaultMaxSkewRange
	}
	if o.Trials == 0 {
		o.Trials = DefaultTrials
	}
	if o.Digits == nil {
		o.Digits = []int{6, 8} // the lengths the conformance suite judges
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	p := &prober{
		ctx:    ctx,
		v:      v,
		o:      o,
		rng:    rand.New(rand.NewPCG(o.Seed, 0x9b0be)),
		serial: rand.New(rand.NewPCG(o.Seed, 0x5e1a15)).Uint64N(1_000_000_000_000),
		res:    &Result{Seed: o.Seed},
	}
	// Far enough from the wall clock that no skew reaches it, so that a
	// code accepted at this time proves the verifier took the request's.
	const period = token.DefaultPeriod
	far := o.Now().Add(-1000 * 24 * time.Hour).Unix()
	p.simAt = time.Unix(far-far%period+period/2, 0)
	return p
}

// profile assembles the measured policy, in the explicit form: a value
// the verifier was measured to have is written even when it is the
// default (on_failure "keep", input "exact", reuse "later", t0 true), and
// "none" is written as resync {codes 0} and lockout {after 0}. Fields of a
// kind the verifier does not support stay unset.
func (p *prober) profile() harness.Profile {
	var pr harness.Profile
	if p.hotp != nil {
		pr.Kinds = append(pr.Kinds, harness.HOTP)
	}
	if p.totp != nil {
		pr.Kinds = append(pr.Kinds, harness.TOTP)
	}
	for _, a := range p.algs {
		pr.Algorithms = append(pr.Algorithms, a.String())
	}
	pr.Digits = profileDigits(p.digitsOK, p.o.Digits)
	if p.hotp != nil {
		pr.Counters = p.counterRange
		pr.LookAhead = harness.Uint64(p.l)
		if p.burnKnown {
			pr.OnFailure = harness.OnFailureKeep
			if p.burns {
				pr.OnFailure = harness.OnFailureAdvance
			}
		}
		if p.resyncDone {
			pr.Resync = &harness.ResyncPolicy{Codes: p.resyncN, Window: p.resyncR, Auto: p.auto}
		}
	}
	if p.inputDone {
		pr.Input = p.inputRule
	}
	if p.lockDone {
		pr.Lockout = &harness.LockoutPolicy{After: p.lockAfter, ResyncUnlocks: p.resyncUnl,
			ReleaseAfter: p.release, CountsResync: p.countsResync}
	}
	pr.Throttle = p.throttle
	pr.RateLimit = p.rate
	if p.lockDone && !pr.HasLimit() {
		// Nothing stopped guessing: declared, not written as lockout 0.
		pr.Lockout, pr.Limits = nil, harness.LimitsNone
	}
	if p.totp != nil {
		pr.TOTP = &harness.TOTPPolicy{SkewBack: p.back, SkewAhead: p.ahead, Reuse: p.reuse,
			Drift: p.driftPol, Resync: p.learn, Periods: p.periodList, T0: p.t0OK}
		pr.Clock = p.clock
	} else if p.clock == harness.ClockWall {
		pr.Clock = p.clock // the HOTP time rules run on the verifier's clock
	}
	pr.Flows = p.flowList
	return pr
}

// profileDigits keeps the accepted lengths the profile may list; if none
// of them is accepted it lists every accepted length, since an empty list
// would claim 6 digits.
func profileDigits(accepted, allowed []int) []int {
	var out []int
	for _, d := range accepted {
		for _, a := range allowed {
			if d == a {
				out = append(out, d)
				break
			}
		}
	}
	if len(out) == 0 && len(accepted) > 0 {
		return append([]int(nil), accepted...)
	}
	return out
}
