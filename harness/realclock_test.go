package harness_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// hotpTimeRules are HOTP profiles with time rules short enough to wait
// for in a test, and long enough (3 s or more but for the 1 s throttle)
// that each check can be placed clear of their edges even when the
// machine is loaded: a django-otp-like doubling throttle, a throttle after
// three failures, a rate limit, a lockout that releases itself, and an
// automatic resync.
func hotpTimeRules() map[string]harness.Profile {
	base := func() harness.Profile {
		p := reference.Default()
		p.Kinds = []harness.Kind{harness.HOTP}
		p.TOTP = nil
		return p
	}
	out := map[string]harness.Profile{}
	p := base()
	p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2}
	out["throttle-doubling"] = p
	p = base()
	p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 3, Factor: 1}
	out["throttle-after-3"] = p
	p = base()
	p.RateLimit = &harness.RateLimitPolicy{Attempts: 4, Per: 4}
	p.Lockout = nil
	out["rate-limit"] = p
	p = base()
	p.Lockout = &harness.LockoutPolicy{After: 3, ReleaseAfter: 4}
	out["release"] = p
	p = reference.Default()
	p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 3, Factor: 1}
	out["totp-and-throttle"] = p
	p = base()
	r := *p.Resync
	r.Auto = &harness.AutoResync{Within: 3}
	p.Resync = &r
	out["auto-resync"] = p
	return out
}

// timeRuleCases are the cases about the HOTP time rules.
var timeRuleCases = regexp.MustCompile(`^rfc4226/7\.(3/(throttle|rate-limit|lockout-release)|4/auto-resync)`)

// runRealHOTP judges the reference enforcing real on its own clock over
// HTTP, against the claim, on real time.
func runRealHOTP(t *testing.T, claim, real harness.Profile, run *regexp.Regexp, checks int) *harness.Report {
	t.Helper()
	real.Clock = harness.ClockWall
	claim.Clock = harness.ClockWall
	rep, err := harness.Execute(t.Context(), serveWall(t, real), harness.Options{Profile: &claim, Seed: 11, Checks: checks, Run: run})
	require.NoError(t, err)
	return rep
}

// TestRealTimeHOTPRules: each HOTP time rule is judged on real time, and
// every case that runs on the request's clock passes on real time too.
func TestRealTimeHOTPRules(t *testing.T) {
	t.Parallel()
	// The runs on the request's clock are computed first, one after the
	// other: run beside the real-time runs, their CPU work (the race
	// detector's above all) would delay those runs' requests.
	rules := hotpTimeRules()
	bases := map[string]*harness.Report{}
	for name, p := range rules {
		req, err := reference.New(p)
		require.NoError(t, err)
		bases[name], err = harness.Execute(t.Context(), req, harness.Options{Profile: &p, Seed: 11, Checks: 3})
		require.NoError(t, err)
	}
	for name, p := range rules {
		base := bases[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := runRealHOTP(t, p, p, nil, 3)
			got := map[string]harness.Result{}
			for _, r := range rep.Results {
				got[r.ID] = r
			}
			judged := 0
			for _, b := range base.Results {
				if b.Verdict == harness.Skip || b.ID == "rfc6238/5.2/reuse-clock-back" {
					continue // the one case real time cannot judge: its clock never goes back
				}
				r := got[b.ID]
				assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", b.ID, strings.Join(r.Messages, "\n"))
				if name != "throttle-doubling" { // a 1 s delay cannot be seen refusing on real time
					assert.NotContains(t, strings.Join(r.Messages, "\n"), "judged leniently", b.ID)
				}
				if timeRuleCases.MatchString(b.ID) {
					judged++
				}
			}
			assert.Positive(t, judged, "no time-rule case ran on the request's clock")
		})
	}
}

// TestRealTimeHOTPRuleBugs: verifiers whose time rules differ from the
// claim are caught on real time.
func TestRealTimeHOTPRuleBugs(t *testing.T) {
	t.Parallel()
	rules := hotpTimeRules()
	type bug struct {
		name        string
		claim, real harness.Profile
		fails       []string
	}
	// with returns p changed by f; f must replace the policies it changes,
	// not write through p's pointers, which the claim shares.
	with := func(p harness.Profile, f func(*harness.Profile)) harness.Profile {
		f(&p)
		return p
	}
	doubling2 := rules["throttle-doubling"]
	doubling2.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 2, Factor: 2}
	bugs := []bug{
		{"throttle never expires", rules["throttle-after-3"], with(rules["throttle-after-3"], func(p *harness.Profile) {
			p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 3600, Factor: 1}
		}), []string{"rfc4226/7.3/throttle-refuses", "rfc4226/7.3/throttle-refused-not-counted", "rfc4226/7.3/throttle-success-resets"}},
		{"no throttle", rules["throttle-after-3"], with(rules["throttle-after-3"], func(p *harness.Profile) { p.Throttle = nil }),
			[]string{"rfc4226/7.3/throttle-refuses", "rfc4226/7.3/throttle-grows", "rfc4226/7.3/throttle-resync-refused"}},
		{"throttle does not grow", doubling2, with(doubling2, func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 2, Factor: 1} }),
			[]string{"rfc4226/7.3/throttle-grows"}},
		{"rate limit window too long", rules["rate-limit"], with(rules["rate-limit"], func(p *harness.Profile) { p.RateLimit = &harness.RateLimitPolicy{Attempts: 4, Per: 60} }),
			[]string{"rfc4226/7.3/rate-limit-refuses"}},
		{"lock never released", rules["release"], with(rules["release"], func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 3} }),
			[]string{"rfc4226/7.3/lockout-release"}},
		{"auto resync without a time limit", rules["auto-resync"], with(rules["auto-resync"], func(p *harness.Profile) {
			r := *p.Resync
			r.Auto = &harness.AutoResync{Within: 3600}
			p.Resync = &r
		}),
			[]string{"rfc4226/7.4/auto-resync-timeout"}},
	}
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rep := runRealHOTP(t, b.claim, b.real, timeRuleCases, -1)
			v := map[string]harness.Verdict{}
			for _, r := range rep.Results {
				v[r.ID] = r.Verdict
			}
			for _, id := range b.fails {
				assert.Equal(t, harness.Fail, v[id], id)
			}
			if t.Failed() {
				for _, r := range rep.Results {
					t.Logf("%s %s: %s", r.Verdict, r.ID, strings.Join(r.Messages, "\n"))
				}
			}
		})
	}
}

// hiccup delays every check that arrives before until by d: a verifier
// (or a machine) busy for a moment, whose replies come late.
type hiccup struct {
	harness.Verifier
	until time.Time
	d     time.Duration
}

func (h hiccup) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if time.Now().Before(h.until) {
		time.Sleep(h.d)
	}
	return h.Verifier.Check(ctx, req)
}

// runRateLimitLate judges, on real time, the reference with the
// rate-limit time rule behind a hiccup of d on every check for the first
// span of the run, with the cases run selects.
func runRateLimitLate(t *testing.T, span, d time.Duration, run string) *harness.Report {
	t.Helper()
	p := hotpTimeRules()["rate-limit"]
	p.Clock = harness.ClockWall
	ref, err := reference.New(p)
	require.NoError(t, err)
	v := serveHTTP(t, hiccup{Verifier: ref, until: time.Now().Add(span), d: d})
	rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &p, Seed: 11, Checks: -1, Run: regexp.MustCompile(run)})
	require.NoError(t, err)
	return rep
}

// TestRealTimeLateRequestsRetried: a verifier that answers its checks
// 1.2 s late for a moment puts the rate-limit cases' requests late: past
// the seconds that made a correct verifier's answers certain, and past the
// second the model follows (before runs were repeated, this accused the
// reference: rate-limit-counts-refused FAILed). Each such case runs again
// on fresh tokens, says so, and is judged in full: no check is left judged
// leniently, and the verdicts are the ones a quiet run gives.
func TestRealTimeLateRequestsRetried(t *testing.T) {
	t.Parallel()
	rep := runRateLimitLate(t, 2*time.Second, 1200*time.Millisecond, `^rfc4226/7\.3/rate-limit`)
	retried := 0
	for _, r := range rep.Results {
		msg := strings.Join(r.Messages, "\n")
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %s", r.ID, msg)
		assert.NotContains(t, msg, "judged leniently", r.ID)
		if strings.Contains(msg, "on real time this case ran ") {
			retried++
		}
	}
	assert.Positive(t, retried, "no case was run again: the hiccup did not make any check lenient")
}

// TestRealTimeSlowVerifierNotJudged: a verifier that always answers more
// than a second late cannot have its time rules judged to the second on
// real time: the case SKIPs after its attempts and says why, never FAILs.
func TestRealTimeSlowVerifierNotJudged(t *testing.T) {
	t.Parallel()
	rep := runRateLimitLate(t, time.Hour, 1100*time.Millisecond, `^rfc4226/7\.3/rate-limit-refuses$`)
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	msg := strings.Join(r.Messages, "\n")
	assert.Equal(t, harness.Skip, r.Verdict, msg)
	// The lateness itself is 1.1 s or more: more on a busy machine.
	assert.Regexp(t, `^on real time, in each of 3 runs, the verifier answered a request of the case \d+(\.\d+)?s after its planned second`, msg)
	assert.Contains(t, msg, "its time rules were not judged")
}

// stalls is the reference on a machine that stalls in two places: a
// check of a code its token was sent less than half a second before (a
// burst of one code; not a replay after the burst's replies) waits burst,
// and a check of a token whose last check was rejected waits
// afterFailure, each before the verifier reads its clock.
type stalls struct {
	harness.Verifier
	burst, afterFailure time.Duration
	mu                  sync.Mutex
	sent                map[[2]string]time.Time
	failed              map[string]bool
}

func (s *stalls) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	s.mu.Lock()
	if s.sent == nil {
		s.sent, s.failed = map[[2]string]time.Time{}, map[string]bool{}
	}
	d := time.Duration(0)
	k := [2]string{req.Serial, req.Code}
	if at, ok := s.sent[k]; ok && time.Since(at) < 500*time.Millisecond {
		d = s.burst
	} else if s.failed[req.Serial] {
		d = s.afterFailure
	}
	if _, ok := s.sent[k]; !ok {
		s.sent[k] = time.Now()
	}
	s.mu.Unlock()
	time.Sleep(d)
	rep, err := s.Verifier.Check(ctx, req)
	s.mu.Lock()
	s.failed[req.Serial] = err == nil && !rep.Accepted
	s.mu.Unlock()
	return rep, err
}

// TestRealTimeLateRepliesNotJudged: on real time, a burst of concurrent
// checks whose replies come a second or more late, and a random sequence
// whose late reply disagrees with the model, are not judged: the verifier
// may have read a second the model does not follow. The case runs again,
// and when every run is that late it SKIPs and says why. (Before, the
// burst was judged as if on time, and the throttled check that a stall
// pushed past the throttle's delay FAILed the sequence.)
func TestRealTimeLateRepliesNotJudged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, run           string
		burst, afterFailure time.Duration
		why                 string
	}{
		{"burst", `^rfc4226/7\.2/concurrent-same-code$`, 1100 * time.Millisecond, 0, "a request of the case"},
		{"sequence", `^otplab/model/hotp-sequences$`, 0, 1500 * time.Millisecond, "a request of a random sequence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := hotpTimeRules()["throttle-doubling"]
			p.Clock = harness.ClockWall
			ref, err := reference.New(p)
			require.NoError(t, err)
			v := &stalls{Verifier: ref, burst: tc.burst, afterFailure: tc.afterFailure}
			rep, err := harness.Execute(t.Context(), serveHTTP(t, v), harness.Options{Profile: &p, Seed: 11, Checks: 10, Run: regexp.MustCompile(tc.run)})
			require.NoError(t, err)
			require.Len(t, rep.Results, 1)
			r := rep.Results[0]
			msg := strings.Join(r.Messages, "\n")
			assert.Equal(t, harness.Skip, r.Verdict, msg)
			assert.Regexp(t, `^on real time, in each of 3 runs, the verifier answered `+tc.why+` \d+(\.\d+)?m?s after its planned second`, msg)
		})
	}
}
