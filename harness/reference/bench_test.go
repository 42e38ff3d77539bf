package reference

import (
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
)

// BenchmarkCheck measures one check under the default profile (accepted,
// then rejected over the look-ahead of 10) and the cost of a rejected TOTP
// check under google-authenticator's skew learning (range 1500: 3001 codes
// computed for its candidates).
func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    harness.Profile
		tok  harness.Token
		code func(i int) string
	}{
		{"hotp-accepted", Default(), hotpToken(0), func(i int) string { return h(uint64(i)) }},
		{"hotp-rejected", profile(10, nil), hotpToken(0), func(int) string { return "000000" }},
		{"totp-rejected-skew-learning-1500", profile(0, func(p *harness.Profile) {
			p.TOTP = &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Resync: &harness.TOTPResync{Codes: 3, Range: 1500}}
		}), totpToken(), func(int) string { return "000000" }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v, err := New(bc.p)
			if err != nil {
				b.Fatal(err)
			}
			if err := v.Enroll(b.Context(), bc.tok); err != nil {
				b.Fatal(err)
			}
			codes := make([]string, b.N)
			for i := range codes {
				codes[i] = bc.code(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Check(b.Context(), harness.CheckRequest{Serial: serial, Code: codes[i], Time: time.Unix(at(100), 0)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
