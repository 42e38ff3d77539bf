package probe_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

// genProfile draws a profile the probe can tell apart from every other:
// no rate limit of one check (which hides short throttle delays), a
// throttle that starts before the lockout, a drift bound no narrower than
// the skew ahead, a skew-learning range beyond the window.
func genProfile(t *rapid.T) harness.Profile {
	p := harness.Profile{Clock: harness.ClockRequest}
	hotp, totp := true, rapid.Bool().Draw(t, "totp")
	if totp && rapid.Bool().Draw(t, "totp-only") {
		hotp = false
	}
	if hotp {
		p.Kinds = append(p.Kinds, harness.HOTP)
	}
	if totp {
		p.Kinds = append(p.Kinds, harness.TOTP)
	}
	p.Input = rapid.SampledFrom([]string{"", harness.InputExact, harness.InputLenient}).Draw(t, "input")
	if hotp {
		l := rapid.Uint64Range(0, 20).Draw(t, "look_ahead")
		p.LookAhead = &l
		if rapid.Bool().Draw(t, "advance") {
			p.OnFailure = harness.OnFailureAdvance
		}
		if n := rapid.IntRange(0, 3).Draw(t, "resync.codes"); n > 0 {
			p.Resync = &harness.ResyncPolicy{Codes: n, Window: rapid.Uint64Range(l+1, 300).Draw(t, "resync.window")}
			if n == 2 && rapid.Bool().Draw(t, "auto") {
				p.Resync.Auto = &harness.AutoResync{Within: rapid.Int64Range(1, 1000).Draw(t, "auto.within")}
			}
		}
		if rapid.Bool().Draw(t, "counters") {
			p.Counters = &harness.CounterRange{Min: rapid.Uint64Range(0, 3).Draw(t, "min"), Max: rapid.Uint64Range(1<<21, 1<<63).Draw(t, "max")}
		}
	}
	lock := rapid.IntRange(0, 8).Draw(t, "lockout.after")
	if lock > 0 {
		p.Lockout = &harness.LockoutPolicy{After: lock, ResyncUnlocks: rapid.Bool().Draw(t, "resync_unlocks"),
			CountsResync: rapid.Bool().Draw(t, "counts_resync")}
		if rapid.Bool().Draw(t, "release") {
			p.Lockout.ReleaseAfter = rapid.Int64Range(1, 2000).Draw(t, "release_after")
		}
	}
	if (lock == 0 || lock > 2) && rapid.Bool().Draw(t, "throttle") {
		top := 6
		if lock > 0 {
			top = lock - 2 // a lockout right after the throttle's start hides its factor
		}
		p.Throttle = &harness.ThrottlePolicy{After: rapid.IntRange(1, top).Draw(t, "throttle.after"),
			Delay: rapid.Int64Range(1, 50).Draw(t, "throttle.delay"), Factor: rapid.Int64Range(1, 4).Draw(t, "throttle.factor")}
		if lock == 0 && p.Throttle.After == 1 && p.Throttle.Factor == 1 {
			p.Throttle.Factor = 2 // {1, D, 1} is an unflagged lock that releases
		}
	}
	if l := p.Lockout; l != nil && l.ReleaseAfter > 0 && l.ReleaseAfter <= p.ThrottleDelay(l.After) {
		l.ReleaseAfter += p.ThrottleDelay(l.After) // a release within the delay is never seen
	}
	if hotp && rapid.Bool().Draw(t, "rate") {
		p.RateLimit = &harness.RateLimitPolicy{Attempts: rapid.IntRange(2, 6).Draw(t, "rate.attempts"), Per: rapid.Int64Range(1, 120).Draw(t, "rate.per")}
	}
	if totp {
		a := rapid.Uint64Range(0, 3).Draw(t, "skew_ahead")
		b := rapid.Uint64Range(0, 3).Draw(t, "skew_back")
		tp := &harness.TOTPPolicy{SkewBack: b, SkewAhead: a}
		if rapid.Bool().Draw(t, "once") {
			tp.Reuse = harness.ReuseOnce
		}
		switch rapid.IntRange(0, 2).Draw(t, "drift") {
		case 1:
			tp.Drift = &harness.DriftPolicy{}
		case 2:
			// A bound below the skew cuts the window itself.
			tp.Drift = &harness.DriftPolicy{Max: harness.Uint64(rapid.Uint64Range(max(a, b), 20).Draw(t, "drift.max"))}
		}
		if rapid.Bool().Draw(t, "learning") {
			tp.Resync = &harness.TOTPResync{Codes: rapid.IntRange(2, 4).Draw(t, "learn.codes"), Range: rapid.Uint64Range(a+1, 300).Draw(t, "learn.range")}
		}
		if d := tp.Drift; tp.Resync != nil && d != nil && d.Max != nil && *d.Max < tp.Resync.Range {
			// A drift bound that keeps the window from following a learnt
			// skew is not measured (a known limit of the probe, in
			// docs/protocol.md).
			tp.Resync.Range = max(*d.Max, a+1)
			d.Max = harness.Uint64(tp.Resync.Range)
		}
		if rapid.Bool().Draw(t, "periods") {
			tp.Periods = []int64{30, 60}
		}
		if rapid.Bool().Draw(t, "t0") {
			tp.T0 = no()
		}
		p.TOTP = tp
	}
	return p
}

// TestProbeRecoversRandomProfiles: any profile the probe can tell apart
// is recovered exactly.
func TestProbeRecoversRandomProfiles(t *testing.T) {
	pinSeed(t)
	harness.RapidCheck(t, func(t *rapid.T) {
		start := genProfile(t)
		v, err := reference.New(start)
		if err != nil {
			t.Skip(err) // an invalid combination
		}
		res, err := probe.Probe(t.Context(), v, probe.Options{Seed: rapid.Uint64Range(1, 1<<40).Draw(t, "seed"), IgnoreClaim: true, Trials: 2})
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		if d := cmp.Diff(recovered(start), res.Profile); d != "" {
			t.Fatalf("probed profile differs (-started +probed):\n%s\n%s", d, table(res))
		}
	})
}

// genAnyProfile draws from the whole profile language, confounds
// included: rate limits of one check, throttles that start at or after
// the lockout, releases within the throttle's delay, drift bounds inside
// the skew.
func genAnyProfile(t *rapid.T) harness.Profile {
	p := genProfile(t)
	if rapid.Bool().Draw(t, "confound") {
		if p.SupportsKind(harness.HOTP) && rapid.Bool().Draw(t, "rate1") {
			p.RateLimit = &harness.RateLimitPolicy{Attempts: 1, Per: rapid.Int64Range(1, 60).Draw(t, "rate1.per")}
		}
		if rapid.Bool().Draw(t, "late-throttle") {
			p.Throttle = &harness.ThrottlePolicy{After: rapid.IntRange(1, 10).Draw(t, "lt.after"),
				Delay: rapid.Int64Range(1, 50).Draw(t, "lt.delay"), Factor: rapid.Int64Range(1, 4).Draw(t, "lt.factor")}
		}
		if p.Lockout != nil && rapid.Bool().Draw(t, "short-release") {
			p.Lockout.ReleaseAfter = rapid.Int64Range(1, 5).Draw(t, "short.release")
		}
		if tp := p.TOTP; tp != nil && rapid.Bool().Draw(t, "narrow-drift") {
			tp.Drift = &harness.DriftPolicy{Max: harness.Uint64(rapid.Uint64Range(0, 2).Draw(t, "narrow.max"))}
			// A bound that narrow keeps the window from following a learnt
			// skew, which the probe does not measure (docs/protocol.md).
			tp.Resync = nil
		}
	}
	return p
}

// unsure reports whether some finding admits it may be wrong.
func unsure(res *probe.Result) []string {
	var out []string
	for _, f := range res.Findings {
		switch f.Certainty {
		case probe.CouldNotTell:
			out = append(out, f.Name)
		case probe.NotObserved:
			if f.Name == "throttle" || f.Name == "lockout" {
				// "none" seen up to the limits, or a throttle that may
				// hide under a rate limit: only the latter is doubt.
				if strings.Contains(f.Evidence, "hide under") {
					out = append(out, f.Name)
				}
			}
		}
	}
	return out
}

// TestProbeNeverSilentlyWrong: for any profile, the probe prints the
// profile it started with, or one the suite cannot tell from it (running
// the suite with it accuses the verifier of nothing the starting profile
// does not), or some finding says it could not tell.
func TestProbeNeverSilentlyWrong(t *testing.T) {
	pinSeed(t)
	harness.RapidCheck(t, func(t *rapid.T) {
		start := genAnyProfile(t)
		v, err := reference.New(start)
		if err != nil {
			t.Skip(err)
		}
		res, err := probe.Probe(t.Context(), v, probe.Options{Seed: rapid.Uint64Range(1, 1<<40).Draw(t, "seed"), IgnoreClaim: true, Trials: -1})
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		d := cmp.Diff(recovered(start), res.Profile)
		if d == "" || len(unsure(res)) > 0 {
			return
		}
		probed := res.Profile
		run := func(p harness.Profile) map[string]harness.Verdict {
			rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &p, Seed: 5, Checks: 10})
			if err != nil {
				t.Fatalf("execute: %v", err)
			}
			out := map[string]harness.Verdict{}
			for _, r := range rep.Results {
				if r.Verdict != harness.Pass && r.Verdict != harness.Skip && !declared(p, r) {
					out[r.ID] = r.Verdict
				}
			}
			return out
		}
		base, got := run(start), run(probed)
		for id, v := range got {
			if base[id] != v {
				t.Fatalf("the probe printed a different profile, every finding sure, and the suite accuses the verifier under it: %s %s\n%s\n%s", v, id, d, table(res))
			}
		}
	})
}

// pinSeed fixes rapid's seed for the probe's random-profile properties, so
// that CI judges the same profiles every run; OTPLAB_EXPLORE=1 lets rapid
// draw a new seed each run, to look for more (as the session that wrote
// these did, finding the confounds docs/protocol.md lists).
func pinSeed(t *testing.T) {
	if os.Getenv("OTPLAB_EXPLORE") != "" {
		return
	}
	f := flag.Lookup("rapid.seed")
	if f == nil || f.Value.String() != "0" {
		return // absent, or set on the command line
	}
	if err := f.Value.Set("20261202"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Value.Set("0") })
}
