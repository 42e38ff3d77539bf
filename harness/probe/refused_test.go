package probe_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

// overflowing enrolls any counter but answers a check of a HOTP token
// enrolled at 2^63 or above with an application error, as a Python service
// storing the counter in a signed 64-bit column does.
type overflowing struct {
	*reference.Verifier
	mu   sync.Mutex
	high map[string]bool
}

const overflowText = "OverflowError: Python int too large to convert to C long"

func (o *overflowing) Enroll(ctx context.Context, tok harness.Token) error {
	o.mu.Lock()
	o.high[tok.Serial] = tok.Kind == harness.HOTP && tok.Counter >= 1<<63
	o.mu.Unlock()
	return o.Verifier.Enroll(ctx, tok)
}

func (o *overflowing) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	o.mu.Lock()
	high := o.high[req.Serial]
	o.mu.Unlock()
	if high {
		return harness.Reply{}, &harness.RefusedError{Op: "check", Message: overflowText}
	}
	return o.Verifier.Check(ctx, req)
}

// TestProbeGoesOnPastARefusedCheck: a check refused with an application
// error makes that measurement "could not tell", naming the check and the
// verifier's text; the probe completes and writes a profile, and a
// verifier with no limit on guessing is declared limits "none".
func TestProbeGoesOnPastARefusedCheck(t *testing.T) {
	p := reference.Default()
	p.Lockout = nil
	ref, err := reference.New(p)
	require.NoError(t, err)
	v := &overflowing{Verifier: ref, high: map[string]bool{}}
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 3, Trials: -1, IgnoreClaim: true})
	require.NoError(t, err, "a refused check does not stop the probe")
	f, ok := res.Finding("counters")
	require.True(t, ok, "findings: %+v", res.Findings)
	assert.Equal(t, probe.CouldNotTell, f.Certainty)
	assert.Contains(t, f.Evidence, "could not tell (the verifier refused a check at counter 2^64-1 (HOTP token ")
	assert.Contains(t, f.Evidence, overflowText)
	_, later := res.Finding("look-ahead")
	assert.True(t, later, "the measurements after it went on")
	assert.Equal(t, harness.LimitsNone, res.Profile.Limits)
	assert.Nil(t, res.Profile.Lockout, "no lockout written: the declaration says it")
	require.NoError(t, res.Profile.Validate())
	g, ok := res.Finding("guessing-limit")
	require.True(t, ok)
	assert.True(t, g.Weak)
	assert.Contains(t, g.Evidence, "no limit on guessing: 100 wrong codes then the right one accepted")
	var b strings.Builder
	require.NoError(t, res.Table(&b))
	assert.Contains(t, b.String(), "(!) falls short of the RFCs")
	assert.Contains(t, b.String(), "guessing-limit: no limit on guessing")
}
