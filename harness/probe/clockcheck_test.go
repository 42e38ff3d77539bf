package probe_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/internal/pyexe"
)

// setClient stands for an exec client under --clock auto: it sets the
// verifier's clock to each request's time (when follow is set: else the
// verifier keeps reading real time, as past RTLD_DEEPBIND), and says so
// only once the verifier has started (the first request after hello), as
// a client whose hello took longer than any deadline learns it late.
type setClient struct {
	v       *reference.Verifier
	clk     *harness.ManualClock
	follow  bool
	started atomic.Bool
}

func (s *setClient) set(at time.Time) {
	if s.follow {
		s.clk.Set(at)
	}
}

func (s *setClient) Describe(ctx context.Context) (harness.Info, error) { return s.v.Describe(ctx) }
func (s *setClient) Enroll(ctx context.Context, tok harness.Token) error {
	s.started.Store(true)
	return s.v.Enroll(ctx, tok)
}
func (s *setClient) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	s.set(r.Time)
	return s.v.Check(ctx, r)
}
func (s *setClient) Resync(ctx context.Context, r harness.ResyncRequest) (harness.Reply, error) {
	s.set(r.Time)
	return s.v.Resync(ctx, r)
}
func (s *setClient) Unlock(ctx context.Context, serial string) error { return s.v.Unlock(ctx, serial) }
func (s *setClient) SetsClock() bool                                 { return s.started.Load() }

// totpWall is a TOTP-only policy on the verifier's own clock, with no
// time rules.
func totpWall() harness.Profile {
	return harness.Profile{Kinds: []harness.Kind{harness.TOTP}, Algorithms: []string{"SHA1"}, Digits: []int{6},
		TOTP: &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1}, Lockout: &harness.LockoutPolicy{After: 3}, Clock: harness.ClockWall}
}

// TestProbeClockSetLate: a verifier whose clock the client sets, known
// only after it started, is never measured as taking the request's time
// (the clock it reads is set to it: "wall"), and the clock check says its
// clock follows.
func TestProbeClockSetLate(t *testing.T) {
	t.Parallel()
	clk := &harness.ManualClock{}
	v, err := reference.New(totpWall(), reference.WithClock(clk.Now))
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), &setClient{v: v, clk: clk, follow: true}, probe.Options{Seed: 4, Trials: -1})
	require.NoError(t, err)
	f, ok := res.Finding("clock")
	require.True(t, ok)
	assert.Equal(t, harness.ClockWall, f.Value, f.Evidence)
	c, ok := res.Finding("clock-check")
	require.True(t, ok, "the clock the client sets is checked")
	assert.Equal(t, harness.ClockFollows, c.Value, c.Evidence)
	assert.Equal(t, harness.ClockWall, res.Profile.Clock)
}

// TestProbeClockNotFollowing: a client that says it sets the clock while
// the verifier reads real time: the check finds it, and the probe
// measures it as a verifier on its own clock (the window on real time).
func TestProbeClockNotFollowing(t *testing.T) {
	t.Parallel()
	v, err := reference.New(totpWall()) // time.Now
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), &setClient{v: v, clk: &harness.ManualClock{}}, probe.Options{Seed: 5, Trials: -1, MaxWait: time.Second,
		Waiting: func(w probe.Waiting) { t.Logf("waiting %v: %s", w.For, w.Why) }})
	require.NoError(t, err)
	c, ok := res.Finding("clock-check")
	require.True(t, ok)
	assert.Equal(t, harness.ClockRealTime, c.Value, c.Evidence)
	f, _ := res.Finding("clock")
	assert.Equal(t, harness.ClockWall, f.Value, f.Evidence)
	require.NotNil(t, res.Profile.TOTP)
	assert.Equal(t, uint64(1), res.Profile.TOTP.SkewBack, "measured on real time")
	assert.Equal(t, uint64(1), res.Profile.TOTP.SkewAhead)
}

// TestProbeSlowStartUnderFakeClock: a Python verifier on its own clock
// that takes 3 s to start, under --clock auto, whose first hello does not
// complete (the CLI's once missed its deadline; now an interrupted start
// does the same): the probe still finds that the client sets its clock,
// and measures "wall", never "request".
func TestProbeSlowStartUnderFakeClock(t *testing.T) {
	t.Parallel()
	if _, err := wire.FindFakeTime(); err != nil {
		t.Skipf("%v", err)
	}
	var py pyexe.Finder
	exe, err := py.Path()
	if errors.Is(err, pyexe.ErrNoPython) {
		t.Skip(err)
	}
	require.NoError(t, err)
	script, err := filepath.Abs("../wire/testdata/clock/verifier.py")
	require.NoError(t, err)
	c, err := wire.NewExec([]string{exe, script, "gettime", "--sleep", "3"}, wire.ExecOptions{Clock: wire.ClockAuto})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	hctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(time.Second, cancel)
	_, err = c.Describe(hctx)
	cancel()
	require.Error(t, err, "the first hello is interrupted")
	res, err := probe.Probe(t.Context(), c, probe.Options{Seed: 6, Trials: -1, MaxWait: time.Second, Timeout: 60 * time.Second})
	require.NoError(t, err)
	f, ok := res.Finding("clock")
	require.True(t, ok)
	assert.Equal(t, harness.ClockWall, f.Value, f.Evidence)
	cc, ok := res.Finding("clock-check")
	require.True(t, ok)
	assert.Equal(t, harness.ClockFollows, cc.Value, cc.Evidence)
}
