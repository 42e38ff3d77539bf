package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/otplab/otplab/token"
)

// Profile is the policy a verifier claims, exactly as in protocol v1. A nil
// pointer or an empty list means "not claimed": the cases that need it
// SKIP with that reason.
type Profile struct {
	// Kinds lists the token kinds the verifier accepts.
	Kinds []Kind `json:"kinds,omitempty"`
	// Algorithms lists the supported HMAC hashes ("SHA1", "SHA256",
	// "SHA512").
	Algorithms []string `json:"algorithms,omitempty"`
	// Digits lists the supported code lengths.
	Digits []int `json:"digits,omitempty"`
	// LookAhead is L: check accepts the code of counter c+k for
	// 0 <= k <= L (first match) and then sets c = c+k+1.
	LookAhead *uint64 `json:"look_ahead,omitempty"`
	// Resync is the two- (or N-) code resynchronisation policy.
	Resync *ResyncPolicy `json:"resync,omitempty"`
	// Lockout is the throttling policy.
	Lockout *LockoutPolicy `json:"lockout,omitempty"`
	// TOTP is the time-step tolerance.
	TOTP *TOTPPolicy `json:"totp,omitempty"`
	// Clock is ClockRequest or ClockWall.
	Clock string `json:"clock,omitempty"`
}

// ResyncPolicy is {codes N, window R}: resync with N consecutive codes
// accepts when the first is the code of c+k, 0 <= k <= R, and the others
// follow it one by one; then c is one past the last.
type ResyncPolicy struct {
	// Codes is N; 0 means no resync.
	Codes int `json:"codes"`
	// Window is R.
	Window uint64 `json:"window"`
}

// LockoutPolicy is {after F, resync_unlocks}: after F consecutive rejected
// checks of well-formed codes the token is locked until unlocked.
type LockoutPolicy struct {
	// After is F; 0 means no lockout.
	After int `json:"after"`
	// ResyncUnlocks says whether an accepted resync also unlocks (and
	// whether resync is judged at all while locked).
	ResyncUnlocks bool `json:"resync_unlocks"`
}

// TOTPPolicy is the tolerance {skew_back B, skew_ahead A} around the
// current time step.
type TOTPPolicy struct {
	// SkewBack is B, the number of past steps accepted.
	SkewBack uint64 `json:"skew_back"`
	// SkewAhead is A, the number of future steps accepted.
	SkewAhead uint64 `json:"skew_ahead"`
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

// Limits on claimed values, to refuse nonsense before it costs hours.
const (
	maxLookAhead    = 1_000_000
	maxResyncWindow = 10_000_000
	maxResyncCodes  = 10
	maxLockout      = 10_000
	maxSkew         = 1_000
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
	if p.LookAhead != nil && *p.LookAhead > maxLookAhead {
		return bad("look_ahead: %d is more than %d", *p.LookAhead, maxLookAhead)
	}
	if r := p.Resync; r != nil {
		if r.Codes < 0 || r.Codes > maxResyncCodes {
			return bad("resync.codes: %d is outside 0..%d", r.Codes, maxResyncCodes)
		}
		if r.Window > maxResyncWindow {
			return bad("resync.window: %d is more than %d", r.Window, maxResyncWindow)
		}
	}
	if l := p.Lockout; l != nil && (l.After < 0 || l.After > maxLockout) {
		return bad("lockout.after: %d is outside 0..%d", l.After, maxLockout)
	}
	if t := p.TOTP; t != nil && (t.SkewBack > maxSkew || t.SkewAhead > maxSkew) {
		return bad("totp: skew %d/%d is more than %d steps", t.SkewBack, t.SkewAhead, maxSkew)
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

// RequestClock reports whether the verifier takes time from requests.
func (p Profile) RequestClock() bool { return p.Clock == ClockRequest }

// JSON returns the profile as indented JSON, ready for --profile.
func (p Profile) JSON() []byte {
	b, _ := json.MarshalIndent(p, "", "  ")
	return append(b, '\n')
}

// Uint64 returns a pointer to v, for building profiles in Go.
func Uint64(v uint64) *uint64 { return &v }
