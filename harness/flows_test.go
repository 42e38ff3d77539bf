package harness_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// doors is a verifier for the seeds' panel built from reference verifiers,
// with one of the classic cross-flow bugs of web applications that check
// codes in a separate handler per door, switched on by name. With bug ""
// it is the reference itself, serving every purpose on one token state.
//
//   - "replay-per-purpose": each door keeps its own copy of the token
//     (its own counter, so its own replay memory); resync and unlock reach
//     every copy. A code spent in recovery still logs in.
//   - "per-purpose-counters": each door keeps its own failure count and
//     lock; an accepted code is passed on to the other doors, so codes are
//     shared. Failures spread over doors never lock the token.
//   - "device-test-uncounted": the "test OTP device" page compares codes
//     on a copy without lockout or throttle and counts nothing when the
//     code is wrong: an unthrottled guessing oracle.
//   - "recovery-ignores-lock": password recovery compares codes on a copy
//     without lockout or throttle and accepts a good code on a locked
//     token: the lockout is bypassed.
//   - "resync-login-only": per-door copies that pass accepted codes on,
//     but a resync moves only login's copy.
//   - "single-resync-first-code": a one-code resync that reads the first
//     code of the list and ignores any others.
//   - "single-resync-wide": a one-code resync whose window is one counter
//     wider than claimed.
type doors struct {
	bug string
	p   harness.Profile

	// mu serialises requests for the bugs that keep two reference
	// verifiers in step, as the buggy applications do not.
	mu     sync.Mutex
	shared *reference.Verifier
	lax    *reference.Verifier            // the door without lockout or throttle
	laxFor string                         // which door uses lax
	per    map[string]*reference.Verifier // one copy per door
}

func newDoors(t testing.TB, bug string, p harness.Profile) *doors {
	t.Helper()
	d := &doors{bug: bug, p: p}
	ref := func(p harness.Profile) *reference.Verifier {
		v, err := reference.New(p)
		require.NoError(t, err)
		return v
	}
	inner := p
	if bug == "single-resync-wide" {
		r := *p.Resync
		r.Window++
		inner.Resync = &r
	}
	d.shared = ref(inner)
	relaxed := p
	relaxed.Lockout, relaxed.Throttle, relaxed.RateLimit = nil, nil, nil
	switch bug {
	case "device-test-uncounted":
		d.lax, d.laxFor = ref(relaxed), harness.PurposeDeviceTest
	case "recovery-ignores-lock":
		d.lax, d.laxFor = ref(relaxed), harness.PurposeRecovery
	case "replay-per-purpose", "per-purpose-counters", "resync-login-only":
		d.per = map[string]*reference.Verifier{}
		for _, f := range harness.Purposes() {
			d.per[f] = ref(p)
		}
	}
	return d
}

func door(purpose string) string {
	if purpose == "" {
		return harness.PurposeLogin
	}
	return purpose
}

func (d *doors) Describe(context.Context) (harness.Info, error) {
	p := d.p
	return harness.Info{Name: "doors " + d.bug, Profile: &p}, nil
}

func (d *doors) Enroll(ctx context.Context, tok harness.Token) error {
	for _, v := range d.all() {
		if err := v.Enroll(ctx, tok); err != nil {
			return err
		}
	}
	return nil
}

// all returns every reference verifier the bug uses.
func (d *doors) all() []*reference.Verifier {
	out := []*reference.Verifier{d.shared}
	if d.lax != nil {
		out = append(out, d.lax)
	}
	for _, f := range harness.Purposes() {
		if v := d.per[f]; v != nil {
			out = append(out, v)
		}
	}
	return out
}

func (d *doors) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if !d.p.SupportsPurpose(req.Purpose) {
		return harness.Reply{}, fmt.Errorf("purpose %q: %w", req.Purpose, harness.ErrUnsupported)
	}
	at := door(req.Purpose)
	switch d.bug {
	case "replay-per-purpose":
		return d.per[at].Check(ctx, req)
	case "per-purpose-counters", "resync-login-only":
		d.mu.Lock()
		defer d.mu.Unlock()
		rep, err := d.per[at].Check(ctx, req)
		if err == nil && rep.Accepted {
			for f, v := range d.per {
				if f != at {
					_, _ = v.Check(ctx, req) // "mark the code used" at the other doors
				}
			}
		}
		return rep, err
	case "device-test-uncounted", "recovery-ignores-lock":
		d.mu.Lock()
		defer d.mu.Unlock()
		if at != d.laxFor {
			rep, err := d.shared.Check(ctx, req)
			if err == nil && rep.Accepted {
				_, _ = d.lax.Check(ctx, req)
			}
			return rep, err
		}
		rep, err := d.lax.Check(ctx, req)
		if err != nil {
			return rep, err
		}
		switch {
		case d.bug == "device-test-uncounted" && !rep.Accepted:
			return rep, nil // a wrong code on the test page counts nowhere
		case d.bug == "device-test-uncounted":
			return d.shared.Check(ctx, req)
		case rep.Accepted:
			_, _ = d.shared.Check(ctx, req) // spends the code unless locked
			return rep, nil
		default:
			return d.shared.Check(ctx, req) // the failure counts
		}
	}
	return d.shared.Check(ctx, req)
}

func (d *doors) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.bug {
	case "replay-per-purpose", "per-purpose-counters":
		var rep harness.Reply
		var err error
		for f, v := range d.per {
			r, e := v.Resync(ctx, req)
			if f == harness.PurposeLogin {
				rep, err = r, e
			}
		}
		return rep, err
	case "resync-login-only":
		return d.per[harness.PurposeLogin].Resync(ctx, req)
	case "single-resync-first-code":
		if len(req.Codes) > 1 {
			req.Codes = req.Codes[:1]
		}
	case "device-test-uncounted", "recovery-ignores-lock":
		rep, err := d.shared.Resync(ctx, req)
		_, _ = d.lax.Resync(ctx, req)
		return rep, err
	}
	return d.shared.Resync(ctx, req)
}

func (d *doors) Unlock(ctx context.Context, serial string) error {
	for _, v := range d.all() {
		if v == d.lax {
			continue // it has no lockout
		}
		if err := v.Unlock(ctx, serial); err != nil {
			return err
		}
	}
	return nil
}

// flowsProfiles are the panels the flows tests run under: the reference
// default serving every door, and the same with a throttle (django-otp's
// delays) so that failures-throttle runs.
func flowsProfiles() map[string]harness.Profile {
	plain := reference.Default()
	plain.Flows = harness.Purposes()
	throttled := plain
	throttled.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2}
	two := plain
	two.Flows = []string{harness.PurposeLogin, harness.PurposeRecovery}
	return map[string]harness.Profile{"all-doors": plain, "all-doors-throttle": throttled, "login-recovery": two}
}

var onlyFlows = regexp.MustCompile(`^otplab/flows/`)

func runFlows(t *testing.T, v harness.Verifier, run *regexp.Regexp, seed uint64) *harness.Report {
	t.Helper()
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: seed, Run: run})
	require.NoError(t, err)
	require.NotEmpty(t, rep.Results)
	return rep
}

func verdicts(rep *harness.Report) map[string]harness.Verdict {
	out := map[string]harness.Verdict{}
	for _, r := range rep.Results {
		out[r.ID] = r.Verdict
	}
	return out
}

// TestFlowsReferencePasses: the reference serving all flows (and the
// planted verifier with no bug) passes every flows case under every panel.
func TestFlowsReferencePasses(t *testing.T) {
	for name, p := range flowsProfiles() {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed-%d", name, seed), func(t *testing.T) {
				t.Parallel()
				for _, v := range []harness.Verifier{must(reference.New(p)), newDoors(t, "", p)} {
					rep := runFlows(t, v, onlyFlows, seed)
					for _, r := range rep.Results {
						want := harness.Pass
						if r.ID == "otplab/flows/failures-throttle" && p.Throttle == nil {
							want = harness.Skip
						}
						assert.Equal(t, want, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
					}
				}
			})
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFlowsCatchPlantedBugs: each cross-flow bug is caught by the cases
// named for it, under every panel that can show it, with several seeds.
func TestFlowsCatchPlantedBugs(t *testing.T) {
	for _, tc := range []struct {
		bug       string
		mustFail  []string
		throttled []string // cases that also FAIL when the panel throttles
	}{
		{"replay-per-purpose", []string{"otplab/flows/spent-for-all", "otplab/flows/concurrent-two-purposes"}, nil},
		{"per-purpose-counters", []string{"otplab/flows/failures-lock", "otplab/flows/locked-refuses-all"}, []string{"otplab/flows/failures-throttle"}},
		{"device-test-uncounted", []string{"otplab/flows/failures-lock"}, []string{"otplab/flows/failures-throttle"}},
		{"recovery-ignores-lock", []string{"otplab/flows/locked-refuses-all"}, nil},
		{"resync-login-only", []string{"otplab/flows/resync-all"}, nil},
	} {
		for name, p := range flowsProfiles() {
			if strings.Contains(tc.bug, "device-test") && !p.SupportsPurpose(harness.PurposeDeviceTest) {
				continue
			}
			t.Run(tc.bug+"/"+name, func(t *testing.T) {
				t.Parallel()
				for _, seed := range []uint64{1, 2} {
					rep := runFlows(t, newDoors(t, tc.bug, p), onlyFlows, seed)
					got := verdicts(rep)
					want := tc.mustFail
					if p.Throttle != nil {
						want = append(want, tc.throttled...)
					}
					for _, id := range want {
						assert.Equal(t, harness.Fail, got[id], "seed %d: %s must catch %s", seed, id, tc.bug)
					}
					for _, r := range rep.Results {
						assert.NotEqual(t, harness.Error, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
					}
				}
			})
		}
	}
}

// TestFlowsNotClaimed: a verifier that does not list flows is judged on
// login only. The flows section SKIPs with one reason, every other result
// is exactly what it is without the section, and nothing else SKIPs anew.
//
// The engine today gives every case of the section its own SKIP line (with
// the same reason); see the report for the engine change that shows the
// section as one line.
func TestFlowsNotClaimed(t *testing.T) {
	p := reference.Default()
	rep := runFlows(t, must(reference.New(p)), nil, 4)
	reasons := map[string]bool{}
	section := 0
	for _, r := range rep.Results {
		if r.Section != "otplab/flows" {
			continue
		}
		section++
		assert.Equal(t, harness.Skip, r.Verdict, r.ID)
		reasons[strings.Join(r.Messages, "\n")] = true
	}
	require.Equal(t, 1, section)
	require.Len(t, reasons, 1, "one reason for the whole section")
	for reason := range reasons {
		assert.Contains(t, reason, "does not claim flows")
		assert.Contains(t, reason, "login only")
	}

	skip := regexp.MustCompile(`^otplab/flows/`)
	rest, err := harness.Execute(t.Context(), must(reference.New(p)), harness.Options{Seed: 4, Skip: skip})
	require.NoError(t, err)
	restV := verdicts(rest)
	for _, r := range rep.Results {
		if r.Section == "otplab/flows" {
			continue
		}
		assert.Equal(t, restV[r.ID], r.Verdict, "%s changed with the flows section present", r.ID)
	}
	assert.Equal(t, len(rest.Results)+section, len(rep.Results))
}

// TestSingleResync: the newer panel's one-code resync. The reference
// passes the edges; a resync that ignores extra codes and one a counter
// too wide are caught; the guessing finding is NON-STRICT exactly when no
// throttle and no lockout counting resyncs are claimed, and states the odds.
func TestSingleResync(t *testing.T) {
	single := regexp.MustCompile(`^rfc4226/7\.4/resync-single-`)
	panel := func(set func(p *harness.Profile)) harness.Profile {
		p := reference.Default()
		p.Flows = harness.Purposes()
		p.Resync = &harness.ResyncPolicy{Codes: 1, Window: 20}
		if set != nil {
			set(&p)
		}
		return p
	}
	open := panel(nil)
	counted := panel(func(p *harness.Profile) { p.Lockout = &harness.LockoutPolicy{After: 5, CountsResync: true} })
	throttled := panel(func(p *harness.Profile) { p.Throttle = &harness.ThrottlePolicy{After: 3, Delay: 2, Factor: 2} })
	wide := panel(func(p *harness.Profile) { p.Resync.Window = 1000; p.Lockout = nil })

	for name, p := range map[string]harness.Profile{"open": open, "counted": counted, "throttled": throttled, "wide": wide} {
		t.Run("reference/"+name, func(t *testing.T) {
			rep := runFlows(t, must(reference.New(p)), regexp.MustCompile(`^rfc4226/7\.4/resync-|^otplab/flows/`), 9)
			for _, r := range rep.Results {
				want := []harness.Verdict{harness.Pass, harness.Skip}
				if r.ID == "rfc4226/7.4/resync-single-guessing" {
					want = []harness.Verdict{harness.Pass}
					// A throttle alone does not count rejected resyncs, so it
					// does not slow down an attacker who sends only resyncs.
					if name == "open" || name == "wide" || name == "throttled" {
						want = []harness.Verdict{harness.NonStrict}
					}
				}
				assert.Contains(t, want, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
				if strings.HasPrefix(r.ID, "rfc4226/7.4/resync-single-") && r.ID != "rfc4226/7.4/resync-single-guessing" {
					assert.Equal(t, harness.Pass, r.Verdict, r.ID)
				}
			}
			g := find(rep, "rfc4226/7.4/resync-single-guessing")
			msg := strings.Join(g.Messages, "\n")
			switch name {
			case "open":
				assert.Contains(t, msg, "with window R and no lockout, each guess succeeds with probability about R/10^6")
				assert.Contains(t, msg, "(20+1)/10^6 = 2.1e-05")
				assert.Contains(t, msg, "does not count rejected resyncs")
			case "wide":
				assert.Contains(t, msg, "(1000+1)/10^6 = 0.001")
				assert.Contains(t, msg, "with no lockout, and rejected resyncs slow nothing down")
			case "counted":
				assert.Contains(t, msg, "at most 5 guesses")
			}
		})
	}
	for _, tc := range []struct{ bug, id string }{
		{"single-resync-first-code", "rfc4226/7.4/resync-single-count"},
		{"single-resync-wide", "rfc4226/7.4/resync-single-edge"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			for _, seed := range []uint64{1, 2, 3} {
				rep := runFlows(t, newDoors(t, tc.bug, counted), single, seed)
				assert.Equal(t, harness.Fail, find(rep, tc.id).Verdict, "seed %d", seed)
			}
		})
	}
}

func find(rep *harness.Report, id string) harness.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return harness.Result{}
}

// TestFlowsNeverAccuseReference is the collision and interplay guard of
// the flows and single-code resync cases: the reference serving every
// door, under panels with unusual policies, many seeds, never FAILs or
// ERRORs (NON-STRICT only for the guessing finding).
func TestFlowsNeverAccuseReference(t *testing.T) {
	seeds := 20
	if testing.Short() || raceEnabled {
		seeds = 3
	}
	all := harness.Purposes()
	base := func(set func(p *harness.Profile)) harness.Profile {
		p := reference.Default()
		p.Flows = all
		set(&p)
		return p
	}
	panels := map[string]harness.Profile{
		"advance-l0-lock1": base(func(p *harness.Profile) {
			p.LookAhead, p.OnFailure, p.Lockout = harness.Uint64(0), harness.OnFailureAdvance, &harness.LockoutPolicy{After: 1}
		}),
		"auto-resync-release": base(func(p *harness.Profile) {
			p.LookAhead = harness.Uint64(2)
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 50, Auto: &harness.AutoResync{Within: 60}}
			p.Lockout = &harness.LockoutPolicy{After: 3, ReleaseAfter: 600, CountsResync: true}
		}),
		"rate-limit-throttle": base(func(p *harness.Profile) {
			p.RateLimit = &harness.RateLimitPolicy{Attempts: 3, Per: 30}
			p.Throttle = &harness.ThrottlePolicy{After: 2, Delay: 5, Factor: 3}
			p.Lockout = &harness.LockoutPolicy{After: 6, ResyncUnlocks: true}
		}),
		"single-resync-lenient-once": base(func(p *harness.Profile) {
			p.Input = harness.InputLenient
			p.Resync = &harness.ResyncPolicy{Codes: 1, Window: 300}
			p.TOTP = &harness.TOTPPolicy{SkewBack: 2, SkewAhead: 1, Reuse: harness.ReuseOnce}
			p.Lockout = nil
		}),
		"three-codes-two-doors": base(func(p *harness.Profile) {
			p.Flows = []string{harness.PurposeDeviceTest, harness.PurposeLogin}
			p.Resync = &harness.ResyncPolicy{Codes: 3, Window: 1000}
		}),
	}
	run := regexp.MustCompile(`^otplab/flows/|^rfc4226/7\.4/resync-single-`)
	for name, p := range panels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(seeds) {
				rep := runFlows(t, must(reference.New(p)), run, seed+100)
				for _, r := range rep.Results {
					ok := r.Verdict == harness.Pass || r.Verdict == harness.Skip ||
						(r.Verdict == harness.NonStrict && r.ID == "rfc4226/7.4/resync-single-guessing")
					assert.True(t, ok, "seed %d: %s %s: %s", seed+100, r.Verdict, r.ID, strings.Join(r.Messages, "\n"))
				}
			}
		})
	}
}
