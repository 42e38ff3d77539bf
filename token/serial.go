package token

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// SerialLen is the number of digits printed on the back of a token.
const SerialLen = 13

// Model names a kind of device.
type Model string

// The modelled devices.
const (
	// ModelC100 is the event-based (HOTP) token with a button.
	ModelC100 Model = "c100"
	// ModelC200 is the time-based (TOTP) token with a 60 s step.
	ModelC200 Model = "c200"
	// ModelApp is a phone authenticator app: a time-based token with a
	// 30 s step. It is modelled as a C200 profile and carries a C200-style
	// serial so that verifiers can enroll it like any other token.
	ModelApp Model = "app"
)

// Models returns every known model.
func Models() []Model { return []Model{ModelC100, ModelC200, ModelApp} }

// ParseModel reads a model name ("c100", "c200" or "app", any case).
func ParseModel(s string) (Model, error) {
	m := Model(strings.ToLower(strings.TrimSpace(s)))
	switch m {
	case ModelC100, ModelC200, ModelApp:
		return m, nil
	}
	return "", fmt.Errorf("model %q: %w (want c100, c200 or app)", s, ErrModel)
}

// SerialPrefix returns the first digit of the model's serials: '1' for the
// C100, '2' for the C200 and the app profile.
func (m Model) SerialPrefix() byte {
	if m == ModelC100 {
		return '1'
	}
	return '2'
}

// TimeBased reports whether the model shows TOTP codes.
func (m Model) TimeBased() bool { return m == ModelC200 || m == ModelApp }

// Serial is a validated 13-digit device serial number.
type Serial string

// ParseSerial validates s as a serial of model m: exactly 13 ASCII digits
// starting with the model's prefix. An empty m accepts any prefix.
func ParseSerial(s string, m Model) (Serial, error) {
	if len(s) != SerialLen {
		return "", fmt.Errorf("serial %q: %w: has %d characters, want %d digits", s, ErrSerial, len(s), SerialLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("serial %q: %w: character %d is not a digit", s, ErrSerial, i+1)
		}
	}
	if m != "" {
		if p := m.SerialPrefix(); s[0] != p {
			return "", fmt.Errorf("serial %q: %w: %s serials start with %c", s, ErrSerial, m, p)
		}
	}
	return Serial(s), nil
}

// NewSerial draws a serial for model m from r. With a seeded source the
// sequence of serials is reproducible, which is what fleets need.
func NewSerial(m Model, r *rand.Rand) Serial {
	var b [SerialLen]byte
	b[0] = m.SerialPrefix()
	for i := 1; i < SerialLen; i++ {
		b[i] = byte('0' + r.IntN(10))
	}
	return Serial(b[:])
}

// String returns the serial's digits.
func (s Serial) String() string { return string(s) }
