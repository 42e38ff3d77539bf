package pskc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/vectors"
)

// figure returns an RFC 6030 example file from the vectors package's data.
func figure(t *testing.T, name string) []byte {
	t.Helper()
	b, err := vectors.PSKC(name)
	require.NoError(t, err)
	return b
}

var cipherValueRE = regexp.MustCompile(`(?s)<(?:\w+:)?(CipherValue|ValueMAC)>(.*?)</`)

// cipherValues lists the CipherValue and ValueMAC texts of a file in order,
// without white space.
func cipherValues(b []byte) []string {
	var out []string
	for _, m := range cipherValueRE.FindAllSubmatch(b, -1) {
		out = append(out, string(m[1])+"="+strings.Join(strings.Fields(string(m[2])), ""))
	}
	return out
}

// ivs returns the IVs (first 16 bytes) of the CipherValues of a file, in
// order: replayed as the encoder's randomness, they make it reproduce the
// figure's ciphertexts byte for byte.
func ivs(t *testing.T, b []byte) []byte {
	var out []byte
	for _, v := range cipherValues(b) {
		if !strings.HasPrefix(v, "CipherValue=") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "CipherValue="))
		require.NoError(t, err)
		out = append(out, raw[:16]...)
	}
	return out
}

// readWithMACKey reads a file and also returns the decrypted MAC key.
func readWithMACKey(t *testing.T, b []byte, opts Options) (Header, []KeyPackage, []byte) {
	t.Helper()
	d := NewDecoder(bytes.NewReader(b), opts)
	var ps []KeyPackage
	for {
		p, err := d.Next()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		ps = append(ps, p)
	}
	h, err := d.Header()
	require.NoError(t, err)
	return h, ps, d.macKey
}

func TestGoldenFigure6Write(t *testing.T) {
	fig := figure(t, "figure6.pskcxml")
	psk, _ := hex.DecodeString("12345678901234567890123456789012")
	h, ps, macKey := readWithMACKey(t, fig, Options{Key: psk})
	require.Equal(t, "1122334455667788990011223344556677889900", hex.EncodeToString(macKey))
	require.Equal(t, PreSharedKey, h.Protection)

	var out bytes.Buffer
	err := Write(&out, EncodeOptions{Key: psk, KeyName: h.KeyName, MACKey: macKey, Rand: bytes.NewReader(ivs(t, fig))}, ps)
	require.NoError(t, err)
	if d := cmp.Diff(cipherValues(fig), cipherValues(out.Bytes())); d != "" {
		t.Errorf("written ciphertexts differ from RFC 6030 Figure 6 (-rfc +ours):\n%s", d)
	}
	h2, back, _ := readWithMACKey(t, out.Bytes(), Options{Key: psk})
	if d := cmp.Diff(ps, back); d != "" {
		t.Errorf("read back differs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(h, h2); d != "" {
		t.Errorf("header read back differs (-want +got):\n%s", d)
	}
}

func TestGoldenFigure7Write(t *testing.T) {
	fig := figure(t, "figure7.pskcxml")
	h, ps, macKey := readWithMACKey(t, fig, Options{Password: "qwerty"})
	require.Equal(t, PasswordKey, h.Protection)
	require.Equal(t, 1000, h.Iterations)
	require.Equal(t, "Ej7/PEpyEpw=", base64.StdEncoding.EncodeToString(h.Salt))

	var out bytes.Buffer
	err := Write(&out, EncodeOptions{
		Password: "qwerty", Salt: h.Salt, Iterations: h.Iterations, KeyLength: h.KeyLength,
		MasterKeyName: h.KeyName, MACKey: macKey, Rand: bytes.NewReader(ivs(t, fig)),
	}, ps)
	require.NoError(t, err)
	if d := cmp.Diff(cipherValues(fig), cipherValues(out.Bytes())); d != "" {
		t.Errorf("written ciphertexts differ from RFC 6030 Figure 7 (-rfc +ours):\n%s", d)
	}
	require.Contains(t, cipherValues(out.Bytes()), "ValueMAC=LP6xMvjtypbfT9PdkJhBZ+D6O4w=")
	h2, back, _ := readWithMACKey(t, out.Bytes(), Options{Password: "qwerty"})
	if d := cmp.Diff(ps, back); d != "" {
		t.Errorf("read back differs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(h, h2); d != "" {
		t.Errorf("header read back differs (-want +got):\n%s", d)
	}
	// The derived key of the README, given directly, opens the file too.
	dk, _ := hex.DecodeString("651e63cd57008476af1ff6422cd02e41")
	_, back, _ = readWithMACKey(t, fig, Options{Key: dk})
	require.Equal(t, ps, back)
}
