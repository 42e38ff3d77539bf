package pskc

import (
	"fmt"
	"strings"

	"github.com/otplab/otplab/token"
)

// DeviceModel returns the simulated device model for the package: a C100 for
// HOTP keys, a C200 for TOTP keys.
func (p *KeyPackage) DeviceModel() token.Model {
	if p.Kind == TOTP {
		return token.ModelC200
	}
	return token.ModelC100
}

// DeviceSerial returns the 13-digit serial a simulated device of model m
// gets for this package. The serial is DeviceInfo/SerialNo, or the Key Id
// when there is no SerialNo, and must be ASCII digits:
//
//   - 13 digits: used as is; it must start with the model's digit.
//   - fewer than 13 digits, from a Feitian file: an error, because Feitian
//     prints 13-digit serials and a shorter one is a damaged file.
//   - fewer than 13 digits, from another vendor (such as the RFC 6030
//     examples, serial 987654321): mapped to the model's digit, zeros and
//     the vendor's digits (1000987654321), and mapped is true.
//   - more than 13 digits: an error.
//
// The error wraps [ErrSerial].
func (p *KeyPackage) DeviceSerial(m token.Model) (s token.Serial, mapped bool, err error) {
	src := p.SerialNo
	if src == "" {
		src = p.KeyID
	}
	if src == "" {
		return "", false, fmt.Errorf("%w: the key package has neither SerialNo nor Key Id", ErrSerial)
	}
	for i := 0; i < len(src); i++ {
		if src[i] < '0' || src[i] > '9' {
			return "", false, fmt.Errorf("%w: serial %q is not all digits", ErrSerial, clip(src))
		}
	}
	switch {
	case len(src) == token.SerialLen:
		s, err := token.ParseSerial(src, m)
		if err != nil {
			return "", false, fmt.Errorf("%w: %w", ErrSerial, err)
		}
		return s, false, nil
	case len(src) > token.SerialLen:
		return "", false, fmt.Errorf("%w: serial %q has %d digits, want %d", ErrSerial, clip(src), len(src), token.SerialLen)
	case isFeitian(p.Manufacturer):
		return "", false, fmt.Errorf("%w: serial %q has %d digits, want %d (Feitian serials)", ErrSerial, src, len(src), token.SerialLen)
	}
	b := make([]byte, 0, token.SerialLen)
	b = append(b, m.SerialPrefix())
	for len(b)+len(src) < token.SerialLen {
		b = append(b, '0')
	}
	b = append(b, src...)
	return token.Serial(b), true, nil
}

func isFeitian(manufacturer string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(manufacturer)), "feitian")
}

// C100Config returns the settings of a C100 holding this HOTP key, with
// its counter at the file's Counter. It fails for a TOTP key or a serial
// that [KeyPackage.DeviceSerial] refuses.
func (p *KeyPackage) C100Config() (token.C100Config, error) {
	if p.Kind != HOTP {
		return token.C100Config{}, fmt.Errorf("%w: a %s key cannot be a c100", ErrAlgorithm, p.Kind)
	}
	s, _, err := p.DeviceSerial(token.ModelC100)
	if err != nil {
		return token.C100Config{}, err
	}
	return token.C100Config{
		Serial: s, Secret: append([]byte(nil), p.Secret...), Algorithm: p.Algorithm,
		Digits: p.Digits, Counter: p.Counter,
	}, nil
}

// C200Config returns the settings of a C200 holding this TOTP key: the
// time step is TimeInterval and T0 is Time. It fails for an HOTP key or a
// serial that [KeyPackage.DeviceSerial] refuses.
func (p *KeyPackage) C200Config() (token.C200Config, error) {
	if p.Kind != TOTP {
		return token.C200Config{}, fmt.Errorf("%w: a %s key cannot be a c200", ErrAlgorithm, p.Kind)
	}
	s, _, err := p.DeviceSerial(token.ModelC200)
	if err != nil {
		return token.C200Config{}, err
	}
	return token.C200Config{
		Model: token.ModelC200, Serial: s, Secret: append([]byte(nil), p.Secret...),
		Algorithm: p.Algorithm, Digits: p.Digits, Period: p.TimeInterval, T0: p.Time,
	}, nil
}

// FromC100 returns the key package of a C100 with the given settings: its
// serial as SerialNo and Key Id, and its counter.
func FromC100(c token.C100Config, manufacturer string) KeyPackage {
	alg, digits := withDefaults(c.Algorithm, c.Digits)
	return KeyPackage{
		Manufacturer: manufacturer, SerialNo: string(c.Serial), KeyID: string(c.Serial),
		Kind: HOTP, Algorithm: alg, Digits: digits, Secret: c.Secret, Counter: c.Counter,
	}
}

// FromC200 returns the key package of a time token with the given
// settings: Time is its T0 and TimeInterval its period.
func FromC200(c token.C200Config, manufacturer string) KeyPackage {
	alg, digits := withDefaults(c.Algorithm, c.Digits)
	return KeyPackage{
		Manufacturer: manufacturer, SerialNo: string(c.Serial), KeyID: string(c.Serial),
		Kind: TOTP, Algorithm: alg, Digits: digits, Secret: c.Secret, Time: c.T0, TimeInterval: c.Period,
	}
}

// withDefaults fills in the device defaults (SHA1, 6 digits) that
// token.NewC100 and token.NewC200 apply to a zero setting.
func withDefaults(alg token.Algorithm, digits int) (token.Algorithm, int) {
	if alg == 0 {
		alg = token.SHA1
	}
	if digits == 0 {
		digits = 6
	}
	return alg, digits
}
