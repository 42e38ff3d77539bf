package harness_test

import (
	"context"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

var guessingIDs = regexp.MustCompile(`^rfc4226/7\.3/guessing-limit`)

// noLimitProfile claims HOTP and TOTP tokens and nothing that limits
// guessing.
func noLimitProfile() harness.Profile {
	p := reference.Default()
	p.Lockout = nil
	return p
}

func guessingResults(t *testing.T, v harness.Verifier, p harness.Profile) map[string]harness.Result {
	t.Helper()
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 5, Profile: &p, Run: guessingIDs})
	require.NoError(t, err)
	out := map[string]harness.Result{}
	for _, r := range rep.Results {
		out[r.ID] = r
	}
	require.Len(t, out, 2)
	return out
}

// TestGuessingLimitNoLimit: a verifier with no limit on guessing, under a
// profile that claims none or declares none, is NON-STRICT at both cases,
// with the arithmetic of guessing in the message.
func TestGuessingLimitNoLimit(t *testing.T) {
	for _, declare := range []bool{false, true} {
		p := noLimitProfile()
		if declare {
			p.Limits = harness.LimitsNone
		}
		v, err := reference.New(p)
		require.NoError(t, err)
		for _, v := range []harness.Verifier{v, newMutant("", p)} {
			for id, r := range guessingResults(t, v, p) {
				require.Equal(t, harness.NonStrict, r.Verdict, "%s: %v", id, r.Messages)
				msg := strings.Join(r.Messages, "\n")
				assert.Contains(t, msg, "no limit on guessing: 300 wrong codes")
				assert.Regexp(t, `out of 10\^6, 1 in [0-9,]+; at [0-9,]+ guesses/s observed`, msg)
				assert.Contains(t, msg, "a hit is expected after about")
				if strings.HasSuffix(id, "-totp") {
					assert.Contains(t, msg, "one of 3 codes out of 10^6, 1 in 333,333;", msg)
				} else {
					assert.Contains(t, msg, "one of 11 codes out of 10^6, 1 in 90,909;", msg)
				}
				assert.Equal(t, declare, strings.Contains(msg, `declares limits "none"`), msg)
				assert.Nil(t, r.Explanation, "a consistent history has no cause")
			}
		}
	}
}

// TestGuessingLimitSeen: a verifier that locks after 5 failures but claims
// no limit passes (the limit is seen, and the case says to claim it); one
// that declares limits "none" fails; a claimed limit skips the case.
func TestGuessingLimitSeen(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	for id, r := range guessingResults(t, v, noLimitProfile()) {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", id, r.Messages)
		assert.Contains(t, strings.Join(r.Messages, "\n"), "a limit on guessing was seen")
	}
	declared := noLimitProfile()
	declared.Limits = harness.LimitsNone
	for id, r := range guessingResults(t, v, declared) {
		assert.Equal(t, harness.Fail, r.Verdict, "%s: %v", id, r.Messages)
		assert.Contains(t, strings.Join(r.Messages, "\n"), `the profile declares limits "none"`)
	}
	for id, r := range guessingResults(t, v, reference.Default()) {
		assert.Equal(t, harness.Skip, r.Verdict, "%s: %v", id, r.Messages)
		assert.Contains(t, r.Messages[0], "the profile claims lockout after 5")
	}
}

// TestGuessingLimitOnRealTime judges a wall-clock verifier without a
// limit on real time, over HTTP, its clock 7 s off the local one: the
// TOTP case runs on the real clock too.
func TestGuessingLimitOnRealTime(t *testing.T) {
	t.Parallel() // it waits on real time, as the other real-time tests
	p := noLimitProfile()
	p.Clock = harness.ClockWall
	v, err := reference.New(p, reference.WithClock(func() time.Time { return time.Now().Add(7 * time.Second) }))
	require.NoError(t, err)
	srv := httptest.NewServer(wire.NewHandler(v, "/otp", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	c, err := wire.NewHTTP(srv.URL+"/otp/", wire.HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	for id, r := range guessingResults(t, c, p) {
		assert.Equal(t, harness.NonStrict, r.Verdict, "%s: %v", id, r.Messages)
		assert.Contains(t, strings.Join(r.Messages, "\n"), "guesses/s observed")
	}
}

// TestGuessingLimitClockSet judges a wall-clock verifier whose clock the
// harness sets (the in-process counterpart of the fake clock): with no
// limit NON-STRICT, with an unclaimed lockout PASS.
func TestGuessingLimitClockSet(t *testing.T) {
	for _, lock := range []bool{false, true} {
		p := noLimitProfile()
		p.Clock = harness.ClockWall
		real := p
		if lock {
			real.Lockout = &harness.LockoutPolicy{After: 10}
		}
		var clock harness.ManualClock
		v, err := reference.New(real, reference.WithClock(clock.Now))
		require.NoError(t, err)
		rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 29, Profile: &p, Run: guessingIDs, SetClock: clock.Set})
		require.NoError(t, err)
		require.Len(t, rep.Results, 2)
		for _, r := range rep.Results {
			want := harness.NonStrict
			if lock {
				want = harness.Pass
			}
			assert.Equal(t, want, r.Verdict, "lock %v: %s: %v", lock, r.ID, r.Messages)
		}
	}
}

func TestLimitsNoneValidated(t *testing.T) {
	for _, tc := range []struct{ json, err string }{
		{`{"limits": "none"}`, ""},
		{`{"limits": "none", "lockout": {"after": 0, "resync_unlocks": false}}`, ""},
		{`{"limits": "some"}`, `limits: "some" (want none, or leave it out)`},
		{`{"limits": "none", "lockout": {"after": 3, "resync_unlocks": false}}`, `limits: "none" declares no lockout, throttle or rate limit, but the profile claims lockout after 3`},
		{`{"limits": "none", "throttle": {"after": 1, "delay": 1, "factor": 2}}`, `but the profile claims a throttle {after 1, delay 1, factor 2}`},
		{`{"limits": "none", "rate_limit": {"attempts": 3, "per": 30}}`, `but the profile claims a rate limit of 3 checks per 30 s`},
	} {
		p, err := harness.ParseProfile([]byte(tc.json))
		if tc.err == "" {
			require.NoError(t, err, tc.json)
			assert.True(t, p.NoLimitDeclared())
			continue
		}
		require.ErrorIs(t, err, harness.ErrProfile, tc.json)
		assert.Contains(t, err.Error(), tc.err)
	}
}

// overflowing answers every request about a HOTP token enrolled near or
// past 2^63 with an application error, as a Python verifier storing the
// counter in a signed 64-bit column does (OverflowError).
type overflowing struct {
	harness.Verifier
	mu   sync.Mutex
	high map[string]bool
}

const overflowText = "OverflowError: Python int too large to convert to C long"

func (o *overflowing) Enroll(ctx context.Context, tok harness.Token) error {
	o.mu.Lock()
	o.high[tok.Serial] = tok.Kind == harness.HOTP && tok.Counter >= 1<<63-64
	o.mu.Unlock()
	return o.Verifier.Enroll(ctx, tok)
}

func (o *overflowing) refuses(serial string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.high[serial]
}

func (o *overflowing) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if o.refuses(req.Serial) {
		return harness.Reply{}, &harness.RefusedError{Op: "check", Message: overflowText}
	}
	return o.Verifier.Check(ctx, req)
}

func (o *overflowing) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	if o.refuses(req.Serial) {
		return harness.Reply{}, &harness.RefusedError{Op: "resync", Message: overflowText}
	}
	return o.Verifier.Resync(ctx, req)
}

// TestApplicationErrorIsAFail: an application error to a request the
// profile claims fails the case with the verifier's text, in a fixed case
// and in a property case (shrunk); it is never an ERROR.
func TestApplicationErrorIsAFail(t *testing.T) {
	p := reference.Default()
	ref, err := reference.New(p)
	require.NoError(t, err)
	v := &overflowing{Verifier: ref, high: map[string]bool{}}
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 9, Checks: 60, Profile: &p,
		Run: regexp.MustCompile(`^rfc4226/5\.1/counter-2\^6[34]$|^otplab/model/hotp-sequences$|^rfc4226/7\.4/look-ahead-edge$`)})
	require.NoError(t, err)
	got := map[string]harness.Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
		assert.NotEqual(t, harness.Error, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
	require.Len(t, got, 4)
	assert.Equal(t, harness.Pass, got["rfc4226/7.4/look-ahead-edge"].Verdict, "a token at a low counter is served")
	for _, id := range []string{"rfc4226/5.1/counter-2^63", "rfc4226/5.1/counter-2^64"} {
		r := got[id]
		assert.Equal(t, harness.Fail, r.Verdict, "%s: %v", id, r.Messages)
		msg := strings.Join(r.Messages, "\n")
		assert.Contains(t, msg, "=> refused with an error: the verifier answered with an error ("+overflowText+")")
		assert.Contains(t, msg, "1. enrolled", "the token's story comes first")
	}
	prop := got["otplab/model/hotp-sequences"]
	require.Equal(t, harness.Fail, prop.Verdict, "%v", prop.Messages)
	assert.Contains(t, strings.Join(prop.Script, "\n"), "refused with an error: "+overflowText)
	assert.Contains(t, strings.Join(prop.Messages, "\n"), "the verifier refused a request the profile claims it serves; shortest script found:")
	assert.LessOrEqual(t, len(prop.Script), 6, "shrunk: %v", prop.Script)
}

// totpOnly claims TOTP tokens alone, with an input rule.
func totpOnly(input string) harness.Profile {
	return harness.Profile{Kinds: []harness.Kind{harness.TOTP}, Algorithms: []string{"SHA1", "SHA256", "SHA512"}, Digits: []int{6}, Input: input,
		TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1}, Clock: harness.ClockRequest, Limits: harness.LimitsNone}
}

var inputOrVectors = regexp.MustCompile(`^rfc4226/5\.3/input-|^rfc6238/4\.2/appendix-b-`)

// TestInputAndVectorsWithoutHOTP: a TOTP-only verifier of 6-digit codes
// has its input judged with TOTP tokens and the Appendix B rows judged at
// 6 digits: the reference passes every one under each input rule (the
// Unicode forms included), nothing SKIPs.
func TestInputAndVectorsWithoutHOTP(t *testing.T) {
	for _, input := range []string{"", harness.InputExact, harness.InputLenient} {
		p := totpOnly(input)
		v, err := reference.New(p)
		require.NoError(t, err)
		for _, m := range []harness.Verifier{v, newMutant("", p)} {
			rep, err := harness.Execute(t.Context(), m, harness.Options{Seed: 13, Profile: &p, Run: inputOrVectors})
			require.NoError(t, err)
			require.Len(t, rep.Results, 21)
			for _, r := range rep.Results {
				assert.Equal(t, harness.Pass, r.Verdict, "input %q: %s: %v", input, r.ID, r.Messages)
			}
		}
	}
}

// lenientFold is the reference under a profile, except that every check's
// code is read through int() of Python (Unicode decimal digits, white
// space, '+'), or also through NFKC normalisation of the digit forms
// (superscripts and circled digits too), when nfkc is set.
type lenientFold struct {
	harness.Verifier
	nfkc bool
}

func (l lenientFold) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(req.Code), "+")) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsDigit(r):
			b.WriteRune('0' + digitOf(r))
		case l.nfkc && slices.Contains([]rune("⁰¹²³⁴⁵⁶⁷⁸⁹"), r):
			b.WriteRune('0' + rune(slices.Index([]rune("⁰¹²³⁴⁵⁶⁷⁸⁹"), r)))
		case l.nfkc && slices.Contains([]rune("⓪①②③④⑤⑥⑦⑧⑨"), r):
			b.WriteRune('0' + rune(slices.Index([]rune("⓪①②③④⑤⑥⑦⑧⑨"), r)))
		default:
			b.WriteRune(r)
		}
	}
	req.Code = b.String()
	return l.Verifier.Check(ctx, req)
}

// digitOf is the value of a Unicode decimal digit: the count of decimal
// digits just before it, mod 10 (they come in runs of ten).
func digitOf(r rune) rune {
	n := rune(0)
	for p := r - 1; unicode.IsDigit(p) && n < 100; p-- {
		n++
	}
	return n % 10
}

// TestUnicodeDigitForms: under each input rule, the Unicode digit forms
// are judged as Python's int() reads them: decimal digits (fullwidth,
// Arabic-Indic, mathematical) may be taken under input lenient;
// superscripts and circled digits are not the code under any rule, so a
// verifier that folds them (NFKC) fails those two cases only, with HOTP
// and with TOTP tokens.
func TestUnicodeDigitForms(t *testing.T) {
	forms := regexp.MustCompile(`^rfc4226/5\.3/input-(arabic-indic|fullwidth|mathematical|superscript|circled)-digits$`)
	for _, p := range []harness.Profile{func() harness.Profile { p := reference.Default(); p.Input = harness.InputLenient; return p }(), totpOnly(harness.InputLenient)} {
		ref, err := reference.New(p)
		require.NoError(t, err)
		for _, nfkc := range []bool{false, true} {
			rep, err := harness.Execute(t.Context(), lenientFold{ref, nfkc}, harness.Options{Seed: 17, Profile: &p, Run: forms})
			require.NoError(t, err)
			require.Len(t, rep.Results, 5)
			for _, r := range rep.Results {
				want := harness.Pass
				if nfkc && (strings.Contains(r.ID, "superscript") || strings.Contains(r.ID, "circled")) {
					want = harness.Fail
				}
				assert.Equal(t, want, r.Verdict, "kinds %v nfkc %v: %s: %v", p.Kinds, nfkc, r.ID, r.Messages)
			}
		}
		// Under input exact every form must be refused: the folding
		// verifier fails all five.
		q := p
		q.Input = harness.InputExact
		rep, err := harness.Execute(t.Context(), lenientFold{ref, true}, harness.Options{Seed: 17, Profile: &q, Run: forms})
		require.NoError(t, err)
		for _, r := range rep.Results {
			assert.Equal(t, harness.Fail, r.Verdict, "exact, kinds %v: %s: %v", q.Kinds, r.ID, r.Messages)
		}
	}
}

// TestVectorsAtSixDigitsCatchABug: judged at 6 digits, the Appendix B rows
// still catch SHA256 tokens verified with SHA1.
func TestVectorsAtSixDigitsCatchABug(t *testing.T) {
	p := totpOnly(harness.InputExact)
	rep, err := harness.Execute(t.Context(), newMutant("sha256-as-sha1", p), harness.Options{Seed: 19, Profile: &p, Run: regexp.MustCompile(`^rfc6238/4\.2/appendix-b-`)})
	require.NoError(t, err)
	got := map[string]harness.Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	assert.Equal(t, harness.Pass, got["rfc6238/4.2/appendix-b-sha1"].Verdict)
	r := got["rfc6238/4.2/appendix-b-sha256"]
	require.Equal(t, harness.Fail, r.Verdict, "%v", r.Messages)
	assert.Contains(t, strings.Join(r.Messages, "\n"), `the last 6 digits of the Appendix B code 46119246 for time 59`)
}

// TestInputWithoutHOTPOnRealTime: a TOTP-only verifier on its own clock
// has its input judged on real time.
func TestInputWithoutHOTPOnRealTime(t *testing.T) {
	p := totpOnly(harness.InputExact)
	p.Clock = harness.ClockWall
	v, err := reference.New(p)
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 23, Profile: &p, Run: regexp.MustCompile(`^rfc4226/5\.3/input-`)})
	require.NoError(t, err)
	require.Len(t, rep.Results, 18)
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
}

// TestGuessingLimitTOTPOnly: a TOTP-only verifier's claimed lockout is
// judged by the TOTP guessing case (the lockout cases need HOTP): the
// reference passes, a verifier that does not lock fails.
func TestGuessingLimitTOTPOnly(t *testing.T) {
	p := totpOnly(harness.InputExact)
	p.Limits = ""
	p.Lockout = &harness.LockoutPolicy{After: 5}
	v, err := reference.New(p)
	require.NoError(t, err)
	loose := totpOnly(harness.InputExact) // the same verifier without its lockout
	nolock, err := reference.New(loose)
	require.NoError(t, err)
	for _, tc := range []struct {
		v    harness.Verifier
		want harness.Verdict
		msg  string
	}{{v, harness.Pass, "as the claimed lockout after 5 requires"}, {nolock, harness.Fail, "=> accepted, expected rejected: the profile claims lockout after 5"}} {
		rep, err := harness.Execute(t.Context(), tc.v, harness.Options{Seed: 31, Profile: &p, Run: regexp.MustCompile(`^rfc4226/7\.3/guessing-limit-totp$`)})
		require.NoError(t, err)
		require.Len(t, rep.Results, 1)
		r := rep.Results[0]
		assert.Equal(t, tc.want, r.Verdict, "%v", r.Messages)
		assert.Contains(t, strings.Join(r.Messages, "\n"), tc.msg)
	}
}

// errPastMax is a verifier whose counters end at max, as a signed 64-bit
// column does: the reference under that claim, except that a check once
// the token is spent is answered with an application error instead of a
// rejection.
type errPastMax struct {
	*reference.Verifier
	mu    sync.Mutex
	start map[string]uint64
	seen  map[string]uint64
	max   uint64
}

func (e *errPastMax) Enroll(ctx context.Context, tok harness.Token) error {
	e.mu.Lock()
	e.start[tok.Serial], e.seen[tok.Serial] = tok.Counter, 0
	e.mu.Unlock()
	return e.Verifier.Enroll(ctx, tok)
}

func (e *errPastMax) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	rep, err := e.Verifier.Check(ctx, req)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil && rep.Accepted {
		e.seen[req.Serial]++
	}
	if err == nil && !rep.Accepted && e.start[req.Serial]+e.seen[req.Serial] > e.max {
		return harness.Reply{}, &harness.RefusedError{Op: "check", Message: "OverflowError: Python int too large to convert to SQLite INTEGER"}
	}
	return rep, err
}

// TestErrorPastClaimedMax: an application error to a check past the claimed
// counters.max is not a FAIL (the profile does not claim that request):
// rfc4226/5.1/counter-2^64 stays the declared NON-STRICT, and says what
// the verifier answered.
func TestErrorPastClaimedMax(t *testing.T) {
	t.Parallel()
	p := reference.Default()
	p.Counters = &harness.CounterRange{Min: 0, Max: 1<<63 - 1}
	ref, err := reference.New(p)
	require.NoError(t, err)
	v := &errPastMax{Verifier: ref, start: map[string]uint64{}, seen: map[string]uint64{}, max: 1<<63 - 1}
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 4, Run: regexp.MustCompile(`^rfc4226/5\.1/counter-2\^64$`)})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	assert.Equal(t, harness.NonStrict, r.Verdict, "%v", r.Messages)
	assert.NotContains(t, strings.Join(r.Messages, "\n"), "refused with an error")
}
