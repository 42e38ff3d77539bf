package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/internal/pyexe"
	"github.com/otplab/otplab/token"
)

func panelDevice(t *testing.T) *token.C100 {
	t.Helper()
	d, err := token.NewC100(token.C100Config{Serial: "1000000000001", Secret: []byte("12345678901234567890")})
	require.NoError(t, err)
	return d
}

func refWith(t *testing.T, set func(p *harness.Profile)) *reference.Verifier {
	t.Helper()
	p := reference.Default()
	p.Flows = harness.Purposes()
	if set != nil {
		set(&p)
	}
	v, err := reference.New(p)
	require.NoError(t, err)
	return v
}

// TestPanelReference: the built-in reference plays the whole story as the
// guides say, and the same seed plays the same codes.
func TestPanelReference(t *testing.T) {
	args := []string{"panel", "--verifier", "reference", "--seed", "demo"}
	out := ok(t, args...)
	for _, want := range []string{
		"flows login, recovery, password-change, device-test, signature",
		"1. activate", "enroll the token", "lose sync        press 15 times, submit nothing (counter 16)",
		"rejected  (as the guides expect: 15 codes ahead, beyond the look-ahead of 10)",
		"and ~10 s later", "recover password", "a code spent in recovery is spent for login",
		"test OTP device", "remote signature 2",
		"panel: 12 steps, all as the guides expect",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "UNEXPECTED")
	assert.NotContains(t, out, "3132333435")
	assert.Equal(t, out, ok(t, args...), "the same seed plays the same story")
}

// TestPanelHTTP: the story over the http transport, as a vendor runs it.
func TestPanelHTTP(t *testing.T) {
	srv := httptest.NewServer(wire.NewHandler(refWith(t, nil), "/otp", wire.ServeOptions{}))
	defer srv.Close()
	out := ok(t, "panel", "--verifier", srv.URL+"/otp", "--drift", "40", "--at", "2026-11-23T09:00:00Z")
	assert.Contains(t, out, "press 40 times, submit nothing (counter 41)")
	assert.Contains(t, out, "all as the guides expect")
}

// TestPanelCatchesCrossFlowBug: a verifier whose recovery page does not
// spend the code (it checks a copy of the token) is shown UNEXPECTED at the
// login that follows recovery, and the walk-through fails.
func TestPanelCatchesCrossFlowBug(t *testing.T) {
	v := &recoveryCopy{Verifier: refWith(t, nil), copy: refWith(t, nil)}
	var out bytes.Buffer
	err := playPanel(t.Context(), v, panelDevice(t), panelOptions{start: t0}, &out)
	require.ErrorIs(t, err, errStory)
	assert.Contains(t, out.String(), "UNEXPECTED: the guides expect rejected: a code spent in recovery is spent for login")
	assert.Equal(t, exitFailure, exitCode(err))
}

// recoveryCopy checks recovery codes on a copy of the token that never
// learns what login spent, and login never learns what recovery spent.
type recoveryCopy struct {
	harness.Verifier
	copy *reference.Verifier
}

func (r *recoveryCopy) Enroll(ctx context.Context, tok harness.Token) error {
	if err := r.copy.Enroll(ctx, tok); err != nil {
		return err
	}
	return r.Verifier.Enroll(ctx, tok)
}

func (r *recoveryCopy) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if req.Purpose == harness.PurposeRecovery {
		return r.copy.Check(ctx, req)
	}
	return r.Verifier.Check(ctx, req)
}

func (r *recoveryCopy) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	_, _ = r.copy.Resync(ctx, req)
	return r.Verifier.Resync(ctx, req)
}

// TestPanelLoginOnly: a verifier that serves login only shows the other
// doors as skipped and still passes.
func TestPanelLoginOnly(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, playPanel(t.Context(), v, panelDevice(t), panelOptions{start: t0}, &out))
	assert.Contains(t, out.String(), "skipped  (the verifier does not serve recovery)")
	assert.Contains(t, out.String(), "5 skipped (not served)")
	assert.NotContains(t, out.String(), "UNEXPECTED")
}

// TestPanelSingleCodeResync: the newer panel resyncs with the serial and
// one code, and a verifier without resync keeps the token in sync.
func TestPanelSingleCodeResync(t *testing.T) {
	var out bytes.Buffer
	v := refWith(t, func(p *harness.Profile) { p.Resync = &harness.ResyncPolicy{Codes: 1, Window: 12} })
	require.NoError(t, playPanel(t.Context(), v, panelDevice(t), panelOptions{start: t0}, &out))
	assert.Contains(t, out.String(), "press 11 times, submit nothing (counter 12)", "the drift stays inside the window")
	assert.Contains(t, out.String(), "serial and one code")
	assert.NotContains(t, out.String(), "UNEXPECTED")

	out.Reset()
	none := refWith(t, func(p *harness.Profile) { p.Resync = nil })
	require.NoError(t, playPanel(t.Context(), none, panelDevice(t), panelOptions{start: t0}, &out))
	assert.Contains(t, out.String(), "skipped: the verifier claims no resync")
}

// TestPanelWrongResync: a verifier that rejects a good resync is caught.
func TestPanelWrongResync(t *testing.T) {
	v := &noResync{refWith(t, nil)}
	var out bytes.Buffer
	err := playPanel(t.Context(), v, panelDevice(t), panelOptions{start: t0}, &out)
	require.ErrorIs(t, err, errStory)
	assert.Contains(t, out.String(), "resync")
	assert.Contains(t, out.String(), "UNEXPECTED: the guides expect accepted")
}

type noResync struct{ *reference.Verifier }

func (noResync) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, nil
}

func TestPanelBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"panel"}, "panel needs --verifier"},
		{[]string{"panel", "--verifier", "ftp://x"}, `--verifier "ftp://x": want reference`},
		{[]string{"panel", "--verifier", "exec:"}, "no command after exec:"},
		{[]string{"panel", "--verifier", "exec:/nonexistent/verifier"}, "/nonexistent/verifier"},
		{[]string{"panel", "--verifier", "reference", "--drift", "0"}, "--drift 0: want 1 to"},
		{[]string{"panel", "--verifier", "reference", "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"panel", "--verifier", "reference", "--at", "soon"}, "--at: time \"soon\""},
		{[]string{"panel", "--verifier", "reference", "extra"}, "panel takes no arguments"},
	} {
		r := tokensim(tc.args...)
		assert.Equal(t, exitInput, r.code, "%v: %s", tc.args, r.err)
		assert.Contains(t, r.err, tc.want, tc.args)
		assert.Equal(t, 1, strings.Count(r.err, "\n"), "one line: %q", r.err)
		assert.Empty(t, r.out, tc.args)
	}
}

// TestPanelVerifierDown: a verifier that cannot be reached is a failure
// of the system (exit 1), not of the input.
func TestPanelVerifierDown(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	r := tokensim("panel", "--verifier", url, "--timeout", "2s")
	assert.Equal(t, exitFailure, r.code, r.err)
	assert.True(t, strings.HasPrefix(r.err, "tokensim: hello:"), r.err)
}

// TestPanelPyshim: the story over exec against the Python example, when a
// python3 is installed.
func TestPanelPyshim(t *testing.T) {
	var f pyexe.Finder
	py, err := f.Path()
	if errors.Is(err, pyexe.ErrNoPython) {
		t.Skip(err)
	}
	require.NoError(t, err)
	out := ok(t, "panel", "--verifier", "exec:"+py+" ../../examples/pyshim/verifier.py", "--seed", "demo")
	assert.Contains(t, out, `against "pyshim"`)
	assert.Contains(t, out, "panel: 12 steps, all as the guides expect")
}

// TestPanelDriftBeyondWindow: with --drift at or beyond the claimed
// resync window, the story follows the profile: a resync beyond the
// window is told as such and rejected, the token stays out of sync, and
// the reference is never blamed (it was blamed on 6 steps).
func TestPanelDriftBeyondWindow(t *testing.T) {
	for _, drift := range []int{998, 999, 1000, 1001, 5000} {
		t.Run(strconv.Itoa(drift), func(t *testing.T) {
			var out bytes.Buffer
			err := playPanel(t.Context(), refWith(t, nil), panelDevice(t), panelOptions{start: t0, drift: drift}, &out)
			require.NoError(t, err, out.String())
			assert.NotContains(t, out.String(), "UNEXPECTED")
			if drift+1 > 1000 {
				assert.Contains(t, out.String(), fmt.Sprintf("the first code is %d ahead of the server, beyond the resync window of 1000", drift+1))
				assert.NotContains(t, out.String(), "inside the resync window")
				assert.Contains(t, out.String(), "the claimed profile says so here")
			} else {
				assert.Contains(t, out.String(), "inside the resync window")
			}
		})
	}
	out := ok(t, "panel", "--verifier", "reference", "--seed", "demo", "--drift", "1000")
	assert.Contains(t, out, "all as the guides expect")
}

// TestPanelResyncBeyondWindowCaught: a verifier that claims a window of
// 1000 but resyncs from further away is caught at the resync step.
func TestPanelResyncBeyondWindowCaught(t *testing.T) {
	wide := refWith(t, func(p *harness.Profile) { p.Resync = &harness.ResyncPolicy{Codes: 2, Window: 100_000} })
	v := claimsProfile{wide, refWith(t, nil)}
	var out bytes.Buffer
	err := playPanel(t.Context(), v, panelDevice(t), panelOptions{start: t0, drift: 2000}, &out)
	require.ErrorIs(t, err, errStory)
	assert.Regexp(t, `resync .* accepted  UNEXPECTED: the guides expect rejected: the first code is 2001 ahead of the server, beyond the resync window of 1000`, out.String())
}

// claimsProfile enforces one reference's policy and claims another's.
type claimsProfile struct {
	*reference.Verifier
	claim *reference.Verifier
}

func (c claimsProfile) Describe(ctx context.Context) (harness.Info, error) {
	return c.claim.Describe(ctx)
}
