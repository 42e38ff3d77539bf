package probe_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

// declared lists the verdicts a truthful profile still earns, by case
// ID: a counters.max below 2^64-1 and unbounded drift are reported
// NON-STRICT once, on_failure advance FAILs once, no limit on guessing is
// NON-STRICT once per token kind, all as declared.
func declared(p harness.Profile, r harness.Result) bool {
	switch {
	case r.Verdict == harness.NonStrict && r.ID == "rfc4226/5.1/counter-2^64":
		return p.CounterMax() < math.MaxUint64
	case r.Verdict == harness.NonStrict && p.TOTP != nil && p.TOTP.Drift != nil && p.TOTP.Drift.Max == nil:
		return strings.Contains(strings.Join(r.Messages, " "), "declared by the profile")
	case r.Verdict == harness.Fail && r.ID == "rfc4226/7.2/reject-keeps-counter":
		return p.Advances()
	case r.Verdict == harness.NonStrict && strings.HasPrefix(r.ID, "rfc4226/7.3/guessing-limit"):
		return !p.HasLimit() // no limit on guessing: a finding, declared or not
	}
	return false
}

// TestProbedProfileJudges feeds the probed profile back to the suite
// against the same reference: nothing fails, errs or is non-strict beyond
// what the profile declares, and every case that SKIPs also SKIPs under
// the profile the reference was started with (no claim the probe left out
// would have let it run).
func TestProbedProfileJudges(t *testing.T) {
	for name, start := range startingProfiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v, err := reference.New(start, reference.WithClock(fixedNow))
			require.NoError(t, err)
			opts := probe.Options{Seed: 9, Now: fixedNow, IgnoreClaim: true}
			if start.Clock == harness.ClockWall {
				// On real time, with our clock and the verifier's standing
				// still: a lock is watched for a second only.
				opts.MaxWait = time.Second
			}
			res, err := probe.Probe(t.Context(), v, opts)
			require.NoError(t, err)
			probed := res.Profile
			run := func(p harness.Profile) *harness.Report {
				rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &p, Seed: 5, Checks: 20, Now: fixedNow})
				require.NoError(t, err)
				return rep
			}
			rep, base := run(probed), run(start)
			// What the suite says under the starting profile itself is the
			// harness's own business (at the time of writing: HOTP cases run
			// for verifiers without HOTP tokens, and a lockout scenario the
			// model thinks degenerate under a rate limit); the probed profile
			// must add nothing to it.
			known := map[string]harness.Verdict{}
			for _, r := range base.Results {
				if r.Verdict != harness.Pass && r.Verdict != harness.Skip && !declared(start, r) {
					known[r.ID] = r.Verdict
					t.Logf("harness issue, under the starting profile too: %s %s", r.Verdict, r.ID)
				}
			}
			var bad []string
			for _, r := range rep.Results {
				switch r.Verdict {
				case harness.Pass, harness.Skip:
				default:
					if !declared(probed, r) && known[r.ID] != r.Verdict {
						bad = append(bad, fmt.Sprintf("%s %s: %s", r.Verdict, r.ID, strings.Join(r.Messages, " | ")))
					}
				}
			}
			assert.Empty(t, bad, "the probed profile accuses the verifier it came from")
			skipped := func(rep *harness.Report) []string {
				var ids []string
				for _, r := range rep.Results {
					if r.Verdict == harness.Skip {
						ids = append(ids, r.ID)
					}
				}
				return ids
			}
			truth := skipped(base)
			for _, id := range skipped(rep) {
				assert.True(t, slices.Contains(truth, id), "%s SKIPs under the probed profile but runs under the starting one", id)
			}
			c := rep.Counts()
			t.Logf("%s; %d probe requests", c, res.Requests)
		})
	}
}

// TestJudgeCatchesAWrongProfile: the test above can fail: a profile with
// a wrong look-ahead accuses the reference.
func TestJudgeCatchesAWrongProfile(t *testing.T) {
	start := reference.Default()
	v, err := reference.New(start)
	require.NoError(t, err)
	wrong := probe.Explicit(start)
	wrong.LookAhead = harness.Uint64(3)
	rep, err := harness.Execute(context.Background(), v, harness.Options{Profile: &wrong, Seed: 5, Checks: 20})
	require.NoError(t, err)
	assert.Positive(t, rep.Counts().Fail)
}
