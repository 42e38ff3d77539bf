// Package otpauth builds and parses otpauth:// key URIs, the format
// authenticator apps read from QR codes:
//
//	otpauth://hotp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&counter=0
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// It covers what github.com/pquerna/otp leaves out: the HOTP counter
// (required for hotp), label and issuer escaping that keeps colons, spaces
// and non-ASCII text intact, duplicate and conflicting parameters, and
// secrets that never appear in an error.
package otpauth

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/otplab/otplab/token"
)

// ErrURI reports a URI that is not a valid otpauth key URI, or a key that
// cannot be written as one. Errors never contain the secret.
var ErrURI = errors.New("invalid otpauth uri")

// Type is the kind of key: "hotp" or "totp".
type Type string

// The key types.
const (
	HOTP Type = "hotp"
	TOTP Type = "totp"
)

// Key is what an otpauth URI carries.
type Key struct {
	// Type is HOTP or TOTP.
	Type Type
	// Issuer names the service or vendor; it is written both as the label
	// prefix and as the issuer parameter. It may not contain a colon.
	Issuer string
	// Account names the holder; for simulated tokens it is the serial.
	Account string
	// Secret is the shared secret. Handle it with care.
	Secret []byte
	// Algorithm defaults to SHA1.
	Algorithm token.Algorithm
	// Digits defaults to 6.
	Digits int
	// Counter is the counter of the next code (HOTP only).
	Counter uint64
	// Period is the time step in seconds (TOTP only); zero means 30.
	Period int64
}

func (k *Key) normalize() error {
	if k.Type != HOTP && k.Type != TOTP {
		return fmt.Errorf("%w: type %q (want hotp or totp)", ErrURI, k.Type)
	}
	if len(k.Secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrURI)
	}
	if k.Algorithm == 0 {
		k.Algorithm = token.SHA1
	}
	if !k.Algorithm.Valid() {
		return fmt.Errorf("%w: algorithm %d", ErrURI, uint8(k.Algorithm))
	}
	if k.Digits == 0 {
		k.Digits = 6
	}
	if err := token.CheckDigits(k.Digits); err != nil {
		return fmt.Errorf("%w: %w", ErrURI, err)
	}
	if k.Type == TOTP {
		if k.Period == 0 {
			k.Period = token.DefaultPeriod
		}
		if err := token.CheckPeriod(k.Period); err != nil {
			return fmt.Errorf("%w: %w", ErrURI, err)
		}
		if k.Counter != 0 {
			return fmt.Errorf("%w: a totp key has no counter", ErrURI)
		}
	} else if k.Period != 0 {
		return fmt.Errorf("%w: an hotp key has no period", ErrURI)
	}
	if strings.Contains(k.Issuer, ":") {
		return fmt.Errorf("%w: issuer %q contains a colon", ErrURI, k.Issuer)
	}
	if k.Account == "" {
		return fmt.Errorf("%w: empty account name", ErrURI)
	}
	if k.Issuer != "" && strings.HasPrefix(k.Account, " ") {
		return fmt.Errorf("%w: account %q starts with a space, which readers drop after the issuer", ErrURI, k.Account)
	}
	if k.Issuer == "" && strings.Contains(k.Account, ":") {
		return fmt.Errorf("%w: account %q contains a colon and there is no issuer to tell them apart", ErrURI, k.Account)
	}
	return nil
}

// URI returns the key as an otpauth URI. Every parameter is written, with
// its default where the key leaves it zero, so that apps that ignore
// defaults agree with apps that apply them.
func (k Key) URI() (string, error) {
	if err := k.normalize(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("otpauth://")
	b.WriteString(string(k.Type))
	b.WriteByte('/')
	if k.Issuer != "" {
		b.WriteString(escape(k.Issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(k.Account))
	b.WriteString("?secret=")
	b.WriteString(token.EncodeBase32(k.Secret))
	if k.Issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(k.Issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(k.Algorithm.String())
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(k.Digits))
	if k.Type == HOTP {
		b.WriteString("&counter=")
		b.WriteString(strconv.FormatUint(k.Counter, 10))
	} else {
		b.WriteString("&period=")
		b.WriteString(strconv.FormatInt(k.Period, 10))
	}
	return b.String(), nil
}

// escape percent-encodes everything but the RFC 3986 unreserved
// characters, so spaces become %20 (not +) and colons %3A.
func escape(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// maxURILen bounds the input of Parse.
const maxURILen = 4096

// Parse reads an otpauth URI. It requires a secret, and a counter for
// hotp; it refuses duplicate parameters, a counter on a totp key, a
// period on an hotp key, and an issuer parameter that contradicts the
// label. Unknown parameters (such as image) are ignored. The error never
// repeats the URI, which holds the secret.
func Parse(s string) (Key, error) {
	if len(s) > maxURILen {
		return Key{}, fmt.Errorf("%w: %d characters (at most %d)", ErrURI, len(s), maxURILen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Key{}, fmt.Errorf("%w: not a uri", ErrURI)
	}
	if !strings.EqualFold(u.Scheme, "otpauth") {
		return Key{}, fmt.Errorf("%w: scheme %q, want otpauth", ErrURI, clip(u.Scheme))
	}
	if u.Opaque != "" || u.User != nil || u.Port() != "" || u.Fragment != "" {
		return Key{}, fmt.Errorf("%w: unexpected parts (want otpauth://TYPE/LABEL?PARAMETERS)", ErrURI)
	}
	var k Key
	switch strings.ToLower(u.Host) {
	case "hotp":
		k.Type = HOTP
	case "totp":
		k.Type = TOTP
	default:
		return Key{}, fmt.Errorf("%w: type %q (want hotp or totp)", ErrURI, clip(u.Host))
	}
	label, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
	if err != nil {
		return Key{}, fmt.Errorf("%w: label is not percent-encoded properly", ErrURI)
	}
	if i := strings.IndexByte(label, ':'); i >= 0 {
		k.Issuer = label[:i]
		k.Account = strings.TrimLeft(label[i+1:], " ")
	} else {
		k.Account = label
	}
	params, err := query(u.RawQuery)
	if err != nil {
		return Key{}, err
	}
	sec, ok := params["secret"]
	if !ok {
		return Key{}, fmt.Errorf("%w: no secret", ErrURI)
	}
	if k.Secret, err = token.ParseBase32(sec); err != nil {
		return Key{}, fmt.Errorf("%w: secret: %w", ErrURI, err)
	}
	if v, ok := params["issuer"]; ok {
		if k.Issuer != "" && v != k.Issuer {
			return Key{}, fmt.Errorf("%w: issuer parameter %q differs from the label's issuer %q", ErrURI, clip(v), clip(k.Issuer))
		}
		k.Issuer = v
	}
	if v, ok := params["algorithm"]; ok {
		if k.Algorithm, err = token.ParseAlgorithm(v); err != nil {
			return Key{}, fmt.Errorf("%w: algorithm %q", ErrURI, clip(v))
		}
	}
	if v, ok := params["digits"]; ok {
		if k.Digits, err = strconv.Atoi(v); err != nil || k.Digits == 0 {
			return Key{}, fmt.Errorf("%w: digits %q", ErrURI, clip(v))
		}
	}
	v, hasCounter := params["counter"]
	switch {
	case k.Type == HOTP && !hasCounter:
		return Key{}, fmt.Errorf("%w: an hotp uri needs a counter", ErrURI)
	case k.Type == TOTP && hasCounter:
		return Key{}, fmt.Errorf("%w: a totp uri has no counter", ErrURI)
	case hasCounter:
		if k.Counter, err = strconv.ParseUint(v, 10, 64); err != nil {
			return Key{}, fmt.Errorf("%w: counter %q is not a number from 0 to 2^64-1", ErrURI, clip(v))
		}
	}
	if v, ok := params["period"]; ok {
		if k.Type == HOTP {
			return Key{}, fmt.Errorf("%w: an hotp uri has no period", ErrURI)
		}
		if k.Period, err = strconv.ParseInt(v, 10, 64); err != nil || k.Period == 0 {
			return Key{}, fmt.Errorf("%w: period %q", ErrURI, clip(v))
		}
	}
	if err := k.normalize(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// query splits a raw query into parameters, refusing duplicates.
func query(raw string) (map[string]string, error) {
	out := map[string]string{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		key, val, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(key)
		v, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: a parameter is not percent-encoded properly", ErrURI)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: parameter %q given twice", ErrURI, clip(k))
		}
		out[k] = v
	}
	return out, nil
}

// clip shortens text from the input for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
