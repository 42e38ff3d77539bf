package reference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// rfcSecret is RFC 4226 Appendix D's secret; rfcCodes are its codes for
// counters 0..9 (and, as TOTP codes with t0 0, for steps 0..9).
var (
	rfcSecret = []byte("12345678901234567890")
	rfcCodes  = []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
)

const serial = "1000000000001"

// h returns the 6-digit code of counter (or time step) c for rfcSecret.
func h(c uint64) string {
	k, err := token.NewKey(rfcSecret, token.SHA1, 6)
	if err != nil {
		panic(err)
	}
	return k.HOTP(c)
}

// at returns the first second of TOTP step s (period 30, t0 0).
func at(s int64) int64 { return s * 30 }

func hotpToken(counter uint64) harness.Token {
	return harness.Token{Serial: serial, Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfcSecret, Counter: counter}
}

func totpToken() harness.Token {
	return harness.Token{Serial: serial, Kind: harness.TOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfcSecret, Period: 30}
}

// profile returns a small profile (both kinds, look-ahead L, no skew)
// changed by set.
func profile(l uint64, set func(p *harness.Profile)) harness.Profile {
	p := harness.Profile{
		Kinds:     []harness.Kind{harness.HOTP, harness.TOTP},
		LookAhead: harness.Uint64(l),
		TOTP:      &harness.TOTPPolicy{},
		Clock:     harness.ClockRequest,
	}
	if set != nil {
		set(&p)
	}
	return p
}

// step is one request of a script and the reply it must get. A step is a
// check of code, unless resync is set (a resync of those codes) or unlock.
type step struct {
	at     int64 // Unix seconds
	code   string
	resync []string
	unlock bool
	want   bool // accepted
	locked bool // the reply says locked
	// purpose is a check's purpose ("" is login).
	purpose string
}

func (s step) String() string {
	switch {
	case s.unlock:
		return "unlock"
	case s.resync != nil:
		return fmt.Sprintf("resync %q at %d", s.resync, s.at)
	}
	if s.purpose != "" {
		return fmt.Sprintf("check %q for %s at %d", s.code, s.purpose, s.at)
	}
	return fmt.Sprintf("check %q at %d", s.code, s.at)
}

// script is a table entry: a profile, one token, and the requests in order.
type script struct {
	name  string
	p     harness.Profile
	tok   harness.Token
	steps []step
}

func runScripts(t *testing.T, scripts []script) {
	t.Helper()
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			v, err := New(sc.p)
			require.NoError(t, err)
			require.NoError(t, v.Enroll(t.Context(), sc.tok))
			for i, s := range sc.steps {
				var rep harness.Reply
				switch {
				case s.unlock:
					require.NoError(t, v.Unlock(t.Context(), sc.tok.Serial))
					continue
				case s.resync != nil:
					rep, err = v.Resync(t.Context(), harness.ResyncRequest{Serial: sc.tok.Serial, Codes: s.resync, Time: time.Unix(s.at, 0)})
				default:
					rep, err = v.Check(t.Context(), harness.CheckRequest{Serial: sc.tok.Serial, Code: s.code, Time: time.Unix(s.at, 0), Purpose: s.purpose})
				}
				require.NoError(t, err, "step %d: %v", i+1, s)
				require.Equal(t, harness.Reply{Accepted: s.want, Locked: s.locked}, rep, "step %d: %v", i+1, s)
			}
		})
	}
}

func TestRFCVectors(t *testing.T) {
	for c, want := range rfcCodes {
		assert.Equal(t, want, h(uint64(c)), "counter %d", c)
	}
}

func TestCounters(t *testing.T) {
	max5 := func(p *harness.Profile) { p.Counters = &harness.CounterRange{Min: 0, Max: 5} }
	runScripts(t, []script{
		{"the code of max is the last accepted", profile(10, func(p *harness.Profile) {
			max5(p)
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100}
		}), hotpToken(4), []step{
			{code: h(6)}, // inside the look-ahead, but past max
			{code: h(5), want: true},
			{code: h(5)},
			{code: h(6)},
			{code: h(7)},
			{resync: []string{h(6), h(7)}},
		}},
		{"the look-ahead stops at max", profile(10, max5), hotpToken(0), []step{
			{code: h(5), want: true},
			{code: h(6)},
		}},
		{"advance past max spends the token", profile(0, func(p *harness.Profile) {
			max5(p)
			p.OnFailure = harness.OnFailureAdvance
		}), hotpToken(5), []step{
			{code: "000000"},
			{code: h(5)},
			{code: h(6)},
		}},
		{"a resync must fit under max", profile(0, func(p *harness.Profile) {
			max5(p)
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 10}
		}), hotpToken(0), []step{
			{resync: []string{h(5), h(6)}},
			{resync: []string{h(4), h(5)}, want: true},
			{code: h(6)},
		}},
		{"the default max is 2^64-1, without wrapping", profile(10, nil), hotpToken(math.MaxUint64 - 1), []step{
			{code: h(math.MaxUint64), want: true},
			{code: h(math.MaxUint64)},
			{code: h(0)},
		}},
	})
}

func TestOnFailure(t *testing.T) {
	advance := func(p *harness.Profile) { p.OnFailure = harness.OnFailureAdvance }
	runScripts(t, []script{
		{"keep: a failure moves nothing", profile(0, nil), hotpToken(0), []step{
			{code: "000000"},
			{code: h(0), want: true},
		}},
		{"advance: every compared failure burns a counter", profile(0, advance), hotpToken(0), []step{
			{code: "000000"},
			{code: h(0)}, // burnt; this failure burns counter 1
			{code: h(2), want: true},
		}},
		{"advance: a rejected replay burns too", profile(0, advance), hotpToken(0), []step{
			{code: h(0), want: true},
			{code: h(0)},
			{code: h(1)},
			{code: h(3), want: true},
		}},
		{"advance: refused checks burn nothing", profile(0, func(p *harness.Profile) {
			advance(p)
			p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 10, Factor: 1}
		}), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 5, code: h(1)},
			{at: 9, code: h(1)},
			{at: 10, code: h(1), want: true},
		}},
		{"advance: malformed checks burn nothing", profile(0, advance), hotpToken(0), []step{
			{code: "75522"},
			{code: "abcdef"},
			{code: ""},
			{code: h(0), want: true},
		}},
		{"advance: a lenient number too large is compared and burns", profile(0, func(p *harness.Profile) {
			advance(p)
			p.Input = harness.InputLenient
		}), hotpToken(0), []step{
			{code: "99999999999"},
			{code: h(1), want: true},
		}},
		{"advance: a time token burns nothing", profile(0, advance), totpToken(), []step{
			{at: at(100), code: "000000"},
			{at: at(100), code: h(100), want: true},
		}},
	})
}

func TestInput(t *testing.T) {
	for _, tc := range []struct {
		input string
		code  string
		want  bool
	}{
		{harness.InputExact, "755224", true},
		{harness.InputExact, " 755224", false},
		{harness.InputExact, "+755224", false},
		{harness.InputExact, "0755224", false},
		{harness.InputExact, "٧٥٥٢٢٤", false},
		{"", "755224", true},
		{"", "755224 ", false},
		{harness.InputLenient, "755224", true},
		{harness.InputLenient, " 755224", true},
		{harness.InputLenient, "+755224", true},
		{harness.InputLenient, "0755224", true},
		{harness.InputLenient, "000000000000755224", true},
		{harness.InputLenient, "٧٥٥٢٢٤", true},
		{harness.InputLenient, "７５５２２４", true}, // fullwidth
		{harness.InputLenient, "\u3000+755224\t\n", true},
		{harness.InputLenient, "7٥5২2४", true}, // mixed scripts, as Python allows
		{harness.InputLenient, "-755224", false},
		{harness.InputLenient, "75522", false},
		{harness.InputLenient, "7552240", false},
		{harness.InputLenient, "", false},
		{harness.InputLenient, " ", false},
		{harness.InputLenient, "+", false},
		{harness.InputLenient, "++755224", false},
		{harness.InputLenient, "+ 755224", false},
		{harness.InputLenient, "755 224", false},
		{harness.InputLenient, "7_55224", false}, // not judged; refused
		{harness.InputLenient, "755224x", false},
		{harness.InputLenient, "0x755224", false},
		{harness.InputLenient, "\x1c755224", false}, // not white space to int()
		{harness.InputLenient, "755224\xff", false},
	} {
		t.Run(fmt.Sprintf("%s/%q", tc.input, tc.code), func(t *testing.T) {
			v, err := New(profile(0, func(p *harness.Profile) { p.Input = tc.input }))
			require.NoError(t, err)
			require.NoError(t, v.Enroll(t.Context(), hotpToken(0)))
			rep, err := v.Check(t.Context(), harness.CheckRequest{Serial: serial, Code: tc.code})
			require.NoError(t, err)
			assert.Equal(t, tc.want, rep.Accepted)
		})
	}
}

func TestParseLenient(t *testing.T) {
	for _, tc := range []struct {
		code   string
		digits int
		want   uint32
		ok     bool
	}{
		{"0", 6, 0, true},
		{"000000", 6, 0, true},
		{" +0012\n", 6, 12, true},
		{"999999", 6, 999999, true},
		{"1000000", 6, noCode, true},
		{"99999999999999999999999999", 6, noCode, true},
		{"١٢٣", 6, 123, true},
		{"2147483647", 10, 2147483647, true},
		{"2147483648", 10, noCode, true}, // above 31 bits: no code, not a wrapped one
		{"9999999999", 10, noCode, true},
		{"-0", 6, 0, false},
		{"", 6, 0, false},
	} {
		got, ok := parseLenient(tc.code, tc.digits)
		assert.Equal(t, tc.ok, ok, "%q", tc.code)
		if ok {
			assert.Equal(t, tc.want, got, "%q", tc.code)
		}
	}
}

// TestDigitValue checks the runs-of-ten rule behind digitValue against
// the whole Nd table: every run of decimal digits is a whole number of
// 0..9 sequences.
func TestDigitValue(t *testing.T) {
	start, n := rune(-1), 0
	for c := rune(0); c <= unicode.MaxRune+1; c++ {
		if c <= unicode.MaxRune && unicode.IsDigit(c) {
			if n == 0 {
				start = c
			}
			require.Equal(t, n%10, digitValue(c), "U+%04X", c)
			n++
			continue
		}
		if n > 0 {
			require.Zero(t, n%10, "the run of decimal digits from U+%04X has %d", start, n)
		}
		n = 0
	}
	for _, zero := range []rune{'0', '٠', '۰', '०', '০', '０', '𝟎', '𝟘', '𝟶'} {
		assert.Equal(t, 0, digitValue(zero), "%q", zero)
		assert.Equal(t, 9, digitValue(zero+9), "%q", zero+9)
	}
}

func TestResync(t *testing.T) {
	r := func(n int, w uint64) func(p *harness.Profile) {
		return func(p *harness.Profile) { p.Resync = &harness.ResyncPolicy{Codes: n, Window: w} }
	}
	runScripts(t, []script{
		{"two consecutive codes in the window", profile(0, r(2, 10)), hotpToken(0), []step{
			{resync: []string{h(5), h(6)}, want: true},
			{code: h(7), want: true},
		}},
		{"the window's edge", profile(0, r(2, 5)), hotpToken(0), []step{
			{resync: []string{h(6), h(7)}},
			{resync: []string{h(5), h(6)}, want: true},
		}},
		{"codes out of order", profile(0, r(2, 10)), hotpToken(0), []step{
			{resync: []string{h(6), h(5)}},
			{code: h(0), want: true},
		}},
		{"the wrong number of codes", profile(0, r(2, 10)), hotpToken(0), []step{
			{resync: []string{h(1)}},
			{resync: []string{h(1), h(2), h(3)}},
			{code: h(0), want: true},
		}},
		{"three codes", profile(0, r(3, 10)), hotpToken(0), []step{
			{resync: []string{h(2), h(3), h(5)}},
			{resync: []string{h(2), h(3), h(4)}, want: true},
			{code: h(5), want: true},
		}},
		{"a time token", profile(0, r(2, 10)), totpToken(), []step{
			{at: at(100), resync: []string{h(100), h(101)}},
		}},
	})
}

func TestAutoResync(t *testing.T) {
	auto := profile(2, func(p *harness.Profile) {
		p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100, Auto: &harness.AutoResync{Within: 60}}
		p.Throttle = &harness.ThrottlePolicy{After: 5, Delay: 5, Factor: 1}
	})
	runScripts(t, []script{
		{"accepted at within", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1060, code: h(11), want: true},
			{at: 1060, code: h(12), want: true},
		}},
		{"refused at within+1", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1061, code: h(11)},
			{at: 1070, code: h(0), want: true}, // c did not move
		}},
		{"a late check remembers its own code", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1061, code: h(11)},
			{at: 1062, code: h(12), want: true},
			{at: 1062, code: h(13), want: true},
		}},
		{"used up by a wrong code", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1010, code: "000000"},
			{at: 1020, code: h(11)},
		}},
		{"used up by a malformed code", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1010, code: "abc"},
			{at: 1020, code: h(11)},
		}},
		{"used up by a resync", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1010, resync: []string{h(50), h(70)}},
			{at: 1020, code: h(11)},
		}},
		{"used up by a refused check", profile(2, func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100, Auto: &harness.AutoResync{Within: 60}}
			p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 5, Factor: 1}
		}), hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1002, code: h(11)}, // refused by the throttle
			{at: 1010, code: h(11)},
		}},
		{"a rejected check remembers its own", auto, hotpToken(0), []step{
			{at: 1000, code: h(10)},
			{at: 1010, code: h(20)},
			{at: 1020, code: h(21), want: true},
			{at: 1020, code: h(22), want: true},
		}},
		{"the code of c+R is remembered", auto, hotpToken(0), []step{
			{at: 1000, code: h(100)},
			{at: 1010, code: h(101), want: true},
			{at: 1010, code: h(102), want: true},
		}},
		{"the code of c+R+1 is not", auto, hotpToken(0), []step{
			{at: 1000, code: h(101)},
			{at: 1010, code: h(102)},
		}},
		{"two codes in the look-ahead are plain checks", auto, hotpToken(0), []step{
			{at: 1000, code: h(2), want: true},
			{at: 1000, code: h(3), want: true},
		}},
	})
}

func TestLockout(t *testing.T) {
	lock := func(l harness.LockoutPolicy) func(p *harness.Profile) {
		return func(p *harness.Profile) {
			p.Lockout = &l
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100}
		}
	}
	runScripts(t, []script{
		{"locked after F failures, until unlocked", profile(0, lock(harness.LockoutPolicy{After: 3})), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 1, code: "000000"},
			{at: 2, code: "000000", locked: true},
			{at: 3, code: h(0), locked: true},
			{at: 4, resync: []string{h(1), h(2)}, locked: true},
			{unlock: true},
			{at: 5, code: h(0), want: true},
		}},
		{"an accepted check resets the count", profile(0, lock(harness.LockoutPolicy{After: 2})), hotpToken(0), []step{
			{code: "000000"},
			{code: h(0), want: true},
			{code: "000000"},
			{code: h(1), want: true},
		}},
		{"released at exactly t_lock+S, with n at 0", profile(0, lock(harness.LockoutPolicy{After: 2, ReleaseAfter: 60})), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 10, code: "000000", locked: true},
			{at: 69, code: h(0), locked: true},
			{at: 70, code: "000000"}, // released first: n is 1, not 3
			{at: 71, code: h(0), want: true},
		}},
		{"counts_resync", profile(0, lock(harness.LockoutPolicy{After: 2, CountsResync: true})), hotpToken(0), []step{
			{resync: []string{h(50), h(52)}},
			{code: "000000", locked: true},
		}},
		{"a rejected resync is no failure without counts_resync", profile(0, lock(harness.LockoutPolicy{After: 2})), hotpToken(0), []step{
			{resync: []string{h(50), h(52)}},
			{code: "000000"},
			{code: h(0), want: true},
		}},
		{"resync_unlocks", profile(0, lock(harness.LockoutPolicy{After: 1, ResyncUnlocks: true})), hotpToken(0), []step{
			{code: "000000", locked: true},
			{code: h(0), locked: true},
			{resync: []string{h(3), h(4)}, want: true},
			{code: h(5), want: true},
		}},
		{"a counted resync renews the lock", profile(0, lock(harness.LockoutPolicy{After: 1, ResyncUnlocks: true, ReleaseAfter: 60, CountsResync: true})), hotpToken(0), []step{
			{at: 0, code: "000000", locked: true},
			{at: 30, resync: []string{h(50), h(52)}, locked: true},
			{at: 89, code: h(0), locked: true},
			{at: 90, code: h(0), want: true},
		}},
		{"a released lock lets resync through", profile(0, lock(harness.LockoutPolicy{After: 1, ReleaseAfter: 60})), hotpToken(0), []step{
			{at: 0, code: "000000", locked: true},
			{at: 59, resync: []string{h(3), h(4)}, locked: true},
			{at: 60, resync: []string{h(3), h(4)}, want: true},
		}},
	})
}

func TestThrottle(t *testing.T) {
	throttle := func(f int, d, k int64) func(p *harness.Profile) {
		return func(p *harness.Profile) {
			p.Throttle = &harness.ThrottlePolicy{After: f, Delay: d, Factor: k}
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100}
		}
	}
	runScripts(t, []script{
		{"docs/protocol.md's example", profile(0, throttle(1, 1, 2)), hotpToken(0), []step{
			{at: 1767225600, code: "000000"},
			{at: 1767225600, code: h(0)},
			{at: 1767225601, code: h(0), want: true},
		}},
		{"the delay doubles", profile(0, throttle(1, 1, 2)), hotpToken(0), []step{
			{at: 1000, code: "000000"}, // n=1: 1 s
			{at: 1001, code: "000000"}, // n=2: 2 s
			{at: 1002, code: h(0)},
			{at: 1003, code: "000000"}, // n=3: 4 s
			{at: 1006, code: h(0)},
			{at: 1007, code: h(0), want: true},
			{at: 1007, code: "000000"}, // n=1 again: 1 s
			{at: 1007, code: h(1)},
			{at: 1008, code: h(1), want: true},
		}},
		{"after F; refused checks are no failures", profile(0, throttle(3, 10, 2)), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 0, code: "000000"},
			{at: 0, code: "000000"}, // n=3: 10 s
			{at: 9, code: h(0)},
			{at: 10, code: h(0), want: true},
		}},
		{"resync is throttled too", profile(0, throttle(1, 10, 1)), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 9, resync: []string{h(3), h(4)}},
			{at: 10, resync: []string{h(3), h(4)}, want: true},
		}},
		{"unlock resets n", profile(0, throttle(1, 100, 1)), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{unlock: true},
			{at: 1, code: h(0), want: true},
		}},
	})
}

func TestRateLimit(t *testing.T) {
	limit := func(n int, s int64) func(p *harness.Profile) {
		return func(p *harness.Profile) {
			p.RateLimit = &harness.RateLimitPolicy{Attempts: n, Per: s}
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100}
			p.Lockout = &harness.LockoutPolicy{After: 100}
		}
	}
	runScripts(t, []script{
		{"refused checks keep the block alive", profile(0, limit(3, 30)), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 1, code: "000000"},
			{at: 2, code: "000000"},
			{at: 3, code: h(0)},              // 0, 1, 2
			{at: 29, code: h(0)},             // 0, 1, 2, 3
			{at: 30, code: h(0)},             // 1, 2, 3, 29
			{at: 33, code: h(0), want: true}, // 29, 30
		}},
		{"accepted checks count; a check S seconds old does not", profile(0, limit(3, 30)), hotpToken(0), []step{
			{at: 0, code: h(0), want: true},
			{at: 0, code: h(1), want: true},
			{at: 0, code: h(2), want: true},
			{at: 29, code: h(3)},
			{at: 30, code: h(3), want: true}, // 29 only
		}},
		{"unlock clears the history", profile(0, limit(2, 100)), hotpToken(0), []step{
			{at: 0, code: "000000"},
			{at: 1, code: "000000"},
			{at: 2, code: h(0)},
			{unlock: true},
			{at: 3, code: h(0), want: true},
		}},
		{"resync is neither limited nor recorded", profile(0, limit(1, 100)), hotpToken(0), []step{
			{at: 0, resync: []string{h(50), h(52)}},
			{at: 1, resync: []string{h(1), h(2)}, want: true},
			{at: 2, code: h(3), want: true},
			{at: 3, code: h(4)},
		}},
		{"a clock set back counts only checks at or before now", profile(0, limit(1, 100)), hotpToken(0), []step{
			{at: 50, code: "000000"},
			{at: 40, code: h(0), want: true},
			{at: 45, code: h(1)}, // the check at 40
		}},
	})
}

func TestTOTPWindowAndReuse(t *testing.T) {
	skew := func(b, a uint64, reuse string) func(p *harness.Profile) {
		return func(p *harness.Profile) { p.TOTP = &harness.TOTPPolicy{SkewBack: b, SkewAhead: a, Reuse: reuse} }
	}
	runScripts(t, []script{
		{"later: the window and the last step", profile(0, skew(1, 1, "")), totpToken(), []step{
			{at: at(100), code: h(98)},
			{at: at(100), code: h(102)},
			{at: at(100) + 29, code: h(99), want: true},
			{at: at(100), code: h(99)},
			{at: at(100), code: h(101), want: true},
			{at: at(100), code: h(100)}, // earlier than 101
		}},
		{"once: an earlier unused step, never a used one", profile(0, skew(2, 0, harness.ReuseOnce)), totpToken(), []step{
			{at: at(100), code: h(100), want: true},
			{at: at(100), code: h(100)},
			{at: at(100), code: h(99), want: true},
			{at: at(100), code: h(98), want: true},
			{at: at(100), code: h(99)},
			{at: at(99), code: h(99)}, // the clock set back
			{at: at(99), code: h(98)},
			{at: at(99), code: h(97), want: true},
			{at: at(90), code: h(90), want: true},
			{at: at(100), code: h(100)},
		}},
		{"later: a clock set back reopens nothing", profile(0, skew(2, 0, harness.ReuseLater)), totpToken(), []step{
			{at: at(100), code: h(100), want: true},
			{at: at(100), code: h(99)},
			{at: at(99), code: h(97)},
			{at: at(99), code: h(99)},
		}},
		{"before t0 the steps count from t0 down", profile(0, skew(0, 1, "")), harness.Token{Serial: serial, Kind: harness.TOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfcSecret, Period: 30, T0: 300}, []step{
			{at: 269, code: h(0)},             // T = -2: the window is [-2, -1]
			{at: 270, code: h(0), want: true}, // T = -1: [-1, 0]
		}},
	})
}

func TestTOTPDrift(t *testing.T) {
	drift := func(m *uint64) func(p *harness.Profile) {
		return func(p *harness.Profile) {
			p.TOTP = &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Drift: &harness.DriftPolicy{Max: m}}
		}
	}
	runScripts(t, []script{
		{"drift moves the window; the bound rejects", profile(0, drift(harness.Uint64(2))), totpToken(), []step{
			{at: at(100), code: h(101), want: true}, // δ = 1
			{at: at(110), code: h(109)},             // window [110, 112]
			{at: at(110), code: h(112), want: true}, // δ = 2
			{at: at(120), code: h(123)},             // |123-120| > 2
			{at: at(120), code: h(122), want: true},
			{at: at(130), code: h(131), want: true}, // δ = 1
			{at: at(140), code: h(140), want: true}, // δ = 0
		}},
		{"without drift the window stays at T", profile(0, func(p *harness.Profile) {
			p.TOTP = &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1}
		}), totpToken(), []step{
			{at: at(100), code: h(101), want: true},
			{at: at(110), code: h(112)},
			{at: at(110), code: h(109), want: true},
		}},
		{"unbounded drift", profile(0, drift(nil)), totpToken(), []step{
			{at: at(100), code: h(101), want: true},
			{at: at(110), code: h(112), want: true},
			{at: at(120), code: h(123), want: true},
			{at: at(130), code: h(134), want: true},
			{at: at(130), code: h(130)},
		}},
	})
}

func TestTOTPSkewLearning(t *testing.T) {
	learn := func(n int, r uint64, reuse string) harness.Profile {
		return profile(0, func(p *harness.Profile) {
			p.TOTP = &harness.TOTPPolicy{Reuse: reuse, Resync: &harness.TOTPResync{Codes: n, Range: r}}
		})
	}
	runScripts(t, []script{
		{"the N-th of N successive steps at one offset", learn(3, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(101), code: h(106)},
			{at: at(102) + 29, code: h(107), want: true}, // δ = 5
			{at: at(103), code: h(108), want: true},
			{at: at(104), code: h(109), want: true},
		}},
		{"the offset learnt may be negative", learn(2, 10, ""), totpToken(), []step{
			{at: at(100), code: h(97)},
			{at: at(101), code: h(98), want: true},
			{at: at(102), code: h(99), want: true},
		}},
		{"a gap in the steps starts a new run", learn(3, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(102), code: h(107)},
			{at: at(103), code: h(108)},
			{at: at(104), code: h(109), want: true},
		}},
		{"one step twice is one check of the run", learn(3, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(100) + 1, code: h(105)},
			{at: at(101), code: h(106)},
			{at: at(102), code: h(107), want: true},
		}},
		{"different offsets share nothing", learn(3, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(101), code: h(107)},
			{at: at(102), code: h(108)},
			{at: at(103), code: h(109), want: true},
		}},
		{"a malformed check ends the run", learn(3, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(101), code: "abc"},
			{at: at(102), code: h(107)},
			{at: at(103), code: h(108)},
			{at: at(104), code: h(109), want: true},
		}},
		{"an accepted check ends the run", learn(2, 10, ""), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(100), code: h(100), want: true},
			{at: at(101), code: h(106)},
			{at: at(102), code: h(107), want: true},
		}},
		{"a resync ends the run", profile(0, func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 10}
			p.TOTP = &harness.TOTPPolicy{Resync: &harness.TOTPResync{Codes: 2, Range: 10}}
		}), totpToken(), []step{
			{at: at(100), code: h(105)},
			{at: at(100), resync: []string{h(1), h(2)}},
			{at: at(101), code: h(106)},
			{at: at(102), code: h(107), want: true},
		}},
		{"the range's edge", learn(2, 5, ""), totpToken(), []step{
			{at: at(100), code: h(106)},
			{at: at(101), code: h(107)},
			{at: at(102), code: h(107)},
			{at: at(103), code: h(108), want: true},
		}},
		{"later: an accepted code never counts", learn(2, 5, ""), totpToken(), []step{
			{at: at(100), code: h(100), want: true},
			{at: at(101), code: h(100)}, // a replay: no candidate
			{at: at(102), code: h(101)}, // offset -1, a run of one
			{at: at(103), code: h(102), want: true},
			{at: at(104), code: h(103), want: true}, // δ = -1
		}},
		{"once: an accepted code never counts", learn(2, 5, harness.ReuseOnce), totpToken(), []step{
			{at: at(100), code: h(100), want: true},
			{at: at(101), code: h(100)},
			{at: at(102), code: h(101)},
			{at: at(103), code: h(102), want: true}, // δ = -1
			{at: at(104), code: h(103), want: true},
			{at: at(105), code: h(103)}, // offset -2, but step 103 is used
			{at: at(106), code: h(104)}, // offset -2, a run of one
			{at: at(107), code: h(105), want: true},
			{at: at(108), code: h(106), want: true}, // δ = -2
		}},
		{"the learnt step is recorded for the reuse rule", learn(2, 5, harness.ReuseOnce), totpToken(), []step{
			{at: at(100), code: h(103)},
			{at: at(101), code: h(104), want: true}, // δ = 3
			{at: at(101), code: h(104)},
		}},
	})
}

func TestClock(t *testing.T) {
	now := time.Unix(at(100), 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	wall, err := New(profile(0, func(p *harness.Profile) { p.Clock = harness.ClockWall }), WithClock(clock))
	require.NoError(t, err)
	req, err := New(profile(0, nil), WithClock(clock))
	require.NoError(t, err)
	ctx := t.Context()
	for _, v := range []*Verifier{wall, req} {
		require.NoError(t, v.Enroll(ctx, totpToken()))
	}
	check := func(v *Verifier, code string, reqTime int64) bool {
		rep, err := v.Check(ctx, harness.CheckRequest{Serial: serial, Code: code, Time: time.Unix(reqTime, 0)})
		require.NoError(t, err)
		return rep.Accepted
	}
	assert.False(t, check(wall, h(200), at(200)), "wall: the request's time is ignored")
	assert.True(t, check(wall, h(100), at(200)), "wall: the clock's step")
	assert.False(t, check(req, h(100), at(200)), "request: the clock is ignored")
	assert.True(t, check(req, h(200), at(200)), "request: the request's step")
	mu.Lock()
	now = time.Unix(at(101), 0)
	mu.Unlock()
	assert.True(t, check(wall, h(101), 0))
}

func TestEnroll(t *testing.T) {
	no := false
	hotp := func(c uint64) harness.Token { return hotpToken(c) }
	totp := func(period, t0 int64) harness.Token {
		tok := totpToken()
		tok.Period, tok.T0 = period, t0
		return tok
	}
	narrow := harness.Profile{
		Kinds:    []harness.Kind{harness.HOTP},
		Counters: &harness.CounterRange{Min: 5, Max: 10},
	}
	timeOnly := harness.Profile{
		Kinds: []harness.Kind{harness.TOTP},
		TOTP:  &harness.TOTPPolicy{Periods: []int64{30, 60}, T0: &no},
	}
	anyTime := harness.Profile{Kinds: []harness.Kind{harness.TOTP}}
	sha256 := hotp(5)
	sha256.Algorithm = token.SHA256
	digits8 := hotp(5)
	digits8.Digits = 8
	noSecret := hotp(5)
	noSecret.Secret = nil
	noSerial := hotp(5)
	noSerial.Serial = ""
	for _, tc := range []struct {
		name string
		p    harness.Profile
		tok  harness.Token
		err  string // "" when it must be enrolled
	}{
		{"counter min", narrow, hotp(5), ""},
		{"counter max", narrow, hotp(10), ""},
		{"counter below min", narrow, hotp(4), "counter 4 is outside the profile's counters 5..10"},
		{"counter above max", narrow, hotp(11), "counter 11 is outside"},
		{"kind", narrow, totp(30, 0), `kind "totp" is not in the profile`},
		{"algorithm", narrow, sha256, "algorithm SHA256 is not in the profile"},
		{"digits", narrow, digits8, "8 digits are not in the profile"},
		{"secret", narrow, noSecret, "secret"},
		{"serial", narrow, noSerial, "empty serial"},
		{"period claimed", timeOnly, totp(60, 0), ""},
		{"period not claimed", timeOnly, totp(45, 0), "period 45 s is not in the profile's totp.periods"},
		{"period not positive", anyTime, totp(0, 0), "period 0 s is not positive"},
		{"any period", anyTime, totp(45, 0), ""},
		{"t0 not claimed", timeOnly, totp(30, 300), "t0 300: the profile supports only t0 0"},
		{"t0 claimed by default", anyTime, totp(30, 300), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.p)
			require.NoError(t, err)
			err = v.Enroll(t.Context(), tc.tok)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrEnroll)
			assert.Contains(t, err.Error(), tc.err)
			assert.NotContains(t, err.Error(), string(rfcSecret))
			assert.NotContains(t, err.Error(), fmt.Sprintf("%x", rfcSecret))
		})
	}
}

func TestEnrollReplaces(t *testing.T) {
	v, err := New(profile(0, func(p *harness.Profile) {
		p.Lockout = &harness.LockoutPolicy{After: 1}
		p.RateLimit = &harness.RateLimitPolicy{Attempts: 2, Per: 100}
		p.TOTP = &harness.TOTPPolicy{Reuse: harness.ReuseOnce, Drift: &harness.DriftPolicy{}}
	}))
	require.NoError(t, err)
	ctx := t.Context()
	check := func(code string, unix int64) harness.Reply {
		rep, err := v.Check(ctx, harness.CheckRequest{Serial: serial, Code: code, Time: time.Unix(unix, 0)})
		require.NoError(t, err)
		return rep
	}
	require.NoError(t, v.Enroll(ctx, hotpToken(0)))
	assert.Equal(t, harness.Reply{Locked: true}, check("000000", 0))
	require.NoError(t, v.Enroll(ctx, hotpToken(0)))
	assert.Equal(t, harness.Reply{Accepted: true}, check(h(0), 0), "a new lock and a new history")

	require.NoError(t, v.Enroll(ctx, totpToken()))
	assert.True(t, check(h(100), at(100)).Accepted)
	require.NoError(t, v.Enroll(ctx, totpToken()))
	assert.True(t, check(h(100), at(100)).Accepted, "a new reuse record")
}

func TestUnknownAndUnsupported(t *testing.T) {
	ctx := t.Context()
	v, err := New(profile(0, nil))
	require.NoError(t, err)
	rep, err := v.Check(ctx, harness.CheckRequest{Serial: "1999999999999", Code: h(0)})
	require.NoError(t, err)
	assert.False(t, rep.Accepted)
	require.ErrorIs(t, v.Unlock(ctx, "1999999999999"), ErrUnknownToken)
	_, err = v.Resync(ctx, harness.ResyncRequest{Serial: serial, Codes: []string{h(0), h(1)}})
	require.ErrorIs(t, err, harness.ErrUnsupported)
	info, err := v.Describe(ctx)
	require.NoError(t, err)
	assert.NotContains(t, info.Ops, "resync")

	d, err := New(Default())
	require.NoError(t, err)
	info, err = d.Describe(ctx)
	require.NoError(t, err)
	assert.Contains(t, info.Ops, "resync")

	_, err = New(harness.Profile{OnFailure: "sometimes"})
	require.ErrorIs(t, err, harness.ErrProfile)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, v.Enroll(ctx, hotpToken(0)))
	_, err = v.Check(cancelled, harness.CheckRequest{Serial: serial, Code: h(0)})
	require.ErrorIs(t, err, context.Canceled)
	rep, err = v.Check(ctx, harness.CheckRequest{Serial: serial, Code: h(0)})
	require.NoError(t, err)
	assert.True(t, rep.Accepted, "a cancelled request changes nothing")
}

// TestConcurrentOneAcceptance: many goroutines submit one valid code (or
// resync) at once; exactly one is accepted. Run with -race.
func TestConcurrentOneAcceptance(t *testing.T) {
	const n = 32
	for _, tc := range []struct {
		name   string
		p      harness.Profile
		tok    harness.Token
		resync []string
		code   string
	}{
		{"hotp", profile(10, nil), hotpToken(0), nil, h(3)},
		{"hotp auto resync", profile(2, func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100, Auto: &harness.AutoResync{Within: 60}}
		}), hotpToken(0), nil, h(0)},
		{"hotp resync", profile(0, func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100}
		}), hotpToken(0), []string{h(7), h(8)}, ""},
		{"totp later", profile(0, func(p *harness.Profile) { p.TOTP = &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1} }), totpToken(), nil, h(100)},
		{"totp once", profile(0, func(p *harness.Profile) {
			p.TOTP = &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: harness.ReuseOnce}
		}), totpToken(), nil, h(99)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.p)
			require.NoError(t, err)
			require.NoError(t, v.Enroll(t.Context(), tc.tok))
			var accepted atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					var rep harness.Reply
					var err error
					if tc.resync != nil {
						rep, err = v.Resync(t.Context(), harness.ResyncRequest{Serial: serial, Codes: tc.resync, Time: time.Unix(at(100), 0)})
					} else {
						rep, err = v.Check(t.Context(), harness.CheckRequest{Serial: serial, Code: tc.code, Time: time.Unix(at(100), 0)})
					}
					if err == nil && rep.Accepted {
						accepted.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), accepted.Load())
		})
	}
}

// TestScriptsCatchBugs makes sure the script runner can fail: a script
// with a wrong expectation is reported.
func TestScriptsCatchBugs(t *testing.T) {
	v, err := New(profile(0, nil))
	require.NoError(t, err)
	require.NoError(t, v.Enroll(t.Context(), hotpToken(0)))
	rep, err := v.Check(t.Context(), harness.CheckRequest{Serial: serial, Code: h(1)})
	require.NoError(t, err)
	assert.False(t, rep.Accepted, "look-ahead 0 accepts only the next code")
	assert.True(t, errors.Is(fmt.Errorf("x: %w", ErrEnroll), ErrEnroll))
	assert.True(t, strings.HasPrefix(step{code: "1"}.String(), "check"))
}

// TestTenDigitsDoNotWrap: a typed ten-digit number 2^32 above a genuine
// code is not that code (token.ParseCode wraps it into 32 bits).
func TestTenDigitsDoNotWrap(t *testing.T) {
	for _, input := range []string{harness.InputExact, harness.InputLenient} {
		v, err := New(profile(0, func(p *harness.Profile) { p.Digits, p.Input = []int{10}, input }))
		require.NoError(t, err)
		tok := hotpToken(0)
		tok.Digits = 10
		require.NoError(t, v.Enroll(t.Context(), tok))
		check := func(code string) bool {
			rep, err := v.Check(t.Context(), harness.CheckRequest{Serial: serial, Code: code})
			require.NoError(t, err)
			return rep.Accepted
		}
		assert.False(t, check("5579722520"), "%s: 1284755224 + 2^32", input) // RFC 4226 counter 0, 10 digits: 1284755224
		assert.True(t, check("1284755224"), input)
	}
}
