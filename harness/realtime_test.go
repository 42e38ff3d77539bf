package harness_test

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// realTimeCases are the cases judged on the real clock.
var realTimeCases = regexp.MustCompile(`^rfc6238/(4\.2/current-step|5\.2/skew-(back|ahead)-)`)

// wallProfile is the reference default on the verifier's own clock.
func wallProfile() harness.Profile {
	p := reference.Default()
	p.Clock = harness.ClockWall
	return p
}

// runWall runs the real-time cases against a reference verifier on clock
// "wall" whose clock is off by shift and whose real skew window is
// (back, ahead), behind the wire HTTP server; the run judges it against
// the wall profile's claim.
func runWall(t *testing.T, shift time.Duration, back, ahead uint64) *harness.Report {
	return runWallAt(t, 0, shift, back, ahead)
}

// runWallAt is runWall with both clocks, local and verifier, moved by
// local.
func runWallAt(t *testing.T, local, shift time.Duration, back, ahead uint64) *harness.Report {
	t.Helper()
	real := wallProfile()
	real.TOTP = &harness.TOTPPolicy{SkewBack: back, SkewAhead: ahead}
	v, err := reference.New(real, reference.WithClock(func() time.Time { return time.Now().Add(local + shift) }))
	require.NoError(t, err)
	srv := httptest.NewServer(wire.NewHandler(v, "/otp", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	c, err := wire.NewHTTP(srv.URL+"/otp/", wire.HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	claim := wallProfile()
	rep, err := harness.Execute(t.Context(), c, harness.Options{Profile: &claim, Seed: 5, Run: realTimeCases, Now: func() time.Time { return time.Now().Add(local) }})
	require.NoError(t, err)
	require.Len(t, rep.Results, 5)
	return rep
}

func wallVerdicts(rep *harness.Report) map[string]harness.Verdict {
	out := map[string]harness.Verdict{}
	for _, r := range rep.Results {
		out[r.ID] = r.Verdict
	}
	return out
}

func TestRealTimeWallVerifier(t *testing.T) {
	t.Parallel()
	for _, shift := range []time.Duration{0, 30 * time.Second, -30 * time.Second} {
		t.Run(shift.String(), func(t *testing.T) {
			t.Parallel()
			rep := runWall(t, shift, 1, 1)
			require.NotNil(t, rep.ClockOffset, rep.ClockNote)
			assert.Equal(t, int64(shift/time.Second), *rep.ClockOffset, rep.ClockNote)
			for _, r := range rep.Results {
				assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
			}
		})
	}
}

func TestRealTimeOffsetTooLarge(t *testing.T) {
	t.Parallel()
	for _, shift := range []time.Duration{60 * time.Second, 10 * time.Minute} {
		t.Run(shift.String(), func(t *testing.T) {
			t.Parallel()
			rep := runWall(t, shift, 1, 1)
			for _, r := range rep.Results {
				assert.Equal(t, harness.Skip, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
				assert.Contains(t, strings.Join(r.Messages, "\n"), "clock")
			}
		})
	}
}

func TestRealTimeSkewBugCaught(t *testing.T) {
	t.Parallel()
	// The verifier accepts two steps ahead while the profile claims one.
	v := wallVerdicts(runWall(t, 0, 1, 2))
	assert.Equal(t, harness.Fail, v["rfc6238/5.2/skew-ahead-beyond"])
	assert.Equal(t, harness.Pass, v["rfc6238/5.2/skew-ahead-edge"])
	// The verifier accepts no step ahead.
	v = wallVerdicts(runWall(t, 0, 1, 0))
	assert.Equal(t, harness.Fail, v["rfc6238/5.2/skew-ahead-edge"])
}

func TestRealTimeOtherCasesStillSkip(t *testing.T) {
	t.Parallel()
	// Under real time, the cases not marked realtime keep their SKIPs.
	p := wallProfile()
	v, err := reference.New(p)
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 3, Checks: -1, Run: regexp.MustCompile(`^rfc6238/`)})
	require.NoError(t, err)
	for _, r := range rep.Results {
		if !realTimeCases.MatchString(r.ID) {
			assert.Equal(t, harness.Skip, r.Verdict, r.ID)
		}
	}
}

func TestRealTimeWaitsOffBoundary(t *testing.T) {
	t.Parallel()
	// The local clock starts 1 s before a step boundary: the run waits
	// until it is clear of it, and still judges every case.
	now := time.Now()
	local := time.Duration(29-now.Unix()%30) * time.Second
	start := time.Now()
	rep := runWallAt(t, local, 0, 1, 1)
	assert.GreaterOrEqual(t, time.Since(start), 3*time.Second, "the run did not wait for the boundary to pass")
	require.NotNil(t, rep.ClockOffset, rep.ClockNote)
	assert.Equal(t, int64(0), *rep.ClockOffset)
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
	}
}
