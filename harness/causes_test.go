package harness_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// TestCausesNameUndeclaredPolicies plants a real policy the verifier does
// not declare (the reference enforcing more than the profile the harness
// is given) and checks that the report's top names it as one cause, with
// the profile change that claims it, and that no grouped failure blames
// the counter or atomicity for it.
func TestCausesNameUndeclaredPolicies(t *testing.T) {
	withoutRace(t)
	claimed := harness.Profile{
		Kinds: []harness.Kind{harness.HOTP, harness.TOTP}, Digits: []int{6, 8},
		LookAhead: harness.Uint64(5), Input: harness.InputExact,
		TOTP:  &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1},
		Clock: harness.ClockRequest,
	}
	for _, tc := range []struct {
		name  string
		plant func(*harness.Profile)
		key   string // prefix of the cause's key
		claim string // in the cause's claim
	}{
		{"throttle", func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2} }, "throttle-1-1-2", `"throttle": {"after": 1, "delay": 1, "factor": 2}`},
		{"burn", func(p *harness.Profile) { p.OnFailure = harness.OnFailureAdvance }, "on_failure-advance", `"on_failure": "advance"`},
		{"lenient", func(p *harness.Profile) { p.Input = harness.InputLenient }, "input-lenient", `"input": "lenient"`},
		{"wide-window", func(p *harness.Profile) { p.LookAhead = harness.Uint64(20) }, "look_ahead-20", `"look_ahead": 20`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			real := claimed
			tc.plant(&real)
			v, err := reference.New(real)
			require.NoError(t, err)
			rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &claimed, Seed: 5})
			require.NoError(t, err)
			var failed []string
			for _, r := range rep.Results {
				if r.Verdict == harness.NonStrict && strings.HasPrefix(r.ID, "rfc4226/7.3/guessing-limit") {
					// The claimed profile has no limit on guessing: a
					// finding of its own, which no cause explains.
					assert.Nil(t, r.Explanation, "%s", r.ID)
					continue
				}
				if r.Verdict == harness.Fail || r.Verdict == harness.NonStrict {
					failed = append(failed, r.ID)
					msg := strings.Join(r.Messages, "\n")
					assert.NotContains(t, msg, "counter moved", "%s blames the counter", r.ID)
					assert.NotContains(t, msg, "must be atomic", "%s blames atomicity", r.ID)
				}
			}
			require.NotEmpty(t, failed, "the planted %s went unseen", tc.name)
			require.Len(t, rep.Causes, 1, "causes: %s", causesString(rep))
			t.Log(causesString(rep))
			c := rep.Causes[0]
			assert.True(t, strings.HasPrefix(c.Key, tc.key), "cause %s, want %s", c.Key, tc.key)
			assert.Contains(t, c.Claim, tc.claim)
			assert.ElementsMatch(t, failed, c.Cases, "every failure is grouped under the one cause")
		})
	}
}

func causesString(rep *harness.Report) string {
	var b strings.Builder
	for _, c := range rep.Causes {
		fmt.Fprintf(&b, "\n%s (%s): %d cases %v\n  %s", c.Key, c.Claim, len(c.Cases), c.Cases, c.Summary)
	}
	for _, r := range rep.Results {
		if r.Verdict == harness.Fail || r.Verdict == harness.NonStrict {
			fmt.Fprintf(&b, "\n  %s %s: %s", r.Verdict, r.ID, r.Messages[len(r.Messages)-1])
		}
	}
	return b.String()
}
