package probe_test

import (
	"context"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/token"
)

// racy is a HOTP verifier (look-ahead 2) that reads a token's counter,
// compares and writes it back without holding a lock in between, so that
// concurrent checks of one code can all be accepted.
type racy struct {
	mu   sync.Mutex
	toks map[string]*racyTok
}

type racyTok struct {
	key *token.Key
	c   uint64
}

func (r *racy) Enroll(_ context.Context, tok harness.Token) error {
	k, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil || tok.Kind != harness.HOTP {
		return &harness.RefusedError{Op: "enroll", Message: "hotp only"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.toks[tok.Serial] = &racyTok{key: k, c: tok.Counter}
	return nil
}

func (r *racy) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	r.mu.Lock()
	t := r.toks[req.Serial]
	c, key := t.c, t.key.Clone() // a Key is not safe for concurrent use
	r.mu.Unlock()
	runtime.Gosched() // the window in which another check reads the same c
	k, ok := key.Find(req.Code, c, 2)
	if !ok {
		return harness.Reply{}, nil
	}
	r.mu.Lock()
	t.c = k + 1
	r.mu.Unlock()
	return harness.Reply{Accepted: true}, nil
}

func (r *racy) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, harness.ErrUnsupported
}

func (r *racy) Unlock(context.Context, string) error { return harness.ErrUnsupported }

func TestProbeCatchesDoubleAcceptance(t *testing.T) {
	res, err := probe.Probe(t.Context(), &racy{toks: map[string]*racyTok{}}, probe.Options{Seed: 2, Trials: 40})
	require.NoError(t, err)
	f, ok := res.Finding("concurrency")
	require.True(t, ok)
	assert.True(t, f.Departs, f.Evidence)
	assert.Contains(t, f.Value, "not atomic")
	assert.Contains(t, f.Value, "of 40 trials")
	assert.Contains(t, f.Evidence, "observed rate")

	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	res, err = probe.Probe(t.Context(), v, probe.Options{Seed: 2, Trials: 40})
	require.NoError(t, err)
	f, _ = res.Finding("concurrency")
	assert.False(t, f.Departs)
	assert.Equal(t, "atomic: 0 of 40 trials accepted a code twice", f.Value)
	assert.Equal(t, 40*9, f.Requests, "an enroll and 8 checks per trial")
}

// halfLenient strips white space around a code and nothing else: neither
// input rule of the profile.
type halfLenient struct{ *reference.Verifier }

func (h halfLenient) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	r.Code = strings.TrimSpace(r.Code)
	return h.Verifier.Check(ctx, r)
}

func TestProbeInputNeitherExactNorLenient(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), halfLenient{v}, probe.Options{Seed: 2, IgnoreClaim: true})
	require.NoError(t, err)
	f, _ := res.Finding("input")
	assert.True(t, f.Departs)
	assert.Equal(t, "neither exact nor lenient", f.Value)
	assert.Contains(t, f.Evidence, "accepted with a space before")
	assert.Empty(t, res.Profile.Input, "left unclaimed")
}

// noUnlock is the reference without the unlock op.
type noUnlock struct{ *reference.Verifier }

func (noUnlock) Unlock(context.Context, string) error {
	return &harness.RefusedError{Op: "unlock", Message: "operation not supported"}
}

// TestProbeWithoutUnlock: without unlock, the probe lets time pass
// instead, and still recovers privacyIDEA's policy.
func TestProbeWithoutUnlock(t *testing.T) {
	start := startingProfiles()["privacyidea"]
	v, err := reference.New(start)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), noUnlock{v}, probe.Options{Seed: 5, IgnoreClaim: true})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(recovered(start), res.Profile), table(res))
	f, _ := res.Finding("unlock")
	assert.Equal(t, "unsupported", f.Value)
	of, _ := res.Finding("on-failure")
	assert.Contains(t, of.Evidence, "108000000 s", "time passed instead of an unlock")
}

// TestProbeReportsClaimDifferencesOfEveryFamily: a verifier that claims
// django-otp's policy and enforces google-authenticator-libpam's.
func TestProbeReportsClaimDifferencesOfEveryFamily(t *testing.T) {
	ps := startingProfiles()
	v, err := reference.New(ps["google-authenticator-libpam"])
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), liar{v, ps["django-otp"]}, probe.Options{Seed: 3})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(recovered(ps["google-authenticator-libpam"]), res.Profile), table(res))
	f, _ := res.Finding("claim")
	for _, want := range []string{
		"digits claimed [6 8], measured [6]",
		"counters claimed 0..9223372036854775806, measured 1..9223372036854775807",
		"look_ahead claimed 5, measured 2",
		"on_failure claimed keep, measured advance",
		"input claimed lenient, measured exact",
		"throttle claimed after 1, delay 1 s, factor 2, measured none",
		"rate_limit claimed none, measured 3 per 30 s",
		"totp claimed back 1 ahead 1, drift unbounded, measured back 1 ahead 1, reuse once, skew learning 3 codes range 1500, periods [30], t0 0 only",
	} {
		assert.Contains(t, f.Evidence, want)
	}
	assert.Equal(t, uint64(math.MaxInt64), res.Profile.Counters.Max)
}
