package token_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
)

func TestParseHex(t *testing.T) {
	b, err := token.ParseHex("3132 3334\n3536")
	require.NoError(t, err)
	assert.Equal(t, []byte("123456"), b)
	b, err = token.ParseHex("ABcd")
	require.NoError(t, err)
	assert.Equal(t, []byte{0xab, 0xcd}, b)
	for in, msg := range map[string]string{
		"":      "hex secret: invalid secret: empty",
		"abc":   "hex secret: invalid secret: odd number of hex digits (3)",
		"zz12":  `hex secret: invalid secret: character 'z' is not a hex digit`,
		"  \t ": "hex secret: invalid secret: empty",
	} {
		_, err := token.ParseHex(in)
		require.ErrorIs(t, err, token.ErrSecret, in)
		assert.EqualError(t, err, msg)
	}
}

func TestParseBase32(t *testing.T) {
	want := []byte("12345678901234567890")
	for _, in := range []string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
		"gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
		"GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
	} {
		b, err := token.ParseBase32(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, b)
	}
	b, err := token.ParseBase32("MZXW6===")
	require.NoError(t, err)
	assert.Equal(t, []byte("foo"), b)
	b, err = token.ParseBase32("mzxw6")
	require.NoError(t, err)
	assert.Equal(t, []byte("foo"), b)
	assert.Equal(t, "MZXW6", token.EncodeBase32([]byte("foo")))
	for _, in := range []string{"", "MZ1W6", "M", "MZXW6!"} {
		_, err := token.ParseBase32(in)
		require.ErrorIs(t, err, token.ErrSecret, in)
	}
	_, err = token.ParseBase32("MZ1W6")
	assert.EqualError(t, err, `base32 secret: invalid secret: character '1' at position 3 is not base32`)
}
