package main

import (
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/report"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/internal/outpath/outpathtest"
)

// TestRunSIGHUP: SIGHUP ends a run as Ctrl-C does: the verifier is
// stopped, the partial report written, exit code 3.
func TestRunSIGHUP(t *testing.T) {
	noLeaks(t)
	// While this is registered, a SIGHUP that comes before the run's own
	// handler cannot kill the test binary.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)
	dir := t.TempDir()
	time.AfterFunc(700*time.Millisecond, func() { _ = syscall.Kill(os.Getpid(), syscall.SIGHUP) })
	r := cli(t, t.Context(), "run", "--verifier", helperSpec(t, "hang"), "--timeout", "2m", "--report-dir", dir)
	require.Equal(t, exitIncomplete, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Less(t, r.took, 45*time.Second, "the run waited for the timeout, not the signal")
	doc := readReport(t, dir)
	assert.True(t, doc.Interrupted)
}

// TestRunReportWriteFails: a report that cannot be written is exit code
// 1, the message names the report file, not a temporary one, and no
// temporary file is left.
func TestRunReportWriteFails(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "report.json"), 0o755)) // a rename cannot replace it
	r := cli(t, t.Context(), "run", "--run", `^rfc4226/5\.4/`, "--seed", "9", "--report-dir", dir)
	require.Equal(t, exitFailed, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, filepath.Join(dir, "report.json")+": rename: ")
	assert.NotContains(t, r.stderr, report.TmpInfix)
	left, err := filepath.Glob(filepath.Join(dir, ".*"))
	require.NoError(t, err)
	assert.Empty(t, left)
}

// TestLeftoversRemoved: the temporary files of a run that was killed are
// removed by the next one; those of a live process are not.
func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	dead := deadPid(t)
	stale := filepath.Join(dir, ".report.json"+report.TmpInfix+strconv.Itoa(dead)+"-123")
	live := filepath.Join(dir, ".report.json"+report.TmpInfix+"1-456") // pid 1 is always there
	for _, f := range []string{stale, live} {
		require.NoError(t, os.WriteFile(f, []byte("half a report"), 0o644))
	}
	r := cli(t, t.Context(), "run", "--run", `^rfc4226/5\.4/`, "--seed", "9", "--report-dir", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NoFileExists(t, stale)
	assert.FileExists(t, live)
	assert.FileExists(t, filepath.Join(dir, "report.json"))
}

// deadPid returns a PID that no process has.
func deadPid(t *testing.T) int {
	for pid := 4_000_000; pid > 100_000; pid -= 7919 {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return pid
		}
	}
	t.Skip("no free pid found")
	return 0
}

func TestHardeningUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o644))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--checks", "1000001"}, "--checks 1000001: at most 100000"},
		{[]string{"run", "--verifier", "http://127.0.0.1:99999/"}, "port 99999 is out of range"},
		{[]string{"run", "--verifier", "http://127.0.0.1:0/"}, "port 0 is out of range"},
		{[]string{"run", "--verifier", "http://127.0.0.1:/"}, "an empty port"},
		{[]string{"run", "--verifier", "http://127.0.0.1:8080/", "--ca", garbage}, "apply to https:// verifiers only"},
		{[]string{"run", "--verifier", "https://127.0.0.1:8080/", "--ca", garbage}, "no PEM certificate in the file"},
		{[]string{"run", "--verifier", "https://127.0.0.1:8080/", "--ca", filepath.Join(dir, "missing.pem")}, "--ca: open"},
		{[]string{"run", "--verifier", "https://127.0.0.1:8080/", "--ca", garbage, "--insecure"}, "give one or the other"},
		{[]string{"probe", "--out", dir}, "a directory, want a file name"},
		{[]string{"probe", "--out", filepath.Join(dir, "no", "such", "p.json")}, "--out " + filepath.Join(dir, "no", "such", "p.json")},
		{[]string{"probe", "--checks", "1"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, t.Context(), tt.args...)
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Less(t, r.took, 2*time.Second, "refused up front")
		})
	}
}

// TestRunHTTPS: a verifier with its own CA is reached with --ca, or with
// --insecure and a warning; without either, the error says what to do.
func TestRunHTTPS(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	// The run without --ca makes the server log a handshake error on
	// purpose: it is kept out of the test log.
	srv := httptest.NewUnstartedServer(wire.NewHandler(v, "", wire.ServeOptions{}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	sel := []string{"run", "--verifier", srv.URL + "/", "--run", `^rfc4226/5\.4/`, "--seed", "9"}

	r := cli(t, t.Context(), append(sel, "--ca", ca)...)
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.NotContains(t, r.stderr, "warning")

	r = cli(t, t.Context(), append(sel, "--insecure")...)
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, "warning: --insecure")

	r = cli(t, t.Context(), sel...)
	assert.Equal(t, exitIncomplete, r.code)
	assert.Contains(t, r.stdout+r.stderr, "--ca FILE")
}

// failWriter fails every write, like a closed pipe or a full disk.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestOutputWriteFails: output that cannot be written is exit code 1,
// not a usage error.
func TestOutputWriteFails(t *testing.T) {
	for _, args := range [][]string{
		{"list"}, {"list", "--output", "json"},
		{"run", "--run", `^rfc4226/5\.4/`, "--seed", "9", "--output", "json"},
	} {
		var errb syncBuffer
		code := run(t.Context(), args, failWriter{}, &errb)
		assert.Equal(t, exitFailed, code, "%v: %s", args, errb.String())
		assert.Contains(t, errb.String(), "broken pipe")
	}
}

// TestOutputsNeverReplaceAFIFO: probe --out, probe --report-dir and run
// --report-dir write a FIFO in place and leave it a FIFO (they used to
// rename a regular file over it; as root, over /dev/null).
func TestOutputsNeverReplaceAFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, syscall.Mkfifo(p, 0o600))
		return p
	}
	isFIFO := func(p string) {
		st, err := os.Lstat(p)
		require.NoError(t, err)
		assert.Equal(t, fs.ModeNamedPipe, st.Mode().Type(), "%s is no longer a FIFO", p)
	}
	out, svg, js := fifo("profile.out"), fifo("probe.svg"), fifo("report.json")
	gotOut, gotSVG := outpathtest.Drain(out), outpathtest.Drain(svg)
	r := cli(t, t.Context(), "probe", "--seed", "3", "--out", out, "--report-dir", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, <-gotOut, `"look_ahead"`)
	assert.Contains(t, <-gotSVG, "<svg")
	isFIFO(out)
	isFIFO(svg)

	gotJS := outpathtest.Drain(js)
	r = cli(t, t.Context(), "run", "--run", `^rfc4226/5\.4/`, "--seed", "9", "--report-dir", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, <-gotJS, `"verdict"`)
	isFIFO(js)
}

// TestHostileVerifierText: a verifier whose hello name and refusals hold
// terminal escapes and near a megabyte of text each cannot write a
// control character to the terminal, and the report files stay small:
// each text is escaped and cut where it is stored, its length stated.
func TestHostileVerifierText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := cli(t, t.Context(), "run", "--verifier", helperSpec(t, "hostile"), "--seed", "5", "--checks", "3", "--report-dir", dir)
	require.NotEqual(t, exitOK, r.code)
	t.Logf("stdout %d bytes, stderr %d bytes", len(r.stdout), len(r.stderr))
	for name, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		for _, c := range []string{"\x1b", "\x07", "\x00", "\u009b"} {
			assert.NotContains(t, s, c, "%s holds a control character", name)
		}
	}
	assert.Contains(t, r.stdout, `verifier: \x1b[2J\x1b]0;owned\x07\x00\u009b31mnnn`)
	assert.Regexp(t, `\[cut: \d+ bytes in all\]`, r.stdout)
	assert.Less(t, len(r.stdout), 4<<20, "stdout is bounded")
	for _, f := range []string{report.JSONFile, report.JUnitFile, report.HTMLFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		t.Logf("%s: %d bytes", f, st.Size())
		assert.Less(t, st.Size(), int64(4<<20), "%s is bounded", f)
	}

	// The probe prints the name in its table on standard error.
	r = cli(t, t.Context(), "probe", "--verifier", helperSpec(t, "hostile"), "--seed", "5")
	t.Logf("probe: exit %d, stderr %d bytes", r.code, len(r.stderr))
	assert.NotContains(t, r.stderr, "\x1b")
	assert.NotContains(t, r.stderr, "\x07")
	assert.Less(t, len(r.stderr), 1<<20)
}
