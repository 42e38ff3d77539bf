package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/otplab/otplab/token"
)

// Profile is the policy a verifier claims, exactly as in protocol v1. A nil
// pointer or an empty list means "not claimed": the cases that need it
// SKIP with that reason. docs/protocol.md states the meaning of every field;
// the model, the reference verifier and the probe follow it to the letter.
type Profile struct {
	// Kinds lists the token kinds the verifier accepts.
	Kinds []Kind `json:"kinds,omitempty"`
	// Algorithms lists the supported HMAC hashes ("SHA1", "SHA256",
	// "SHA512").
	Algorithms []string `json:"algorithms,omitempty"`
	// Digits lists the supported code lengths.
	Digits []int `json:"digits,omitempty"`
	// Counters is the range of HOTP counters the verifier can hold; nil
	// means the whole 8-byte range.
	Counters *CounterRange `json:"counters,omitempty"`
	// LookAhead is L: check accepts the code of counter c+k for
	// 0 <= k <= L (first match) and then sets c = c+k+1.
	LookAhead *uint64 `json:"look_ahead,omitempty"`
	// OnFailure is OnFailureKeep (the default, RFC 4226 §7.4) or
	// OnFailureAdvance: every compared, rejected check of a well-formed
	// HOTP code moves c one on.
	OnFailure string `json:"on_failure,omitempty"`
	// Input is InputExact, InputLenient, or "" (exactness is judged at
	// SHOULD level).
	Input string `json:"input,omitempty"`
	// Resync is the two- (or N-) code resynchronisation policy.
	Resync *ResyncPolicy `json:"resync,omitempty"`
	// Lockout is the lockout policy.
	Lockout *LockoutPolicy `json:"lockout,omitempty"`
	// Throttle is RFC 4226 §7.3's growing delay after failures.
	Throttle *ThrottlePolicy `json:"throttle,omitempty"`
	// RateLimit refuses checks beyond a number per sliding window.
	RateLimit *RateLimitPolicy `json:"rate_limit,omitempty"`
	// Limits is LimitsNone to declare that nothing limits guessing: no
	// lockout, throttle or rate limit, a departure from RFC 4226 §7.3
	// reported once at rfc4226/7.3/guessing-limit. Empty claims nothing.
	Limits string `json:"limits,omitempty"`
	// TOTP is the time-token policy.
	TOTP *TOTPPolicy `json:"totp,omitempty"`
	// Flows lists the check purposes served; empty means ["login"].
	Flows []string `json:"flows,omitempty"`
	// Clock is ClockRequest or ClockWall.
	Clock string `json:"clock,omitempty"`
}

// CounterRange is {min, max}: the HOTP counters a verifier can store. The
// code of Max is the last one ever accepted; then the token is spent.
type CounterRange struct {
	// Min is the smallest counter a token can be enrolled with.
	Min uint64 `json:"min"`
	// Max is the largest counter the verifier can hold.
	Max uint64 `json:"max"`
}

// ResyncPolicy is {codes N, window R}: resync with N consecutive codes
// accepts when the first is the code of c+k, 0 <= k <= R, and the others
// follow it one by one; then c is one past the last.
type ResyncPolicy struct {
	// Codes is N; 0 means no resync.
	Codes int `json:"codes"`
	// Window is R.
	Window uint64 `json:"window"`
	// Auto, when set, is resync through two consecutive logins.
	Auto *AutoResync `json:"auto,omitempty"`
}

// AutoResync is {within W}: a check rejected by the look-ahead whose code
// is that of c+k, L < k <= R, is remembered; if the next check of the
// token, at most W seconds later, is the code of c+k+1, it is accepted and
// c becomes c+k+2 (privacyIDEA and LinOTP's AutoResync).
type AutoResync struct {
	// Within is W in seconds.
	Within int64 `json:"within"`
}

// LockoutPolicy is {after F, resync_unlocks, release_after,
// counts_resync}: after F consecutive failures the token is locked until
// unlocked, or until it releases by itself.
type LockoutPolicy struct {
	// After is F; 0 means no lockout.
	After int `json:"after"`
	// ResyncUnlocks says whether an accepted resync also unlocks (and
	// whether resync is judged at all while locked).
	ResyncUnlocks bool `json:"resync_unlocks"`
	// ReleaseAfter, when positive, is S: a lock ends by itself S seconds
	// after the failure that set it, with the count back at 0.
	ReleaseAfter int64 `json:"release_after,omitempty"`
	// CountsResync says that a compared, rejected resync counts as a
	// failure too.
	CountsResync bool `json:"counts_resync,omitempty"`
}

// ThrottlePolicy is {after F, delay D, factor K}: after the n-th
// consecutive failure, n >= F, every check and resync is refused until
// D*K^(n-F) seconds after that failure (django-otp: {1, 1, 2}).
type ThrottlePolicy struct {
	// After is F, at least 1.
	After int `json:"after"`
	// Delay is D in seconds, at least 1.
	Delay int64 `json:"delay"`
	// Factor is K, at least 1 (1 keeps the delay constant).
	Factor int64 `json:"factor"`
}

// RateLimitPolicy is {attempts N, per S}: a check is refused when N checks
// of the token arrived in the S seconds before it; every check counts,
// refused ones included (google-authenticator-libpam's RATE_LIMIT).
type RateLimitPolicy struct {
	// Attempts is N, at least 1.
	Attempts int `json:"attempts"`
	// Per is S in seconds, at least 1.
	Per int64 `json:"per"`
}

// TOTPPolicy is the time-token policy: the tolerance {skew_back B,
// skew_ahead A} around the current time step, the reuse rule, drift
// recording, skew learning and what can be enrolled.
type TOTPPolicy struct {
	// SkewBack is B, the number of past steps accepted.
	SkewBack uint64 `json:"skew_back"`
	// SkewAhead is A, the number of future steps accepted.
	SkewAhead uint64 `json:"skew_ahead"`
	// Reuse is ReuseLater (the default), ReuseOnce or ReuseAny.
	Reuse string `json:"reuse,omitempty"`
	// Drift, when set, says the verifier records drift (RFC 6238 §6).
	Drift *DriftPolicy `json:"drift,omitempty"`
	// Resync, when set, is skew learning through logins.
	Resync *TOTPResync `json:"resync,omitempty"`
	// Periods lists the step lengths that can be enrolled; empty means any.
	Periods []int64 `json:"periods,omitempty"`
	// T0 says whether a t0 other than 0 can be enrolled; nil means true.
	T0 *bool `json:"t0,omitempty"`
}

// DriftPolicy is {max D}: the window is centred at T+δ; accepting step s
// sets δ = s-T; a step that would make |δ| > D is never accepted. A nil Max
// is unbounded drift (JSON null).
type DriftPolicy struct {
	// Max is D, or nil for unbounded.
	Max *uint64 `json:"max"`
}

// UnmarshalJSON requires the max field, so that "unbounded" is said with
// an explicit null and never by omission.
func (d *DriftPolicy) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m, ok := raw["max"]
	if !ok {
		return errors.New(`totp.drift: "max" is required (a number of steps, or null for unbounded)`)
	}
	for k := range raw {
		if k != "max" {
			return fmt.Errorf("totp.drift: unknown field %q", k)
		}
	}
	if string(m) == "null" {
		d.Max = nil
		return nil
	}
	var v uint64
	if err := json.Unmarshal(m, &v); err != nil {
		return fmt.Errorf("totp.drift.max: %v", err)
	}
	d.Max = &v
	return nil
}

// TOTPResync is {codes N, range R}: N rejected checks in successive steps
// whose codes are those of steps T_i+s for one offset s, |s| <= R: the
// N-th is accepted and δ becomes s (google-authenticator's skew learning).
type TOTPResync struct {
	// Codes is N, at least 2.
	Codes int `json:"codes"`
	// Range is R in steps.
	Range uint64 `json:"range"`
}

// The values of Profile.OnFailure.
const (
	OnFailureKeep    = "keep"
	OnFailureAdvance = "advance"
)

// The values of Profile.Input.
const (
	InputExact   = "exact"
	InputLenient = "lenient"
)

// LimitsNone is the one value of Profile.Limits: the verifier declares
// that it has no lockout, throttle or rate limit.
const LimitsNone = "none"

// The values of TOTPPolicy.Reuse.
const (
	ReuseLater = "later"
	ReuseOnce  = "once"
	// ReuseAny is no replay protection at all (a stateless verifier): a
	// declared departure from RFC 6238 §5.2's MUST.
	ReuseAny = "any"
)

// The check purposes of protocol v1.
const (
	PurposeLogin          = "login"
	PurposeRecovery       = "recovery"
	PurposePasswordChange = "password-change"
	PurposeDeviceTest     = "device-test"
	PurposeSignature      = "signature"
)

// Purposes lists every purpose protocol v1 knows, login first.
func Purposes() []string {
	return []string{PurposeLogin, PurposeRecovery, PurposePasswordChange, PurposeDeviceTest, PurposeSignature}
}

// The clock conventions of protocol v1.
const (
	// ClockRequest means the verifier takes the request's time as now.
	ClockRequest = "request"
	// ClockWall means the verifier reads its own clock.
	ClockWall = "wall"
)

// ErrProfile reports a profile that cannot be read or makes no sense.
var ErrProfile = errors.New("invalid profile")

// Limits on claimed values: beyond them a profile cannot be judged. The
// look-ahead and the windows are bounded by what the suite can judge in
// seconds with no verdict left to a chance collision of codes: a random
// 6-digit code matches one of L counters with odds of about L/10^6, which
// a look-ahead of 1,000 keeps at 0.1%, as a window of 1,000 does for the
// single remembered code of automatic resync (at 10^4, one run in six of
// the whole suite met a collision it could not avoid); a resync of two or
// more codes takes a window of 10^5, and learning a TOTP skew (each check
// tried at every step of the range) a range of 10^4 steps.
// docs/protocol.md states them.
const (
	maxLookAhead        = 1_000
	maxResyncWindow     = 100_000
	maxAutoResyncWindow = 1_000
	maxTOTPResyncRange  = 10_000
	maxResyncCodes      = 10
	maxLockout          = 10_000
	maxSkew             = 1_000
	maxSeconds          = 100_000_000 // about three years
	maxFactor           = 16
	maxAttempts         = 10_000
	maxSkewRange        = 100_000
	maxPeriod           = 86_400
)

// ParseProfile decodes and validates a JSON profile. Unknown fields are an
// error, so that a misspelt claim is not silently ignored.
func ParseProfile(data []byte) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("%w: %v", ErrProfile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Profile{}, fmt.Errorf("%w: trailing data after the JSON object", ErrProfile)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// Validate checks every claimed value.
func (p Profile) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrProfile}, a...)...)
	}
	for _, k := range p.Kinds {
		if k != HOTP && k != TOTP {
			return bad("kinds: unknown kind %q (want hotp or totp)", k)
		}
	}
	for _, a := range p.Algorithms {
		if alg, err := token.ParseAlgorithm(a); err != nil || alg.String() != a {
			return bad("algorithms: unknown algorithm %q (want SHA1, SHA256 or SHA512)", a)
		}
	}
	for _, d := range p.Digits {
		if token.CheckDigits(d) != nil {
			return bad("digits: %d is outside 6..10", d)
		}
	}
	if c := p.Counters; c != nil && c.Min > c.Max {
		return bad("counters: min %d is above max %d", c.Min, c.Max)
	}
	if p.LookAhead != nil && *p.LookAhead > maxLookAhead {
		return bad("look_ahead: %d is more than %d, the widest look-ahead that can be judged (a random code would fall in a wider one too often)", *p.LookAhead, maxLookAhead)
	}
	switch p.OnFailure {
	case "", OnFailureKeep, OnFailureAdvance:
	default:
		return bad("on_failure: %q (want keep or advance)", p.OnFailure)
	}
	switch p.Input {
	case "", InputExact, InputLenient:
	default:
		return bad("input: %q (want exact or lenient)", p.Input)
	}
	if r := p.Resync; r != nil {
		if r.Codes < 0 || r.Codes > maxResyncCodes {
			return bad("resync.codes: %d is outside 0..%d", r.Codes, maxResyncCodes)
		}
		if r.Window > maxResyncWindow {
			return bad("resync.window: %d is more than %d, the widest resync window that can be judged in reasonable time", r.Window, maxResyncWindow)
		}
		if a := r.Auto; a != nil {
			if r.Codes != 2 {
				return bad("resync.auto: automatic resync takes two consecutive logins, so resync.codes must be 2 (it is %d)", r.Codes)
			}
			if a.Within < 1 || a.Within > maxSeconds {
				return bad("resync.auto.within: %d s is outside 1..%d", a.Within, maxSeconds)
			}
			if r.Window > maxAutoResyncWindow {
				return bad("resync.window: %d is more than %d, the widest window automatic resync (resync.auto) can be judged with: one code decides it, and a random code falls in a wider window too often", r.Window, maxAutoResyncWindow)
			}
			if r.Window <= lookAheadOf(p) {
				return bad("resync.auto: resync.window %d must be wider than look_ahead %d", r.Window, lookAheadOf(p))
			}
		}
	}
	if l := p.Lockout; l != nil {
		if l.After < 0 || l.After > maxLockout {
			return bad("lockout.after: %d is outside 0..%d", l.After, maxLockout)
		}
		if l.ReleaseAfter < 0 || l.ReleaseAfter > maxSeconds {
			return bad("lockout.release_after: %d s is outside 0..%d", l.ReleaseAfter, maxSeconds)
		}
	}
	if t := p.Throttle; t != nil {
		if t.After < 1 || t.After > maxLockout {
			return bad("throttle.after: %d is outside 1..%d", t.After, maxLockout)
		}
		if t.Delay < 1 || t.Delay > maxSeconds {
			return bad("throttle.delay: %d s is outside 1..%d", t.Delay, maxSeconds)
		}
		if t.Factor < 1 || t.Factor > maxFactor {
			return bad("throttle.factor: %d is outside 1..%d", t.Factor, maxFactor)
		}
	}
	if r := p.RateLimit; r != nil {
		if r.Attempts < 1 || r.Attempts > maxAttempts {
			return bad("rate_limit.attempts: %d is outside 1..%d", r.Attempts, maxAttempts)
		}
		if r.Per < 1 || r.Per > maxSeconds {
			return bad("rate_limit.per: %d s is outside 1..%d", r.Per, maxSeconds)
		}
	}
	switch p.Limits {
	case "":
	case LimitsNone:
		if p.Lockout != nil && p.Lockout.After > 0 || p.Throttle != nil || p.RateLimit != nil {
			return bad(`limits: "none" declares no lockout, throttle or rate limit, but the profile claims %s`, p.limitNames())
		}
	default:
		return bad("limits: %q (want none, or leave it out)", p.Limits)
	}
	if t := p.TOTP; t != nil {
		if t.SkewBack > maxSkew || t.SkewAhead > maxSkew {
			return bad("totp: skew %d/%d is more than %d steps", t.SkewBack, t.SkewAhead, maxSkew)
		}
		switch t.Reuse {
		case "", ReuseLater, ReuseOnce, ReuseAny:
		default:
			return bad("totp.reuse: %q (want later, once or any)", t.Reuse)
		}
		if d := t.Drift; d != nil && d.Max != nil && *d.Max > maxSkewRange {
			return bad("totp.drift.max: %d is more than %d steps", *d.Max, maxSkewRange)
		}
		if r := t.Resync; r != nil {
			if r.Codes < 2 || r.Codes > maxResyncCodes {
				return bad("totp.resync.codes: %d is outside 2..%d", r.Codes, maxResyncCodes)
			}
			if r.Range > maxTOTPResyncRange {
				return bad("totp.resync.range: %d is more than %d steps, the widest range skew learning can be judged with in reasonable time", r.Range, maxTOTPResyncRange)
			}
		}
		for _, s := range t.Periods {
			if s < 1 || s > maxPeriod {
				return bad("totp.periods: %d s is outside 1..%d", s, maxPeriod)
			}
		}
	}
	for i, f := range p.Flows {
		if !slices.Contains(Purposes(), f) {
			return bad("flows: unknown purpose %q (want one of %s)", f, strings.Join(Purposes(), ", "))
		}
		if slices.Contains(p.Flows[:i], f) {
			return bad("flows: %q is listed twice", f)
		}
	}
	switch p.Clock {
	case "", ClockRequest, ClockWall:
	default:
		return bad("clock: %q (want request or wall)", p.Clock)
	}
	return nil
}

// SupportsKind reports whether kind k is claimed. A profile that claims no
// kind list is taken to support HOTP only, the RFC 4226 baseline.
func (p Profile) SupportsKind(k Kind) bool {
	if len(p.Kinds) == 0 {
		return k == HOTP
	}
	return slices.Contains(p.Kinds, k)
}

// SupportsAlgorithm reports whether the algorithm is claimed. A profile
// that claims no algorithm list is taken to support SHA1 only, the RFC 4226
// algorithm every verifier has.
func (p Profile) SupportsAlgorithm(a token.Algorithm) bool {
	if len(p.Algorithms) == 0 {
		return a == token.SHA1
	}
	return slices.Contains(p.Algorithms, a.String())
}

// SupportsDigits reports whether the code length is claimed. A profile
// that claims no digit list is taken to support 6 digits only.
func (p Profile) SupportsDigits(d int) bool {
	if len(p.Digits) == 0 {
		return d == 6
	}
	return slices.Contains(p.Digits, d)
}

// ResyncCodes returns N, or 0 when resync is not claimed.
func (p Profile) ResyncCodes() int {
	if p.Resync == nil {
		return 0
	}
	return p.Resync.Codes
}

// LockoutAfter returns F, or 0 when lockout is not claimed.
func (p Profile) LockoutAfter() int {
	if p.Lockout == nil {
		return 0
	}
	return p.Lockout.After
}

// lookAheadOf returns L, or 0 when not claimed.
func lookAheadOf(p Profile) uint64 {
	if p.LookAhead == nil {
		return 0
	}
	return *p.LookAhead
}

// CounterMin returns the smallest HOTP counter that can be enrolled.
func (p Profile) CounterMin() uint64 {
	if p.Counters == nil {
		return 0
	}
	return p.Counters.Min
}

// CounterMax returns the largest HOTP counter the verifier can hold.
func (p Profile) CounterMax() uint64 {
	if p.Counters == nil {
		return token.MaxCounter
	}
	return p.Counters.Max
}

// SupportsCounter reports whether a HOTP token can be enrolled at c.
func (p Profile) SupportsCounter(c uint64) bool { return c >= p.CounterMin() && c <= p.CounterMax() }

// Advances reports whether a compared, rejected HOTP check moves the
// counter (on_failure "advance").
func (p Profile) Advances() bool { return p.OnFailure == OnFailureAdvance }

// ReuseOnce reports whether TOTP replay protection is per step
// (totp.reuse "once") rather than "only later steps".
func (p Profile) ReuseOnce() bool { return p.TOTP != nil && p.TOTP.Reuse == ReuseOnce }

// ReuseAny reports whether the profile declares no TOTP replay protection
// at all (totp.reuse "any"): every code of the window is accepted as often
// as it is typed.
func (p Profile) ReuseAny() bool { return p.TOTP != nil && p.TOTP.Reuse == ReuseAny }

// SupportsPeriod reports whether a TOTP token with step s can be enrolled.
func (p Profile) SupportsPeriod(s int64) bool {
	if p.TOTP == nil || len(p.TOTP.Periods) == 0 {
		return s > 0
	}
	return slices.Contains(p.TOTP.Periods, s)
}

// SupportsT0 reports whether a TOTP token with this t0 can be enrolled.
func (p Profile) SupportsT0(t0 int64) bool {
	return t0 == 0 || p.TOTP == nil || p.TOTP.T0 == nil || *p.TOTP.T0
}

// SupportsPurpose reports whether check serves purpose f ("" is login).
func (p Profile) SupportsPurpose(f string) bool {
	if f == "" || f == PurposeLogin {
		return len(p.Flows) == 0 || slices.Contains(p.Flows, PurposeLogin)
	}
	return slices.Contains(p.Flows, f)
}

// ThrottleDelay returns how long checks are refused after the n-th
// consecutive failure, or 0 when none is claimed or n < F. It saturates
// instead of overflowing.
func (p Profile) ThrottleDelay(n int) int64 {
	t := p.Throttle
	if t == nil || n < t.After {
		return 0
	}
	d := t.Delay
	if t.Factor == 1 {
		return d
	}
	for range n - t.After {
		if d > maxSeconds*maxFactor {
			return d
		}
		d *= t.Factor
	}
	return d
}

// HasLimit reports whether the profile claims anything that stops
// guessing: a lockout, a throttle or a rate limit.
func (p Profile) HasLimit() bool {
	return p.LockoutAfter() > 0 || p.Throttle != nil || p.RateLimit != nil
}

// NoLimitDeclared reports whether the profile declares limits "none".
func (p Profile) NoLimitDeclared() bool { return p.Limits == LimitsNone }

// limitNames names the claimed limits, as a profile writes them.
func (p Profile) limitNames() string {
	var out []string
	if f := p.LockoutAfter(); f > 0 {
		out = append(out, fmt.Sprintf("lockout after %d", f))
	}
	if t := p.Throttle; t != nil {
		out = append(out, fmt.Sprintf("a throttle {after %d, delay %d, factor %d}", t.After, t.Delay, t.Factor))
	}
	if r := p.RateLimit; r != nil {
		out = append(out, fmt.Sprintf("a rate limit of %d checks per %d s", r.Attempts, r.Per))
	}
	return strings.Join(out, " and ")
}

// ReleaseAfter returns lockout.release_after, or 0 when not claimed.
func (p Profile) ReleaseAfter() int64 {
	if p.Lockout == nil {
		return 0
	}
	return p.Lockout.ReleaseAfter
}

// CountsResync reports whether a rejected resync counts as a failure.
func (p Profile) CountsResync() bool { return p.Lockout != nil && p.Lockout.CountsResync }

// RequestClock reports whether the verifier takes time from requests.
func (p Profile) RequestClock() bool { return p.Clock == ClockRequest }

// JSON returns the profile as indented JSON, ready for --profile.
func (p Profile) JSON() []byte {
	b, _ := json.MarshalIndent(p, "", "  ")
	return append(b, '\n')
}

// Uint64 returns a pointer to v, for building profiles in Go.
func Uint64(v uint64) *uint64 { return &v }
