package otpauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/otpauth"
	"github.com/otplab/otplab/vectors"
)

func TestURIHOTP(t *testing.T) {
	k := otpauth.Key{Type: otpauth.HOTP, Issuer: "otplab", Account: "1000000000001", Secret: vectors.RFC4226Secret(), Counter: 37}
	u, err := k.URI()
	require.NoError(t, err)
	assert.Equal(t, "otpauth://hotp/otplab:1000000000001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=otplab&algorithm=SHA1&digits=6&counter=37", u)
	back, err := otpauth.Parse(u)
	require.NoError(t, err)
	k.Algorithm, k.Digits = token.SHA1, 6
	assert.Equal(t, k, back)
}

func TestEscaping(t *testing.T) {
	k := otpauth.Key{Type: otpauth.TOTP, Issuer: "ACME Co & Sons", Account: "josé:+1 555/x?", Secret: []byte("x"), Digits: 8, Period: 60, Algorithm: token.SHA512}
	u, err := k.URI()
	require.NoError(t, err)
	assert.Contains(t, u, "otpauth://totp/ACME%20Co%20%26%20Sons:jos%C3%A9%3A%2B1%20555%2Fx%3F?")
	back, err := otpauth.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, k, back)
}

// TestAgainstPquerna: pquerna/otp reads our URIs the same way for the
// parameters it knows.
func TestAgainstPquerna(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := genKey(t)
		u, err := k.URI()
		require.NoError(t, err)
		pk, err := otp.NewKeyFromURL(u)
		require.NoError(t, err)
		assert.Equal(t, string(k.Type), pk.Type())
		assert.Equal(t, k.Issuer, pk.Issuer())
		assert.Equal(t, k.Account, pk.AccountName())
		assert.Equal(t, token.EncodeBase32(k.Secret), pk.Secret())
		assert.Equal(t, k.Digits, pk.Digits().Length())
		assert.Equal(t, k.Algorithm.String(), pk.Algorithm().String())
		if k.Type == otpauth.TOTP {
			assert.EqualValues(t, k.Period, pk.Period())
		}
	})
}

func genKey(t *rapid.T) otpauth.Key {
	k := otpauth.Key{
		Type:      rapid.SampledFrom([]otpauth.Type{otpauth.HOTP, otpauth.TOTP}).Draw(t, "type"),
		Issuer:    rapid.StringMatching(`[A-Za-z0-9 &é.+%=_-]{0,12}`).Draw(t, "issuer"),
		Account:   rapid.StringMatching(`[A-Za-z0-9@&é.+%=_/:?#-][A-Za-z0-9 @&é.+%=_/:?#-]{0,15}`).Draw(t, "account"),
		Secret:    rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "secret"),
		Algorithm: rapid.SampledFrom(token.Algorithms()).Draw(t, "alg"),
		Digits:    rapid.SampledFrom([]int{6, 8}).Draw(t, "digits"),
	}
	if k.Issuer == "" {
		k.Account = strings.ReplaceAll(k.Account, ":", "")
		if k.Account == "" {
			k.Account = "a"
		}
	}
	if k.Type == otpauth.HOTP {
		k.Counter = rapid.Uint64().Draw(t, "counter")
	} else {
		k.Period = rapid.Int64Range(1, 300).Draw(t, "period")
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := genKey(t)
		u, err := k.URI()
		require.NoError(t, err)
		back, err := otpauth.Parse(u)
		require.NoError(t, err)
		if d := cmp.Diff(k, back); d != "" {
			t.Fatalf("%s (-built +parsed):\n%s", u, d)
		}
	})
}

func TestParseRefuses(t *testing.T) {
	const sec = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for name, u := range map[string]string{
		"no counter":       "otpauth://hotp/a?secret=" + sec,
		"counter on totp":  "otpauth://totp/a?secret=" + sec + "&counter=1",
		"period on hotp":   "otpauth://hotp/a?secret=" + sec + "&counter=1&period=30",
		"negative counter": "otpauth://hotp/a?secret=" + sec + "&counter=-1",
		"counter too big":  "otpauth://hotp/a?secret=" + sec + "&counter=18446744073709551616",
		"duplicate secret": "otpauth://totp/a?secret=" + sec + "&secret=" + sec,
		"no secret":        "otpauth://totp/a",
		"bad secret":       "otpauth://totp/a?secret=" + sec + "1",
		"issuer conflict":  "otpauth://totp/A:b?secret=" + sec + "&issuer=B",
		"bad algorithm":    "otpauth://totp/a?secret=" + sec + "&algorithm=MD5",
		"digits 5":         "otpauth://totp/a?secret=" + sec + "&digits=5",
		"digits 0":         "otpauth://totp/a?secret=" + sec + "&digits=0",
		"period 0":         "otpauth://totp/a?secret=" + sec + "&period=0",
		"wrong scheme":     "https://totp/a?secret=" + sec,
		"wrong type":       "otpauth://motp/a?secret=" + sec,
		"no account":       "otpauth://totp/?secret=" + sec,
		"fragment":         "otpauth://totp/a?secret=" + sec + "#x",
		"bad escape":       "otpauth://totp/a%zz?secret=" + sec,
		"too long":         "otpauth://totp/a?secret=" + sec + "&x=" + strings.Repeat("y", 5000),
	} {
		_, err := otpauth.Parse(u)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, otpauth.ErrURI, name)
		assert.NotContains(t, err.Error(), sec, "%s: the error shows the secret", name)
	}
}

func TestURIRefuses(t *testing.T) {
	base := otpauth.Key{Type: otpauth.TOTP, Issuer: "i", Account: "a", Secret: []byte("x")}
	for name, mod := range map[string]func(*otpauth.Key){
		"colon in issuer":   func(k *otpauth.Key) { k.Issuer = "a:b" },
		"ambiguous account": func(k *otpauth.Key) { k.Issuer, k.Account = "", "a:b" },
		"no secret":         func(k *otpauth.Key) { k.Secret = nil },
		"no type":           func(k *otpauth.Key) { k.Type = "" },
		"counter on totp":   func(k *otpauth.Key) { k.Counter = 3 },
		"period on hotp":    func(k *otpauth.Key) { k.Type, k.Period = otpauth.HOTP, 30 },
		"no account":        func(k *otpauth.Key) { k.Account = "" },
		"leading space":     func(k *otpauth.Key) { k.Account = " a" },
	} {
		k := base
		mod(&k)
		_, err := k.URI()
		assert.True(t, errors.Is(err, otpauth.ErrURI), "%s: %v", name, err)
	}
}
