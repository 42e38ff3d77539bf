package vectors_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/vectors"
)

func TestLoaders(t *testing.T) {
	h, err := vectors.RFC4226()
	require.NoError(t, err)
	require.Len(t, h, 10)
	assert.Equal(t, "755224", h[0].Code)
	assert.EqualValues(t, 9, h[9].Counter)

	tt, err := vectors.RFC6238()
	require.NoError(t, err)
	require.Len(t, tt, 18)
	for _, r := range tt {
		assert.Len(t, r.Secret, map[string]int{"SHA1": 20, "SHA256": 32, "SHA512": 64}[r.Algorithm])
		assert.EqualValues(t, r.Time/30, r.Step, "step of %d", r.Time)
	}
	assert.Nil(t, vectors.RFC6238Secret("MD5"))

	for _, name := range []string{"figure6.pskcxml", "figure7.pskcxml", "hotp-minimal.pskcxml", "totp-minimal.pskcxml"} {
		b, err := vectors.PSKC(name)
		require.NoError(t, err, name)
		assert.True(t, bytes.Contains(b, []byte("KeyContainer")), name)
	}
	_, err = vectors.PSKC("nope.xml")
	assert.Error(t, err)
}
