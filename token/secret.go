package token

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// ParseHex decodes a hexadecimal secret. Spaces are ignored and either case
// is accepted. The error names the problem but never echoes the secret.
func ParseHex(s string) ([]byte, error) {
	clean := strings.Map(dropSpace, s)
	if clean == "" {
		return nil, fmt.Errorf("hex secret: %w: empty", ErrSecret)
	}
	if len(clean)%2 != 0 {
		return nil, fmt.Errorf("hex secret: %w: odd number of hex digits (%d)", ErrSecret, len(clean))
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		if e, ok := err.(hex.InvalidByteError); ok {
			return nil, fmt.Errorf("hex secret: %w: character %q is not a hex digit", ErrSecret, rune(e))
		}
		return nil, fmt.Errorf("hex secret: %w: not hexadecimal", ErrSecret)
	}
	return b, nil
}

// ParseBase32 decodes a base32 secret (RFC 4648 alphabet) as found in
// otpauth URIs. Padding is optional, case does not matter and spaces are
// ignored. The error names the problem but never echoes the secret.
func ParseBase32(s string) ([]byte, error) {
	clean := strings.ToUpper(strings.TrimRight(strings.Map(dropSpace, s), "="))
	if clean == "" {
		return nil, fmt.Errorf("base32 secret: %w: empty", ErrSecret)
	}
	switch len(clean) % 8 {
	case 1, 3, 6: // no whole number of bytes has this many base32 characters
		return nil, fmt.Errorf("base32 secret: %w: invalid length %d", ErrSecret, len(clean))
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(clean)
	if err != nil {
		if e, ok := err.(base32.CorruptInputError); ok && int(e) < len(clean) {
			return nil, fmt.Errorf("base32 secret: %w: character %q at position %d is not base32", ErrSecret, clean[e], int(e)+1)
		}
		return nil, fmt.Errorf("base32 secret: %w: invalid length %d", ErrSecret, len(clean))
	}
	return b, nil
}

// EncodeBase32 encodes a secret as unpadded upper-case base32, the form
// otpauth URIs use.
func EncodeBase32(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\n', '\r':
		return -1
	}
	return r
}
