package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/otplab/otplab/token"
)

// Verifier is the server side under test: the operations of protocol v1.
// Every method takes a context that carries the per-request deadline; a
// Verifier must return promptly once it is done.
//
// A rejected code is not an error: Check and Resync report it in the
// [Reply]. An error wrapping [ErrUnsupported] makes the case SKIP; a
// [RefusedError] (the verifier answered, with an application error) to a
// request the profile claims is a FAIL of the case, with the verifier's
// text; any other error (a transport failure, a timeout, a malformed
// reply) means the verifier could not be judged: the case becomes ERROR.
//
// One Verifier serves a whole run. Every case enrolls tokens with fresh
// serials, so a Verifier never has to forget anything, and cases may call it
// from several goroutines at once.
type Verifier interface {
	// Enroll registers a token. Enrolling a serial again replaces it.
	Enroll(ctx context.Context, tok Token) error
	// Check submits one code typed by the user at the given moment.
	Check(ctx context.Context, req CheckRequest) (Reply, error)
	// Resync submits consecutive codes, oldest first, to bring the
	// server's counter back in step with a drifted HOTP token.
	Resync(ctx context.Context, req ResyncRequest) (Reply, error)
	// Unlock lifts a lockout, as an administrator would.
	Unlock(ctx context.Context, serial string) error
}

// Describer is an optional capability of a [Verifier]: it answers protocol
// v1's hello with its name, its supported operations and, optionally, the
// policy it claims.
type Describer interface {
	Describe(ctx context.Context) (Info, error)
}

// ClockSetter is an optional capability of a [Verifier] whose verifier
// reads its own clock: the adapter sets that clock to each request's time
// before sending it (an exec verifier under libfaketime does). A run
// against a ClockSetter that reports true judges a profile with clock
// "wall" on simulated time, exactly as one with clock "request": every
// time-dependent case runs.
type ClockSetter interface {
	// SetsClock reports whether the verifier's clock follows the
	// requests' times.
	SetsClock() bool
}

// Info is a verifier's answer to hello.
type Info struct {
	// Name identifies the verifier in reports.
	Name string `json:"name"`
	// Ops lists the supported operations ("enroll", "check", "resync",
	// "unlock"). Empty means all of them.
	Ops []string `json:"ops,omitempty"`
	// Profile is the claimed policy, or nil if none is claimed here.
	Profile *Profile `json:"profile,omitempty"`
}

// Supports reports whether op is in Ops (an empty list supports all).
func (i Info) Supports(op string) bool {
	if len(i.Ops) == 0 {
		return true
	}
	for _, o := range i.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// ErrUnsupported is returned (wrapped) by a Verifier for an operation it
// does not implement. Cases that need the operation SKIP.
var ErrUnsupported = errors.New("operation not supported by the verifier")

// Kind is "hotp" (event-based, RFC 4226) or "totp" (time-based, RFC 6238).
type Kind string

// The token kinds of protocol v1.
const (
	HOTP Kind = "hotp"
	TOTP Kind = "totp"
)

// Token is what a verifier needs to know about a token to verify it. Its
// String form never shows the secret.
type Token struct {
	// Serial is the 13-digit serial number; it names the token in every
	// later request.
	Serial string
	// Kind is HOTP or TOTP.
	Kind Kind
	// Algorithm is the HMAC hash.
	Algorithm token.Algorithm
	// Digits is the code length.
	Digits int
	// Secret is the shared key. Never log it.
	Secret []byte
	// Counter is the next expected counter (HOTP only).
	Counter uint64
	// Period is the time step in seconds (TOTP only).
	Period int64
	// T0 is the Unix second at which step 0 begins (TOTP only).
	T0 int64
}

// String describes the token without its secret.
func (t Token) String() string {
	if t.Kind == TOTP {
		return fmt.Sprintf("%s %s %s/%d period %ds t0 %d", t.Kind, t.Serial, t.Algorithm, t.Digits, t.Period, t.T0)
	}
	return fmt.Sprintf("%s %s %s/%d counter %d", t.Kind, t.Serial, t.Algorithm, t.Digits, t.Counter)
}

// GoString is String, so that %#v cannot leak the secret either.
func (t Token) GoString() string { return "harness.Token{" + t.String() + "}" }

// CheckRequest is one submitted code.
type CheckRequest struct {
	// Serial names the token.
	Serial string
	// Code is the code exactly as typed.
	Code string
	// Time is the simulated now; a verifier with the "request" clock uses
	// it instead of its own.
	Time time.Time
	// Purpose is the door the code is typed at: "" or PurposeLogin,
	// PurposeRecovery, PurposePasswordChange, PurposeDeviceTest or
	// PurposeSignature. Every purpose verifies against one token state.
	Purpose string
}

// ResyncRequest is a resynchronisation attempt.
type ResyncRequest struct {
	// Serial names the token.
	Serial string
	// Codes are consecutive codes from the token, oldest first.
	Codes []string
	// Time is the simulated now.
	Time time.Time
}

// Reply is a verifier's verdict on a code.
type Reply struct {
	// Accepted reports whether the code (or resync) was accepted.
	Accepted bool
	// Locked reports, optionally, that the token is locked out.
	Locked bool
}
