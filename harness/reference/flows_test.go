package reference

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

// allFlows serves every purpose of protocol v1.
func allFlows(p *harness.Profile) { p.Flows = harness.Purposes() }

// TestFlows: every purpose is one token state. A code spent at one door is
// spent at all, failures at any door add up, a lock closes every door, and
// a resync moves the counter for all of them.
func TestFlows(t *testing.T) {
	const (
		login  = harness.PurposeLogin
		rec    = harness.PurposeRecovery
		change = harness.PurposePasswordChange
		test   = harness.PurposeDeviceTest
		sign   = harness.PurposeSignature
	)
	lock := func(f int) func(p *harness.Profile) {
		return func(p *harness.Profile) {
			allFlows(p)
			p.Lockout = &harness.LockoutPolicy{After: f}
		}
	}
	runScripts(t, []script{
		{"a code spent in recovery does not log in", profile(3, allFlows), hotpToken(0), []step{
			{code: h(0), purpose: rec, want: true},
			{code: h(0), purpose: login},
			{code: h(0)},
			{code: h(0), purpose: sign},
			{code: h(1), want: true},
		}},
		{"every door moves one counter", profile(3, allFlows), hotpToken(0), []step{
			{code: h(0), purpose: login, want: true},
			{code: h(1), purpose: rec, want: true},
			{code: h(2), purpose: change, want: true},
			{code: h(3), purpose: test, want: true},
			{code: h(4), purpose: sign, want: true},
			{code: h(3), purpose: sign},
		}},
		{"device-test failures count toward the login lockout", profile(0, lock(3)), hotpToken(0), []step{
			{code: h(5), purpose: test},
			{code: h(5), purpose: test},
			{code: h(5), purpose: test, locked: true},
			{code: h(0), locked: true},
		}},
		{"login failures count toward a recovery lockout", profile(0, lock(2)), hotpToken(0), []step{
			{code: h(5)},
			{code: h(5), purpose: change, locked: true},
			{code: h(0), purpose: rec, locked: true},
			{code: h(0), purpose: test, locked: true},
			{unlock: true},
			{code: h(0), purpose: rec, want: true},
		}},
		{"a success at another door resets the count", profile(0, lock(2)), hotpToken(0), []step{
			{code: h(5)},
			{code: h(0), purpose: sign, want: true},
			{code: h(5), purpose: test},
			{code: h(1), want: true},
		}},
		{"a resync moves the counter for every door", profile(0, func(p *harness.Profile) {
			allFlows(p)
			p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 50}
		}), hotpToken(0), []step{
			{code: h(20), purpose: sign},
			{resync: []string{h(20), h(21)}, want: true},
			{code: h(22), purpose: sign, want: true},
			{code: h(23), purpose: rec, want: true},
			{code: h(21), purpose: test},
		}},
		{"a throttle after a device-test failure holds recovery", profile(0, func(p *harness.Profile) {
			allFlows(p)
			p.Throttle = &harness.ThrottlePolicy{After: 1, Delay: 10, Factor: 1}
		}), hotpToken(0), []step{
			{at: 100, code: h(5), purpose: test},
			{at: 105, code: h(0), purpose: rec},
			{at: 110, code: h(0), purpose: rec, want: true},
		}},
		{"single-code resync", profile(0, func(p *harness.Profile) {
			allFlows(p)
			p.Resync = &harness.ResyncPolicy{Codes: 1, Window: 10}
		}), hotpToken(0), []step{
			{resync: []string{h(11)}},
			{resync: []string{h(10), h(11)}},
			{resync: []string{h(10)}, want: true},
			{resync: []string{h(10)}},
			{code: h(10), purpose: rec},
			{code: h(11), purpose: rec, want: true},
		}},
	})
}

// TestFlowsUnsupported: a purpose outside the profile's flows is refused
// with ErrUnsupported and changes nothing; without flows only login (or no
// purpose) is served.
func TestFlowsUnsupported(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		flows   []string
		served  []string
		refused []string
	}{
		{"no flows", nil, []string{"", harness.PurposeLogin}, []string{harness.PurposeRecovery, harness.PurposeDeviceTest, "Login", "x"}},
		{"login and recovery", []string{harness.PurposeLogin, harness.PurposeRecovery}, []string{"", harness.PurposeLogin, harness.PurposeRecovery}, []string{harness.PurposeSignature, "recovery "}},
		{"recovery only", []string{harness.PurposeRecovery}, []string{harness.PurposeRecovery}, []string{"", harness.PurposeLogin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(profile(0, func(p *harness.Profile) { p.Flows = tc.flows }))
			require.NoError(t, err)
			require.NoError(t, v.Enroll(ctx, hotpToken(0)))
			for _, f := range tc.refused {
				_, err := v.Check(ctx, harness.CheckRequest{Serial: serial, Code: h(0), Purpose: f})
				require.ErrorIs(t, err, harness.ErrUnsupported, "purpose %q", f)
			}
			for i, f := range tc.served {
				rep, err := v.Check(ctx, harness.CheckRequest{Serial: serial, Code: h(uint64(i)), Purpose: f})
				require.NoError(t, err, "purpose %q", f)
				assert.True(t, rep.Accepted, "purpose %q: the refused checks changed nothing", f)
			}
		})
	}
}

// TestFlowsConcurrent: one code sent to two doors at once is accepted
// exactly once. Run with -race.
func TestFlowsConcurrent(t *testing.T) {
	v, err := New(profile(5, allFlows))
	require.NoError(t, err)
	for round := range 20 {
		require.NoError(t, v.Enroll(t.Context(), hotpToken(uint64(round))))
		var accepted atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			purpose := harness.Purposes()[i%len(harness.Purposes())]
			wg.Go(func() {
				<-start
				rep, err := v.Check(t.Context(), harness.CheckRequest{Serial: serial, Code: h(uint64(round)), Time: time.Unix(0, 0), Purpose: purpose})
				if err == nil && rep.Accepted {
					accepted.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(1), accepted.Load(), "round %d", round)
	}
}
