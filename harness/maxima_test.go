package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// atMaxima are profiles with one claim (or a group of related claims) at
// the largest value validation accepts, on top of the reference's
// default profile.
func atMaxima() map[string]func(p *harness.Profile) {
	return map[string]func(p *harness.Profile){
		"look_ahead": func(p *harness.Profile) { p.LookAhead = harness.Uint64(harness.MaxLookAheadForTest) },
		"resync.window": func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: harness.MaxResyncWindowForTest}
		},
		"resync.codes": func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: harness.MaxResyncCodesForTest, Window: 1000}
		},
		"resync.auto": func(p *harness.Profile) {
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: harness.MaxAutoResyncWindowForTest,
				Auto: &harness.AutoResync{Within: harness.MaxSecondsForTest}}
		},
		"lockout": func(p *harness.Profile) {
			p.Lockout = &harness.LockoutPolicy{After: harness.MaxLockoutForTest, ReleaseAfter: harness.MaxSecondsForTest}
		},
		"throttle": func(p *harness.Profile) {
			p.Throttle = &harness.ThrottlePolicy{After: harness.MaxLockoutForTest, Delay: harness.MaxSecondsForTest, Factor: harness.MaxFactorForTest}
		},
		"rate_limit": func(p *harness.Profile) {
			p.RateLimit = &harness.RateLimitPolicy{Attempts: harness.MaxAttemptsForTest, Per: harness.MaxSecondsForTest}
		},
		"totp.skew": func(p *harness.Profile) {
			p.TOTP.SkewBack, p.TOTP.SkewAhead = harness.MaxSkewForTest, harness.MaxSkewForTest
		},
		"totp.drift": func(p *harness.Profile) {
			max := uint64(harness.MaxSkewRangeForTest)
			p.TOTP.Drift = &harness.DriftPolicy{Max: &max}
		},
		"totp.resync": func(p *harness.Profile) {
			p.TOTP.Resync = &harness.TOTPResync{Codes: harness.MaxResyncCodesForTest, Range: harness.MaxTOTPResyncRangeForTest}
		},
		"totp.periods": func(p *harness.Profile) { p.TOTP.Periods = []int64{harness.MaxPeriodForTest} },
	}
}

// TestSuiteAtProfileMaxima runs the whole suite against the reference
// verifier serving a profile at each documented maximum: every claim that
// validation accepts can be judged, in seconds, and the reference is
// never accused (a look-ahead or a window of 10^6 used to end cases in
// ERROR after tens of seconds each).
func TestSuiteAtProfileMaxima(t *testing.T) {
	withoutRace(t)
	if testing.Short() {
		t.Skip("runs the whole suite once per maximum")
	}
	for name, set := range atMaxima() {
		t.Run(name, func(t *testing.T) {
			p := reference.Default()
			set(&p)
			require.NoError(t, p.Validate())
			v, err := reference.New(p)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			rep, err := harness.Execute(ctx, v, harness.Options{Profile: &p, Seed: 11, Checks: 20})
			require.NoError(t, err)
			c := rep.Counts()
			t.Logf("%s: %v, %+v", name, time.Since(start).Round(time.Millisecond), c)
			for _, r := range rep.Results {
				if r.Verdict == harness.Fail || r.Verdict == harness.Error {
					t.Errorf("%s %s: %s", r.ID, r.Verdict, strings.Join(r.Messages, " | "))
				}
			}
			assert.Positive(t, c.Pass)
		})
	}
}

// TestProfileMaximaRefused: one past each bound that judging sets is
// refused, with the bound in the message.
func TestProfileMaximaRefused(t *testing.T) {
	for _, tt := range []struct{ js, want string }{
		{`{"look_ahead":1001}`, "look_ahead: 1001 is more than 1000, the widest look-ahead that can be judged"},
		{`{"look_ahead":1000000}`, "look_ahead: 1000000 is more than 1000"},
		{`{"resync":{"codes":2,"window":100001}}`, "resync.window: 100001 is more than 100000"},
		{`{"resync":{"codes":2,"window":1001,"auto":{"within":300}}}`, "resync.window: 1001 is more than 1000, the widest window automatic resync (resync.auto) can be judged with"},
		{`{"resync":{"codes":2,"window":1000000,"auto":{"within":300}}}`, "is more than 1000"},
		{`{"kinds":["totp"],"totp":{"resync":{"codes":3,"range":10001}}}`, "totp.resync.range: 10001 is more than 10000 steps"},
	} {
		_, err := harness.ParseProfile([]byte(tt.js))
		require.ErrorIs(t, err, harness.ErrProfile, tt.js)
		assert.Contains(t, err.Error(), tt.want)
	}
	for _, js := range []string{`{"look_ahead":1000}`, `{"resync":{"codes":2,"window":100000}}`, `{"look_ahead":9,"resync":{"codes":2,"window":1000,"auto":{"within":300}}}`} {
		_, err := harness.ParseProfile([]byte(js))
		assert.NoError(t, err, js)
	}
}
