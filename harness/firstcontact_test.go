package harness_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// TestFirstContactCausesAreExact plants, one at a time, each mechanism
// first met in verifiers nobody here wrote (DOMAIN.md, "Facts from first
// contact") and checks that the report names exactly the true cause, as
// one cause grouping every failure, with no alternative and no other
// cause; and that a claim is suggested only when the profile language can
// state the mechanism.
func TestFirstContactCausesAreExact(t *testing.T) {
	withoutRace(t)
	for _, tc := range []struct {
		bug   string // planted in the mutant
		key   string // prefix of the one cause's key
		claim string // in the cause's claim ("" = none suggested)
	}{
		{"totp-reuse", "totp-reuse-any", `"reuse": "any"`},
		{"last-code", "totp-last-code", ""},
		{"nfkc", "input-nfkc", ""},
		{"resync-unlocks", "resync-unlocks", `"resync_unlocks": true`},
		{"resync-ignores-lock", "resync-ignores-lock", ""},
		{"seconds-window", "totp-seconds-", ""},
		{"clock-2262", "clock-max-", ""},
		{"counter-float64", "counter-double", ""},
		{"counter-int64", "counters-max-9223372036854775807", `"max": 9223372036854775807`},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			p := brokenProfile()
			rep, err := harness.Execute(t.Context(), newMutant(tc.bug, p), harness.Options{Seed: 21})
			require.NoError(t, err)
			var failed []string
			for _, r := range rep.Results {
				if r.Verdict == harness.Fail || r.Verdict == harness.NonStrict {
					failed = append(failed, r.ID)
				}
			}
			require.NotEmpty(t, failed, "the planted %s went unseen", tc.bug)
			require.Len(t, rep.Causes, 1, "causes: %s", causesString(rep))
			c := rep.Causes[0]
			t.Logf("%s: %s (claim %s)", c.Key, c.Summary, c.Claim)
			assert.True(t, strings.HasPrefix(c.Key, tc.key), "cause %s, want %s:%s", c.Key, tc.key, causesString(rep))
			assert.Empty(t, c.Alternatives, "the evidence must tell %s apart", tc.key)
			if tc.claim == "" {
				assert.Empty(t, c.Claim, "no profile value states %s", tc.bug)
			} else {
				assert.Contains(t, c.Claim, tc.claim)
			}
			assert.ElementsMatch(t, failed, c.Cases, "every failure is grouped under the one cause:%s", causesString(rep))
		})
	}
}

// TestStatelessIsNotARace runs a stateless verifier (the reference under
// totp.reuse "any") against a claim of replay protection, with property
// cases that send concurrent bursts: the cause is the missing replay
// protection, a claim that the replay of the claimed profile confirms,
// never a race.
func TestStatelessIsNotARace(t *testing.T) {
	claimed := brokenProfile()
	real := claimed
	tp := *real.TOTP
	tp.Reuse = harness.ReuseAny
	real.TOTP = &tp
	v, err := reference.New(real)
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &claimed, Seed: 9})
	require.NoError(t, err)
	require.Len(t, rep.Causes, 1, "causes: %s", causesString(rep))
	c := rep.Causes[0]
	assert.Equal(t, "totp-reuse-any", c.Key, causesString(rep))
	assert.Contains(t, c.Claim, `"reuse": "any"`)
	for _, r := range rep.Results {
		if r.Explanation != nil {
			for _, w := range r.Explanation.ConsistentWith {
				assert.NotContains(t, w, "race", "%s: a sequential replay is no race", r.ID)
			}
		}
	}
}

// TestCausesCouldNotTell runs only the case where replay memory of the
// last code, reuse "once" and no replay protection look alike (the code of
// T, then of T-1, both accepted): the cause names all three, says it could
// not tell, and suggests no claim, since claiming "once" or "any" would
// not describe a verifier that remembers the last code. The whole suite
// tells them apart (above).
func TestCausesCouldNotTell(t *testing.T) {
	rep, err := harness.Execute(t.Context(), newMutant("last-code", brokenProfile()),
		harness.Options{Seed: 21, Run: regexp.MustCompile(`^rfc6238/5\.2/reuse-older-step$`)})
	require.NoError(t, err)
	require.Len(t, rep.Causes, 1, "causes: %s", causesString(rep))
	c := rep.Causes[0]
	keys := append([]string{c.Key}, c.Alternatives...)
	assert.ElementsMatch(t, []string{"totp-reuse-any", "totp-reuse-once", "totp-last-code"}, keys, causesString(rep))
	assert.Contains(t, c.Summary, "could not tell which")
	assert.Empty(t, c.Claim)
}

// TestTwoMechanismsAtOnce plants two mechanisms in one verifier, as in a
// service that calls a library's verify at now-15 s, now and now+15 s and
// keeps nothing: no replay protection and a window in seconds. Each masks
// the other in some replies (a replay of the previous step's code is
// rejected once the seconds window no longer reaches it), so neither fits
// every reply alone: both are named, as two causes, and never a race.
func TestTwoMechanismsAtOnce(t *testing.T) {
	claimed := brokenProfile()
	real := claimed
	tp := *real.TOTP
	tp.Reuse = harness.ReuseAny
	real.TOTP = &tp
	rep, err := harness.Execute(t.Context(), newMutant("seconds-window", real), harness.Options{Profile: &claimed, Seed: 21})
	require.NoError(t, err)
	var keys []string
	for _, c := range rep.Causes {
		keys = append(keys, c.Key)
		assert.NotEqual(t, "race", c.Key, causesString(rep))
	}
	require.Len(t, rep.Causes, 2, "causes: %s", causesString(rep))
	assert.Contains(t, keys, "totp-reuse-any", causesString(rep))
	found := false
	for _, k := range keys {
		found = found || strings.HasPrefix(k, "totp-seconds-")
	}
	assert.True(t, found, "a window in seconds is named: %s", causesString(rep))
	for _, r := range rep.Results {
		if r.Verdict == harness.Fail || r.Verdict == harness.NonStrict {
			require.NotNil(t, r.Explanation, r.ID)
			assert.NotEmpty(t, r.Explanation.Cause, "%s is grouped under a cause: %s", r.ID, causesString(rep))
		}
	}
}
