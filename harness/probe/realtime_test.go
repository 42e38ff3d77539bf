package probe_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// The probe on real time: the reference verifier on its own clock
// (time.Now), behind the wire HTTP server, so that the probe cannot set
// its clock and has to wait for the time rules. The rules are short, and
// MaxWait keeps every search to a few seconds.

// secs matches a duration in a finding's value.
var secs = regexp.MustCompile(`\d+ s\b`)

// realProfile is an HOTP policy on the verifier's own clock with the
// given time rules.
func realProfile(mod func(*harness.Profile)) harness.Profile {
	p := harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP},
		Algorithms: []string{"SHA1"},
		Digits:     []int{6},
		LookAhead:  harness.Uint64(3),
		Resync:     &harness.ResyncPolicy{},
		Lockout:    &harness.LockoutPolicy{},
		Clock:      harness.ClockWall,
	}
	mod(&p)
	return p
}

// serveReal serves v over HTTP and returns the client.
func serveReal(t *testing.T, v harness.Verifier) *wire.HTTP {
	t.Helper()
	srv := httptest.NewServer(wire.NewHandler(v, "/otp", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	c, err := wire.NewHTTP(srv.URL+"/otp/", wire.HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// realCase is one policy the probe measures on real time.
type realCase struct {
	name     string
	start    harness.Profile
	unlock   bool          // the verifier supports unlock
	maxWait  time.Duration // Options.MaxWait
	check    func(t *testing.T, res *probe.Result)
	findings map[string]string // finding -> a part of its value
}

// within asserts that got is want or one second less or more: the
// uncertainty of an edge on real time.
func within(t *testing.T, want, got int64, what string) {
	t.Helper()
	assert.LessOrEqual(t, want-1, got, what)
	assert.LessOrEqual(t, got, want+1, what)
}

func realCases() []realCase {
	return []realCase{{
		name:    "django-throttle-1-1-2",
		start:   realProfile(func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2} }),
		unlock:  true,
		maxWait: 11 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			th := res.Profile.Throttle
			require.NotNil(t, th)
			assert.Equal(t, 1, th.After)
			within(t, 1, th.Delay, "delay")
			assert.Equal(t, int64(2), th.Factor)
		},
		findings: map[string]string{"throttle": "after 1, delay", "lockout": "none"},
	}, {
		name:    "throttle-3-3-1",
		start:   realProfile(func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 3, Factor: 1} }),
		unlock:  true,
		maxWait: 8 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			th := res.Profile.Throttle
			require.NotNil(t, th)
			assert.Equal(t, 3, th.After)
			within(t, 3, th.Delay, "delay")
			assert.Equal(t, int64(1), th.Factor)
		},
		findings: map[string]string{"throttle": "after 3, delay", "lockout": "none"},
	}, {
		name:    "rate-limit-3-per-4",
		start:   realProfile(func(p *harness.Profile) { p.RateLimit = &harness.RateLimitPolicy{Attempts: 3, Per: 4} }),
		unlock:  true,
		maxWait: 10 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			r := res.Profile.RateLimit
			require.NotNil(t, r)
			assert.Equal(t, 3, r.Attempts)
			within(t, 4, r.Per, "per")
			assert.Nil(t, res.Profile.Throttle)
		},
		findings: map[string]string{"rate-limit": "3 per", "lockout": "none", "throttle": "none"},
	}, {
		name:    "lockout-3-release-4-no-unlock",
		start:   realProfile(func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 3, ReleaseAfter: 4} }),
		maxWait: 10 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			require.NotNil(t, res.Profile.Lockout)
			assert.Equal(t, 3, res.Profile.Lockout.After)
			within(t, 4, res.Profile.Lockout.ReleaseAfter, "release_after")
		},
		findings: map[string]string{"lockout": "after 3 failures, released after", "throttle": "none", "unlock": "unsupported"},
	}, {
		name:    "lockout-3-forever",
		start:   realProfile(func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 3} }),
		unlock:  true,
		maxWait: 5 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			require.NotNil(t, res.Profile.Lockout)
			assert.Equal(t, 3, res.Profile.Lockout.After)
			assert.Zero(t, res.Profile.Lockout.ReleaseAfter, "a lock that outlasts MaxWait is written as one that never releases")
			f, _ := res.Finding("lockout")
			assert.Equal(t, probe.LowerBound, f.Certainty)
			assert.Contains(t, f.Evidence, "could not tell on real time: longer than 5 s")
		},
		findings: map[string]string{"lockout": "after 3 failures, no release within 5 s", "throttle": "none"},
	}, {
		name: "auto-resync-3-lockout-resync-unlocks",
		start: realProfile(func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 20, Auto: &harness.AutoResync{Within: 3}}
			p.Lockout = &harness.LockoutPolicy{After: 3, ResyncUnlocks: true}
		}),
		unlock:  true,
		maxWait: 6 * time.Second,
		check: func(t *testing.T, res *probe.Result) {
			r := res.Profile.Resync
			require.NotNil(t, r)
			require.NotNil(t, r.Auto, table(res))
			within(t, 3, r.Auto.Within, "within")
			require.NotNil(t, res.Profile.Lockout)
			assert.Equal(t, 3, res.Profile.Lockout.After)
			assert.True(t, res.Profile.Lockout.ResyncUnlocks)
		},
		findings: map[string]string{"resync-auto": "within", "resync-unlocks": "yes", "throttle-under-lockout": "none", "counts-resync": "no"},
	}}
}

// TestProbeOnRealTime: the probe recovers each time rule from a verifier
// on its own clock, within a second, never calls a throttle a lockout, and
// the profile it prints judges the same verifier on real time with no
// FAIL.
func TestProbeOnRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on real time")
	}
	t.Parallel()
	for _, tc := range realCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref, err := reference.New(tc.start)
			require.NoError(t, err)
			var v harness.Verifier = ref
			if !tc.unlock {
				v = noUnlock{ref}
			}
			c := serveReal(t, v)
			var mu sync.Mutex
			var waits []probe.Waiting
			began := time.Now()
			res, err := probe.Probe(t.Context(), c, probe.Options{Seed: 21, IgnoreClaim: true, Clock: harness.ClockWall,
				MaxWait: tc.maxWait, Trials: -1, Waiting: func(w probe.Waiting) { mu.Lock(); waits = append(waits, w); mu.Unlock() }})
			require.NoError(t, err, table(res))
			t.Logf("probe on real time: %v, %d requests\n%s", time.Since(began).Round(100*time.Millisecond), res.Requests, table(res))
			tc.check(t, res)
			for name, part := range tc.findings {
				f, ok := res.Finding(name)
				if assert.True(t, ok, "finding %s", name) {
					assert.Contains(t, f.Value, part, "%s: %s", name, table(res))
				}
			}
			for _, f := range res.Findings {
				assert.False(t, f.Departs, "%+v", f)
				assert.NotContains(t, f.Evidence, "108000000", "Wait is never waited for on real time: %+v", f)
				if secs.MatchString(f.Value) && f.Certainty == probe.Exact {
					t.Errorf("a duration measured on real time is not exact: %+v", f)
				}
			}
			assert.Equal(t, harness.ClockWall, res.Profile.Clock)
			mu.Lock()
			assert.NotEmpty(t, waits, "the waits are reported")
			for _, w := range waits {
				assert.NotEmpty(t, w.Finding)
				assert.LessOrEqual(t, w.For, tc.maxWait+2*time.Second)
			}
			mu.Unlock()

			// The printed profile judges the verifier on real time.
			printed, err := harness.ParseProfile(res.Profile.JSON())
			require.NoError(t, err)
			began = time.Now()
			rep, err := harness.Execute(t.Context(), c, harness.Options{Profile: &printed, Seed: 5, Checks: -1, MaxWait: time.Minute})
			require.NoError(t, err)
			t.Logf("suite on real time: %v, %s", time.Since(began).Round(100*time.Millisecond), rep.Counts())
			for _, r := range rep.Results {
				msg := strings.Join(r.Messages, " | ")
				assert.NotEqual(t, harness.Fail, r.Verdict, "%s: %s", r.ID, msg)
				if r.Verdict == harness.Error && !tc.unlock && strings.Contains(msg, "refused unlock") {
					continue // the suite needs unlock there, which no profile can say is missing
				}
				assert.NotEqual(t, harness.Error, r.Verdict, "%s: %s", r.ID, msg)
			}
		})
	}
}

// TestRealTimeSearchStopsAtMaxWait: a refusal longer than MaxWait is
// reported as such, with MaxWait as the evidence, and no delay is made up.
func TestRealTimeSearchStopsAtMaxWait(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on real time")
	}
	t.Parallel()
	// A throttle of 30 s: longer than MaxWait, so no delay is made up.
	start := realProfile(func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 2, Delay: 30, Factor: 1} })
	ref, err := reference.New(start)
	require.NoError(t, err)
	c := serveReal(t, ref)
	began := time.Now()
	res, err := probe.Probe(t.Context(), c, probe.Options{Seed: 4, IgnoreClaim: true, Clock: harness.ClockWall, MaxWait: 3 * time.Second, Trials: -1})
	require.NoError(t, err, table(res))
	assert.Less(t, time.Since(began), 20*time.Second, "the search stopped at MaxWait")
	f, _ := res.Finding("lockout")
	assert.Equal(t, probe.LowerBound, f.Certainty, table(res))
	assert.Contains(t, f.Evidence, "could not tell on real time: longer than 3 s")
	assert.Nil(t, res.Profile.Throttle, "no delay is made up")
}

// TestRealTimeProbeStopsOnCancel: a probe cancelled while it waits on
// real time stops at once.
func TestRealTimeProbeStopsOnCancel(t *testing.T) {
	t.Parallel()
	start := realProfile(func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 2} })
	ref, err := reference.New(start)
	require.NoError(t, err)
	c := serveReal(t, ref)
	ctx, cancel := context.WithCancel(t.Context())
	waited := make(chan struct{})
	var once sync.Once
	go func() {
		<-waited
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	began := time.Now()
	_, err = probe.Probe(ctx, c, probe.Options{Seed: 4, Clock: harness.ClockWall, MaxWait: time.Minute, Trials: -1,
		Waiting: func(probe.Waiting) { once.Do(func() { close(waited) }) }})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(began), 10*time.Second, fmt.Sprint(err))
}

// hiccups is the reference on a machine that sometimes stalls: every
// every-th reply that rejects a code comes stall late, as a reply does
// that queues behind other work. The next request of that token then goes
// out late, which is what moves a check past a throttle's delay.
type hiccups struct {
	*reference.Verifier
	every int64
	stall time.Duration
	n     atomic.Int64
}

func (h *hiccups) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	rep, err := h.Verifier.Check(ctx, req)
	if err == nil && !rep.Accepted && h.n.Add(1)%h.every == 0 {
		select {
		case <-ctx.Done():
			return harness.Reply{}, ctx.Err()
		case <-time.After(h.stall):
		}
	}
	return rep, err
}

// TestRealTimeStallsDoNotShortenThrottle: on real time, a check that a
// stall pushed into a later second than planned is not taken as evidence
// that a refusal had ended. From a verifier whose replies stall now and
// then, the probe still reads django-otp's throttle (after 1, delay 1 s,
// factor 2), redoing the checks that slipped on fresh tokens. From one
// whose every rejection comes too late to keep the next check in its
// second, it says it could not tell, and its profile claims no lockout, no
// throttle and no absence of them. (Before, both read a later throttle,
// or no limit on guessing at all.)
func TestRealTimeStallsDoNotShortenThrottle(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on real time")
	}
	t.Parallel()
	for _, tc := range []struct {
		every int64
		stall time.Duration
		tell  bool // the throttle can be read
	}{{2, 900 * time.Millisecond, true}, {1, 900 * time.Millisecond, false}} {
		t.Run(fmt.Sprintf("every-%d-%v", tc.every, tc.stall), func(t *testing.T) {
			t.Parallel()
			ref, err := reference.New(realProfile(func(p *harness.Profile) {
				p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2}
			}))
			require.NoError(t, err)
			c := serveReal(t, &hiccups{Verifier: ref, every: tc.every, stall: tc.stall})
			res, err := probe.Probe(t.Context(), c, probe.Options{Seed: 21, IgnoreClaim: true, Clock: harness.ClockWall,
				MaxWait: 11 * time.Second, MaxLockout: 6, Trials: -1})
			require.NoError(t, err, table(res))
			t.Logf("%s", table(res))
			_, none := res.Finding("guessing-limit")
			assert.False(t, none, "a throttled verifier is never said to have no limit on guessing")
			if !tc.tell {
				f, _ := res.Finding("lockout")
				assert.Equal(t, probe.CouldNotTell, f.Certainty, table(res))
				assert.Contains(t, f.Evidence, "the correct code after 1 failure (3 tries on fresh tokens): the verifier answered too slowly on real time")
				assert.Nil(t, res.Profile.Throttle)
				assert.Nil(t, res.Profile.Lockout)
				assert.Empty(t, res.Profile.Limits)
				return
			}
			th := res.Profile.Throttle
			require.NotNil(t, th, table(res))
			assert.Equal(t, 1, th.After, table(res))
			assert.Equal(t, int64(2), th.Factor, table(res))
			f, _ := res.Finding("throttle")
			assert.Contains(t, f.Evidence, "slipped into a later second than planned", "the stalls hit checks that count")
		})
	}
}
