package harness_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// profiles covers every value the issue lists: look_ahead 0, 1, 10, 100;
// resync none, 2 codes over 50, 3 codes over 1000; lockout none, 3, 10;
// TOTP skew 0/0, 1/1, 2/0.
func profiles() map[string]harness.Profile {
	base := func(l uint64, r *harness.ResyncPolicy, f *harness.LockoutPolicy, back, ahead uint64) harness.Profile {
		return harness.Profile{
			Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
			Algorithms: []string{"SHA1", "SHA256", "SHA512"},
			Digits:     []int{6, 8},
			LookAhead:  harness.Uint64(l),
			Resync:     r,
			Lockout:    f,
			TOTP:       &harness.TOTPPolicy{SkewBack: back, SkewAhead: ahead},
			Clock:      harness.ClockRequest,
		}
	}
	return map[string]harness.Profile{
		"default":              reference.Default(),
		"l0-noresync-nolock":   base(0, nil, nil, 0, 0),
		"l1-resync2x50-lock3":  base(1, &harness.ResyncPolicy{Codes: 2, Window: 50}, &harness.LockoutPolicy{After: 3}, 1, 1),
		"l10-resync3x1000-l10": base(10, &harness.ResyncPolicy{Codes: 3, Window: 1000}, &harness.LockoutPolicy{After: 10}, 2, 0),
		"l100-resync2x1000-ru": base(100, &harness.ResyncPolicy{Codes: 2, Window: 1000}, &harness.LockoutPolicy{After: 3, ResyncUnlocks: true}, 1, 1),
		"l10-resync2x1000":     base(10, &harness.ResyncPolicy{Codes: 2, Window: 1000}, nil, 1, 1),
		"django-otp":           djangoProfile(),
		"flows-all": func() harness.Profile {
			p := reference.Default()
			p.Flows = harness.Purposes()
			p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 2, Factor: 2}
			p.Lockout = &harness.LockoutPolicy{After: 7, CountsResync: true}
			return p
		}(),
		"google-authenticator": googleProfile(),
		"privacyidea": {
			Kinds: []harness.Kind{harness.HOTP, harness.TOTP}, LookAhead: harness.Uint64(9), Input: harness.InputExact,
			Resync:  &harness.ResyncPolicy{Codes: 2, Window: 1000, Auto: &harness.AutoResync{Within: 300}},
			Lockout: &harness.LockoutPolicy{After: 10, ReleaseAfter: 600},
			TOTP:    &harness.TOTPPolicy{SkewBack: 2, SkewAhead: 2},
			Clock:   harness.ClockRequest,
		},
		"counts-resync-unlocks": {
			LookAhead: harness.Uint64(3),
			Resync:    &harness.ResyncPolicy{Codes: 3, Window: 100},
			Lockout:   &harness.LockoutPolicy{After: 3, ResyncUnlocks: true, CountsResync: true},
			Clock:     harness.ClockRequest,
		},
		"throttle-constant-release": {
			Kinds: []harness.Kind{harness.HOTP, harness.TOTP}, LookAhead: harness.Uint64(4),
			Throttle: &harness.ThrottlePolicy{After: 2, Delay: 5, Factor: 1},
			Lockout:  &harness.LockoutPolicy{After: 8, ReleaseAfter: 120},
			TOTP:     &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 0},
			Clock:    harness.ClockRequest,
		},
		"drift-bounded-once": {
			Kinds: []harness.Kind{harness.HOTP, harness.TOTP}, Digits: []int{6, 8}, LookAhead: harness.Uint64(3),
			RateLimit: &harness.RateLimitPolicy{Attempts: 5, Per: 60},
			TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: harness.ReuseOnce,
				Drift: &harness.DriftPolicy{Max: harness.Uint64(3)}, Periods: []int64{30, 60}},
			Clock: harness.ClockRequest,
		},
		"limits-none-declared": func() harness.Profile {
			p := base(3, &harness.ResyncPolicy{Codes: 2, Window: 100}, nil, 1, 2)
			p.Limits = harness.LimitsNone
			return p
		}(),
		// Stateless verifiers (totp.reuse "any"): a module that keeps
		// nothing, and a small service with drift and a throttle.
		"stateless": func() harness.Profile {
			p := base(5, nil, nil, 1, 1)
			p.TOTP.Reuse = harness.ReuseAny
			return p
		}(),
		"stateless-drift-throttle": func() harness.Profile {
			p := djangoProfile()
			p.TOTP.Reuse = harness.ReuseAny
			return p
		}(),
		"sha256-8-from-100": {
			Algorithms: []string{"SHA256"}, Digits: []int{8},
			Counters:  &harness.CounterRange{Min: 100, Max: 1<<64 - 1},
			LookAhead: harness.Uint64(2), OnFailure: harness.OnFailureAdvance,
			Resync: &harness.ResyncPolicy{Codes: 2, Window: 20},
			Clock:  harness.ClockRequest,
		},
	}
}

// djangoProfile is django-otp's real policy as DOMAIN.md states it, on the
// request clock so that its time rules can be judged exactly.
func djangoProfile() harness.Profile {
	return harness.Profile{
		Kinds: []harness.Kind{harness.HOTP, harness.TOTP}, Digits: []int{6, 8},
		Counters:  &harness.CounterRange{Min: 0, Max: 1<<63 - 2},
		LookAhead: harness.Uint64(5), Input: harness.InputLenient,
		Throttle: &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2},
		TOTP:     &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Drift: &harness.DriftPolicy{}},
		Clock:    harness.ClockRequest,
	}
}

// googleProfile is google-authenticator-libpam's real policy (defaults,
// RATE_LIMIT 3 30, DISALLOW_REUSE) as DOMAIN.md states it.
func googleProfile() harness.Profile {
	f := false
	return harness.Profile{
		Kinds:     []harness.Kind{harness.HOTP, harness.TOTP},
		Counters:  &harness.CounterRange{Min: 1, Max: 1<<63 - 1},
		LookAhead: harness.Uint64(2), OnFailure: harness.OnFailureAdvance, Input: harness.InputExact,
		RateLimit: &harness.RateLimitPolicy{Attempts: 3, Per: 30},
		TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1, Reuse: harness.ReuseOnce,
			Resync: &harness.TOTPResync{Codes: 3, Range: 1500}, Periods: []int64{30}, T0: &f},
		Clock: harness.ClockRequest,
	}
}

// declaredNonStrict lists, for a profile, the cases that report a declared
// departure as NON-STRICT, and the ones that FAIL as declared.
func declared(p harness.Profile) map[string]harness.Verdict {
	out := map[string]harness.Verdict{}
	if p.CounterMax() < 1<<64-1 {
		out["rfc4226/5.1/counter-2^64"] = harness.NonStrict
	}
	if p.TOTP != nil && p.TOTP.Drift != nil && p.TOTP.Drift.Max == nil {
		out["rfc6238/6/drift-walk"] = harness.NonStrict
	}
	if p.Advances() {
		out["rfc4226/7.2/reject-keeps-counter"] = harness.Fail
	}
	if !p.HasLimit() {
		// No lockout, throttle or rate limit, claimed or declared: the
		// guessing-limit cases report it.
		out["rfc4226/7.3/guessing-limit"] = harness.NonStrict
		out["rfc4226/7.3/guessing-limit-totp"] = harness.NonStrict
	}
	if p.ReuseAny() {
		out["rfc6238/5.2/reuse-same-step"] = harness.Fail
	}
	return out
}

// accused lists the results that are neither PASS, SKIP nor the declared
// verdict of a declared departure.
func accused(p harness.Profile, rep *harness.Report) int {
	d := declared(p)
	n := 0
	for _, r := range rep.Results {
		if r.Verdict != harness.Pass && r.Verdict != harness.Skip && d[r.ID] != r.Verdict {
			n++
		}
	}
	return n
}

func summary(rep *harness.Report) string {
	d := declared(rep.Profile)
	var b strings.Builder
	for _, r := range rep.Results {
		if r.Verdict != harness.Pass && r.Verdict != harness.Skip && d[r.ID] != r.Verdict {
			fmt.Fprintf(&b, "\n%s %s: %s", r.Verdict, r.ID, strings.Join(r.Messages, " | "))
		}
	}
	return b.String()
}

// fullChecks is the number of property sequences for the tests that run
// the whole suite: the default, or a tenth under -short.
func fullChecks() int {
	if testing.Short() {
		return harness.DefaultChecks / 10
	}
	return harness.DefaultChecks
}

// withoutRace skips t under the race detector. t runs whole suites (or
// many) to judge their verdicts, which the race detector makes five to
// ten times slower without finding more: the engine's concurrency is
// raced by the whole-suite tests that stay (real time over HTTP, per-node
// deployments, profile maxima, the planted race), and `make test` runs t
// in its second pass without the race detector (FULL_SIZE in the
// Makefile). Plain `go test` runs it as usual. In that second pass
// (OTPLAB_FULL_SIZE_PASS=1) t runs in parallel with the other such tests:
// they are CPU-bound judgements, none waits on real time, and one after the
// other they left a core idle at the end of each (49 s to 42 s). Elsewhere
// they stay out of the real-time tests' way, which need the CPU on time.
func withoutRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("judges verdicts at full size: make test runs it without the race detector")
	}
	if os.Getenv("OTPLAB_FULL_SIZE_PASS") == "1" {
		t.Parallel()
	}
}

// TestReferencePassesEveryProfile runs the whole suite, property cases
// included, against the reference with each profile.
func TestReferencePassesEveryProfile(t *testing.T) {
	withoutRace(t)
	for name, p := range profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v, err := reference.New(p)
			require.NoError(t, err)
			rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 7, Checks: fullChecks()})
			require.NoError(t, err)
			c := rep.Counts()
			assert.Zero(t, accused(p, rep), "reference accused:%s", summary(rep))
			assert.Greater(t, c.Pass, 30)
		})
	}
}

// TestReferenceNeverAccused is the collision guard: many seeds, every
// profile (1000-wide resync windows included), and the reference must
// never be accused. Property cases run with fewer sequences per seed here;
// their full count runs above.
func TestReferenceNeverAccused(t *testing.T) {
	withoutRace(t)
	seeds := 50
	if testing.Short() {
		seeds = 5
	}
	for name, p := range profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v, err := reference.New(p)
			require.NoError(t, err)
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: seed * 7919, Checks: 5})
				require.NoError(t, err)
				require.Zero(t, accused(p, rep), "seed %d:%s", seed*7919, summary(rep))
			}
		})
	}
}

// TestMutantClean checks the test's own mutant without a bug: a second,
// independent verifier that must pass too, so that every mutant failure
// below is the planted bug's doing.
func TestMutantClean(t *testing.T) {
	withoutRace(t)
	for name, p := range profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep, err := harness.Execute(t.Context(), newMutant("", p), harness.Options{Seed: 11, Checks: fullChecks()})
			require.NoError(t, err)
			assert.Zero(t, accused(p, rep), "clean mutant accused:%s", summary(rep))
		})
	}
}

// brokenProfile makes every planted bug observable.
func brokenProfile() harness.Profile {
	p := profiles()["l1-resync2x50-lock3"]
	p.LookAhead = harness.Uint64(10)
	p.Input = harness.InputExact
	return p
}

// TestBrokenVerifiersAreCaught plants one bug at a time and names the
// cases that must FAIL because of it.
func TestBrokenVerifiersAreCaught(t *testing.T) {
	withoutRace(t)
	for _, tc := range []struct {
		bug    string
		caught []string
	}{
		{"window-too-wide", []string{"rfc4226/7.4/look-ahead-beyond"}},
		{"window-too-narrow", []string{"rfc4226/7.4/look-ahead-edge"}},
		{"no-advance", []string{"rfc4226/7.2/replay-accepted-code", "rfc4226/7.2/replay-older-code"}},
		{"advance-by-one", []string{"rfc4226/7.4/look-ahead-moves-counter"}},
		{"burn-on-failure", []string{"rfc4226/7.2/reject-keeps-counter"}},
		{"resync-any-order", []string{"rfc4226/7.4/resync-reversed"}},
		{"resync-gap", []string{"rfc4226/7.4/resync-gap"}},
		{"resync-no-move", []string{"rfc4226/7.4/resync-edge", "rfc4226/7.4/resync-replay-after-resync"}},
		{"resync-past-first", []string{"rfc4226/7.4/resync-replay-after-resync"}},
		{"resync-unbounded", []string{"rfc4226/7.4/resync-beyond"}},
		{"resync-behind", []string{"rfc4226/7.4/resync-behind-counter", "rfc4226/7.4/resync-first-is-last-used"}},
		{"lockout-never", []string{"rfc4226/7.3/lockout-after-f", "rfc4226/7.3/lockout-repeated-bad-code"}},
		{"lockout-one-late", []string{"rfc4226/7.3/lockout-after-f"}},
		{"lockout-no-reset", []string{"rfc4226/7.3/lockout-success-resets"}},
		{"locked-accepts", []string{"rfc4226/7.3/lockout-after-f", "rfc4226/7.3/lockout-holds"}},
		{"unlock-noop", []string{"rfc4226/7.3/lockout-unlock"}},
		{"resync-unlocks", []string{"rfc4226/7.3/lockout-resync-while-locked"}},
		{"int-compare", []string{"rfc4226/5.3/input-leading-zero-dropped", "rfc4226/5.3/input-plus-sign", "rfc4226/5.3/input-extra-leading-zero", "rfc4226/5.3/input-leading-space"}},
		{"prefix-compare", []string{"rfc4226/5.3/input-too-short", "rfc4226/5.3/input-empty"}},
		{"unicode-fold", []string{"rfc4226/5.3/input-arabic-indic-digits", "rfc4226/5.3/input-fullwidth-digits"}},
		{"counter-32bit", []string{"rfc4226/5.1/counter-2^32"}},
		{"counter-float64", []string{"rfc4226/5.1/counter-2^53"}},
		{"race", []string{"rfc4226/7.2/concurrent-same-code"}},
		{"totp-reuse", []string{"rfc6238/5.2/reuse-same-step"}},
		{"totp-future", []string{"rfc6238/5.2/skew-ahead-beyond"}},
		{"t0-ignored", []string{"rfc6238/4.1/t0-nonzero"}},
		{"sha256-as-sha1", []string{"rfc4226/5.3/sha256", "rfc6238/4.2/appendix-b-sha256"}},
		{"digits-8-as-6", []string{"rfc4226/5.3/digits-8", "rfc6238/4.2/appendix-b-sha1"}},
		{"wrong-truncation", []string{"rfc4226/5.4/appendix-d"}},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			rep, err := harness.Execute(context.Background(), newMutant(tc.bug, brokenProfile()), harness.Options{Seed: 3, Skip: regexp.MustCompile(`^otplab/model/`)})
			require.NoError(t, err)
			got := map[string]harness.Verdict{}
			for _, r := range rep.Results {
				got[r.ID] = r.Verdict
			}
			for _, id := range tc.caught {
				assert.Equal(t, harness.Fail, got[id], "%s must be caught by %s:%s", tc.bug, id, summary(rep))
			}
		})
	}
}
