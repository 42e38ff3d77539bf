// Package gotest is the developer's story end to end: a small stateful
// OTP verifier built on github.com/pquerna/otp, and (in
// myverifier_test.go) the go test that runs otplab's conformance suite
// against it. Copy both into your project and adapt; README.md walks
// through it.
//
// pquerna/otp computes codes and compares one code with one counter; it
// keeps no state. Everything that makes a verifier correct is therefore
// here: the stored counter, the look-ahead search, replay protection,
// lockout, resync and, for TOTP, the last accepted step. Two of pquerna's
// habits are guarded against on purpose:
//
//   - hotp.ValidateCustom trims white space from the code, so " 755224"
//     would pass; Verify first requires exactly Digits ASCII digits.
//   - totp.ValidateCustom has no T0, computes the step in floating point
//     and cannot refuse a reused code; Verify computes the step itself and
//     asks pquerna about one step at a time.
package gotest

import (
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Errors returned by the Verifier.
var (
	// ErrUnknownToken is returned by Unlock for a serial never enrolled.
	ErrUnknownToken = errors.New("unknown token")
	// ErrInvalidToken is returned by Enroll for a token it cannot verify.
	ErrInvalidToken = errors.New("invalid token")
)

// Policy is what the verifier enforces.
type Policy struct {
	// LookAhead is how many counters past the expected one Verify searches
	// for an HOTP code (RFC 4226 §7.4).
	LookAhead uint64
	// ResyncCodes is how many consecutive codes a resync takes; 0 turns
	// resync off.
	ResyncCodes int
	// ResyncWindow is how far past the expected counter the first resync
	// code may lie.
	ResyncWindow uint64
	// LockoutAfter locks a token after that many consecutive failures; 0
	// turns lockout off (RFC 4226 §7.3).
	LockoutAfter int
	// ResyncUnlocks lets an accepted resync unlock a locked token.
	ResyncUnlocks bool
	// SkewBack and SkewAhead are the TOTP steps accepted either side of
	// the current one (RFC 6238 §5.2).
	SkewBack, SkewAhead uint64
}

// Token is what Enroll needs to know about a token.
type Token struct {
	// Serial names the token.
	Serial string
	// TimeBased selects TOTP (RFC 6238) instead of HOTP (RFC 4226).
	TimeBased bool
	// Algorithm is the HMAC hash.
	Algorithm otp.Algorithm
	// Digits is the code length, 6 to 10.
	Digits int
	// Secret is the shared key.
	Secret []byte
	// Counter is the next expected counter (HOTP).
	Counter uint64
	// Period is the time step in seconds and T0 the Unix time at which
	// step 0 begins (TOTP).
	Period, T0 int64
}

// account is one token's server-side state.
type account struct {
	timeBased bool
	secret    string // base32, as pquerna takes it
	opts      hotp.ValidateOpts
	digits    int
	period    int64
	t0        int64

	next  uint64 // HOTP: the next expected counter
	spent bool   // HOTP: the code of the last counter (2^64-1) was used

	lastStep uint64 // TOTP: the last accepted step
	hasLast  bool

	fails  int
	locked bool
}

// Verifier verifies HOTP and TOTP codes under a Policy. It is safe for
// concurrent use: one mutex makes each check and its state update atomic,
// so a code is never accepted twice, however many requests race.
type Verifier struct {
	policy Policy
	mu     sync.Mutex
	tokens map[string]*account
}

// New returns a Verifier that enforces p.
func New(p Policy) *Verifier {
	return &Verifier{policy: p, tokens: make(map[string]*account)}
}

// Enroll registers tok, replacing any token with the same serial.
func (v *Verifier) Enroll(tok Token) error {
	switch {
	case tok.Serial == "":
		return fmt.Errorf("enroll: %w: empty serial", ErrInvalidToken)
	case len(tok.Secret) == 0:
		return fmt.Errorf("enroll %s: %w: empty secret", tok.Serial, ErrInvalidToken)
	case tok.Digits < 6 || tok.Digits > 10:
		return fmt.Errorf("enroll %s: %w: %d digits (want 6 to 10)", tok.Serial, ErrInvalidToken, tok.Digits)
	case tok.Algorithm != otp.AlgorithmSHA1 && tok.Algorithm != otp.AlgorithmSHA256 && tok.Algorithm != otp.AlgorithmSHA512:
		return fmt.Errorf("enroll %s: %w: algorithm %s", tok.Serial, ErrInvalidToken, tok.Algorithm)
	case tok.TimeBased && tok.Period <= 0:
		return fmt.Errorf("enroll %s: %w: period %d s", tok.Serial, ErrInvalidToken, tok.Period)
	}
	a := &account{
		timeBased: tok.TimeBased,
		secret:    base32.StdEncoding.EncodeToString(tok.Secret),
		opts:      hotp.ValidateOpts{Digits: otp.Digits(tok.Digits), Algorithm: tok.Algorithm},
		digits:    tok.Digits,
		period:    tok.Period,
		t0:        tok.T0,
		next:      tok.Counter,
	}
	v.mu.Lock()
	v.tokens[tok.Serial] = a
	v.mu.Unlock()
	return nil
}

// wellFormed reports whether code is exactly digits ASCII digits. pquerna
// trims spaces before comparing, so this check must come first.
func wellFormed(code string, digits int) bool {
	if len(code) != digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// matches asks pquerna whether code is the code of counter (or step) c.
// It compares in constant time.
func (a *account) matches(code string, c uint64) bool {
	ok, err := hotp.ValidateCustom(code, c, a.secret, a.opts)
	return err == nil && ok
}

// Verify checks a code typed by the user at time now. It reports whether
// the code was accepted and whether the token is locked.
func (v *Verifier) Verify(serial, code string, now time.Time) (ok, locked bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	a := v.tokens[serial]
	if a == nil {
		return false, false
	}
	if a.locked {
		return false, true
	}
	if wellFormed(code, a.digits) {
		if a.timeBased {
			ok = a.verifyTOTP(code, now, v.policy)
		} else {
			ok = a.verifyHOTP(code, v.policy.LookAhead)
		}
	}
	if ok {
		a.fails = 0
		return true, false
	}
	a.fails++
	if v.policy.LockoutAfter > 0 && a.fails >= v.policy.LockoutAfter {
		a.locked = true
	}
	return false, a.locked
}

// verifyHOTP searches next .. next+lookAhead (stopping at the last
// counter) and moves the counter one past the match.
func (a *account) verifyHOTP(code string, lookAhead uint64) bool {
	if a.spent {
		return false
	}
	for k := uint64(0); k <= lookAhead; k++ {
		c := a.next + k
		if c < a.next { // past 2^64-1: no counter follows the last one
			return false
		}
		if a.matches(code, c) {
			a.advancePast(c)
			return true
		}
	}
	return false
}

// advancePast makes c+1 the next expected counter; after the last counter
// the token is spent rather than wrapped to 0.
func (a *account) advancePast(c uint64) {
	if c == math.MaxUint64 {
		a.next, a.spent = c, true
		return
	}
	a.next = c + 1
}

// verifyTOTP accepts the code of a step in [T-back, T+ahead] that is later
// than the last accepted step, and records that step.
func (a *account) verifyTOTP(code string, now time.Time, p Policy) bool {
	unix := now.Unix()
	if unix < a.t0 {
		return false
	}
	t := uint64(unix-a.t0) / uint64(a.period)
	from := t - min(t, p.SkewBack)
	if a.hasLast && from <= a.lastStep {
		from = a.lastStep + 1
	}
	for s := from; s <= t+p.SkewAhead; s++ {
		if a.matches(code, s) {
			a.lastStep, a.hasLast = s, true
			return true
		}
	}
	return false
}

// Resync accepts N consecutive codes (oldest first) when the first is the
// code of next+k for the smallest 0 <= k <= ResyncWindow at which all of
// them line up; the counter then moves one past the last. It reports
// whether the resync was accepted and whether the token is locked.
func (v *Verifier) Resync(serial string, codes []string) (ok, locked bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	a := v.tokens[serial]
	if a == nil {
		return false, false
	}
	n := v.policy.ResyncCodes
	if a.locked && !v.policy.ResyncUnlocks {
		return false, true
	}
	if n == 0 || a.timeBased || a.spent || len(codes) != n {
		return false, a.locked
	}
	for _, c := range codes {
		if !wellFormed(c, a.digits) {
			return false, a.locked
		}
	}
	for k := uint64(0); k <= v.policy.ResyncWindow; k++ {
		first := a.next + k
		last := first + uint64(n-1)
		if first < a.next || last < first { // the sequence would run past 2^64-1
			break
		}
		if !a.matches(codes[0], first) {
			continue
		}
		all := true
		for i := 1; i < n && all; i++ {
			all = a.matches(codes[i], first+uint64(i))
		}
		if all {
			a.advancePast(last)
			a.fails, a.locked = 0, false
			return true, false
		}
	}
	return false, a.locked
}

// Unlock lifts a lockout and clears the failure count, as an
// administrator would.
func (v *Verifier) Unlock(serial string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	a := v.tokens[serial]
	if a == nil {
		return fmt.Errorf("unlock %s: %w", serial, ErrUnknownToken)
	}
	a.fails, a.locked = 0, false
	return nil
}
