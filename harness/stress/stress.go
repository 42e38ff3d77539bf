package stress

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// Node is one endpoint of the deployment under test.
type Node struct {
	// Name identifies the node in reports (its URL or command line).
	Name string
	// Verifier reaches the node.
	Verifier harness.Verifier
}

// Defaults of [Options].
const (
	DefaultUsers        = 50
	DefaultDuration     = 10 * time.Second
	DefaultTimeout      = 5 * time.Second
	DefaultCheckTimeout = 10 * time.Second
	// MaxRequests bounds Options.Requests: a run that ends.
	MaxRequests = 100_000_000
	// MaxDuration bounds Options.Duration.
	MaxDuration = 24 * time.Hour
)

// Options configure a stress run.
type Options struct {
	// Nodes are the endpoints of one deployment over one store; at least
	// one.
	Nodes []Node
	// Profile is the policy the deployment claims; every node enforces it.
	Profile harness.Profile
	// Ops lists the operations the deployment supports (hello's ops);
	// empty means all of them. Users resync and unlock only when they
	// can.
	Ops []string
	// Users is the number of simulated users, each with one token
	// (0: DefaultUsers).
	Users int
	// Duration bounds the run's load in time, from when every user is
	// enrolled (0: DefaultDuration unless Requests is set).
	Duration time.Duration
	// Requests bounds the run in requests, enrolments not counted
	// (0: no bound besides Duration).
	Requests int
	// Rate is the target number of requests per second over all users
	// (0: as fast as the nodes answer).
	Rate float64
	// Seed makes the users' choices, tokens and nodes reproducible.
	Seed uint64
	// Timeout is the most one request may take before its outcome is
	// taken as unknown (0: DefaultTimeout). A user's enrolment is set-up,
	// not load: every user is enrolled before Duration starts, each
	// enrolment waiting at least DefaultTimeout, so that a short Timeout
	// or a busy machine does not leave users unenrolled.
	Timeout time.Duration
	// CheckTimeout is the most the linearizability check of one token may
	// take; a token not checked in time is listed in the report
	// (0: DefaultCheckTimeout).
	CheckTimeout time.Duration
	// ExplainTokens is how many violating tokens the explanation engine
	// explains, by serial (0: DefaultExplainTokens; negative: none); the
	// others are listed as not explained.
	ExplainTokens int
	// ExplainTimeout bounds the time spent explaining violations; tokens
	// not reached in time are listed as not explained
	// (0: DefaultExplainTimeout).
	ExplainTimeout time.Duration
	// Shard and Shards give this run the tokens i with i mod Shards ==
	// Shard, so that several processes stress one deployment with
	// disjoint tokens (0 and 0: every token).
	Shard, Shards int
	// Clock is the time source for request times and the history
	// (nil: time.Now).
	Clock func() time.Time
	// Progress, when set, is called about once a second while requests
	// are sent.
	Progress func(Progress)
}

// Progress is the state of a run while it sends requests.
type Progress struct {
	// Elapsed is the time since the first request.
	Elapsed time.Duration
	// Requests counts the requests that returned or gave up so far.
	Requests int64
	// Unknown counts those without a reply.
	Unknown int64
}

// op is one recorded request of one token.
type op struct {
	node     int
	req      harness.Request
	label    string // the codes in the token's terms
	call     int64  // ns since the run's start
	ret      int64  // ns since the run's start; math.MaxInt64 when unknown
	took     time.Duration
	accepted bool
	locked   bool
	unknown  bool
	err      string
}

// user is one simulated user and the history of its token.
type user struct {
	tok      harness.Token
	key      *token.Key
	rng      *rand.Rand
	press    uint64 // HOTP: the device's next counter
	sent     []sentCode
	mu       sync.Mutex
	ops      []op
	enrolled bool
}

// sentCode is a code the user typed once, kept for replays.
type sentCode struct {
	code, label string
}

type runner struct {
	o       Options
	clock   func() time.Time
	start   time.Time
	budget  atomic.Int64 // requests left (when bounded)
	bounded bool
	count   atomic.Int64
	unknown atomic.Int64
	slot    atomic.Int64
	ops     map[string]bool
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Nodes) == 0 {
		return o, errors.New("stress: no node to send requests to")
	}
	if err := o.Profile.Validate(); err != nil {
		return o, fmt.Errorf("stress: %w", err)
	}
	if !o.Profile.SupportsKind(harness.HOTP) && !o.Profile.SupportsKind(harness.TOTP) {
		return o, errors.New("stress: the profile claims neither hotp nor totp tokens")
	}
	if o.Users == 0 {
		o.Users = DefaultUsers
	}
	if o.Users < 0 || o.Users > 1_000_000 {
		return o, fmt.Errorf("stress: %d users: want 1 to 1000000", o.Users)
	}
	if o.Requests < 0 || o.Requests > MaxRequests {
		return o, fmt.Errorf("stress: %d requests: want 0 to %d", o.Requests, MaxRequests)
	}
	if o.Duration < 0 || o.Duration > MaxDuration {
		return o, fmt.Errorf("stress: duration %v: want 0 to %v", o.Duration, MaxDuration)
	}
	if o.Duration == 0 && o.Requests == 0 {
		o.Duration = DefaultDuration
	}
	if o.Duration == 0 {
		o.Duration = MaxDuration
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return o, fmt.Errorf("stress: rate %v: want a positive number of requests per second, or 0", o.Rate)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CheckTimeout == 0 {
		o.CheckTimeout = DefaultCheckTimeout
	}
	if o.Timeout < 0 || o.CheckTimeout < 0 || o.ExplainTimeout < 0 {
		return o, errors.New("stress: timeouts must be positive")
	}
	if o.Shards < 0 || o.Shard < 0 || (o.Shards > 0 && o.Shard >= o.Shards) || (o.Shards == 0 && o.Shard != 0) {
		return o, fmt.Errorf("stress: shard %d/%d: want 0 <= i < N", o.Shard, o.Shards)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o, nil
}

// Run stresses the nodes and checks the histories. It returns a report
// also when ctx ends the run early (Report.Interrupted); an error means the
// options are wrong. Tokens that could not be enrolled are listed in
// Report.NotEnrolled, and the run goes on with the others.
func Run(ctx context.Context, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{o: o, clock: o.Clock, ops: map[string]bool{}}
	for _, op := range o.Ops {
		r.ops[op] = true
	}
	if o.Requests > 0 {
		r.bounded = true
		r.budget.Store(int64(o.Requests))
	}
	users, err := r.makeUsers()
	if err != nil {
		return nil, err
	}
	// Enrolment is set-up, not load: every user is enrolled before the
	// run's clock starts, so that a slow enrolment (a busy machine, a
	// verifier that writes to disk) takes nothing from Duration.
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.enroll(ctx, u)
		}()
	}
	wg.Wait()
	r.start = r.clock()
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	for _, u := range users {
		if !u.enrolled {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.play(runCtx, u)
		}()
	}
	done := make(chan struct{})
	if o.Progress != nil {
		go r.report(runCtx, done)
	}
	wg.Wait()
	close(done)
	elapsed := r.clock().Sub(r.start)
	rep := r.check(users, elapsed)
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

func (r *runner) report(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			r.o.Progress(Progress{Elapsed: r.clock().Sub(r.start), Requests: r.count.Load(), Unknown: r.unknown.Load()})
		}
	}
}

func (r *runner) supports(op string) bool { return len(r.ops) == 0 || r.ops[op] }

// makeUsers draws the users' tokens from the seed.
func (r *runner) makeUsers() ([]*user, error) {
	p := r.o.Profile
	alg := token.SHA1
	if !p.SupportsAlgorithm(alg) {
		for _, a := range token.Algorithms() {
			if p.SupportsAlgorithm(a) {
				alg = a
				break
			}
		}
	}
	digits := 6
	if !p.SupportsDigits(digits) && len(p.Digits) > 0 {
		digits = p.Digits[0]
	}
	// TOTP tokens use the periods the profile allows among 30, 10 and 5
	// seconds, so that fresh steps (the only ones a race can double
	// accept) come often; t0 staggers their boundaries when supported.
	var periods []int64
	for _, s := range []int64{30, 10, 5} {
		if p.SupportsPeriod(s) {
			periods = append(periods, s)
		}
	}
	if len(periods) == 0 && p.TOTP != nil && len(p.TOTP.Periods) > 0 {
		periods = p.TOTP.Periods[:1]
	}
	var users []*user
	for i := range r.o.Users {
		if r.o.Shards > 0 && i%r.o.Shards != r.o.Shard {
			continue
		}
		rng := rand.New(rand.NewPCG(r.o.Seed, uint64(i)))
		secret := make([]byte, 20)
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		kind := harness.HOTP
		if !p.SupportsKind(harness.HOTP) || (p.SupportsKind(harness.TOTP) && i%3 == 2) {
			kind = harness.TOTP
		}
		tok := harness.Token{
			Serial: fmt.Sprintf("7%012d", (r.o.Seed*1_000_003+uint64(i))%1_000_000_000_000),
			Kind:   kind, Algorithm: alg, Digits: digits, Secret: secret,
		}
		if kind == harness.HOTP {
			lo, hi := p.CounterMin(), p.CounterMax()
			tok.Counter = lo + uint64(rng.IntN(1000))
			if tok.Counter > hi || tok.Counter < lo {
				tok.Counter = lo
			}
		} else if len(periods) > 0 {
			tok.Period = periods[rng.IntN(len(periods))]
			if p.SupportsT0(1) {
				tok.T0 = rng.Int64N(tok.Period)
			}
		} else {
			tok.Kind, tok.Counter = harness.HOTP, p.CounterMin()
		}
		key, err := token.NewKey(secret, alg, digits)
		if err != nil {
			return nil, fmt.Errorf("stress: token %s: %w", tok, err)
		}
		users = append(users, &user{tok: tok, key: key, rng: rng, press: tok.Counter})
	}
	if len(users) == 0 {
		return nil, errors.New("stress: this shard has no user (more shards than users)")
	}
	return users, nil
}

// take reserves one request of the budget and waits for its slot under
// the target rate. It reports false when the run is over.
func (r *runner) take(ctx context.Context, n int) bool {
	if ctx.Err() != nil {
		return false
	}
	if r.bounded && r.budget.Add(-int64(n)) < 0 {
		return false
	}
	if r.o.Rate > 0 {
		slot := r.slot.Add(int64(n))
		at := r.start.Add(time.Duration(float64(slot-int64(n)) / r.o.Rate * float64(time.Second)))
		if d := at.Sub(r.clock()); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
			}
		}
	}
	return ctx.Err() == nil
}

// code formats the token's code of counter or step c.
func (u *user) code(c uint64) string {
	return fmt.Sprintf("%0*d", u.key.Digits(), u.key.Value(c))
}

// wrong returns a code that differs from the code of c in one digit.
func (u *user) wrong(c uint64) string {
	b := []byte(u.code(c))
	i := u.rng.IntN(len(b))
	b[i] = '0' + (b[i]-'0'+1+byte(u.rng.IntN(9)))%10
	return string(b)
}

// step is the TOTP step at t.
func (u *user) step(t time.Time) uint64 {
	s := (t.Unix() - u.tok.T0) / u.tok.Period
	return uint64(max(s, 0))
}

// enroll enrolls the user's token on a node drawn from its seed. It waits
// at least DefaultTimeout, whatever Options.Timeout says.
func (r *runner) enroll(ctx context.Context, u *user) {
	node := u.rng.IntN(len(r.o.Nodes))
	ectx, cancel := context.WithTimeout(ctx, max(r.o.Timeout, DefaultTimeout))
	defer cancel()
	u.enrolled = r.o.Nodes[node].Verifier.Enroll(ectx, u.tok) == nil
}

// play is one enrolled user's life: act until the run ends.
func (r *runner) play(ctx context.Context, u *user) {
	for ctx.Err() == nil {
		if !r.act(ctx, u) {
			return
		}
	}
}

// act plays one action of the user; false when the run is over.
func (r *runner) act(ctx context.Context, u *user) bool {
	if u.tok.Kind == harness.TOTP {
		return r.actTOTP(ctx, u)
	}
	return r.actHOTP(ctx, u)
}

// pick returns n distinct nodes when there are that many.
func (r *runner) pick(u *user, n int) []int {
	k := len(r.o.Nodes)
	perm := u.rng.Perm(k)
	out := make([]int, n)
	for i := range out {
		out[i] = perm[i%k]
	}
	return out
}

// call is one request of an action: node, request and label.
type call struct {
	node  int
	req   harness.Request
	label string
}

func (u *user) check(node int, code, label string) call {
	return call{node: node, req: harness.Request{Op: "check", Codes: []string{code}}, label: label}
}

func (u *user) remember(code, label string) {
	u.sent = append(u.sent, sentCode{code, label})
	if len(u.sent) > 8 {
		u.sent = u.sent[1:]
	}
}

func (r *runner) actHOTP(ctx context.Context, u *user) bool {
	p := r.o.Profile
	lockF := p.LockoutAfter()
	nres := p.ResyncCodes()
	canResync := nres > 0 && r.supports("resync")
	canUnlock := r.supports("unlock")
	label := func(c uint64) string { return fmt.Sprintf("code of counter %d", c) }
	next := func() (string, string) {
		c := u.press
		u.press++
		code, l := u.code(c), label(c)
		u.remember(code, l)
		return code, l
	}
	x := u.rng.IntN(100)
	switch {
	case x < 40: // log in
		code, l := next()
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], code, l))
	case x < 55: // one code on two nodes at once (a phished code raced)
		code, l := next()
		n := r.pick(u, 2)
		return r.send(ctx, u, u.check(n[0], code, l), u.check(n[1], code, l))
	case x < 65: // two successive codes at once on two nodes
		c1, l1 := next()
		c2, l2 := next()
		n := r.pick(u, 2)
		return r.send(ctx, u, u.check(n[0], c1, l1), u.check(n[1], c2, l2))
	case x < 73: // replay an old code
		if len(u.sent) == 0 {
			return true
		}
		s := u.sent[u.rng.IntN(len(u.sent))]
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], s.code, s.label+" again"))
	case x < 78: // presses left unsubmitted
		u.press += uint64(1 + u.rng.IntN(2))
		return true
	case x < 86: // a mistyped code
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], u.wrong(u.press), "mistyped "+label(u.press)))
	case x < 90 && lockF > 0: // guesses spread over the nodes, then the owner logs in
		n := r.pick(u, len(r.o.Nodes))
		for i := range lockF {
			if !r.send(ctx, u, u.check(n[i%len(n)], u.wrong(u.press), "wrong guess")) {
				return false
			}
		}
		code, l := next()
		if !r.send(ctx, u, u.check(n[lockF%len(n)], code, l)) {
			return false
		}
		if canUnlock {
			return r.send(ctx, u, call{node: r.pick(u, 1)[0], req: harness.Request{Op: "unlock"}, label: "unlock"})
		}
		return true
	case x < 94 && canResync: // drifted far: resync with N codes
		u.press += lookAheadOf(p) + 1 + uint64(u.rng.IntN(5))
		return r.send(ctx, u, r.resyncCall(u, r.pick(u, 1)[0], nres))
	case x < 97 && canResync: // a resync raced by a check of its first code
		n := r.pick(u, 2)
		first := u.press
		rs := r.resyncCall(u, n[1], nres)
		return r.send(ctx, u, u.check(n[0], u.code(first), label(first)), rs)
	default: // the owner calls the administrator
		if canUnlock {
			return r.send(ctx, u, call{node: r.pick(u, 1)[0], req: harness.Request{Op: "unlock"}, label: "unlock"})
		}
		return true
	}
}

// resyncCall presses N times and resyncs with the codes.
func (r *runner) resyncCall(u *user, node, n int) call {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = u.code(u.press + uint64(i))
	}
	l := fmt.Sprintf("codes of counters %d to %d", u.press, u.press+uint64(n-1))
	u.press += uint64(n)
	return call{node: node, req: harness.Request{Op: "resync", Codes: codes}, label: l}
}

func lookAheadOf(p harness.Profile) uint64 {
	if p.LookAhead == nil {
		return 0
	}
	return *p.LookAhead
}

func (r *runner) actTOTP(ctx context.Context, u *user) bool {
	p := r.o.Profile
	lockF := p.LockoutAfter()
	canUnlock := r.supports("unlock")
	back, ahead := 0, 0
	if p.TOTP != nil {
		back, ahead = int(p.TOTP.SkewBack), int(p.TOTP.SkewAhead)
	}
	now := func() (string, string) {
		// The phone's clock may be off by a step or two, within the
		// verifier's skew, so a step is offered up to 1+back+ahead times.
		s := u.step(r.clock()) + uint64(u.rng.IntN(1+back+ahead))
		s -= uint64(min(int(s), back))
		code, l := u.code(s), fmt.Sprintf("code of step %d", s)
		u.remember(code, l)
		return code, l
	}
	x := u.rng.IntN(100)
	switch {
	case x < 45:
		code, l := now()
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], code, l))
	case x < 65:
		code, l := now()
		n := r.pick(u, 2)
		return r.send(ctx, u, u.check(n[0], code, l), u.check(n[1], code, l))
	case x < 80:
		if len(u.sent) == 0 {
			return true
		}
		s := u.sent[u.rng.IntN(len(u.sent))]
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], s.code, s.label+" again"))
	case x < 90:
		s := u.step(r.clock())
		return r.send(ctx, u, u.check(r.pick(u, 1)[0], u.wrong(s), fmt.Sprintf("mistyped code of step %d", s)))
	case x < 95 && lockF > 0:
		n := r.pick(u, len(r.o.Nodes))
		for i := range lockF {
			s := u.step(r.clock())
			if !r.send(ctx, u, u.check(n[i%len(n)], u.wrong(s), "wrong guess")) {
				return false
			}
		}
		code, l := now()
		if !r.send(ctx, u, u.check(n[lockF%len(n)], code, l)) {
			return false
		}
		if canUnlock {
			return r.send(ctx, u, call{node: r.pick(u, 1)[0], req: harness.Request{Op: "unlock"}, label: "unlock"})
		}
		return true
	default:
		if canUnlock {
			return r.send(ctx, u, call{node: r.pick(u, 1)[0], req: harness.Request{Op: "unlock"}, label: "unlock"})
		}
		return true
	}
}

// send sends the calls at once, each from its own goroutine, and records
// them. It reports false when the run is over before they were sent.
func (r *runner) send(ctx context.Context, u *user, calls ...call) bool {
	if !r.take(ctx, len(calls)) {
		return false
	}
	if len(calls) == 1 {
		// One call needs no goroutine of its own.
		o := r.do(ctx, u, calls[0])
		u.mu.Lock()
		u.ops = append(u.ops, o)
		u.mu.Unlock()
		return true
	}
	ops := make([]op, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops[i] = r.do(ctx, u, c)
		}()
	}
	wg.Wait()
	u.mu.Lock()
	u.ops = append(u.ops, ops...)
	u.mu.Unlock()
	return true
}

// do sends one request and records it.
func (r *runner) do(ctx context.Context, u *user, c call) op {
	v := r.o.Nodes[c.node].Verifier
	// Requests already sent finish under their own deadline even when the
	// run ends: their outcome is then known.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.Timeout)
	defer cancel()
	t0 := r.clock()
	o := op{node: c.node, req: c.req, label: c.label, call: t0.Sub(r.start).Nanoseconds()}
	o.req.Time = t0.Unix()
	var rep harness.Reply
	var err error
	switch c.req.Op {
	case "check":
		rep, err = v.Check(rctx, harness.CheckRequest{Serial: u.tok.Serial, Code: c.req.Codes[0], Time: time.Unix(o.req.Time, 0)})
	case "resync":
		rep, err = v.Resync(rctx, harness.ResyncRequest{Serial: u.tok.Serial, Codes: slices.Clone(c.req.Codes), Time: time.Unix(o.req.Time, 0)})
	case "unlock":
		err = v.Unlock(rctx, u.tok.Serial)
		rep.Accepted = err == nil
	}
	t1 := r.clock()
	o.took = t1.Sub(t0)
	r.count.Add(1)
	if err != nil {
		// Timed out, cut off or refused: it may have taken effect at
		// any moment from now on.
		o.unknown, o.ret, o.err = true, math.MaxInt64, err.Error()
		r.unknown.Add(1)
		return o
	}
	o.ret = t1.Sub(r.start).Nanoseconds()
	o.accepted, o.locked = rep.Accepted, rep.Locked
	return o
}
