package pskc_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/vectors"
)

var (
	figure6Key = mustHex("12345678901234567890123456789012")
	rfcSecret  = mustHex("3132333435363738393031323334353637383930")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func file(t *testing.T, name string) []byte {
	t.Helper()
	b, err := vectors.PSKC(name)
	require.NoError(t, err)
	return b
}

func readAll(t *testing.T, b []byte, opts pskc.Options) []pskc.KeyPackage {
	t.Helper()
	_, ps, err := pskc.ReadAll(bytes.NewReader(b), opts)
	require.NoError(t, err)
	return ps
}

func TestReadRFCFigures(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts pskc.Options
		id   string
	}{
		{"figure6.pskcxml", pskc.Options{Key: figure6Key}, "12345678"},
		{"figure7.pskcxml", pskc.Options{Password: "qwerty"}, "123456"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := readAll(t, file(t, tc.name), tc.opts)
			require.Len(t, ps, 1)
			p := ps[0]
			assert.Equal(t, rfcSecret, p.Secret)
			assert.Equal(t, pskc.HOTP, p.Kind)
			assert.Equal(t, 8, p.Digits)
			assert.Equal(t, "987654321", p.SerialNo)
			assert.Equal(t, tc.id, p.KeyID)
			assert.EqualValues(t, 0, p.Counter)

			// The RFC examples carry a 9-digit serial: it maps to a C100
			// serial, and the device shows the RFC 4226 codes with 8 digits.
			cfg, err := p.C100Config()
			require.NoError(t, err)
			assert.Equal(t, token.Serial("1000987654321"), cfg.Serial)
			d, err := token.NewC100(cfg)
			require.NoError(t, err)
			now := time.Unix(1_700_000_000, 0)
			var got []string
			for range 3 {
				pr, err := d.Press(now)
				require.NoError(t, err)
				got = append(got, pr.Code)
				now = pr.Until
			}
			assert.Equal(t, []string{"84755224", "94287082", "37359152"}, got)
		})
	}
}

func TestFeitianFilesImportAsDevices(t *testing.T) {
	hp := readAll(t, file(t, "hotp-minimal.pskcxml"), pskc.Options{})
	require.Len(t, hp, 1)
	assert.Equal(t, token.ModelC100, hp[0].DeviceModel())
	c, err := hp[0].C100Config()
	require.NoError(t, err)
	d, err := token.NewC100(c)
	require.NoError(t, err)
	assert.Equal(t, token.Serial("1000000000001"), d.Serial())
	var codes []string
	for code := range d.Key().Codes(0) {
		codes = append(codes, code.Code)
		if len(codes) == 3 {
			break
		}
	}
	assert.Equal(t, []string{"755224", "287082", "359152"}, codes)

	tp := readAll(t, file(t, "totp-minimal.pskcxml"), pskc.Options{})
	require.Len(t, tp, 1)
	assert.Equal(t, token.ModelC200, tp[0].DeviceModel())
	tc, err := tp[0].C200Config()
	require.NoError(t, err)
	td, err := token.NewC200(tc)
	require.NoError(t, err)
	assert.Equal(t, token.Serial("2600000000001"), td.Serial())
	for at, want := range map[int64]string{59: "755224", 1111111109: "360094"} {
		got, err := td.Code(time.Unix(at, 0))
		require.NoError(t, err)
		assert.Equal(t, want, got.Code, "t=%d", at)
	}
}

func TestDeviceSerial(t *testing.T) {
	for _, tc := range []struct {
		serial, id, manufacturer string
		model                    token.Model
		want                     token.Serial
		mapped                   bool
		err                      bool
	}{
		{serial: "1000000000001", model: token.ModelC100, want: "1000000000001"},
		{serial: "2000000000001", model: token.ModelC100, err: true},
		{serial: "987654321", model: token.ModelC100, want: "1000987654321", mapped: true},
		{serial: "987654321", model: token.ModelC200, want: "2000987654321", mapped: true},
		{id: "42", model: token.ModelC100, want: "1000000000042", mapped: true},
		{serial: "987654321", manufacturer: "Feitian Technology Co.,Ltd", model: token.ModelC100, err: true},
		{serial: "10000000000012", model: token.ModelC100, err: true},
		{serial: "12345678a", model: token.ModelC100, err: true},
		{model: token.ModelC100, err: true},
	} {
		p := pskc.KeyPackage{SerialNo: tc.serial, KeyID: tc.id, Manufacturer: tc.manufacturer}
		got, mapped, err := p.DeviceSerial(tc.model)
		if tc.err {
			assert.ErrorIs(t, err, pskc.ErrSerial, "%+v", tc)
			continue
		}
		require.NoError(t, err, "%+v", tc)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.mapped, mapped)
	}
}

func genPackage(t *rapid.T) pskc.KeyPackage {
	serial := rapid.StringMatching(`1[0-9]{12}`).Draw(t, "serial")
	p := pskc.KeyPackage{
		Manufacturer: rapid.SampledFrom([]string{"", "otplab", "Feitian Technology Co.,Ltd", `A&B <"x">`}).Draw(t, "manufacturer"),
		SerialNo:     serial,
		KeyID:        serial,
		Issuer:       rapid.SampledFrom([]string{"", "Issuer", "O'Neil & Co"}).Draw(t, "issuer"),
		Kind:         rapid.SampledFrom([]pskc.Kind{pskc.HOTP, pskc.TOTP}).Draw(t, "kind"),
		Algorithm:    rapid.SampledFrom(token.Algorithms()).Draw(t, "alg"),
		Digits:       rapid.IntRange(token.MinDigits, token.MaxDigits).Draw(t, "digits"),
		Secret:       rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "secret"),
	}
	if p.Kind == pskc.HOTP {
		p.Counter = rapid.Uint64().Draw(t, "counter")
	} else {
		p.Time = rapid.Int64Range(-1<<40, 1<<40).Draw(t, "time")
		p.TimeInterval = rapid.Int64Range(1, 3600).Draw(t, "interval")
	}
	return p
}

// TestRoundTrip: whatever is written reads back the same, plain, under a
// pre-shared key and under a password.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ps := rapid.SliceOfN(rapid.Custom(genPackage), 0, 5).Draw(t, "packages")
		mode := rapid.IntRange(0, 2).Draw(t, "mode")
		var enc pskc.EncodeOptions
		var dec pskc.Options
		switch mode {
		case 1:
			enc.Key = rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "key")
			dec.Key = enc.Key
		case 2:
			enc.Password, enc.Iterations = "pässword", 2
			dec.Password = enc.Password
		}
		var buf bytes.Buffer
		require.NoError(t, pskc.Write(&buf, enc, ps))
		_, back, err := pskc.ReadAll(&buf, dec)
		require.NoError(t, err)
		if d := cmp.Diff(ps, back, cmp.Comparer(func(a, b []pskc.KeyPackage) bool {
			return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
		})); d != "" {
			t.Fatalf("round trip (-wrote +read):\n%s", d)
		}
	})
}

// tamper returns b with old replaced by new once, failing if old is absent.
func tamper(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	require.True(t, bytes.Contains(b, []byte(old)), "fixture lacks %q", old)
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func TestBadInput(t *testing.T) {
	fig6, fig7 := file(t, "figure6.pskcxml"), file(t, "figure7.pskcxml")
	hotp := file(t, "hotp-minimal.pskcxml")
	for _, tc := range []struct {
		name string
		in   []byte
		opts pskc.Options
		want []error // any of
	}{
		{"wrong password", fig7, pskc.Options{Password: "qwertz"}, []error{pskc.ErrWrongKey, pskc.ErrMAC}},
		{"no password", fig7, pskc.Options{}, []error{pskc.ErrNeedKey}},
		{"wrong key", fig6, pskc.Options{Key: mustHex("00112233445566778899aabbccddeeff")}, []error{pskc.ErrWrongKey, pskc.ErrMAC}},
		{"short key", fig6, pskc.Options{Key: mustHex("0011")}, []error{pskc.ErrNeedKey}},
		{"password for a psk file", fig6, pskc.Options{Password: "qwerty"}, []error{pskc.ErrNeedKey}},
		{"valuemac mismatch", tamper(t, fig6, "Su+NvtQfmvfJzF6bmQiJqoLRExc=", "Tu+NvtQfmvfJzF6bmQiJqoLRExc="), pskc.Options{Key: figure6Key}, []error{pskc.ErrMAC}},
		{"ciphertext altered", tamper(t, fig6, "AAECAwQFBgcICQoLDA0OD+cI", "AAECAwQFBgcICQoLDA0OD+cJ"), pskc.Options{Key: figure6Key}, []error{pskc.ErrMAC}},
		{"valuemac missing", tamper(t, fig6, "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>", ""), pskc.Options{Key: figure6Key}, []error{pskc.ErrMAC}},
		{"unknown key algorithm", tamper(t, hotp, "pskc:hotp", "pskc:ocra"), pskc.Options{}, []error{pskc.ErrAlgorithm}},
		{"unknown cipher", tamper(t, fig6, "aes128-cbc", "tripledes-cbc"), pskc.Options{Key: figure6Key}, []error{pskc.ErrAlgorithm}},
		{"unknown mac", tamper(t, fig6, "xmldsig#hmac-sha1", "xmldsig#hmac-md5"), pskc.Options{Key: figure6Key}, []error{pskc.ErrAlgorithm}},
		{"unknown kdf", tamper(t, fig7, "#pbkdf2", "#scrypt"), pskc.Options{Password: "qwerty"}, []error{pskc.ErrAlgorithm}},
		{"hex codes", tamper(t, hotp, `Encoding="DECIMAL"`, `Encoding="HEXADECIMAL"`), pskc.Options{}, []error{pskc.ErrAlgorithm}},
		{"unknown suite", tamper(t, hotp, "<AlgorithmParameters>", "<AlgorithmParameters><Suite>HMAC-MD5</Suite>"), pskc.Options{}, []error{pskc.ErrAlgorithm}},
		{"5 digits", tamper(t, hotp, `Length="6"`, `Length="5"`), pskc.Options{}, []error{pskc.ErrValue}},
		{"bad base64", tamper(t, hotp, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "MTIzNDU2!!!"), pskc.Options{}, []error{pskc.ErrValue}},
		{"negative counter", tamper(t, hotp, "<PlainValue>0</PlainValue>", "<PlainValue>-1</PlainValue>"), pskc.Options{}, []error{pskc.ErrValue}},
		{"huge iterations", tamper(t, fig7, "<IterationCount>1000<", "<IterationCount>2000000000<"), pskc.Options{Password: "qwerty"}, []error{pskc.ErrValue}},
		{"doctype", tamper(t, hotp, "<KeyContainer", "<!DOCTYPE KeyContainer [<!ENTITY x \"y\">]>\n<KeyContainer"), pskc.Options{}, []error{pskc.ErrDoctype}},
		{"not pskc", []byte(`<?xml version="1.0"?><html/>`), pskc.Options{}, []error{pskc.ErrFormat}},
		{"wrong version", tamper(t, hotp, `Version="1.0"`, `Version="2.0"`), pskc.Options{}, []error{pskc.ErrFormat}},
		{"empty", nil, pskc.Options{}, []error{pskc.ErrFormat}},
		{"not xml", []byte("serial,secret\n1,2\n"), pskc.Options{}, []error{pskc.ErrFormat}},
		{"trailing garbage", append(bytes.Clone(hotp), "<KeyContainer/>"...), pskc.Options{}, []error{pskc.ErrFormat}},
		{"two keys", tamper(t, hotp, "</Key>", "</Key><Key/>"), pskc.Options{}, []error{pskc.ErrFormat}},
		{"too large", hotp, pskc.Options{MaxBytes: 100}, []error{pskc.ErrTooLarge}},
		{"huge element", tamper(t, hotp, "<Secret>", "<Secret>"+strings.Repeat("x", 200_000)), pskc.Options{}, []error{pskc.ErrTooLarge}},
		{"latin-1", tamper(t, hotp, "UTF-8", "ISO-8859-1"), pskc.Options{}, []error{pskc.ErrFormat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps, err := pskc.ReadAll(bytes.NewReader(tc.in), tc.opts)
			require.Error(t, err)
			assert.Nil(t, ps)
			matched := false
			for _, w := range tc.want {
				matched = matched || errors.Is(err, w)
			}
			assert.True(t, matched, "error %q is none of %v", err, tc.want)
			msg := err.Error()
			assert.NotContains(t, msg, "\n")
			for _, secret := range []string{"qwerty", "qwertz", "12345678901234567890", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=", "AAECAwQFBgcICQoLDA0OD"} {
				assert.NotContains(t, msg, secret, "the error shows a secret")
			}
		})
	}
}

// TestByteOrderMark: files saved by Windows tools start with a BOM.
func TestByteOrderMark(t *testing.T) {
	b := append([]byte("\xef\xbb\xbf"), file(t, "hotp-minimal.pskcxml")...)
	ps := readAll(t, b, pskc.Options{})
	require.Len(t, ps, 1)
	assert.Equal(t, "1000000000001", ps[0].SerialNo)
}

// TestTruncated cuts a file at every byte: each prefix is refused.
func TestTruncated(t *testing.T) {
	for _, name := range []string{"figure6.pskcxml", "hotp-minimal.pskcxml"} {
		b := bytes.TrimSpace(file(t, name))
		for n := range len(b) - 1 {
			_, _, err := pskc.ReadAll(bytes.NewReader(b[:n]), pskc.Options{Key: figure6Key})
			require.Error(t, err, "%s cut at %d", name, n)
			if !errors.Is(err, pskc.ErrTruncated) && !errors.Is(err, pskc.ErrFormat) {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

// TestStream reads a file one package at a time and stops at EOF for good.
func TestStream(t *testing.T) {
	var buf bytes.Buffer
	e, err := pskc.NewEncoder(&buf, pskc.EncodeOptions{})
	require.NoError(t, err)
	for i := range 50 {
		p := pskc.FromC100(token.C100Config{Serial: token.Serial(fmt.Sprintf("1%012d", i)), Secret: rfcSecret, Counter: uint64(i)}, "otplab")
		require.NoError(t, e.Encode(&p))
	}
	require.NoError(t, e.Close())
	d := pskc.NewDecoder(&buf, pskc.Options{MaxElementBytes: 2048})
	for i := range 50 {
		p, err := d.Next()
		require.NoError(t, err)
		assert.EqualValues(t, i, p.Counter)
	}
	for range 2 {
		_, err := d.Next()
		assert.ErrorIs(t, err, io.EOF)
	}
}

func TestEncoderRefuses(t *testing.T) {
	good := pskc.FromC100(token.C100Config{Serial: "1000000000001", Secret: rfcSecret}, "")
	for name, mod := range map[string]func(*pskc.KeyPackage){
		"no secret":       func(p *pskc.KeyPackage) { p.Secret = nil },
		"digits":          func(p *pskc.KeyPackage) { p.Digits = 11 },
		"control char":    func(p *pskc.KeyPackage) { p.Issuer = "a\x01b" },
		"bad utf-8":       func(p *pskc.KeyPackage) { p.Manufacturer = "\xff" },
		"no kind":         func(p *pskc.KeyPackage) { p.Kind = 0 },
		"totp interval 0": func(p *pskc.KeyPackage) { p.Kind = pskc.TOTP },
	} {
		p := good
		mod(&p)
		e, err := pskc.NewEncoder(io.Discard, pskc.EncodeOptions{})
		require.NoError(t, err)
		assert.Error(t, e.Encode(&p), name)
		assert.Error(t, e.Close(), "%s: the error sticks", name)
	}
	_, err := pskc.NewEncoder(io.Discard, pskc.EncodeOptions{Key: make([]byte, 16), Password: "x"})
	assert.ErrorIs(t, err, pskc.ErrNeedKey)
	_, err = pskc.NewEncoder(io.Discard, pskc.EncodeOptions{Key: make([]byte, 15)})
	assert.ErrorIs(t, err, pskc.ErrNeedKey)
}

func BenchmarkEncode(b *testing.B) {
	for _, mode := range []string{"plain", "password"} {
		b.Run(mode, func(b *testing.B) {
			opts := pskc.EncodeOptions{}
			if mode == "password" {
				opts.Password = "staging"
			}
			e, err := pskc.NewEncoder(io.Discard, opts)
			require.NoError(b, err)
			p := pskc.FromC100(token.C100Config{Serial: "1000000000001", Secret: rfcSecret}, "otplab")
			b.ReportAllocs()
			for b.Loop() {
				if err := e.Encode(&p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode reads a plain file of 10,000 key packages and reports
// the cost per package.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	e, err := pskc.NewEncoder(&buf, pskc.EncodeOptions{})
	require.NoError(b, err)
	const n = 10_000
	for i := range n {
		p := pskc.FromC100(token.C100Config{Serial: token.Serial(fmt.Sprintf("1%012d", i)), Secret: rfcSecret}, "otplab")
		require.NoError(b, e.Encode(&p))
	}
	require.NoError(b, e.Close())
	b.ReportAllocs()
	for b.Loop() {
		d := pskc.NewDecoder(bytes.NewReader(buf.Bytes()), pskc.Options{})
		for {
			if _, err := d.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/package")
}
