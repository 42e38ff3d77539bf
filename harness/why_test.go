package harness

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
)

// TestWhyNamesTheRule plays short histories through the model and checks
// that the words for the next request name the rule that decides it, with
// its numbers, and agree with the reply the model allows.
func TestWhyNamesTheRule(t *testing.T) {
	const t0 = 1767225600
	rfc := []byte("12345678901234567890") // RFC 4226 Appendix D: 755224, 287082, 359152, ...
	hotp := Token{Serial: "1000000000001", Kind: HOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfc}
	totp := Token{Serial: "2000000000001", Kind: TOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfc, Period: 30}
	key, err := token.NewKey(rfc, token.SHA1, 6)
	require.NoError(t, err)
	step := func(at int64) uint64 { return uint64(at / 30) }
	check := func(at int64, code string) Request {
		return Request{Op: opCheck, Codes: []string{code}, Time: t0 + at}
	}
	for _, tc := range []struct {
		name    string
		p       Profile
		tok     Token
		history []Request
		replies []bool
		next    Request
		want    []string
	}{
		{
			name: "throttle",
			p:    Profile{LookAhead: Uint64(5), Throttle: &ThrottlePolicy{After: 2, Delay: 2, Factor: 2}, Clock: ClockRequest},
			tok:  hotp, history: []Request{check(10, "000000"), check(11, "000000")}, replies: []bool{false, false},
			next: check(12, "755224"),
			want: []string{"refused: throttle after 2 consecutive failures, delay 2 s, factor 2", "at t=+12s is 1 s after consecutive failure 2 at t=+11s", "until t=+13s"},
		},
		{
			name: "hotp replay",
			p:    Profile{LookAhead: Uint64(5), Clock: ClockRequest},
			tok:  hotp, history: []Request{check(0, "755224"), check(1, "287082")}, replies: []bool{true, true},
			next: check(2, "755224"),
			want: []string{"rejected: it is the code of counter 0, below the next expected counter 2", "replay"},
		},
		{
			name: "hotp beyond the window",
			p:    Profile{LookAhead: Uint64(1), Clock: ClockRequest},
			tok:  hotp, next: check(0, "359152"),
			want: []string{"rejected: it is the code of counter 2, beyond the window 0..1 (look_ahead 1)"},
		},
		{
			name: "lockout",
			p:    Profile{LookAhead: Uint64(5), Lockout: &LockoutPolicy{After: 2}, Clock: ClockRequest},
			tok:  hotp, history: []Request{check(5, "000000"), check(6, "000000")}, replies: []bool{false, false},
			next: check(7, "755224"),
			want: []string{"refused: the token is locked (lockout after 2 consecutive failures) since t=+6s"},
		},
		{
			name: "rate limit",
			p:    Profile{LookAhead: Uint64(5), RateLimit: &RateLimitPolicy{Attempts: 2, Per: 30}, Clock: ClockRequest},
			tok:  hotp, history: []Request{check(0, "755224"), check(3, "000000")}, replies: []bool{true, false},
			next: check(10, "287082"),
			want: []string{"refused: rate limit of 2 checks per 30 s: 2 checks of the token in the 30 s before t=+10s (at t=+0s, t=+3s)"},
		},
		{
			name: "totp reuse later",
			p:    Profile{Kinds: []Kind{TOTP}, TOTP: &TOTPPolicy{SkewBack: 1, SkewAhead: 1}, Clock: ClockRequest},
			tok:  totp, history: []Request{check(0, key.HOTP(step(t0)))}, replies: []bool{true},
			next: check(0, key.HOTP(step(t0))),
			want: []string{"rejected: it is the code of step", "the last accepted step is", "reuse later: a replay"},
		},
		{
			name: "totp reuse any",
			p:    Profile{Kinds: []Kind{TOTP}, TOTP: &TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: ReuseAny}, Clock: ClockRequest},
			tok:  totp, history: []Request{check(0, key.HOTP(step(t0)))}, replies: []bool{true},
			next: check(0, key.HOTP(step(t0))),
			want: []string{"accepted: it is the code of step", "no replay protection (reuse any)"},
		},
		{
			name: "malformed",
			p:    Profile{LookAhead: Uint64(5), Input: InputExact, Clock: ClockRequest},
			tok:  hotp, next: check(0, "+755224"),
			want: []string{`rejected: "+755224" is not 6 ASCII digits (input exact)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewModel(tc.p, tc.tok)
			require.NoError(t, err)
			m.origin = t0
			tr := newTracker(m)
			for i, r := range tc.history {
				require.True(t, tr.observe(r, tc.replies[i]), "history step %d", i+1)
			}
			got := tr.whyAll(tc.next)
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
			// The words agree with the reply the model allows.
			exp := tr.expect(tc.next)
			require.Len(t, exp, 1)
			assert.Equal(t, exp[0], strings.HasPrefix(got, "accepted"), "%s: the model says %v", got, exp)
		})
	}
}
