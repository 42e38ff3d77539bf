package probe_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

// quiet hides the optional locked flag of the reference's replies, as a
// verifier that does not report it would.
type quiet struct{ *reference.Verifier }

func (q quiet) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	rep, err := q.Verifier.Check(ctx, r)
	rep.Locked = false
	return rep, err
}

func (q quiet) Resync(ctx context.Context, r harness.ResyncRequest) (harness.Reply, error) {
	rep, err := q.Verifier.Resync(ctx, r)
	rep.Locked = false
	return rep, err
}

// TestProbeSaysCouldNotTell: where what is observed fits more than one
// policy, the finding says "could not tell" and names the others, the
// truth among them, and the profile holds a value consistent with all.
func TestProbeSaysCouldNotTell(t *testing.T) {
	tests := []struct {
		name    string
		p       harness.Profile
		v       func(*reference.Verifier) harness.Verifier
		finding string
		alt     string
		want    harness.ThrottlePolicy
	}{
		{
			// A rate limit of one check per 30 s hides the throttle's
			// first delays (1, 2, 4, 8, 16 s) and there is no resync to
			// look under it.
			name: "rate limit masks throttle",
			p: harness.Profile{Kinds: []harness.Kind{harness.HOTP}, LookAhead: harness.Uint64(3),
				RateLimit: &harness.RateLimitPolicy{Attempts: 1, Per: 30}, Throttle: &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2}},
			v:       func(r *reference.Verifier) harness.Verifier { return r },
			finding: "throttle", alt: "after 1, delay 1 s (hidden under the rate limit)",
			want: harness.ThrottlePolicy{After: 6, Delay: 32, Factor: 2},
		},
		{
			// A lockout after one failure that releases after 20 s, from a
			// verifier that never says locked, is a constant throttle.
			name: "lock that releases, unflagged",
			p: harness.Profile{Kinds: []harness.Kind{harness.HOTP}, LookAhead: harness.Uint64(3),
				Lockout: &harness.LockoutPolicy{After: 1, ReleaseAfter: 20}},
			v:       func(r *reference.Verifier) harness.Verifier { return quiet{r} },
			finding: "throttle", alt: "lockout after 1 failure released after 20 s",
			want: harness.ThrottlePolicy{After: 1, Delay: 20, Factor: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := reference.New(tt.p)
			require.NoError(t, err)
			res, err := probe.Probe(t.Context(), tt.v(v), probe.Options{Seed: 3, IgnoreClaim: true})
			require.NoError(t, err)
			f, ok := res.Finding(tt.finding)
			require.True(t, ok)
			assert.Equal(t, probe.CouldNotTell, f.Certainty, f.Evidence)
			assert.Contains(t, f.Evidence, tt.alt)
			require.NotNil(t, res.Profile.Throttle, table(res))
			assert.Equal(t, tt.want, *res.Profile.Throttle)
			for _, f := range res.Findings {
				if f.Certainty == probe.Exact {
					assert.NotEqual(t, "lockout", f.Name, "a lockout finding here cannot be exact: %+v", f)
				}
			}
			t.Logf("%d requests", res.Requests)
		})
	}
}

// TestProbeLooksUnderTheRateLimit: with resync, which the rate limit
// neither refuses nor counts, the probe sees the throttle's start that
// checks cannot, and the finding is exact again.
func TestProbeLooksUnderTheRateLimit(t *testing.T) {
	p := harness.Profile{Kinds: []harness.Kind{harness.HOTP}, LookAhead: harness.Uint64(3), Resync: &harness.ResyncPolicy{Codes: 2, Window: 100},
		RateLimit: &harness.RateLimitPolicy{Attempts: 1, Per: 30}, Throttle: &harness.ThrottlePolicy{After: 2, Delay: 3, Factor: 2}}
	v, err := reference.New(p)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 3, IgnoreClaim: true})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(recovered(p), res.Profile), table(res))
	f, _ := res.Finding("throttle")
	assert.Equal(t, probe.Exact, f.Certainty, f.Evidence)
	assert.Contains(t, f.Evidence, "genuine resync")
	t.Logf("%d requests", res.Requests)
}

// TestChartDrawsTheThrottleCurve: the chart has the throttle's delays
// after each number of failures, and the lock beyond them as "never".
func TestChartDrawsTheThrottleCurve(t *testing.T) {
	v, err := reference.New(startingProfiles()["throttle-then-lockout"])
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 2, Trials: -1})
	require.NoError(t, err)
	var curve *probe.Series
	for i := range res.Series {
		if res.Series[i].Curve {
			curve = &res.Series[i]
		}
	}
	require.NotNil(t, curve)
	assert.Equal(t, []probe.Point{{X: 2, Accepted: true, Y: 5}, {X: 3, Accepted: true, Y: 15}, {X: 4, Accepted: true, Y: 45}, {X: 5, Y: probe.Wait}}, curve.Points)
	var svg strings.Builder
	require.NoError(t, res.SVG(&svg))
	for _, want := range []string{"refusal after f failures", ">5 s<", ">15 s<", ">45 s<", ">never<", "2: 5 s, 3: 15 s, 4: 45 s, 5: never"} {
		assert.Contains(t, svg.String(), want)
	}
}
