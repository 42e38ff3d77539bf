// Package reference is otplab's reference verifier: a correct,
// concurrency-safe HOTP/TOTP verifier whose policy is a [harness.Profile].
//
// It is the built-in default of the conformance CLI and the example vendors
// read, so it is written to be read: every rule of the profile appears once,
// in the order protocol v1 states it.
//
//   - Each token has its own lock; the check and the counter update are one
//     atomic step, so one code is never accepted twice, however many
//     requests race.
//   - Codes are compared as numbers in constant time, after a strict parse:
//     exactly the token's number of ASCII digits.
//   - The first match in the look-ahead window wins, and the counter moves
//     one past it.
//   - Time comes from the request (clock "request") or from an injectable
//     clock (clock "wall"); nothing reads time.Now directly.
package reference

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// ErrUnknownToken is returned by Unlock for a serial that was never
// enrolled. Check and Resync simply reject codes for such serials.
var ErrUnknownToken = errors.New("unknown token")

// ErrEnroll reports a token the verifier will not enroll: a kind,
// algorithm or digit count outside its profile, or a malformed token.
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

// record is one token's server-side state, guarded by its own lock.
type record struct {
	mu     sync.Mutex
	kind   harness.Kind
	key    *token.Key
	period int64
	t0     int64

	next  uint64 // HOTP: next expected counter
	spent bool   // HOTP: the code of counter 2^64-1 was accepted

	lastStep uint64 // TOTP: last accepted step
	hasLast  bool

	fails  int
	locked bool
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock used when the profile's clock is "wall". The
// default is time.Now.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.clock = now } }

// New returns a verifier that enforces profile p.
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

// Enroll registers tok, replacing any token with the same serial.
func (v *Verifier) Enroll(_ context.Context, tok harness.Token) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrEnroll, tok.Serial, fmt.Sprintf(format, a...))
	}
	switch {
	case tok.Serial == "":
		return bad("empty serial")
	case !v.p.SupportsKind(tok.Kind):
		return bad("kind %q is not in the profile", tok.Kind)
	case !v.p.SupportsAlgorithm(tok.Algorithm):
		return bad("algorithm %s is not in the profile", tok.Algorithm)
	case !v.p.SupportsDigits(tok.Digits):
		return bad("%d digits are not in the profile", tok.Digits)
	case tok.Kind == harness.TOTP && tok.Period <= 0:
		return bad("period %d s is not positive", tok.Period)
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

// now returns the moment a request is judged at.
func (v *Verifier) now(reqTime time.Time) int64 {
	if v.p.Clock == harness.ClockWall {
		return v.clock().Unix()
	}
	return reqTime.Unix()
}

// Check judges one code. A code for an unknown serial is rejected.
func (v *Verifier) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	rec := v.lookup(req.Serial)
	if rec == nil {
		return harness.Reply{}, nil
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.locked {
		return harness.Reply{Locked: true}, nil
	}
	want, ok := token.ParseCode(req.Code, rec.key.Digits())
	if ok {
		if rec.kind == harness.TOTP {
			ok = rec.matchTOTP(want, v.now(req.Time), v.p.TOTP)
		} else {
			ok = rec.matchHOTP(want, v.p.LookAhead)
		}
	}
	if ok {
		rec.fails = 0
		return harness.Reply{Accepted: true}, nil
	}
	// Malformed codes count as failures too: the profile leaves it open,
	// and counting them is the safer choice.
	rec.fails++
	if f := v.p.LockoutAfter(); f > 0 && rec.fails >= f {
		rec.locked = true
	}
	return harness.Reply{Locked: rec.locked}, nil
}

// matchHOTP searches counters next..next+L for want and, on a match, moves
// the counter one past it.
func (r *record) matchHOTP(want uint32, lookAhead *uint64) bool {
	if r.spent {
		return false
	}
	var l uint64
	if lookAhead != nil {
		l = *lookAhead
	}
	k, ok := r.key.FindValue(want, r.next, l)
	if ok {
		r.advancePast(k)
	}
	return ok
}

// advancePast sets the next expected counter to k+1, or marks the token
// spent when k is the last counter.
func (r *record) advancePast(k uint64) {
	if k == token.MaxCounter {
		r.next, r.spent = k, true
		return
	}
	r.next = k + 1
}

// matchTOTP accepts the code of a step in [T-B, T+A] later than the last
// accepted step, and records that step.
func (r *record) matchTOTP(want uint32, now int64, skew *harness.TOTPPolicy) bool {
	t, ok := token.Step(now, r.t0, r.period)
	if !ok {
		return false
	}
	var back, ahead uint64
	if skew != nil {
		back, ahead = skew.SkewBack, skew.SkewAhead
	}
	from := t - min(t, back)
	if r.hasLast && from <= r.lastStep {
		from = r.lastStep + 1
	}
	if from > t+ahead {
		return false
	}
	s, ok := r.key.FindValue(want, from, t+ahead-from)
	if ok {
		r.lastStep, r.hasLast = s, true
	}
	return ok
}

// Resync judges a resynchronisation with N consecutive codes. It accepts
// when the codes are those of counters c+k..c+k+N-1 for some 0 <= k <= R,
// taking the smallest such k, and moves the counter one past the last.
func (v *Verifier) Resync(_ context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	n := v.p.ResyncCodes()
	if n == 0 {
		return harness.Reply{}, fmt.Errorf("resync: %w", harness.ErrUnsupported)
	}
	rec := v.lookup(req.Serial)
	if rec == nil {
		return harness.Reply{}, nil
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.locked && !v.p.Lockout.ResyncUnlocks {
		return harness.Reply{Locked: true}, nil
	}
	if rec.kind != harness.HOTP || rec.spent || len(req.Codes) != n {
		return harness.Reply{Locked: rec.locked}, nil
	}
	vals := make([]uint32, n)
	for i, c := range req.Codes {
		val, ok := token.ParseCode(c, rec.key.Digits())
		if !ok {
			return harness.Reply{Locked: rec.locked}, nil
		}
		vals[i] = val
	}
	k, ok := rec.findSequence(vals, v.p.Resync.Window)
	if !ok {
		return harness.Reply{Locked: rec.locked}, nil
	}
	rec.advancePast(k + uint64(n-1))
	rec.fails, rec.locked = 0, false
	return harness.Reply{Accepted: true}, nil
}

// findSequence returns the smallest counter k in [next, next+window] at
// which the codes vals start, one by one.
func (r *record) findSequence(vals []uint32, window uint64) (uint64, bool) {
	from, n := r.next, uint64(len(vals))
	last := r.next + window
	if last < r.next {
		last = token.MaxCounter
	}
	for from <= last {
		k, ok := r.key.FindValue(vals[0], from, last-from)
		if !ok || token.MaxCounter-k < n-1 {
			return 0, false
		}
		match := true
		for i := uint64(1); i < n && match; i++ {
			match = subtle.ConstantTimeEq(int32(r.key.Value(k+i)), int32(vals[i])) == 1
		}
		if match {
			return k, true
		}
		if k == last {
			break
		}
		from = k + 1
	}
	return 0, false
}

// Unlock lifts a lockout and resets the failure count.
func (v *Verifier) Unlock(_ context.Context, serial string) error {
	rec := v.lookup(serial)
	if rec == nil {
		return fmt.Errorf("unlock %s: %w", serial, ErrUnknownToken)
	}
	rec.mu.Lock()
	rec.locked, rec.fails = false, 0
	rec.mu.Unlock()
	return nil
}
