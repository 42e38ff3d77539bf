package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness/wire"
)

// wallShim returns the --verifier value of examples/pyshim/verifier.py on
// its own clock with the given extra arguments, skipping the test when
// python3 or libfaketime is missing.
func wallShim(t *testing.T, args string) string {
	t.Helper()
	py := pythonExe(t)
	if _, err := wire.FindFakeTime(); err != nil {
		t.Skipf("%v: the fake clock cannot run (.ci/run and make interop install it)", err)
	}
	shim, err := filepath.Abs("../../examples/pyshim/verifier.py")
	require.NoError(t, err)
	return "exec:" + shellQuote(py) + " " + shellQuote(shim) + " --clock wall " + args
}

// cliSpec is the --verifier value that runs this test binary as
// "conformance ARGS".
func cliSpec(t *testing.T, args string) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return fmt.Sprintf("exec:%s %s %s", shellQuote(exe), cliArg, args)
}

// clockDoc is what these tests read of report.json.
type clockDoc struct {
	ClockSet bool `json:"clock_set"`
	Profile  struct {
		Clock string `json:"clock"`
	} `json:"profile"`
	Counts struct {
		Pass, Skip int
	} `json:"counts"`
	Failing []string `json:"failing"`
}

func runClock(t *testing.T, want int, args ...string) (result, clockDoc) {
	t.Helper()
	dir := t.TempDir()
	r := cli(t, t.Context(), append(args, "--seed", "1", "--report-dir", dir)...)
	require.Equal(t, want, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var d clockDoc
	require.NoError(t, json.Unmarshal(data, &d))
	return r, d
}

// TestRunWallClockPyshim: the Python shim on its own clock passes the
// whole suite under the fake clock, as many cases as on the request's
// clock; --clock wall leaves it on real time, and its time cases SKIP.
func TestRunWallClockPyshim(t *testing.T) {
	t.Parallel()
	spec := wallShim(t, "")
	_, base := runClock(t, exitOK, "run", "--verifier", regexp.MustCompile(` --clock wall $`).ReplaceAllString(spec, ""))
	for _, flag := range []string{"auto", "fake"} {
		_, d := runClock(t, exitOK, "run", "--verifier", spec, "--clock", flag)
		assert.True(t, d.ClockSet, flag)
		assert.Equal(t, "wall", d.Profile.Clock, flag)
		assert.Equal(t, base.Counts, d.Counts, "--clock %s: judged like the shim on the request's clock", flag)
	}
	_, d := runClock(t, exitOK, "run", "--verifier", spec, "--clock", "wall")
	assert.False(t, d.ClockSet)
	assert.Greater(t, d.Counts.Skip, base.Counts.Skip)
}

// TestRunWallClockBugs: planted wall-clock bugs are caught under the fake
// clock; the TOTP ones on real time too.
func TestRunWallClockBugs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    string
		failing []string // among the failing cases
	}{
		{"--bug skew-ahead", []string{"rfc6238/5.2/skew-ahead-beyond"}},
		{"--bug totp-reuse", []string{"rfc6238/5.2/reuse-same-step", "rfc6238/5.2/reuse-older-step"}},
		{"--throttle --bug throttle-forever", []string{"rfc4226/7.3/throttle-refuses", "rfc4226/7.3/throttle-grows"}},
	} {
		t.Run(tc.args, func(t *testing.T) {
			spec := wallShim(t, tc.args)
			run := []string{"run", "--verifier", spec, "--run", `^rfc6238/5\.2/|^rfc4226/7\.3/`}
			_, d := runClock(t, exitFailed, append(run, "--clock", "fake")...)
			assert.True(t, d.ClockSet)
			for _, id := range tc.failing {
				assert.Contains(t, d.Failing, id)
			}
			if tc.args != "--throttle --bug throttle-forever" {
				// The skew-edge and reuse cases are judged on real time
				// too (the throttle cases SKIP there).
				_, d := runClock(t, exitFailed, append(run, "--clock", "wall")...)
				assert.False(t, d.ClockSet)
				assert.ElementsMatch(t, tc.failing, d.Failing)
			}
		})
	}
	// The throttle, right, passes.
	_, d := runClock(t, exitOK, "run", "--verifier", wallShim(t, "--throttle"), "--run", `^rfc4226/7\.3/throttle`)
	assert.Positive(t, d.Counts.Pass)
}

// TestRunReferenceWallWrapper: the reference verifier on its own clock,
// as an exec wrapper ("conformance serve --stdio --clock wall"), passes
// every case under the clock file; under libfaketime it is refused (a Go
// program) with a warning and runs on real time.
func TestRunReferenceWallWrapper(t *testing.T) {
	t.Parallel()
	_, base := runClock(t, exitOK, "run", "--verifier", cliSpec(t, "serve --stdio"))
	spec := cliSpec(t, "serve --stdio --clock wall")
	_, d := runClock(t, exitOK, "run", "--verifier", spec, "--clock", "file")
	assert.True(t, d.ClockSet)
	assert.Equal(t, "wall", d.Profile.Clock)
	assert.Equal(t, base.Counts, d.Counts)
	if _, err := wire.FindFakeTime(); err != nil {
		t.Skipf("%v", err)
	}
	r, d := runClock(t, exitOK, "run", "--verifier", spec, "--clock", "fake")
	assert.False(t, d.ClockSet)
	assert.Regexp(t, regexp.MustCompile(`warning: --clock fake: .*is a Go program.*runs on real time`), r.stderr)
}

func TestRunClockUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--clock", "sundial"}, `--clock "sundial": want auto, fake, file or wall`},
		{[]string{"run", "--clock", "fake"}, "--clock fake: only an exec: verifier's clock can be set"},
		{[]string{"run", "--clock", "file", "--verifier", "http://127.0.0.1:1/"}, "--clock file: only an exec: verifier's clock can be set"},
		{[]string{"serve", "--clock", "sundial"}, `--clock "sundial": want request or wall`},
		{[]string{"serve", "--stdio", "--addr", "127.0.0.1:0"}, "--stdio: --addr and --prefix are for HTTP"},
	} {
		r := cli(t, t.Context(), tc.args...)
		assert.Equal(t, exitUsage, r.code, "%v", tc.args)
		assert.Contains(t, r.stderr, tc.msg, "%v", tc.args)
	}
}

// TestProbeWallClockPyshim: probe measures the shim on its own clock,
// under the fake clock (--clock auto sees its "wall" claim), as the
// profile it claims, clock "wall" included, and finds no difference.
func TestProbeWallClockPyshim(t *testing.T) {
	spec := wallShim(t, "")
	out := filepath.Join(t.TempDir(), "measured.json")
	r := cli(t, t.Context(), "probe", "--verifier", spec, "--ignore-claim", "--seed", "1", "--out", out)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, "wall", got["clock"])
	// The probe writes the explicit form: the reuse rule and t0 spelt out.
	assert.Equal(t, map[string]any{"skew_back": 1.0, "skew_ahead": 1.0, "reuse": "later", "t0": true}, got["totp"])
	assert.Regexp(t, `claim\s+matches`, r.stderr)
}
