package token_test

import (
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

var sink []byte

// BenchmarkGenerate compares one HOTP code (RFC 4226 secret, SHA1, 6
// digits) from this package and from pquerna/otp in the same run.
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
