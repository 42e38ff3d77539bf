package token_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

var sink []byte

// BenchmarkGenerate compares one HOTP code (RFC 4226 secret, SHA1, 6
// digits) from this package, from pquerna/otp, and from the plain
// crypto/hmac construction this package used before its own SHA-1 engine
// (a prepared hmac.Hash: Reset, Write, Sum, truncate), in the same run.
// Run with GODEBUG=cpu.sha=off to compare them as on a CPU without SHA-NI:
// both this package and crypto/sha1 then take their portable paths.
func BenchmarkGenerate(b *testing.B) {
	b.Run("otplab", func(b *testing.B) {
		k, _ := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
		buf := make([]byte, 0, token.MaxDigits)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = k.AppendHOTP(buf[:0], uint64(i))
		}
		sink = buf
	})
	b.Run("pquerna", func(b *testing.B) {
		secret := token.EncodeBase32(vectors.RFC4226Secret())
		opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			code, _ := hotp.GenerateCodeCustom(secret, uint64(i), opts)
			sink = []byte(code[:0])
		}
	})
	b.Run("crypto-hmac", func(b *testing.B) {
		mac := hmac.New(sha1.New, vectors.RFC4226Secret())
		var msg [8]byte
		var sum [sha1.Size]byte
		buf := make([]byte, 0, token.MaxDigits)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			binary.BigEndian.PutUint64(msg[:], uint64(i))
			mac.Reset()
			mac.Write(msg[:])
			h := mac.Sum(sum[:0])
			off := h[len(h)-1] & 0x0f
			v := (binary.BigEndian.Uint32(h[off:]) & 0x7fffffff) % 1000000
			buf = append(buf[:0], byte('0'+v/100000), byte('0'+v/10000%10), byte('0'+v/1000%10),
				byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
		}
		sink = buf
	})
}

// BenchmarkLookAhead searches for the code of counter c+1000 from c (1001
// steps) and reports the cost per step, to compare with one code above.
func BenchmarkLookAhead(b *testing.B) {
	k, _ := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	code := k.HOTP(1000)
	if c, ok := k.Find(code, 0, 1000); !ok || c != 1000 {
		b.Skip("the code of counter 1000 also appears earlier; pick another secret")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := k.Find(code, 0, 1000); !ok {
			b.Fatal("not found")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1001, "ns/step")
}

// windowSize is the look-ahead window of BenchmarkWindow and of
// scripts/oathtool-compare.sh: counters 0 to 999,999, as `oathtool -w
// 999999` searches them.
const windowSize = 1_000_000

// absentCode returns the smallest 6-digit code that no counter in
// [0, windowSize) shows, so that a search for it runs the whole window.
func absentCode(k *token.Key) uint32 {
	seen := make([]bool, 1_000_000)
	for c := uint64(0); c < windowSize; c++ {
		seen[k.Value(c)] = true
	}
	for v, ok := range seen {
		if !ok {
			return uint32(v)
		}
	}
	panic("every 6-digit code appears in the window")
}

// BenchmarkWindow searches the whole window of a million counters for a
// code that is not in it (RFC 4226 secret, SHA1, 6 digits) and reports the
// cost per code, the figure to set beside `oathtool -w 999999`.
func BenchmarkWindow(b *testing.B) {
	k, _ := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 6)
	want := absentCode(k)
	b.Logf("absent code %06d", want)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := k.FindValue(want, 0, windowSize-1); ok {
			b.Fatal("found a code that is not in the window")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/windowSize, "ns/code")
}

// BenchmarkAlgorithms compares one code per algorithm (RFC 6238 secrets, 8
// digits) from this package and from the plain crypto/hmac construction.
func BenchmarkAlgorithms(b *testing.B) {
	for _, c := range []struct {
		alg token.Algorithm
		h   func() hash.Hash
	}{{token.SHA1, sha1.New}, {token.SHA256, sha256.New}, {token.SHA512, sha512.New}} {
		secret := vectors.RFC6238Secret(c.alg.String())
		b.Run(c.alg.String()+"/otplab", func(b *testing.B) {
			k, _ := token.NewKey(secret, c.alg, 8)
			buf := make([]byte, 0, token.MaxDigits)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				buf = k.AppendHOTP(buf[:0], uint64(i))
			}
			sink = buf
		})
		b.Run(c.alg.String()+"/crypto-hmac", func(b *testing.B) {
			mac := hmac.New(c.h, secret)
			var msg [8]byte
			var sum [sha512.Size]byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				binary.BigEndian.PutUint64(msg[:], uint64(i))
				mac.Reset()
				mac.Write(msg[:])
				h := mac.Sum(sum[:0])
				off := h[len(h)-1] & 0x0f
				v := (binary.BigEndian.Uint32(h[off:]) & 0x7fffffff) % 100000000
				sink = append(sink[:0], byte(v))
			}
		})
	}
}
