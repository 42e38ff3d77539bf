package harness_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// setClockProfiles are the profiles the SetClock tests judge on the wall
// clock: between them they claim every time rule (throttle, rate limit,
// release, drift, skew learning, auto-resync, periods).
var setClockProfiles = []string{"default", "throttle-constant-release", "drift-bounded-once", "google-authenticator", "privacyidea", "django-otp"}

// extraSkips lists the cases that SKIP in got and not in want.
func extraSkips(want, got *harness.Report) []string {
	before := map[string]bool{}
	for _, id := range skipped(want) {
		before[id] = true
	}
	var out []string
	for _, id := range skipped(got) {
		if !before[id] {
			out = append(out, id)
		}
	}
	return out
}

// verdictDiff lists the cases whose verdicts differ between the reports.
func verdictDiff(want, got *harness.Report) []string {
	w, g := verdicts(want), verdicts(got)
	var out []string
	for id, v := range w {
		if g[id] != v {
			out = append(out, fmt.Sprintf("%s: %s, want %s", id, g[id], v))
		}
	}
	for id, v := range g {
		if _, ok := w[id]; !ok {
			out = append(out, fmt.Sprintf("%s: %s, not in the request-clock run", id, v))
		}
	}
	sort.Strings(out)
	return out
}

// skipped lists the cases that SKIP, sorted.
func skipped(rep *harness.Report) []string {
	var out []string
	for _, r := range rep.Results {
		if r.Verdict == harness.Skip {
			out = append(out, r.ID)
		}
	}
	sort.Strings(out)
	return out
}

// TestSetClockWallLikeRequest runs the whole catalogue against the
// reference on its own clock ("wall"), a ManualClock that Options.SetClock
// moves, and against the same profile on the request clock: the two runs
// must give every case the same verdict, SKIPs included.
func TestSetClockWallLikeRequest(t *testing.T) {
	all := profiles()
	for _, name := range setClockProfiles {
		p, ok := all[name]
		require.True(t, ok, "profile %s", name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const seed = 77
			checks := fullChecks()
			if raceEnabled {
				checks /= 10 // the clock gate's concurrency is what is raced here
			}
			req, err := reference.New(p)
			require.NoError(t, err)
			want, err := harness.Execute(t.Context(), req, harness.Options{Seed: seed, Checks: checks})
			require.NoError(t, err)

			wall := p
			wall.Clock = harness.ClockWall
			clk := &harness.ManualClock{}
			v, err := reference.New(wall, reference.WithClock(clk.Now))
			require.NoError(t, err)
			got, err := harness.Execute(t.Context(), v, harness.Options{Seed: seed, SetClock: clk.Set, Checks: checks})
			require.NoError(t, err)

			assert.True(t, got.ClockSet, "the report says the clock was set")
			require.NotNil(t, got.ClockCheck, "a clock the harness sets is checked")
			if wall.SupportsKind(harness.TOTP) && wall.SupportsPeriod(30) {
				assert.Equal(t, harness.ClockFollows, got.ClockCheck.Verdict, got.ClockCheck.Note)
			}
			assert.Equal(t, harness.ClockWall, got.Profile.Clock, "the report keeps the claimed clock")
			assert.Equal(t, "otplab reference verifier", got.Verifier, "hello reaches the verifier through the clock")
			assert.Nil(t, got.ClockOffset, "no offset is measured on simulated time")
			assert.Zero(t, accused(wall, got), "wall clock under SetClock:%s", summary(got))
			assert.Empty(t, extraSkips(want, got), "SKIPs the request-clock run does not have")
			assert.Empty(t, verdictDiff(want, got), "verdicts that differ from the request-clock run's")
			t.Logf("%d cases, %d SKIP in both runs", len(got.Results), len(skipped(got)))
			assert.NotEmpty(t, got.Results)
		})
	}
}

// TestSetClockBugsCaught plants verifiers whose clock follows the clock the
// harness sets only at the present simulated time (a clock that ignores
// Set and stays there) or one step off it: each must fail TOTP cases. A
// verifier whose clock does not follow at all (it reads time.Now) is
// judged on real time instead: TestClockCheckNotFollowing.
func TestSetClockBugsCaught(t *testing.T) {
	wall := reference.Default()
	wall.Clock = harness.ClockWall
	tests := []struct {
		name string
		// build returns the verifier and the SetClock to run it with.
		build func(t *testing.T) (harness.Verifier, func(time.Time))
	}{
		{"clock set but ignored", func(t *testing.T) (harness.Verifier, func(time.Time)) {
			clk := &harness.ManualClock{}
			clk.Set(time.Unix(1_767_225_600, 0))
			v, err := reference.New(wall, reference.WithClock(clk.Now))
			require.NoError(t, err)
			return v, func(time.Time) {} // the clock stays where it was
		}},
		{"clock one step behind", func(t *testing.T) (harness.Verifier, func(time.Time)) {
			clk := &harness.ManualClock{}
			v, err := reference.New(wall, reference.WithClock(func() time.Time { return clk.Now().Add(-31 * time.Second) }))
			require.NoError(t, err)
			return v, clk.Set
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, set := tc.build(t)
			rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &wall, Seed: 3, SetClock: set,
				Run: regexp.MustCompile(`^rfc6238/`)})
			require.NoError(t, err)
			var failed []string
			for _, r := range rep.Results {
				if r.Verdict == harness.Fail {
					failed = append(failed, r.ID)
				}
			}
			assert.NotEmpty(t, failed, "a verifier off the set clock passes every TOTP case")
			t.Logf("FAIL: %s", strings.Join(failed, " "))
		})
	}
}

// helloLess is a verifier without Describe.
type helloLess struct{ v *reference.Verifier }

func (h helloLess) Enroll(ctx context.Context, tok harness.Token) error { return h.v.Enroll(ctx, tok) }
func (h helloLess) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	return h.v.Check(ctx, r)
}
func (h helloLess) Resync(ctx context.Context, r harness.ResyncRequest) (harness.Reply, error) {
	return h.v.Resync(ctx, r)
}
func (h helloLess) Unlock(ctx context.Context, serial string) error { return h.v.Unlock(ctx, serial) }

// TestSetClockWithoutHello: a verifier that is no Describer still runs
// under SetClock, with the name and profile from Options.
func TestSetClockWithoutHello(t *testing.T) {
	wall := reference.Default()
	wall.Clock = harness.ClockWall
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(clk.Now))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), helloLess{v}, harness.Options{Profile: &wall, Name: "mine", Seed: 9,
		SetClock: clk.Set, Run: regexp.MustCompile(`^rfc6238/(4\.2/appendix-b-sha1|4\.2/year-2603|5\.2/reuse-clock-back)$`)})
	require.NoError(t, err)
	assert.Equal(t, "mine", rep.Verifier)
	assert.True(t, rep.ClockSet)
	require.Len(t, rep.Results, 3)
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
}

// TestNoSetClockIsRealTime: without SetClock, an in-process wall verifier
// is judged on real time as before: a case that needs the clock to go
// back SKIPs.
func TestNoSetClockIsRealTime(t *testing.T) {
	wall := reference.Default()
	wall.Clock = harness.ClockWall
	v, err := reference.New(wall)
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 9, Run: regexp.MustCompile(`^rfc6238/5\.2/reuse-clock-back$`)})
	require.NoError(t, err)
	assert.False(t, rep.ClockSet)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, harness.Skip, rep.Results[0].Verdict, "%v", rep.Results[0].Messages)
}

// TestManualClock: the zero value reads the zero time, and Now returns
// what Set gave, from any goroutine.
func TestManualClock(t *testing.T) {
	var c harness.ManualClock
	assert.True(t, c.Now().IsZero())
	at := time.Unix(1_000_000_000, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Set(at)
	}()
	<-done
	assert.True(t, c.Now().Equal(at))
	c.Set(at.Add(time.Hour))
	assert.True(t, c.Now().Equal(at.Add(time.Hour)))
}

// TestSetClockUnderRun: harness.Run takes SetClock too; the TOTP cases of
// a wall verifier pass as subtests.
func TestSetClockUnderRun(t *testing.T) {
	wall := reference.Default()
	wall.Clock = harness.ClockWall
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(clk.Now))
	require.NoError(t, err)
	harness.Run(t, v, harness.Options{Seed: 11, SetClock: clk.Set, Run: regexp.MustCompile(`^rfc6238/`)})
}
