package token

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is the HMAC hash function a token uses.
type Algorithm uint8

// The algorithms of RFC 4226 (SHA1) and RFC 6238 (SHA1, SHA256, SHA512).
const (
	SHA1 Algorithm = iota + 1
	SHA256
	SHA512
)

// Algorithms lists every supported algorithm in a stable order.
var algorithms = [...]Algorithm{SHA1, SHA256, SHA512}

// Algorithms returns every supported algorithm, SHA1 first.
func Algorithms() []Algorithm { return algorithms[:] }

// String returns the protocol name of the algorithm: "SHA1", "SHA256" or
// "SHA512".
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// Valid reports whether a is one of the supported algorithms.
func (a Algorithm) Valid() bool { return a >= SHA1 && a <= SHA512 }

// New returns a new hash.Hash for the algorithm. It panics if a is not
// valid; callers get a valid Algorithm from [ParseAlgorithm] or a constant.
func (a Algorithm) New() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	panic("token: invalid algorithm " + a.String())
}

// Size is the length in bytes of the algorithm's digest, which is also the
// secret length RFC 6238 Appendix B uses for it (20, 32 and 64 bytes).
func (a Algorithm) Size() int {
	switch a {
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

// ParseAlgorithm reads an algorithm name. It accepts the protocol names
// ("SHA1", "SHA256", "SHA512") in any case and with an optional dash
// ("sha-256"), as found in otpauth URIs and PSKC files.
func ParseAlgorithm(s string) (Algorithm, error) {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	switch n {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return 0, fmt.Errorf("algorithm %q: %w (want SHA1, SHA256 or SHA512)", s, ErrAlgorithm)
}

// MarshalText encodes the algorithm as its protocol name.
func (a Algorithm) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("algorithm %d: %w", uint8(a), ErrAlgorithm)
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes an algorithm name with [ParseAlgorithm].
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
