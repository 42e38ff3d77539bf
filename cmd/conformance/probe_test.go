package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// probeProfiles are the policies `conformance probe` must recover
// through the CLI; together they use every field of the profile language
// (counters, look_ahead, on_failure, input, resync with auto, lockout with
// release_after, resync_unlocks and counts_resync, throttle, rate_limit,
// and every totp field: skew, reuse, drift bounded and unbounded, skew
// learning, periods, t0).
var probeProfiles = map[string]string{
	"l0-none":     `{"kinds":["hotp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":0,"resync":{"codes":0,"window":0},"lockout":{"after":0,"resync_unlocks":false}}`,
	"l1-resync":   `{"kinds":["hotp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":1,"resync":{"codes":2,"window":50},"lockout":{"after":3,"resync_unlocks":false}}`,
	"l10-totp":    `{"kinds":["hotp","totp"],"algorithms":["SHA1","SHA256","SHA512"],"digits":[6,8],"look_ahead":10,"resync":{"codes":3,"window":1000},"lockout":{"after":10,"resync_unlocks":false},"totp":{"skew_back":2,"skew_ahead":0},"clock":"request"}`,
	"l100-ru":     `{"kinds":["hotp","totp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":100,"resync":{"codes":2,"window":1000},"lockout":{"after":3,"resync_unlocks":true},"totp":{"skew_back":1,"skew_ahead":1},"clock":"request"}`,
	"l3-sha256-8": `{"kinds":["hotp"],"algorithms":["SHA256"],"digits":[8],"look_ahead":3,"resync":{"codes":0,"window":0},"lockout":{"after":5,"resync_unlocks":false}}`,
	"django-otp": `{"kinds":["hotp","totp"],"digits":[6,8],"counters":{"min":0,"max":9223372036854775806},"look_ahead":5,"input":"lenient",
		"throttle":{"after":1,"delay":1,"factor":2},"totp":{"skew_back":1,"skew_ahead":1,"drift":{"max":null}},"clock":"request"}`,
	"google-authenticator-libpam": `{"kinds":["hotp","totp"],"counters":{"min":1,"max":9223372036854775807},"look_ahead":2,"on_failure":"advance","input":"exact",
		"rate_limit":{"attempts":3,"per":30},"totp":{"skew_back":1,"skew_ahead":1,"reuse":"once","resync":{"codes":3,"range":1500},"periods":[30],"t0":false},"clock":"request"}`,
	"privacyidea": `{"look_ahead":9,"resync":{"codes":2,"window":1000,"auto":{"within":300}},"lockout":{"after":10,"release_after":600}}`,
	"throttle-then-lockout": `{"kinds":["hotp"],"look_ahead":3,"resync":{"codes":2,"window":50},
		"lockout":{"after":5,"resync_unlocks":true,"counts_resync":true},"throttle":{"after":2,"delay":5,"factor":3}}`,
	"rate-limit-over-lockout": `{"kinds":["hotp","totp"],"look_ahead":4,"resync":{"codes":3,"window":200},
		"lockout":{"after":4,"resync_unlocks":false,"release_after":120,"counts_resync":true},"rate_limit":{"attempts":2,"per":60},"totp":{"skew_back":1,"skew_ahead":2},"clock":"request"}`,
	"rate-one-narrow-counters": `{"kinds":["hotp"],"counters":{"min":5,"max":1099511627776},"look_ahead":4,"input":"lenient",
		"lockout":{"after":3,"resync_unlocks":false},"rate_limit":{"attempts":1,"per":10}}`,
	"totp-drift-bounded": `{"kinds":["hotp","totp"],"algorithms":["SHA1","SHA256"],"look_ahead":2,
		"totp":{"skew_back":2,"skew_ahead":2,"reuse":"once","drift":{"max":5},"periods":[30,60]},"clock":"request"}`,
	"totp-only-throttle-learning": `{"kinds":["totp"],"lockout":{"after":3,"resync_unlocks":false},"throttle":{"after":1,"delay":10,"factor":1},
		"totp":{"skew_back":1,"skew_ahead":1,"drift":{"max":1},"resync":{"codes":2,"range":40},"t0":false},"clock":"request"}`,
	"auto-resync-throttle-advance": `{"kinds":["hotp"],"digits":[6,8],"look_ahead":1,"on_failure":"advance",
		"resync":{"codes":2,"window":100,"auto":{"within":60}},"throttle":{"after":3,"delay":2,"factor":2}}`,
}

// TestProbeRecoversProfiles starts the reference with each policy and
// checks that `conformance probe` prints exactly it, in the explicit form
// the probe writes (every default spelled out, every purpose served: the
// reference does not model purposes), measuring without trusting the hello
// claim.
func TestProbeRecoversProfiles(t *testing.T) {
	require.GreaterOrEqual(t, len(probeProfiles), 12)
	for name, js := range probeProfiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := filepath.Join(dir, "in.json")
			require.NoError(t, os.WriteFile(in, []byte(js), 0o644))
			start, err := harness.ParseProfile([]byte(js))
			require.NoError(t, err)
			want := probe.Explicit(start)
			want.Flows = []string{harness.PurposeLogin} // the reference serves login only unless flows are claimed
			if len(start.Flows) > 0 {
				want.Flows = start.Flows
			}
			out := filepath.Join(dir, "out.json")
			r := cli(t, context.Background(), "probe", "--profile", in, "--ignore-claim", "--seed", "4", "--out", out, "--report-dir", filepath.Join(dir, "rep"))
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			got, err := harness.ParseProfile(b)
			require.NoError(t, err, string(b))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("probe measured a different profile (-started +measured):\n%s\n%s", d, r.stderr)
			}
			svg, err := os.ReadFile(filepath.Join(dir, "rep", "probe.svg"))
			require.NoError(t, err)
			if start.Throttle != nil {
				assert.Contains(t, string(svg), "refusal after f failures", "the chart draws the throttle curve")
			}
			_, err = os.Stat(filepath.Join(dir, "rep", "report.html"))
			require.NoError(t, err)
			first, _, _ := strings.Cut(r.stderr, "\n")
			t.Log(first)
		})
	}
}

// TestProbeThenRun: the profile probe prints, fed to `run --profile`
// against the same verifier, passes.
func TestProbeThenRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "probed.json")
	r := cli(t, context.Background(), "probe", "--seed", "3", "--out", out)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	r = cli(t, context.Background(), "run", "--profile", out, "--seed", "3", "--checks", "20")
	assert.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.NotContains(t, r.stdout, "FAIL ")
}

// TestProbeWallClockOverHTTP: django-otp's policy served over HTTP on the
// verifier's own clock is probed on real time: the throttle is measured
// (not taken for a lockout), the waits are shown on standard error, and
// --max-wait bounds them.
func TestProbeWallClockOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on real time")
	}
	t.Parallel()
	p, err := harness.ParseProfile([]byte(`{"kinds":["hotp","totp"],"digits":[6,8],"counters":{"min":0,"max":9223372036854775806},"look_ahead":5,"input":"lenient",
		"throttle":{"after":1,"delay":1,"factor":2},"totp":{"skew_back":1,"skew_ahead":1,"drift":{"max":null}},"clock":"wall"}`))
	require.NoError(t, err)
	v, err := reference.New(p)
	require.NoError(t, err)
	srv := httptest.NewServer(wire.NewHandler(v, "/", wire.ServeOptions{}))
	t.Cleanup(srv.Close)
	out := filepath.Join(t.TempDir(), "probed.json")
	r := cli(t, t.Context(), "probe", "--verifier", srv.URL+"/", "--seed", "5", "--max-wait", "6s", "--out", out)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	got, err := harness.ParseProfile(b)
	require.NoError(t, err, string(b))
	require.NotNil(t, got.Throttle, r.stderr)
	assert.Equal(t, harness.ThrottlePolicy{After: 1, Delay: 1, Factor: 2}, *got.Throttle, r.stderr)
	assert.Zero(t, got.LockoutAfter(), "a throttle is not a lockout: %s", r.stderr)
	assert.Equal(t, harness.ClockWall, got.Clock)
	assert.Regexp(t, `waiting \d+ s for .*\(lockout/throttle\)`, r.stderr)
	assert.Regexp(t, `throttle\s+after 1, delay 1 s, factor 2\s+could not tell`, r.stderr)
	assert.Less(t, r.took, 90*time.Second)
}

// fakeNow is a clock the test moves.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

// TestProbeWaitLines: one line when what the probe waits for changes, at
// most one every 5 s otherwise, for the longest wait reported since.
func TestProbeWaitLines(t *testing.T) {
	var buf strings.Builder
	clk := &fakeNow{t: time.Unix(1_000_000, 0)}
	l := &probeWaits{w: &buf, now: clk.now}
	w := func(d time.Duration, why string) { l.report(probe.Waiting{Finding: "throttle", For: d, Why: why}) }
	w(3*time.Second, "a delay to pass")
	clk.t = clk.t.Add(time.Second)
	w(time.Second, "a delay to pass") // too soon: gathered
	w(9*time.Second, "a delay to pass")
	clk.t = clk.t.Add(4 * time.Second)
	w(time.Second, "a delay to pass") // 5 s after the first: shows the longest since
	w(2*time.Second, "the window to pass")
	assert.Equal(t, "waiting 3 s for a delay to pass (throttle)\n"+
		"waiting 5 s for a delay to pass (throttle)\n"+
		"waiting 2 s for the window to pass (throttle)\n", buf.String())
}

// TestProbeMaxWaitFlag: --max-wait wants a second or more.
func TestProbeMaxWaitFlag(t *testing.T) {
	for _, arg := range []string{"0s", "500ms", "-1m"} {
		r := cli(t, t.Context(), "probe", "--max-wait", arg)
		assert.Equal(t, exitUsage, r.code, r.stderr)
		assert.Contains(t, r.stderr, "--max-wait "+strings.TrimPrefix(arg, "+"))
		assert.Contains(t, r.stderr, "want a duration of a second or more")
	}
}
