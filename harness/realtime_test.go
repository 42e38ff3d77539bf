package harness_test

import (
	"context"
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
// waits more than 7 s (and a few for a step boundary).
var shortRealTime = regexp.MustCompile(`^(rfc6238/(4\.2/current-step|5\.2/skew-(back|ahead)-|5\.2/reuse-|4\.1/t0-nonzero|4\.2/appendix-b-|4\.2/year-2603|6/drift-)|otplab/model/totp-sequences)`)

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
			assert.InDelta(t, int64(shift/time.Second), *rep.ClockOffset, 1, rep.ClockNote)
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
	assert.InDelta(t, 0, *rep.ClockOffset, 1, rep.ClockNote)
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
	return serveHTTP(t, v)
}

// serveHTTP serves v over HTTP and returns a client for it.
func serveHTTP(t *testing.T, v harness.Verifier) *wire.HTTP {
	t.Helper()
	srv := httptest.NewServer(wire.NewHandler(v, "/otp", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	c, err := wire.NewHTTP(srv.URL+"/otp/", wire.HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rtProfile is the reference default with any period and t0 as given,
// and totp as set by with.
func rtProfile(t0 bool, with func(*harness.TOTPPolicy)) harness.Profile {
	p := reference.Default()
	p.TOTP.Periods = nil // any period, 60 s included
	p.TOTP.T0 = &t0
	if with != nil {
		with(p.TOTP)
	}
	return p
}

// driftRT claims bounded drift; skewRT claims skew learning.
func driftRT(tp *harness.TOTPPolicy) { tp.Drift = &harness.DriftPolicy{Max: harness.Uint64(3)} }
func skewRT(tp *harness.TOTPPolicy)  { tp.Resync = &harness.TOTPResync{Codes: 2, Range: 50} }

// tooLong is how a case that needs more real time than a case waits
// SKIPs.
const tooLong = "a case waits on real time (--max-wait)"

// compareRealTime runs the cases run selects against the reference with
// profile p on the request's clock and on real time (over HTTP): a case
// that does not SKIP on the request's clock gets the same verdict on real
// time (PASS, or a declared departure), except reuse-clock-back (a clock
// set back), the fixed-date cases when p claims no t0, the cases that
// need more real time than a case waits when long is set, and the cases
// not judged on real time yet (notYet).
func compareRealTime(t *testing.T, run, notYet *regexp.Regexp, p harness.Profile, long bool) *harness.Report {
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
	got := map[string]harness.Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	// reuse-same-step waits its 5 s for real, and says so.
	if r, ok := got["rfc6238/5.2/reuse-same-step"]; ok && r.Verdict == harness.Pass {
		var saw bool
		for _, w := range waits {
			if w.ID == "rfc6238/5.2/reuse-same-step" && w.For == 5*time.Second {
				saw = true
				assert.GreaterOrEqual(t, w.InFlight, 1)
				assert.Equal(t, "time to pass", w.Why)
			}
		}
		assert.True(t, saw, "no wait reported for reuse-same-step: %v", waits)
	}
	fixedDates := regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-|year-2603)`)
	decl := declared(p)
	for _, b := range base.Results {
		if b.Verdict == harness.Skip {
			continue
		}
		r := got[b.ID]
		msg := strings.Join(r.Messages, "\n")
		switch {
		case b.ID == "rfc6238/5.2/reuse-clock-back":
			assert.Equal(t, harness.Skip, r.Verdict, msg)
			assert.Contains(t, msg, "a clock that goes back")
		case r.Verdict == harness.Skip && strings.HasPrefix(msg, "needs the verifier's clock at ") && !p.SupportsT0(-1) && fixedDates.MatchString(b.ID):
			assert.Contains(t, msg, "claiming totp.t0 would judge it on real time")
		case r.Verdict == harness.Skip && long && strings.Contains(msg, tooLong):
		case r.Verdict == harness.Skip && notYet != nil && notYet.MatchString(b.ID):
		default:
			want := harness.Pass
			if v, ok := decl[b.ID]; ok {
				want = v
			}
			assert.Equal(t, want, r.Verdict, "%s: %s", b.ID, msg)
		}
	}
	return rep
}

func TestRealTimeShortAgainstRequestClock(t *testing.T) {
	t.Parallel()
	rep := compareRealTime(t, shortRealTime, nil, rtProfile(true, driftRT), false)
	// Every case of the short set is judged: none SKIPs but reuse-clock-back.
	for _, r := range rep.Results {
		if r.ID != "rfc6238/5.2/reuse-clock-back" {
			assert.NotEqual(t, harness.Skip, r.Verdict, "%s: %s", r.ID, r.Messages)
		}
	}
	assert.Len(t, rep.Results, 16)
}

// TestRealTimeLong judges the whole catalogue on real time, with profiles
// that claim drift and skew learning; it waits for real time to pass
// (about a minute), so it runs only with OTPLAB_REALTIME=1.
func TestRealTimeLong(t *testing.T) {
	if os.Getenv("OTPLAB_REALTIME") == "" {
		t.Skip("set OTPLAB_REALTIME=1 to judge the whole catalogue on real time (it waits in real time)")
	}
	t.Parallel()
	for name, p := range map[string]harness.Profile{
		"default": rtProfile(true, nil),
		"drift":   rtProfile(true, driftRT),
		"skew":    rtProfile(true, skewRT),
		"skew3-drift-once": rtProfile(true, func(tp *harness.TOTPPolicy) {
			tp.Resync = &harness.TOTPResync{Codes: 3, Range: 200}
			tp.Drift = &harness.DriftPolicy{Max: harness.Uint64(10)}
			tp.Reuse = harness.ReuseOnce
		}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := compareRealTime(t, nil, nil, p, false)
			if name != "skew3-drift-once" {
				return
			}
			// This profile claims every TOTP rule: every TOTP case is
			// judged on real time but reuse-clock-back.
			for _, r := range rep.Results {
				if strings.HasPrefix(r.ID, "rfc6238/") && r.ID != "rfc6238/5.2/reuse-clock-back" || r.ID == "otplab/model/totp-sequences" {
					assert.NotEqual(t, harness.Skip, r.Verdict, "%s: %s", r.ID, r.Messages)
				}
			}
		})
	}
}

// TestRealTimeLongNoT0: without a t0 to choose, the cases wait for the
// steps they need (period-60 for the second half of a step, up to 36 s;
// skew learning for up to three 30 s steps) and the fixed-date
// cases SKIP; with OTPLAB_REALTIME=1 only.
func TestRealTimeLongNoT0(t *testing.T) {
	if os.Getenv("OTPLAB_REALTIME") == "" {
		t.Skip("set OTPLAB_REALTIME=1 to judge the TOTP cases on real time without t0 (it waits in real time)")
	}
	t.Parallel()
	for name, with := range map[string]func(*harness.TOTPPolicy){"drift": driftRT, "skew": skewRT} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			compareRealTime(t, regexp.MustCompile(`^(rfc6238/|otplab/model/totp)`), nil, rtProfile(false, with), true)
		})
	}
}

// runBug runs the cases run selects against the mutant with bug, on its
// own clock ("wall") behind HTTP, claiming p.
func runBug(t *testing.T, bug string, p harness.Profile, run *regexp.Regexp) map[string]harness.Result {
	t.Helper()
	w := p
	w.Clock = harness.ClockWall
	rep, err := harness.Execute(t.Context(), serveHTTP(t, newMutant(bug, w)), harness.Options{Profile: &w, Seed: 13, Checks: 20, Run: run})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockOffset, rep.ClockNote)
	out := map[string]harness.Result{}
	for _, r := range rep.Results {
		out[r.ID] = r
	}
	return out
}

// TestRealTimeBugsCaught plants wall-clock bugs in the mutant and judges
// it on real time: each is caught by the cases named, which the clean
// mutant passes.
func TestRealTimeBugsCaught(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bug    string
		p      harness.Profile
		caught []string
	}{
		{"totp-reuse", rtProfile(true, nil), []string{"rfc6238/5.2/reuse-same-step", "otplab/model/totp-sequences"}},
		{"t0-ignored", rtProfile(true, nil), []string{"rfc6238/4.2/appendix-b-sha1", "rfc6238/4.2/appendix-b-sha256", "rfc6238/4.2/appendix-b-sha512", "rfc6238/4.2/year-2603"}},
		{"digits-8-as-6", rtProfile(true, nil), []string{"rfc6238/4.2/appendix-b-sha1"}},
		{"drift-not-followed", rtProfile(true, driftRT), []string{"rfc6238/6/drift-follows"}},
		{"drift-unbounded", rtProfile(true, driftRT), []string{"rfc6238/6/drift-walk"}},
	} {
		for _, bug := range []string{"", tc.bug} {
			t.Run(tc.bug+"/"+map[bool]string{true: "clean", false: "planted"}[bug == ""], func(t *testing.T) {
				t.Parallel()
				run := regexp.MustCompile("^(" + strings.Join(quoteAll(tc.caught), "|") + ")$")
				got := runBug(t, bug, tc.p, run)
				want := harness.Fail
				if bug == "" {
					want = harness.Pass
				}
				for _, id := range tc.caught {
					assert.Equal(t, want, got[id].Verdict, "mutant %q, %s on real time: %s", bug, id, got[id].Messages)
				}
			})
		}
	}
}

// TestRealTimeSkewLearningBugsCaught: skew-learning bugs caught on real
// time (the steps pass for real: up to about 30 s); OTPLAB_REALTIME=1 only.
func TestRealTimeSkewLearningBugsCaught(t *testing.T) {
	if os.Getenv("OTPLAB_REALTIME") == "" {
		t.Skip("set OTPLAB_REALTIME=1 to judge skew learning on real time (it waits in real time)")
	}
	t.Parallel()
	// Skew learning from 3 codes for skew-early: with 2, the bug learns
	// from one code, so the offset measurement's first rejected probe
	// already moves its window (the offset looks 2 steps off and the
	// cases SKIP).
	skew3 := rtProfile(true, func(tp *harness.TOTPPolicy) { tp.Resync = &harness.TOTPResync{Codes: 3, Range: 50} })
	for _, tc := range []struct {
		bug, id string
		p       harness.Profile
	}{
		{"skew-never", "rfc6238/5.2/skew-learning-accepts", rtProfile(true, skewRT)},
		{"skew-early", "rfc6238/5.2/skew-learning-accepts", skew3},
		{"skew-replay", "rfc6238/5.2/skew-learning-replay-rejected", rtProfile(true, skewRT)},
		{"skew-not-successive", "rfc6238/5.2/skew-learning-not-successive", rtProfile(true, skewRT)},
	} {
		for _, bug := range []string{"", tc.bug} {
			t.Run(tc.bug+"/"+map[bool]string{true: "clean", false: "planted"}[bug == ""], func(t *testing.T) {
				t.Parallel()
				run := regexp.MustCompile("^" + regexp.QuoteMeta(tc.id) + "$")
				r := runBug(t, bug, tc.p, run)[tc.id]
				want := harness.Fail
				if bug == "" {
					want = harness.Pass
				}
				assert.Equal(t, want, r.Verdict, "mutant %q, %s on real time: %s", bug, tc.id, r.Messages)
			})
		}
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = regexp.QuoteMeta(s)
	}
	return out
}

// negT0Refuser is the reference, except that it refuses a negative t0 (a
// verifier keeping t0 unsigned).
type negT0Refuser struct{ *reference.Verifier }

func (v negT0Refuser) Enroll(ctx context.Context, tok harness.Token) error {
	if tok.Kind == harness.TOTP && tok.T0 < 0 {
		return &harness.RefusedError{Op: "enroll", Message: "t0 must not be negative"}
	}
	return v.Verifier.Enroll(ctx, tok)
}

func TestRealTimeNegativeT0Refused(t *testing.T) {
	t.Parallel()
	p := rtProfile(true, nil)
	p.Clock = harness.ClockWall
	ref, err := reference.New(p)
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), serveHTTP(t, negT0Refuser{ref}), harness.Options{Seed: 3, Run: regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-sha1|year-2603)$`)})
	require.NoError(t, err)
	got := wallVerdicts(rep)
	msgs := map[string]string{}
	for _, r := range rep.Results {
		msgs[r.ID] = strings.Join(r.Messages, "\n")
	}
	// The rows before now are judged; the two after now are not, and the
	// case says so without accusing anybody.
	assert.Equal(t, harness.Pass, got["rfc6238/4.2/appendix-b-sha1"], msgs["rfc6238/4.2/appendix-b-sha1"])
	assert.Contains(t, msgs["rfc6238/4.2/appendix-b-sha1"], "not judged on real time")
	assert.Contains(t, msgs["rfc6238/4.2/appendix-b-sha1"], "time 2000000000 (t0 -")
	assert.Contains(t, msgs["rfc6238/4.2/appendix-b-sha1"], "time 20000000000 (t0 -")
	assert.NotContains(t, msgs["rfc6238/4.2/appendix-b-sha1"], "time 1234567890 (")
	assert.Equal(t, harness.Skip, got["rfc6238/4.2/year-2603"], msgs["rfc6238/4.2/year-2603"])
	assert.Contains(t, msgs["rfc6238/4.2/year-2603"], "refused t0 -")
}

// TestRealTimeFixedDatesNeedT0: without a t0 to choose, the fixed-date
// cases SKIP on real time and say what would judge them.
func TestRealTimeFixedDatesNeedT0(t *testing.T) {
	t.Parallel()
	p := rtProfile(false, nil)
	p.Clock = harness.ClockWall
	rep, err := harness.Execute(t.Context(), serveWall(t, p), harness.Options{Seed: 3, Run: regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-sha1|year-2603)$|^rfc6238/5\.2/reuse-clock-back$`)})
	require.NoError(t, err)
	require.Len(t, rep.Results, 3)
	for _, r := range rep.Results {
		msg := strings.Join(r.Messages, "\n")
		assert.Equal(t, harness.Skip, r.Verdict, "%s: %s", r.ID, msg)
		assert.True(t, strings.HasPrefix(msg, "needs the verifier's clock at "), msg)
		if r.ID == "rfc6238/5.2/reuse-clock-back" {
			assert.Contains(t, msg, "a clock that goes back")
		} else {
			assert.Contains(t, msg, "claiming totp.t0 would judge it on real time")
		}
	}
}

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
			assert.InDelta(t, 30, *rep.ClockOffset, 1, rep.ClockNote)
			require.Len(t, rep.Results, 1)
			assert.Equal(t, harness.Pass, rep.Results[0].Verdict, rep.Results[0].Messages)
		})
	}
}

// TestRealTimeShiftedClock: the cases that choose a t0 or a period place
// their steps on the verifier's clock, not the local one: a verifier 30 s
// ahead passes them all, and so do ones 2, 11 and 17 s off, whose offset
// is measured to about a second (the second within the step, with t0).
func TestRealTimeShiftedClock(t *testing.T) {
	t.Parallel()
	for _, shift := range []time.Duration{30 * time.Second, 2 * time.Second, -2 * time.Second, 11 * time.Second, -17 * time.Second} {
		t.Run(shift.String(), func(t *testing.T) {
			t.Parallel()
			p := rtProfile(true, driftRT)
			p.Clock = harness.ClockWall
			v, err := reference.New(p, reference.WithClock(func() time.Time { return time.Now().Add(shift) }))
			require.NoError(t, err)
			run := `^(rfc6238/4\.2/(appendix-b-sha1|year-2603)|rfc6238/6/drift-walk|otplab/model/totp-sequences)$`
			n := 4
			if shift%(30*time.Second) != 0 {
				run = `^(rfc6238/4\.2/(appendix-b-sha1|year-2603)|rfc6238/6/drift-(walk|follows)|otplab/model/totp-sequences)$`
				n = 5
			}
			rep, err := harness.Execute(t.Context(), serveHTTP(t, v), harness.Options{Seed: 21, Checks: 10, Run: regexp.MustCompile(run)})
			require.NoError(t, err)
			require.NotNil(t, rep.ClockOffset, rep.ClockNote)
			assert.InDelta(t, int64(shift/time.Second), *rep.ClockOffset, 1, rep.ClockNote)
			require.Len(t, rep.Results, n)
			for _, r := range rep.Results {
				assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", r.ID, r.Messages)
			}
		})
	}
}

// TestRealTimeOffsetWithoutT0: with no t0 claimed the offset's second is
// found by watching the verifier's step change, so a clock 13 s off is
// still placed right.
func TestRealTimeOffsetWithoutT0(t *testing.T) {
	t.Parallel()
	const shift = 13 * time.Second
	p := rtProfile(false, nil)
	p.Clock = harness.ClockWall
	v, err := reference.New(p, reference.WithClock(func() time.Time { return time.Now().Add(shift) }))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), serveHTTP(t, v), harness.Options{Seed: 23, Run: realTimeCases})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockOffset, rep.ClockNote)
	assert.InDelta(t, int64(shift/time.Second), *rep.ClockOffset, 1, rep.ClockNote)
	assert.Contains(t, rep.ClockNote, "watched once a second")
	require.Len(t, rep.Results, 5)
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", r.ID, r.Messages)
	}
}
