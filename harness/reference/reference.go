// Package reference is otplab's reference verifier: a correct,
// concurrency-safe HOTP/TOTP verifier that enforces any policy a
// [harness.Profile] can state, with exactly the meaning docs/protocol.md
// gives every field ("What every field means, exactly").
//
// It is the built-in default of the conformance CLI, the verifier the
// conformance self-tests run under many profiles, and the example vendors
// read, so it is written to be read:
//
//   - Each token is one record with its own mutex; a request's checks and
//     its state update are one atomic step, so one code is never accepted
//     twice, however many requests race.
//   - A check goes through the rules in the order protocol v1 states them,
//     each rule once: release, rate limit, lock, throttle, input, compare,
//     resync through logins, failure. A resync goes through release, lock,
//     throttle, its own checks and its failure. A rule that refuses a
//     request ends it there, without comparing codes or counting a failure.
//   - Codes are read as the profile's input rule says (exactly the token's
//     number of ASCII digits, or a decimal number read like Python's int())
//     and compared as numbers in constant time (crypto/subtle).
//   - HOTP: the first match in the look-ahead window wins and the counter
//     moves one past it; the code of counters.max is the last ever accepted.
//     TOTP: a window of steps around the current step plus the recorded
//     drift, a replay rule (only later steps, or every step once), optional
//     drift recording with a bound, and optional skew learning through
//     successive rejected logins.
//   - Time is Unix seconds from the request (clock "request", or no clock
//     claimed) or from an injectable clock (clock "wall"); nothing reads
//     time.Now directly.
//
// Where docs/protocol.md leaves a behaviour open ("not judged"), the
// reference takes the safer choice and says so where it does.
package reference

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// ErrUnknownToken is returned by Unlock for a serial that was never
// enrolled. Check and Resync simply reject codes for such serials.
var ErrUnknownToken = errors.New("unknown token")

// ErrEnroll reports a token the verifier will not enroll: one outside what
// its profile claims (kind, algorithm, digit count, counter, period, t0) or
// a malformed token.
var ErrEnroll = errors.New("cannot enroll token")

// Default returns the profile the reference verifier claims when none is
// given: both kinds, all three algorithms, 6 and 8 digits, look-ahead 10,
// two-code resync over 1000 counters, lockout after 5 failures, one step
// of TOTP skew either way, time from requests.
func Default() harness.Profile {
	return harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
		Algorithms: []string{"SHA1", "SHA256", "SHA512"},
		Digits:     []int{6, 8},
		LookAhead:  harness.Uint64(10),
		Resync:     &harness.ResyncPolicy{Codes: 2, Window: 1000},
		Lockout:    &harness.LockoutPolicy{After: 5},
		TOTP:       &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1},
		Clock:      harness.ClockRequest,
	}
}

// Verifier is the reference verifier. It is safe for concurrent use.
type Verifier struct {
	p     harness.Profile
	clock func() time.Time

	mu     sync.RWMutex
	tokens map[string]*record
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock used when the profile's clock is "wall". The
// default is time.Now.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.clock = now } }

// New returns a verifier that enforces profile p. It returns an error
// wrapping [harness.ErrProfile] when p is not valid.
func New(p harness.Profile, opts ...Option) (*Verifier, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{p: p, clock: time.Now, tokens: make(map[string]*record)}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Profile returns the policy the verifier enforces.
func (v *Verifier) Profile() harness.Profile { return v.p }

// Describe answers protocol v1's hello.
func (v *Verifier) Describe(context.Context) (harness.Info, error) {
	p := v.p
	ops := []string{"enroll", "check", "unlock"}
	if p.ResyncCodes() > 0 {
		ops = append(ops, "resync")
	}
	return harness.Info{Name: "otplab reference verifier", Ops: ops, Profile: &p}, nil
}

// record is one token's server-side state. Every field is guarded by mu,
// and so is key, which is not safe for concurrent use.
type record struct {
	mu     sync.Mutex
	kind   harness.Kind
	key    *token.Key
	period int64 // TOTP
	t0     int64 // TOTP

	next  uint64 // HOTP: c, the next expected counter
	spent bool   // HOTP: the code of counters.max was accepted (or burnt)

	delta   int64          // TOTP: δ, the recorded drift in steps
	last    int64          // TOTP, reuse "later": the last accepted step
	hasLast bool           // TOTP, reuse "later": some step was accepted
	used    map[int64]bool // TOTP, reuse "once": every accepted step, never pruned

	fails  int   // n, consecutive failures
	tFail  int64 // the time of the n-th failure
	locked bool
	tLock  int64 // the time of the failure that set the lock

	arrivals []int64 // rate limit: the time of every check, ascending

	auto autoCode // HOTP resync.auto: the code the previous check remembered
	run  skewRun  // TOTP totp.resync: the current run of rejected checks
}

// autoCode is a check rejected by the look-ahead with the code of counter
// r, L < r-c <= R, remembered for resync through two logins.
type autoCode struct {
	set     bool
	counter uint64 // r
	at      int64  // t_r
}

// skewRun is a run of rejected checks in successive steps whose codes are
// those of steps T_i+s for the offsets s they have in common.
type skewRun struct {
	checks  int     // the length of the run; 0 is no run
	last    int64   // the step T of its last check
	offsets []int64 // the candidate offsets common to all its checks
}

// Enroll registers tok, replacing any token with the same serial: its
// counter, failure count, lock, rate-limit history, drift, skew-learning
// run and reuse record all start afresh. A token outside what the profile
// claims is refused with an error wrapping [ErrEnroll].
func (v *Verifier) Enroll(ctx context.Context, tok harness.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := v.p
	// A refusal wraps both ErrEnroll and a harness.RefusedError, so that
	// the harness judges a refused claimed token as a FAIL, as it does
	// when the refusal comes over the wire.
	bad := func(format string, a ...any) error {
		msg := tok.Serial + ": " + fmt.Sprintf(format, a...)
		return fmt.Errorf("%w: %w", ErrEnroll, &harness.RefusedError{Op: "enroll", Message: msg})
	}
	switch {
	case tok.Serial == "":
		return bad("empty serial")
	case !p.SupportsKind(tok.Kind):
		return bad("kind %q is not in the profile", tok.Kind)
	case !p.SupportsAlgorithm(tok.Algorithm):
		return bad("algorithm %s is not in the profile", tok.Algorithm)
	case !p.SupportsDigits(tok.Digits):
		return bad("%d digits are not in the profile", tok.Digits)
	case tok.Kind == harness.HOTP && !p.SupportsCounter(tok.Counter):
		return bad("counter %d is outside the profile's counters %d..%d", tok.Counter, p.CounterMin(), p.CounterMax())
	case tok.Kind == harness.TOTP && tok.Period <= 0:
		return bad("period %d s is not positive", tok.Period)
	case tok.Kind == harness.TOTP && !p.SupportsPeriod(tok.Period):
		return bad("period %d s is not in the profile's totp.periods %v", tok.Period, p.TOTP.Periods)
	case tok.Kind == harness.TOTP && !p.SupportsT0(tok.T0):
		return bad("t0 %d: the profile supports only t0 0", tok.T0)
	}
	key, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		return bad("%v", err)
	}
	rec := &record{kind: tok.Kind, key: key, next: tok.Counter, period: tok.Period, t0: tok.T0}
	v.mu.Lock()
	v.tokens[tok.Serial] = rec
	v.mu.Unlock()
	return nil
}

func (v *Verifier) lookup(serial string) *record {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.tokens[serial]
}

// now returns the Unix second a request is judged at: the request's time,
// or the injected clock's with clock "wall".
func (v *Verifier) now(reqTime time.Time) int64 {
	if v.p.Clock == harness.ClockWall {
		return v.clock().Unix()
	}
	return reqTime.Unix()
}

// Check judges one code (protocol v1's check). A code for an unknown
// serial is rejected.
//
// The request's purpose (login when empty) must be one of the profile's
// flows, or Check returns an error wrapping [harness.ErrUnsupported]. Every
// purpose is judged by the same record under the same lock: a code spent
// at one door is spent at all of them, a failure at any door counts toward
// the lockout, throttle and rate limit of all, and a locked token refuses
// every purpose. That is the whole of the flows contract; nothing in the
// record depends on the purpose.
func (v *Verifier) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if err := ctx.Err(); err != nil {
		return harness.Reply{}, err
	}
	if !v.p.SupportsPurpose(req.Purpose) {
		return harness.Reply{}, fmt.Errorf("check for purpose %q (flows: %s): %w", req.Purpose, strings.Join(flows(v.p), ", "), harness.ErrUnsupported)
	}
	rec := v.lookup(req.Serial)
	if rec == nil {
		return harness.Reply{}, nil
	}
	now := v.now(req.Time)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	accepted := rec.check(v.p, req.Code, now)
	return harness.Reply{Accepted: accepted, Locked: rec.locked}, nil
}

// check is docs/protocol.md's check, steps 1 to 8, in that order.
func (r *record) check(p harness.Profile, code string, now int64) bool {
	// Any check uses up the remembered resync.auto code and ends the
	// totp.resync run; step 7 reads them, and a check may set its own.
	remembered, run := r.auto, r.run
	r.auto, r.run = autoCode{}, skewRun{}

	// 1. Release.
	r.release(p, now)
	// 2. Rate limit (every check is recorded, the refused ones too).
	if r.rateLimited(p, now) {
		return false
	}
	// 3. Lock.
	if r.locked {
		return false
	}
	// 4. Throttle.
	if r.throttled(p, now) {
		return false
	}
	// 5. Input. Whether a malformed code is a failure is not judged; it
	// counts here (the safer choice: guessing with junk still moves
	// towards lockout and throttle), but it burns no counter.
	want, ok := parseCode(p.Input, code, r.key.Digits())
	if !ok {
		r.fail(p, now, false)
		return false
	}
	// 6. Compare.
	var step int64
	var hasStep bool
	if r.kind == harness.TOTP {
		step, hasStep = r.step(now)
	}
	if r.compare(p, want, step, hasStep) {
		r.fails = 0
		return true
	}
	// 7. Resync through logins.
	if r.kind == harness.HOTP {
		if r.autoResync(p, remembered, want, now) {
			r.fails = 0
			return true
		}
		r.remember(p, want, now)
	} else if hasStep && r.learnSkew(p, run, want, step) {
		r.fails = 0
		return true
	}
	// 8. Failure.
	r.fail(p, now, true)
	return false
}

// release is step 1: with lockout.release_after S, a lock set at t_lock
// ends at now >= t_lock+S, and n is set to 0.
func (r *record) release(p harness.Profile, now int64) {
	if s := p.ReleaseAfter(); s > 0 && r.locked && now >= addSat(r.tLock, s) {
		r.locked, r.fails = false, 0
	}
}

// rateLimited is step 2: with rate_limit {attempts N, per S} the check is
// refused when N or more earlier checks arrived at times t with
// 0 <= now-t < S. The check itself is recorded whatever happens to it.
// The history is kept whole (a request clock may go back, and old checks
// then count again); unlock and enroll clear it.
func (r *record) rateLimited(p harness.Profile, now int64) bool {
	rl := p.RateLimit
	if rl == nil {
		return false
	}
	after := func(t int64) int { // the index of the first arrival later than t
		return sort.Search(len(r.arrivals), func(i int) bool { return r.arrivals[i] > t })
	}
	from, to := after(addSat(now, -rl.Per)), after(now)
	recent := to - from
	r.arrivals = slices.Insert(r.arrivals, to, now)
	return recent >= rl.Attempts
}

// throttled is step 4 (and step 3 of resync): with throttle {after F,
// delay D, factor K}, after the n-th consecutive failure, n >= F, the
// token refuses requests while now < t_fail + D*K^(n-F).
func (r *record) throttled(p harness.Profile, now int64) bool {
	d := p.ThrottleDelay(r.fails) // 0 when n < F; at least D otherwise
	return d > 0 && now < addSat(r.tFail, d)
}

// compare is step 6, for both kinds.
func (r *record) compare(p harness.Profile, want uint32, step int64, hasStep bool) bool {
	if r.kind == harness.TOTP {
		return hasStep && r.compareTOTP(p, want, step)
	}
	return r.compareHOTP(p, want)
}

// compareHOTP accepts the code of counter c+k for the smallest
// 0 <= k <= L with c+k <= counters.max, and sets c to c+k+1.
func (r *record) compareHOTP(p harness.Profile, want uint32) bool {
	if r.spent {
		return false
	}
	last := min(addSatU(r.next, lookAhead(p)), p.CounterMax())
	k, ok := r.key.FindValue(want, r.next, last-r.next)
	if ok {
		r.acceptCounter(p, k)
	}
	return ok
}

// acceptCounter moves c one past counter k; past counters.max the token is
// spent and never accepts anything again.
func (r *record) acceptCounter(p harness.Profile, k uint64) {
	if k >= p.CounterMax() {
		r.next, r.spent = k, true
		return
	}
	r.next = k + 1
}

// maxStep bounds the time steps the reference computes with, far beyond
// any real clock, so that step arithmetic never overflows int64.
const maxStep = 1 << 62

// step returns T = floor((now-t0)/period), the token's current time step.
// It may be negative (before t0); it reports false only for moments so far
// away that no step is computed.
func (r *record) step(now int64) (int64, bool) {
	if (r.t0 > 0 && now < math.MinInt64+r.t0) || (r.t0 < 0 && now > math.MaxInt64+r.t0) {
		return 0, false
	}
	d := now - r.t0
	t := d / r.period
	if d%r.period != 0 && d < 0 {
		t--
	}
	return t, t >= -maxStep && t <= maxStep
}

// compareTOTP accepts the code of a step s in [T+δ-B, T+δ+A], s >= 0, that
// the reuse rule allows and, with a bounded totp.drift, |s-T| <= max. The
// smallest such step is taken. It records s for the reuse rule and, with
// totp.drift, sets δ to s-T.
func (r *record) compareTOTP(p harness.Profile, want uint32, t int64) bool {
	var back, ahead int64
	var drift *harness.DriftPolicy
	if tp := p.TOTP; tp != nil {
		back, ahead, drift = int64(tp.SkewBack), int64(tp.SkewAhead), tp.Drift
	}
	centre := t + r.delta
	for s := max(0, centre-back); s <= centre+ahead; s++ {
		if !r.reusable(p, s) {
			continue
		}
		if drift != nil && drift.Max != nil && absDiff(s, t) > *drift.Max {
			continue
		}
		if subtle.ConstantTimeEq(int32(r.key.Value(uint64(s))), int32(want)) == 1 {
			r.acceptStep(p, s)
			if drift != nil {
				r.delta = s - t
			}
			return true
		}
	}
	return false
}

// reusable reports whether the reuse rule allows step s: with reuse
// "later" (the default) a step later than the last accepted one, with
// "once" a step never accepted before, with "any" every step.
func (r *record) reusable(p harness.Profile, s int64) bool {
	if p.ReuseAny() {
		return true
	}
	if p.ReuseOnce() {
		return !r.used[s]
	}
	return !r.hasLast || s > r.last
}

// acceptStep records step s as accepted, for the reuse rule.
func (r *record) acceptStep(p harness.Profile, s int64) {
	if p.ReuseAny() {
		return // stateless: nothing is remembered
	}
	if p.ReuseOnce() {
		if r.used == nil {
			r.used = make(map[int64]bool)
		}
		r.used[s] = true
		return
	}
	r.last, r.hasLast = s, true
}

// autoResync is step 7 for HOTP with resync.auto {within W}: the previous
// check remembered the code of counter r at t_r; this check, at
// now-t_r <= W, is accepted if its code is that of r+1 (under
// counters.max), and c becomes r+2.
func (r *record) autoResync(p harness.Profile, mem autoCode, want uint32, now int64) bool {
	if !mem.set || r.spent || p.Resync == nil || p.Resync.Auto == nil {
		return false
	}
	// now - t_r <= W, as the doc states it: a request clock set back
	// still passes.
	if now > addSat(mem.at, p.Resync.Auto.Within) || mem.counter >= p.CounterMax() {
		return false
	}
	if subtle.ConstantTimeEq(int32(r.key.Value(mem.counter+1)), int32(want)) != 1 {
		return false
	}
	r.acceptCounter(p, mem.counter+1)
	return true
}

// remember is the other half of step 7 for HOTP with resync.auto: a check
// rejected by the look-ahead whose code is that of counter c+k, L < k <= R
// (the smallest such k, under counters.max), remembers that counter and
// its time for the next check.
func (r *record) remember(p harness.Profile, want uint32, now int64) {
	if p.Resync == nil || p.Resync.Auto == nil || r.spent {
		return
	}
	l, cmax := lookAhead(p), p.CounterMax()
	if cmax-r.next < l+1 { // c+L+1 is past counters.max (c <= max: not spent)
		return
	}
	from := r.next + l + 1
	to := min(addSatU(r.next, p.Resync.Window), cmax)
	if to < from {
		return
	}
	if k, ok := r.key.FindValue(want, from, to-from); ok {
		r.auto = autoCode{set: true, counter: k, at: now}
	}
}

// learnSkew is step 7 for TOTP with totp.resync {codes N, range R}: google-
// authenticator's skew learning, made safe. The rejected check at step T
// has the candidate offsets s, |s| <= R, T+s >= 0, whose step's code it is
// and whose step the reuse rule allows (a code once accepted never counts,
// RFC 6238 §5.2). It extends the run when the run's last check was at T-1
// and shares a candidate with it, and otherwise starts a new run of one.
// The N-th check of a run is accepted: δ becomes the common offset (the
// one nearest to 0, the smaller on a tie, should chance leave several) and
// step T+s is recorded as accepted.
//
// The drift bound does not limit the offset learnt: docs/protocol.md does
// not say it does.
func (r *record) learnSkew(p harness.Profile, run skewRun, want uint32, t int64) bool {
	if p.TOTP == nil || p.TOTP.Resync == nil {
		return false
	}
	rs := p.TOTP.Resync
	var cands []int64
	for s := max(-int64(rs.Range), -t); s <= int64(rs.Range); s++ {
		if r.reusable(p, t+s) && subtle.ConstantTimeEq(int32(r.key.Value(uint64(t+s))), int32(want)) == 1 {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return false // the run has ended
	}
	next := skewRun{checks: 1, last: t, offsets: cands}
	if run.checks > 0 && run.last == t-1 {
		if common := intersect(run.offsets, cands); len(common) > 0 {
			next = skewRun{checks: run.checks + 1, last: t, offsets: common}
		}
	}
	if next.checks < rs.Codes {
		r.run = next
		return false
	}
	s := nearestZero(next.offsets)
	r.delta = s
	r.acceptStep(p, t+s)
	return true // and the run ends
}

// fail is step 8: n becomes n+1 and t_fail now; with lockout {after F} and
// n >= F the token locks at now. A compared HOTP check under on_failure
// "advance" also burns the counter c (a spent token burns nothing).
func (r *record) fail(p harness.Profile, now int64, compared bool) {
	if r.fails < math.MaxInt32 {
		r.fails++
	}
	r.tFail = now
	if f := p.LockoutAfter(); f > 0 && r.fails >= f {
		// Literally "the token locks (t_lock = now)": a failure while
		// already locked (a counted resync under resync_unlocks) renews
		// the lock, the safer reading.
		r.locked, r.tLock = true, now
	}
	if compared && p.Advances() && r.kind == harness.HOTP && !r.spent {
		r.acceptCounter(p, r.next) // the same move as accepting c's code
	}
}

// Resync judges a resynchronisation with N consecutive codes (protocol
// v1's resync, steps 1 to 6). It accepts when the codes are those of
// counters c+k, ..., c+k+N-1 for the smallest 0 <= k <= R where the whole
// sequence matches under counters.max, and moves c one past the last.
func (v *Verifier) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	if v.p.ResyncCodes() == 0 {
		return harness.Reply{}, fmt.Errorf("resync: %w", harness.ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return harness.Reply{}, err
	}
	rec := v.lookup(req.Serial)
	if rec == nil {
		return harness.Reply{}, nil
	}
	now := v.now(req.Time)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	accepted := rec.resync(v.p, req.Codes, now)
	return harness.Reply{Accepted: accepted, Locked: rec.locked}, nil
}

// resync is docs/protocol.md's resync, steps 1 to 6, in that order.
func (r *record) resync(p harness.Profile, codes []string, now int64) bool {
	// Any resync ends a totp.resync run and uses up a resync.auto code.
	r.auto, r.run = autoCode{}, skewRun{}

	// 1. Release.
	r.release(p, now)
	// 2. Lock, unless lockout.resync_unlocks.
	if r.locked && !p.Lockout.ResyncUnlocks {
		return false
	}
	// 3. Throttle.
	if r.throttled(p, now) {
		return false
	}
	// 4. The wrong number of codes, a malformed code, a time token or a
	// spent token. Whether that is a failure is not judged: it counts
	// exactly when a compared, rejected resync counts (counts_resync).
	n := p.ResyncCodes()
	vals := make([]uint32, 0, n)
	for _, c := range codes {
		v, ok := parseCode(p.Input, c, r.key.Digits())
		if !ok {
			break
		}
		vals = append(vals, v)
	}
	if len(codes) != n || len(vals) != n || r.kind != harness.HOTP || r.spent {
		r.failResync(p, now)
		return false
	}
	// 5. Accept at the smallest offset where the whole sequence matches.
	if k, ok := r.findSequence(p, vals); ok {
		r.acceptCounter(p, k+uint64(n-1))
		r.fails, r.locked = 0, false
		return true
	}
	// 6. Reject.
	r.failResync(p, now)
	return false
}

// failResync is resync step 6: with lockout.counts_resync a rejected
// resync is a failure (check step 8, without burning a counter).
func (r *record) failResync(p harness.Profile, now int64) {
	if p.CountsResync() {
		r.fail(p, now, false)
	}
}

// findSequence returns the smallest counter k, c <= k <= c+R, at which the
// codes vals are those of k, k+1, ..., with the last under counters.max.
// Every start is tried with the whole sequence, so a chance match of the
// first code does not hide the genuine one further on.
func (r *record) findSequence(p harness.Profile, vals []uint32) (uint64, bool) {
	span := uint64(len(vals) - 1)
	cmax := p.CounterMax()
	if cmax < span || r.next > cmax-span {
		return 0, false
	}
	last := min(addSatU(r.next, p.Resync.Window), cmax-span)
	for k := r.next; ; k++ {
		match := true
		for i := uint64(0); i <= span && match; i++ {
			match = subtle.ConstantTimeEq(int32(r.key.Value(k+i)), int32(vals[i])) == 1
		}
		if match {
			return k, true
		}
		if k == last {
			return 0, false
		}
	}
}

// Unlock lifts a lockout, sets the failure count to 0 and clears the
// rate-limit history. Nothing else changes.
func (v *Verifier) Unlock(ctx context.Context, serial string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := v.lookup(serial)
	if rec == nil {
		return fmt.Errorf("unlock %s: %w", serial, ErrUnknownToken)
	}
	rec.mu.Lock()
	rec.locked, rec.fails, rec.arrivals = false, 0, nil
	rec.mu.Unlock()
	return nil
}

// flows returns the purposes the profile serves: its flows, or login
// alone when it lists none.
func flows(p harness.Profile) []string {
	if len(p.Flows) == 0 {
		return []string{harness.PurposeLogin}
	}
	return p.Flows
}

// lookAhead returns L, 0 when not claimed.
func lookAhead(p harness.Profile) uint64 {
	if p.LookAhead == nil {
		return 0
	}
	return *p.LookAhead
}

// addSat returns a+b, saturated at the ends of int64.
func addSat(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

// addSatU returns a+b, saturated at 2^64-1.
func addSatU(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// absDiff returns |a-b| for steps within ±maxStep.
func absDiff(a, b int64) uint64 {
	if a > b {
		return uint64(a - b)
	}
	return uint64(b - a)
}

// intersect returns the values in both ascending lists, ascending.
func intersect(a, b []int64) []int64 {
	var out []int64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// nearestZero returns the offset nearest to 0, the smaller on a tie, of a
// non-empty ascending list.
func nearestZero(offsets []int64) int64 {
	best := offsets[0]
	for _, s := range offsets[1:] {
		if absDiff(s, 0) < absDiff(best, 0) {
			best = s
		}
	}
	return best
}
