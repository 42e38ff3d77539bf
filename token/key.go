package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/otplab/otplab/token/internal/sha1block"
	"github.com/otplab/otplab/token/internal/sha2block"
)

// MinDigits and MaxDigits bound the code length. RFC 4226 asks for at least
// 6 digits; a 31-bit truncated value has at most 10.
const (
	MinDigits = 6
	MaxDigits = 10
)

// MaxCounter is the last counter value a token can show. RFC 4226 counters
// are 8 bytes wide; a device refuses to go past this value.
const MaxCounter = math.MaxUint64

var pow10 = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
	100000000, 1000000000, 10000000000}

// Key is a prepared OTP secret: the hash states after the HMAC key pads
// are computed once, so each code afterwards costs two hash compressions
// and allocates nothing.
//
// For SHA1, the two compressions are all a code costs: the engine
// assembles the inner block (the counter and constant padding) and the
// outer block (the inner digest and constant padding) as message words and
// compresses them with its own block function, using the x86 SHA
// extensions where the CPU has them (chosen at run time) and portable Go
// otherwise. SHA256 keys do the same where the CPU has the SHA extensions.
// SHA512 keys, and SHA256 keys on CPUs without them, use crypto/hmac,
// whose AVX2 assembly beats portable Go there; while one goroutine holds
// that, others compute the same value in portable Go from the key's own
// pad states.
//
// A Key is safe for concurrent use from many goroutines.
type Key struct {
	alg    Algorithm
	digits int
	mod    uint64
	secret []byte
	// shani selects the SHA-NI block functions for SHA1 and SHA256; NewKey
	// sets it from the CPU, tests force the portable path with newKey.
	shani bool
	// The states after the ipad block (index 0) and the opad block (1),
	// for the key's algorithm only.
	pads1   [2][5]uint32
	pads256 [2][8]uint32
	pads512 [2][8]uint64
	// SHA512, and SHA256 without SHA-NI: crypto/hmac with its buffers,
	// for one goroutine at a time.
	mac *lockedMAC
}

// NewKey prepares secret for code generation with the given algorithm and
// number of digits (6 to 10). The secret is copied.
func NewKey(secret []byte, alg Algorithm, digits int) (*Key, error) {
	return newKey(secret, alg, digits, sha1block.HasSHANI())
}

// newKey is NewKey with the block functions chosen by the caller: shani
// must be false where the CPU lacks SHA-NI.
func newKey(secret []byte, alg Algorithm, digits int, shani bool) (*Key, error) {
	if len(secret) == 0 {
		return nil, fmt.Errorf("key: %w: empty", ErrSecret)
	}
	if !alg.Valid() {
		return nil, fmt.Errorf("key: algorithm %d: %w", uint8(alg), ErrAlgorithm)
	}
	if err := CheckDigits(digits); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	k := &Key{alg: alg, digits: digits, mod: pow10[digits], secret: append([]byte(nil), secret...), shani: shani}
	switch alg {
	case SHA1:
		k.pads1 = sha1block.Pads(k.secret)
	case SHA256:
		k.pads256 = sha2block.Pads256(k.secret)
		if !shani {
			k.mac = &lockedMAC{mac: hmac.New(sha256.New, k.secret)}
		}
	case SHA512:
		k.pads512 = sha2block.Pads512(k.secret)
		k.mac = &lockedMAC{mac: hmac.New(sha512.New, k.secret)}
	}
	return k, nil
}

// CheckDigits returns an error wrapping [ErrDigits] unless 6 <= d <= 10.
func CheckDigits(d int) error {
	if d < MinDigits || d > MaxDigits {
		return fmt.Errorf("digits %d: %w (want %d to %d)", d, ErrDigits, MinDigits, MaxDigits)
	}
	return nil
}

// Clone returns an independent copy of k. A Key is safe for concurrent use,
// so a copy is never needed for that; Clone stays for callers written when
// it was.
func (k *Key) Clone() *Key {
	c, _ := newKey(k.secret, k.alg, k.digits, k.shani) // k was valid when made
	return c
}

// Algorithm returns the key's hash algorithm.
func (k *Key) Algorithm() Algorithm { return k.alg }

// Digits returns the number of digits in the key's codes.
func (k *Key) Digits() int { return k.digits }

// Secret returns a copy of the secret. Handle it with care: it must never
// reach a log or a report.
func (k *Key) Secret() []byte { return append([]byte(nil), k.secret...) }

// AppendHMAC appends HMAC(secret, counter as 8-byte big-endian) to dst, the
// intermediate value RFC 4226 Appendix D lists.
func (k *Key) AppendHMAC(dst []byte, counter uint64) []byte {
	switch k.alg {
	case SHA1:
		h := k.hmac1(counter)
		for _, v := range h {
			dst = binary.BigEndian.AppendUint32(dst, v)
		}
	case SHA256:
		h := k.hmac256(counter)
		for _, v := range h {
			dst = binary.BigEndian.AppendUint32(dst, v)
		}
	default:
		h := k.hmac512(counter)
		for _, v := range h {
			dst = binary.BigEndian.AppendUint64(dst, v)
		}
	}
	return dst
}

// Truncated returns the 31-bit value of RFC 4226 dynamic truncation for the
// counter, before reduction modulo 10^digits.
func (k *Key) Truncated(counter uint64) uint32 {
	switch k.alg {
	case SHA1:
		h := k.hmac1(counter)
		return truncate1(&h)
	case SHA256:
		h := k.hmac256(counter)
		return truncate256(&h)
	default:
		h := k.hmac512(counter)
		return truncate512(&h)
	}
}

// Value returns the code for the counter as a number (the truncated value
// modulo 10^digits). Leading zeros are not represented; use [Key.AppendHOTP]
// for the code as a person reads it.
func (k *Key) Value(counter uint64) uint32 {
	return k.reduce(k.Truncated(counter))
}

// reduce takes a truncated value modulo 10^digits.
func (k *Key) reduce(t uint32) uint32 {
	return uint32(uint64(t) % k.mod)
}

// AppendHOTP appends the zero-padded code for counter to dst and returns the
// extended slice. It allocates only if dst lacks capacity.
func (k *Key) AppendHOTP(dst []byte, counter uint64) []byte {
	return appendCode(dst, k.Value(counter), k.digits)
}

// HOTP returns the zero-padded code for counter.
func (k *Key) HOTP(counter uint64) string {
	var buf [MaxDigits]byte
	return string(k.AppendHOTP(buf[:0], counter))
}

// appendCode writes v as exactly digits decimal digits, two at a time.
func appendCode(dst []byte, v uint32, digits int) []byte {
	n := len(dst)
	dst = slices.Grow(dst, digits)[:n+digits]
	b := dst[n:]
	i := len(b)
	for ; i >= 2; i -= 2 {
		r := v % 100
		v /= 100
		b[i-1], b[i-2] = digitPairs[2*r+1], digitPairs[2*r]
	}
	if i == 1 {
		b[0] = byte('0' + v%10)
	}
	return dst
}

// digitPairs holds "00" to "99" back to back.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// ParseCode reads a code as a person types it into a verifier that follows
// the RFC strictly: exactly digits ASCII digits, nothing around them. It
// reports false for anything else (signs, spaces, Unicode digits, wrong
// length), without saying why: a verifier rejects such input as it rejects a
// wrong code. A well-formed ten-digit string above 2^32-1 reports
// 2^32-1, which is the value of no code.
func ParseCode(code string, digits int) (uint32, bool) {
	if len(code) != digits || digits < MinDigits || digits > MaxDigits {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxUint32 {
		// Ten digits can exceed 32 bits; no code does (codes are 31-bit
		// values), so report a value that matches none instead of
		// wrapping into one that might.
		return math.MaxUint32, true
	}
	return uint32(v), true
}

// Find looks for code among the counters from, from+1, ..., from+n (n+1
// counters; the range stops at [MaxCounter]) and returns the first counter
// whose code matches. Each step costs one HMAC and nothing more, and the
// comparison is constant-time. A code that is not exactly digits ASCII
// digits never matches.
func (k *Key) Find(code string, from, n uint64) (uint64, bool) {
	want, ok := ParseCode(code, k.digits)
	if !ok {
		return 0, false
	}
	return k.FindValue(want, from, n)
}

// FindValue is [Key.Find] for a code already parsed with [ParseCode].
func (k *Key) FindValue(want uint32, from, n uint64) (uint64, bool) {
	last := from + n
	if last < from { // the window runs past the last counter
		last = MaxCounter
	}
	if k.alg == SHA1 && k.shani {
		return k.find1(want, from, last)
	}
	for c := from; ; c++ {
		if subtle.ConstantTimeEq(int32(k.Value(c)), int32(want)) == 1 {
			return c, true
		}
		if c == last {
			return 0, false
		}
	}
}
