package token_test

import (
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

func TestRFC4226Vectors(t *testing.T) {
	rows, err := vectors.RFC4226()
	require.NoError(t, err)
	require.Len(t, rows, 10)
	k, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	require.NoError(t, err)
	for _, r := range rows {
		t.Run(fmt.Sprint(r.Counter), func(t *testing.T) {
			assert.Equal(t, r.HMAC, hex.EncodeToString(k.AppendHMAC(nil, r.Counter)))
			assert.Equal(t, r.Truncated, k.Truncated(r.Counter))
			assert.Equal(t, r.Code, k.HOTP(r.Counter))
		})
	}
}

func TestRFC6238Vectors(t *testing.T) {
	rows, err := vectors.RFC6238()
	require.NoError(t, err)
	require.Len(t, rows, 18)
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s/%d", r.Algorithm, r.Time), func(t *testing.T) {
			alg, err := token.ParseAlgorithm(r.Algorithm)
			require.NoError(t, err)
			k, err := token.NewKey(r.Secret, alg, vectors.TOTPDigits)
			require.NoError(t, err)
			step, ok := token.Step(r.Time, vectors.TOTPT0, vectors.TOTPPeriod)
			require.True(t, ok)
			assert.Equal(t, r.Step, step)
			code, ok := k.TOTP(r.Time, vectors.TOTPT0, vectors.TOTPPeriod)
			require.True(t, ok)
			assert.Equal(t, r.Code, code)
		})
	}
}

// The classic bug: a SHA256 token verified with the 20-byte SHA1 seed.
func TestRFC6238WrongSeedLength(t *testing.T) {
	k, err := token.NewKey(vectors.RFC6238Secret("SHA1"), token.SHA256, 8)
	require.NoError(t, err)
	code, _ := k.TOTP(59, 0, 30)
	assert.Equal(t, "32247374", code)
	assert.NotEqual(t, "46119246", code)
}

func pquernaAlg(a token.Algorithm) otp.Algorithm {
	switch a {
	case token.SHA256:
		return otp.AlgorithmSHA256
	case token.SHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// TestAgreesWithPquerna checks the engine against an independent
// implementation on random keys, counters, digit counts and algorithms.
func TestAgreesWithPquerna(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.SliceOfN(rapid.Byte(), 1, 80).Draw(t, "secret")
		alg := rapid.SampledFrom(token.Algorithms()).Draw(t, "alg")
		digits := rapid.SampledFrom([]int{6, 8}).Draw(t, "digits")
		counter := rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 1000),
			rapid.Uint64Range(math.MaxUint32-5, math.MaxUint32+5),
			rapid.Uint64Range(math.MaxUint64-5, math.MaxUint64)).Draw(t, "counter")
		k, err := token.NewKey(secret, alg, digits)
		if err != nil {
			t.Fatal(err)
		}
		want, err := hotp.GenerateCodeCustom(token.EncodeBase32(secret), counter, hotp.ValidateOpts{
			Digits: otp.Digits(digits), Algorithm: pquernaAlg(alg)})
		if err != nil {
			t.Fatal(err)
		}
		if got := k.HOTP(counter); got != want {
			t.Fatalf("counter %d: otplab %s, pquerna %s", counter, got, want)
		}
	})
}

func TestDigitsAndPadding(t *testing.T) {
	k, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 10)
	require.NoError(t, err)
	assert.Equal(t, "1284755224", k.HOTP(0))
	assert.Equal(t, "0082162583", k.HOTP(7), "10 digits keep the leading zero")
	k7, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 7)
	require.NoError(t, err)
	assert.Equal(t, "2162583", k7.HOTP(7))
	k8, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 8)
	require.NoError(t, err)
	assert.Equal(t, "37359152", k8.HOTP(2))
	assert.Equal(t, "82162583", k8.HOTP(7))
	// A 6-digit code with a leading zero: search for one and check its form.
	k6, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	require.NoError(t, err)
	found := false
	for c := uint64(0); c < 100; c++ {
		if v := k6.Value(c); v < 100000 {
			code := k6.HOTP(c)
			assert.Len(t, code, 6)
			assert.True(t, strings.HasPrefix(code, "0"), code)
			found = true
		}
	}
	assert.True(t, found, "expected a code below 100000 among 100 counters")
}

func TestNewKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
		alg    token.Algorithm
		digits int
		want   error
	}{
		{"empty secret", nil, token.SHA1, 6, token.ErrSecret},
		{"digits 5", []byte("k"), token.SHA1, 5, token.ErrDigits},
		{"digits 11", []byte("k"), token.SHA1, 11, token.ErrDigits},
		{"algorithm 0", []byte("k"), 0, 6, token.ErrAlgorithm},
		{"algorithm 9", []byte("k"), 9, 6, token.ErrAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token.NewKey(tc.secret, tc.alg, tc.digits)
			require.ErrorIs(t, err, tc.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := token.NewKey([]byte("k"), token.SHA1, 11)
	assert.EqualError(t, err, "key: digits 11: invalid digit count (want 6 to 10)")
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]token.Algorithm{"SHA1": token.SHA1, "sha256": token.SHA256, "SHA-512": token.SHA512, " sha1 ": token.SHA1} {
		got, err := token.ParseAlgorithm(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
		assert.Equal(t, strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(in), "-", "")), got.String())
	}
	_, err := token.ParseAlgorithm("MD5")
	require.ErrorIs(t, err, token.ErrAlgorithm)
	assert.EqualError(t, err, `algorithm "MD5": unknown algorithm (want SHA1, SHA256 or SHA512)`)
}

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want uint32
	}{
		{"755224", true, 755224},
		{"012345", true, 12345},
		{"12345", false, 0},
		{"1234567", false, 0},
		{"+12345", false, 0},
		{" 12345", false, 0},
		{"12345\n", false, 0},
		{"١٢٣٤٥٦", false, 0},
		{"１２３４５６", false, 0},
		{"", false, 0},
		{"12a456", false, 0},
	} {
		got, ok := token.ParseCode(tc.in, 6)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

func TestFind(t *testing.T) {
	k, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	require.NoError(t, err)
	c, ok := k.Find("520489", 0, 9)
	assert.True(t, ok)
	assert.EqualValues(t, 9, c)
	_, ok = k.Find("520489", 0, 8)
	assert.False(t, ok, "window [0,8] excludes counter 9")
	c, ok = k.Find("520489", 9, 0)
	assert.True(t, ok)
	assert.EqualValues(t, 9, c)
	_, ok = k.Find("755224", 1, 100)
	assert.False(t, ok, "search starts at from")
	_, ok = k.Find("75522", 0, 10)
	assert.False(t, ok, "wrong length never matches")
	// The window stops at the last counter instead of wrapping to 0.
	last := k.HOTP(math.MaxUint64)
	c, ok = k.Find(last, math.MaxUint64-3, 10)
	assert.True(t, ok)
	assert.Equal(t, uint64(math.MaxUint64), c)
	if k.HOTP(0) != last {
		_, ok = k.Find(k.HOTP(0), math.MaxUint64-3, 10)
		assert.False(t, ok, "no wrap to counter 0")
	}
}

func TestFindAgreesWithLinearScan(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "secret")
		k, _ := token.NewKey(secret, token.SHA1, 6)
		from := rapid.Uint64Range(0, 1<<40).Draw(t, "from")
		n := rapid.Uint64Range(0, 60).Draw(t, "n")
		target := from + rapid.Uint64Range(0, n+5).Draw(t, "offset")
		code := k.HOTP(target)
		got, ok := k.Find(code, from, n)
		for c := from; c <= from+n; c++ {
			if k.HOTP(c) == code {
				if !ok || got != c {
					t.Fatalf("first match at %d, Find says %d %v", c, got, ok)
				}
				return
			}
		}
		if ok {
			t.Fatalf("no match in window, Find says %d", got)
		}
	})
}

func TestCloneIsIndependent(t *testing.T) {
	k, _ := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	c := k.Clone()
	done := make(chan string)
	go func() { done <- c.HOTP(3) }()
	assert.Equal(t, "969429", k.HOTP(3))
	assert.Equal(t, "969429", <-done)
}

// TestParseCodeTenDigitsDoNotWrap: a ten-digit string above 2^32-1 is
// well-formed but the value of no code, so it cannot wrap into a match.
func TestParseCodeTenDigitsDoNotWrap(t *testing.T) {
	k, err := token.NewKey([]byte("12345678901234567890"), token.SHA1, 10)
	if err != nil {
		t.Fatal(err)
	}
	code := k.HOTP(0) // "1284755224"
	v, ok := token.ParseCode(code, 10)
	if !ok || v != 1284755224 {
		t.Fatalf("token.ParseCode(%q) = %d, %v", code, v, ok)
	}
	wrapped := "5579722520" // 1284755224 + 2^32
	if v, ok := token.ParseCode(wrapped, 10); !ok || v != 1<<32-1 {
		t.Fatalf("token.ParseCode(%q) = %d, %v; want 2^32-1, true", wrapped, v, ok)
	}
	if c, ok := k.Find(wrapped, 0, 10); ok {
		t.Fatalf("Find(%q) matched counter %d", wrapped, c)
	}
}
