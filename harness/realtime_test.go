package harness_test

import (
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
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

// shortRealTime are the cases the default test judges on real time: none
// waits more than 5 s (and a few for a step boundary).
var shortRealTime = regexp.MustCompile(`^rfc6238/(4\.2/current-step|5\.2/skew-(back|ahead)-|5\.2/reuse-(older|same)-step|4\.1/t0-nonzero|4\.2/appendix-b-sha1|4\.2/year-2603)`)

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

// serveWall serves the reference verifier with profile p over HTTP and
// returns a client for it.
func serveWall(t *testing.T, p harness.Profile) *wire.HTTP {
	t.Helper()
	v, err := reference.New(p)
	require.NoError(t, err)
	srv := httptest.NewServer(wire.NewHandler(v, "/otp", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	c, err := wire.NewHTTP(srv.URL+"/otp/", wire.HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// compareRealTime runs the cases run selects against the reference on
// the request's clock and on real time (over HTTP): a case that does not
// SKIP on the request's clock PASSes on real time, unless it needs the
// clock at fixed dates, or is not judged on real time yet (notYet).
func compareRealTime(t *testing.T, run, notYet *regexp.Regexp, t0 bool) {
	p := reference.Default()
	p.TOTP.Periods = nil // any period, 60 s included
	p.TOTP.T0 = &t0
	req, err := reference.New(p)
	require.NoError(t, err)
	base, err := harness.Execute(t.Context(), req, harness.Options{Seed: 9, Checks: 5, Run: run})
	require.NoError(t, err)
	w := p
	w.Clock = harness.ClockWall
	var mu sync.Mutex
	var waits []harness.Waiting
	rep, err := harness.Execute(t.Context(), serveWall(t, w), harness.Options{Seed: 9, Checks: 5, Run: run, Waiting: func(w harness.Waiting) {
		mu.Lock()
		waits = append(waits, w)
		mu.Unlock()
	}})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockOffset, rep.ClockNote)
	// reuse-same-step waits its 5 s for real, and says so.
	var saw bool
	for _, w := range waits {
		if w.ID == "rfc6238/5.2/reuse-same-step" && w.For == 5*time.Second {
			saw = true
			assert.GreaterOrEqual(t, w.InFlight, 1)
			assert.Equal(t, "time to pass", w.Why)
		}
	}
	assert.True(t, saw, "no wait reported for reuse-same-step: %v", waits)
	got := map[string]harness.Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	for _, b := range base.Results {
		if b.Verdict == harness.Skip {
			continue
		}
		r := got[b.ID]
		msg := strings.Join(r.Messages, "\n")
		switch {
		case r.Verdict == harness.Skip && strings.HasPrefix(msg, "needs the verifier's clock at "):
		case r.Verdict == harness.Skip && notYet != nil && notYet.MatchString(b.ID):
		default:
			assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", b.ID, msg)
		}
	}
}

func TestRealTimeShortAgainstRequestClock(t *testing.T) {
	t.Parallel()
	compareRealTime(t, shortRealTime, nil, true)
}

// TestRealTimeLong judges the whole catalogue on real time; it waits for
// real time to pass, so it runs only with OTPLAB_REALTIME=1.
func TestRealTimeLong(t *testing.T) {
	if os.Getenv("OTPLAB_REALTIME") == "" {
		t.Skip("set OTPLAB_REALTIME=1 to judge the whole catalogue on real time (it waits in real time)")
	}
	compareRealTime(t, nil, notYetRealTime, true)
}

// TestRealTimeLongNoT0: period-60 waits for the second half of a step
// when no t0 can be chosen (up to 36 s); with OTPLAB_REALTIME=1 only.
func TestRealTimeLongNoT0(t *testing.T) {
	if os.Getenv("OTPLAB_REALTIME") == "" {
		t.Skip("set OTPLAB_REALTIME=1 to judge the TOTP cases on real time without t0 (it waits in real time)")
	}
	compareRealTime(t, regexp.MustCompile(`^rfc6238/`), notYetRealTime, false)
}

// notYetRealTime are the time-dependent cases that still SKIP on real
// time: they need time to pass between steps beyond one wait, or rules
// (throttle, rate limit, release) not yet scheduled on the real clock.
var notYetRealTime = regexp.MustCompile(`^(rfc6238/6/|rfc6238/5\.2/skew-learning-|rfc4226/7\.3/(throttle|rate|lockout-release)|otplab/)`)

func TestRealTimeOffsetUnderPerTokenRules(t *testing.T) {
	t.Parallel()
	// The measurement's probes are one check each on fresh tokens (three
	// come before the first accepted step here), so no lockout, throttle
	// or rate limit refuses them.
	rules := map[string]func(*harness.Profile){
		"lockout after 1": func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 1} },
		"throttle":        func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2} },
		"rate limit":      func(p *harness.Profile) { p.RateLimit = &harness.RateLimitPolicy{Attempts: 1, Per: 30} },
	}
	for name, rule := range rules {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := wallProfile()
			rule(&p)
			v, err := reference.New(p, reference.WithClock(func() time.Time { return time.Now().Add(30 * time.Second) }))
			require.NoError(t, err)
			rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 7, Run: regexp.MustCompile(`^rfc6238/4\.2/current-step$`)})
			require.NoError(t, err)
			require.NotNil(t, rep.ClockOffset, rep.ClockNote)
			assert.Equal(t, int64(30), *rep.ClockOffset)
			require.Len(t, rep.Results, 1)
			assert.Equal(t, harness.Pass, rep.Results[0].Verdict, rep.Results[0].Messages)
		})
	}
}
