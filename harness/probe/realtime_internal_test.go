package probe

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// realProber is a prober on real time whose clock the test reads from now.
func realProber(t *testing.T, now func() time.Time, maxWait time.Duration) *prober {
	t.Helper()
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	p := newProber(t.Context(), v, Options{Seed: 1, Clock: harness.ClockWall, Now: now, MaxWait: maxWait})
	p.clock = harness.ClockWall
	return p
}

func TestPhasePoint(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		frac, want time.Duration
	}{
		{0, rtPhase},                 // before the phase: the one a second ago is too old
		{rtPhase, rtPhase},           // at it
		{rtPhase + rtStart, rtPhase}, // as late as allowed
		{rtPhase + rtStart + 1, rtPhase + time.Second}, // later: the next one
	} {
		now := base.Add(tt.frac)
		p := realProber(t, func() time.Time { return now }, time.Minute)
		assert.Equal(t, base.Add(tt.want), p.phasePoint(), "frac %v", tt.frac)
	}
}

// TestPlaceNeverGoesBack: on real time a token's requests go at
// non-decreasing seconds, and no single wait exceeds MaxWait.
func TestPlaceNeverGoesBack(t *testing.T) {
	now := time.Unix(1_700_000_000, 0).Add(rtPhase)
	p := realProber(t, func() time.Time { return now }, 5*time.Second)
	tk := &tok{p: p, t: harness.Token{Serial: "1000000000001"}}
	moved, err := tk.place(100)
	require.NoError(t, err)
	assert.Zero(t, moved)
	_, err = tk.place(99)
	assert.True(t, errors.Is(err, errBackInTime), "%v", err)
	_, err = tk.place(100 + 60)
	assert.True(t, errors.Is(err, errTooLong), "%v", err)
}

// TestPlaceMovesOnWhenLate: a request more than rtSlack late moves the
// token's clock on by whole seconds and says by how many.
func TestPlaceMovesOnWhenLate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0).Add(rtPhase)
	p := realProber(t, func() time.Time { return now }, 5*time.Second)
	tk := &tok{p: p, t: harness.Token{Serial: "1000000000001"}}
	_, err := tk.place(10)
	require.NoError(t, err)
	now = now.Add(2*time.Second + 500*time.Millisecond) // second 12.5: second 11 is late
	moved, err := tk.place(11)
	require.NoError(t, err)
	assert.Equal(t, int64(2), moved)
	assert.Equal(t, int64(2), p.late)
	assert.Equal(t, time.Unix(1_700_000_002, 0).Add(rtPhase), tk.rt.origin, "the phase is kept")
}

// TestSleepStopsOnCancel: a wait on real time ends with the context.
func TestSleepStopsOnCancel(t *testing.T) {
	p := realProber(t, time.Now, time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	p.ctx = ctx
	cancel()
	err := p.sleep(time.Hour)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSpread(t *testing.T) {
	assert.Equal(t, []int64{3, 4, 5}, spread(2, 6, 32))
	assert.Empty(t, spread(2, 3, 32))
	xs := spread(0, 1000, 4)
	assert.Equal(t, []int64{200, 400, 600, 800}, xs)
}

// TestHorizonAndMargin: simulated time waits up to Wait with no margin;
// real time up to MaxWait, a second past every edge.
func TestHorizonAndMargin(t *testing.T) {
	p := realProber(t, time.Now, 7*time.Second)
	assert.Equal(t, int64(7), p.horizon())
	assert.Equal(t, int64(1), p.margin())
	assert.Equal(t, int64(4), p.past(3))
	assert.Equal(t, int64(0), p.past(0))
	p.clock = harness.ClockRequest
	assert.Equal(t, int64(Wait), p.horizon())
	assert.Equal(t, int64(0), p.margin())
	assert.Equal(t, int64(3), p.past(3))
}

// TestOverran: a request's second of the token's clock ends rtPhase
// before the token's next second begins, where a verifier counting whole
// seconds of a synchronised clock moves on.
func TestOverran(t *testing.T) {
	start := time.Unix(1_700_000_000, 0).Add(rtPhase)
	now := start
	p := realProber(t, func() time.Time { return now }, 5*time.Second)
	tk := &tok{p: p, t: harness.Token{Serial: "1000000000001"}}
	assert.False(t, tk.overran(10), "a token with no timed request yet")
	_, err := tk.place(10)
	require.NoError(t, err)
	for _, tt := range []struct {
		u     int64
		after time.Duration
		want  bool
	}{
		{10, 0, false},
		{10, time.Second - rtPhase, false},
		{10, time.Second - rtPhase + time.Millisecond, true},
		{11, time.Second + 500*time.Millisecond, false},
		{11, 2 * time.Second, true},
	} {
		now = start.Add(tt.after)
		assert.Equal(t, tt.want, tk.overran(tt.u), "second %d, %v after the origin", tt.u, tt.after)
	}
	p.clock = harness.ClockRequest
	assert.False(t, tk.overran(10), "simulated time never overruns")
}

// TestOnTimeRedoesSlippedAcceptances: on real time an acceptance whose
// check slipped is redone on a fresh token, up to rtTries in all; a
// refusal, or an acceptance on time, ends the tries.
func TestOnTimeRedoesSlippedAcceptances(t *testing.T) {
	type out struct{ refused, slipped bool }
	for _, tt := range []struct {
		name    string
		outs    []out
		tries   int
		refused bool
		slow    bool
	}{
		{"refused at once", []out{{true, false}}, 1, true, false},
		{"refused although slipped", []out{{true, true}}, 1, true, false},
		{"accepted on time", []out{{false, false}}, 1, false, false},
		{"slipped then refused", []out{{false, true}, {true, false}}, 2, true, false},
		{"slipped twice then accepted on time", []out{{false, true}, {false, true}, {false, false}}, 3, false, false},
		{"slipped every time", []out{{false, true}, {false, true}, {false, true}}, 3, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := realProber(t, time.Now, 5*time.Second)
			n := 0
			refused, _, err := p.onTime("the correct code after 1 failure", func() (bool, *blockTok, error) {
				o := tt.outs[n]
				n++
				return o.refused, &blockTok{slipped: o.slipped}, nil
			})
			assert.Equal(t, tt.tries, n, "tries")
			assert.Equal(t, tt.refused, refused)
			assert.Equal(t, tt.slow, errors.Is(err, errTooSlow), "%v", err)
			if tt.slow {
				assert.EqualError(t, err, "the correct code after 1 failure (3 tries on fresh tokens): "+errTooSlow.Error())
			} else {
				assert.NoError(t, err)
			}
			slips := 0
			for _, o := range tt.outs[:n] {
				if o.slipped && !o.refused {
					slips++
				}
			}
			assert.Equal(t, int64(slips), p.slips)
		})
	}
	// On simulated time nothing slips: one try, whatever it says.
	p := realProber(t, time.Now, 5*time.Second)
	p.clock = harness.ClockRequest
	n := 0
	_, _, err := p.onTime("x", func() (bool, *blockTok, error) { n++; return false, &blockTok{slipped: true}, nil })
	assert.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestUnsettledLockoutClaimsNothing: a lockout step that could not tell
// before it found a lockout or a throttle leaves them out of the profile,
// rather than declaring that nothing limits guessing.
func TestUnsettledLockoutClaimsNothing(t *testing.T) {
	p := realProber(t, time.Now, 5*time.Second)
	p.lockDone = true
	assert.Equal(t, harness.LimitsNone, p.profile().Limits, "a finished search that found nothing declares none")
	p.unsettled("lockout")
	pr := p.profile()
	assert.Empty(t, pr.Limits)
	assert.Nil(t, pr.Lockout)
	assert.Nil(t, pr.Throttle)

	p = realProber(t, time.Now, 5*time.Second)
	p.lockDone, p.lockAfter = true, 3
	p.unsettled("lockout")
	require.NotNil(t, p.profile().Lockout, "a lockout found before the step stopped is kept")
	assert.Equal(t, 3, p.profile().Lockout.After)
}

// TestFirstTrueRedoesSlippedHolds: a probe that went out late and held
// (a rate limit's window seemed over because the probe waited behind the
// preparation of the others) is probed again on a fresh token, and the
// edge is where honest probes put it; when every try slips, the search
// gives up with errTooSlow rather than report the early edge.
func TestFirstTrueRedoesSlippedHolds(t *testing.T) {
	const edge = 4
	for _, tt := range []struct {
		name    string
		slips   int // how many probes of x=1 slip (and then hold)
		want    int64
		tooMuch bool
	}{
		{"no slip", 0, edge, false},
		{"one slip", 1, edge, false},
		{"two slips", 2, edge, false},
		{"every try slips", 3, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := realProber(t, time.Now, 20*time.Second)
			prepared := map[int64]int{}
			prepare := func(x int64) (timedProbe, error) {
				prepared[x]++
				n := prepared[x]
				return func() (bool, bool, error) {
					if x == 1 && n <= tt.slips {
						return true, true, nil
					}
					return x >= edge, false, nil
				}, nil
			}
			x, ok, err := p.firstTrue(0, prepare, nil)
			if tt.tooMuch {
				assert.ErrorIs(t, err, errTooSlow)
				assert.Equal(t, rtTries, prepared[1])
				return
			}
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, tt.want, x)
			assert.Equal(t, int64(min(tt.slips, rtTries)), p.slips)
		})
	}
}
