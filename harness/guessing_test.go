package harness_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
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
// limit on real time: the TOTP case runs on the real clock too.
func TestGuessingLimitOnRealTime(t *testing.T) {
	p := noLimitProfile()
	p.Clock = harness.ClockWall
	v, err := reference.New(p)
	require.NoError(t, err)
	for id, r := range guessingResults(t, v, p) {
		assert.Equal(t, harness.NonStrict, r.Verdict, "%s: %v", id, r.Messages)
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
	assert.LessOrEqual(t, len(prop.Script), 6, "shrunk: %v", prop.Script)
}
