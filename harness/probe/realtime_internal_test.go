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
		{rtPhase + rtSlack, rtPhase}, // as late as allowed
		{rtPhase + rtSlack + 1, rtPhase + time.Second}, // later: the next one
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
