package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// TestRunReference is the README's main command: the whole suite against
// the built-in reference verifier passes. In a log (not a terminal) each
// section is one line of counts and the skips are summed up by reason;
// with -v every case is listed, once.
func TestRunReference(t *testing.T) {
	r := cli(t, t.Context(), "run", "--seed", "5")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Regexp(t, `^\d+ passed, 0 failed, 0 non-strict, \d+ skipped, 0 errors$`, lastLine(r.stdout))
	assert.Empty(t, r.stderr)
	assert.Regexp(t, `(?m)^rfc4226/7\.4 +\d+ passed, \d+ skipped$`, r.stdout)
	assert.NotContains(t, r.stdout, "rfc4226/7.4/look-ahead-edge", "a passing case is not listed in a log")
	assert.Regexp(t, `(?m)^ +\d+  the profile does not claim throttle: claim it`, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stdout, "the profile does not claim throttle"), "one line per skip reason")

	dir := t.TempDir()
	v := cli(t, t.Context(), "run", "--seed", "5", "-v", "--report-dir", dir)
	require.Equal(t, exitOK, v.code, v.stderr)
	doc := readReport(t, dir)
	require.NotEmpty(t, doc.Results)
	for _, res := range doc.Results {
		assert.Equal(t, 1, strings.Count(v.stdout, " "+res.ID+" ("), "%s is listed once", res.ID)
	}
	assert.Equal(t, lastLine(r.stdout), lastLine(v.stdout))
}

// TestRunPyshim runs the suite against the Python example verifier over
// the exec transport; it must pass.
func TestRunPyshim(t *testing.T) {
	t.Parallel()
	py := pythonExe(t)
	shim, err := filepath.Abs("../../examples/pyshim/verifier.py")
	require.NoError(t, err)
	dir := t.TempDir()
	r := cli(t, t.Context(), "run", "--verifier", "exec:"+shellQuote(py)+" "+shellQuote(shim), "--report-dir", dir)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "verifier: pyshim")
	assert.Regexp(t, `^\d+ passed, 0 failed, 0 non-strict, \d+ skipped, 0 errors$`, lastLine(r.stdout))
	doc := readReport(t, dir)
	assert.Equal(t, "passed", doc.Outcome)
}

// TestRunBuggyVerifier: a verifier whose look-ahead is wider than it
// claims fails the look-ahead cases, and every report says so.
func TestRunBuggyVerifier(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := helperSpec(t, "buggy")
	r := cli(t, t.Context(), "run", "--verifier", spec, "--run", `^rfc4226/7\.4/look-ahead|^otplab/model/hotp`, "--seed", "3", "--checks", "30", "--report-dir", dir)
	require.Equal(t, exitFailed, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)

	// The text report names the case, explains it, and prints the replay.
	assert.Contains(t, r.stdout, "  FAIL        rfc4226/7.4/look-ahead-beyond")
	assert.Contains(t, r.stdout, "the profile claims look_ahead 10")
	assert.Contains(t, r.stdout, "replay: conformance run --verifier "+shellQuote(spec)+` --run '^rfc4226/7\.4/look-ahead-beyond$' --seed 3 --checks 30`)
	assert.Contains(t, r.stdout, "shortest script found")
	assert.Contains(t, lastLine(r.stdout), "passed, 2 failed")
	assert.Contains(t, r.stderr, "conformance: 2 cases failed: rfc4226/7.4/look-ahead-beyond, otplab/model/hotp-sequences")

	// report.json carries the verdicts, the shrunk script and the seed.
	doc := readReport(t, dir)
	assert.Equal(t, "failed", doc.Outcome)
	assert.Equal(t, 1, doc.ExitCode)
	assert.Equal(t, []string{"rfc4226/7.4/look-ahead-beyond", "otplab/model/hotp-sequences"}, doc.Failing)
	prop := doc.result("otplab/model/hotp-sequences")
	assert.Equal(t, harness.Fail, prop.Verdict)
	assert.NotEmpty(t, prop.Script)
	assert.NotZero(t, prop.Seed)
	assert.Positive(t, int64(prop.Duration))

	// report.html is written too.
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), "rfc4226/7.4/look-ahead-beyond")

	// junit.xml carries them as failures, named.
	ju := readJUnit(t, dir)
	assert.Equal(t, 2, ju.Failures)
	failed := map[string]string{}
	for _, s := range ju.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed[c.Name] = c.Failure.Message
			}
		}
	}
	// The fixed case names the cause; the property case's shrunk script
	// depends on the scheduler under load, so only its verdict is pinned.
	assert.Len(t, failed, 2)
	// The verifier's look-ahead is 20: several window sizes fit this case
	// alone, and replaying the cases under each claim tells 20 apart (the
	// summary says so), unless the property case's history, which depends
	// on the scheduler, already left 20 the only fit.
	assert.True(t, strings.HasPrefix(failed["rfc4226/7.4/look-ahead-beyond"], "accepted, expected rejected: the profile claims look_ahead 10, so offset 11 is outside the window (cause: the look-ahead window is 20, not the claimed 10 (wider than claimed)"), failed["rfc4226/7.4/look-ahead-beyond"])
	// The property case fails on a sequential step or, when the scheduler
	// of a busy machine had its concurrent copies overlap, on a batch.
	assert.Regexp(t, `^(a correct verifier would have rejected it|no order of serving these requests one at a time gives these replies)`, failed["otplab/model/hotp-sequences"])

	// With the failures listed as known, the run passes ...
	known := filepath.Join(dir, "known.txt")
	require.NoError(t, os.WriteFile(known, []byte("# known\nrfc4226/7.4/look-ahead-beyond\notplab/model/hotp-sequences FAIL # the model agrees\n"), 0o644))
	r = cli(t, t.Context(), "run", "--verifier", spec, "--run", `^rfc4226/7\.4/look-ahead|^otplab/model/hotp`, "--seed", "3", "--checks", "30", "--expect", known)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, lastLine(r.stdout), "(2 as expected by "+known+")")

	// ... and a listed case that passes is an unexpected pass.
	require.NoError(t, os.WriteFile(known, []byte("rfc4226/7.4/look-ahead-beyond\nrfc4226/7.4/look-ahead-edge\n"), 0o644))
	r = cli(t, t.Context(), "run", "--verifier", spec, "--run", `^rfc4226/7\.4/look-ahead`, "--expect", known, "--report-dir", dir)
	require.Equal(t, exitFailed, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "  PASS!       rfc4226/7.4/look-ahead-edge")
	assert.Contains(t, r.stdout, "unexpected pass: the expect file (line 2) lists it as FAIL")
	doc = readReport(t, dir)
	assert.Equal(t, []string{"rfc4226/7.4/look-ahead-edge"}, doc.Failing)
	ju = readJUnit(t, dir)
	assert.Equal(t, 1, ju.Failures)
	assert.Equal(t, 1, ju.Skipped) // the known failure
}

// TestRunApplicationError: an exec verifier that answers checks it claims
// with ok:false and an error FAILs those cases with its text (exit 1, not
// the 3 of an incomplete run), which an expect file can list; a case that
// ERRORs (no reply) can be listed as ERROR, and the run is then complete.
func TestRunApplicationError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := helperSpec(t, "overflow")
	sel := `^rfc4226/5\.1/counter-2\^6[34]$`
	r := cli(t, t.Context(), "run", "--verifier", spec, "--run", sel, "--seed", "3")
	require.Equal(t, exitFailed, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "=> refused with an error: the verifier answered with an error (OverflowError: Python int too large to convert to C long)")
	assert.Regexp(t, `^\d+ passed, 2 failed, 0 non-strict, \d+ skipped, 0 errors`, lastLine(r.stdout))

	known := filepath.Join(dir, "known.txt")
	require.NoError(t, os.WriteFile(known, []byte("rfc4226/5.1/counter-2^63 FAIL # OverflowError\nrfc4226/5.1/counter-2^64\n"), 0o644))
	r = cli(t, t.Context(), "run", "--verifier", spec, "--run", sel, "--seed", "3", "--expect", known)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)

	// A case that ERRORs, listed as ERROR: known, and the run complete.
	require.NoError(t, os.WriteFile(known, []byte("rfc4226/5.4/appendix-d ERROR # no reply\n"), 0o644))
	r = cli(t, t.Context(), "run", "--verifier", helperSpec(t, "hang"), "--run", `^rfc4226/5\.4/appendix-d$`, "--timeout", "200ms", "--expect", known)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "KNOWN")
}

// TestRunHangingVerifier: a verifier that answers hello and then nothing
// ends the run with exit 3, every case in ERROR with the reason: after
// three timeouts in a row the verifier is restarted, and after three
// restarts that answer nothing the harness gives up, so most cases end at
// once instead of waiting for their own timeout. The verifier's starts
// are not on the requests' clock (a race-enabled binary on a busy machine
// may take longer to start than the 150 ms each request gets).
func TestRunHangingVerifier(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	const timeout = 150 * time.Millisecond
	r := cli(t, t.Context(), "run", "--verifier", helperSpec(t, "hang"), "--timeout", timeout.String(), "--report-dir", dir, "--checks", "5")
	require.Equal(t, exitIncomplete, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "no reply: context deadline exceeded")
	assert.Contains(t, r.stdout, "gave no reply in 3 starts in a row")
	assert.Contains(t, r.stderr, "incomplete:")
	doc := readReport(t, dir)
	assert.Equal(t, "incomplete", doc.Outcome)
	assert.Equal(t, 3, doc.ExitCode)
	assert.Positive(t, doc.Counts.Error)
	timedOut, gaveUp := 0, 0
	for _, res := range doc.Results {
		text := strings.Join(res.Messages, "\n")
		if strings.Contains(text, "no reply: context deadline exceeded") {
			timedOut++
		}
		if strings.Contains(text, "gave no reply in 3 starts in a row") {
			gaveUp++
		}
	}
	t.Logf("%d cases timed out, %d ended when the harness gave up", timedOut, gaveUp)
	assert.Greater(t, gaveUp, timedOut, "the dead verifier must be noticed before most cases timed out")
	ju := readJUnit(t, dir)
	assert.Equal(t, doc.Counts.Error, ju.Errors)
}

// TestRunVerifierDead: a verifier that dies at once never answers hello:
// exit 3, with its stderr in the message and a report that says so.
func TestRunVerifierDead(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, t.Context(), "run", "--verifier", helperSpec(t, "crash-at-start"), "--report-dir", dir, "--start-timeout", "5m")
	require.Equal(t, exitIncomplete, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, "verifier did not answer hello")
	assert.Contains(t, r.stderr, "cannot connect to the token database")
	assert.Less(t, r.took, 2*time.Minute, "a crash at start is seen when it happens, not at the start timeout")
	doc := readReport(t, dir)
	assert.Equal(t, "incomplete", doc.Outcome)
	assert.Contains(t, doc.Error, "cannot connect to the token database")
	ju := readJUnit(t, dir)
	assert.Equal(t, 1, ju.Errors)
}

// TestRunInterrupted: cancelling the run (what Ctrl-C does) stops it,
// writes the partial report, exits 3 and leaves no process behind.
func TestRunInterrupted(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(500*time.Millisecond, cancel)
	// The bound is far below the timeout, and far above what a busy
	// machine needs to stop the verifier and write the report.
	r := cli(t, ctx, "run", "--verifier", helperSpec(t, "hang"), "--timeout", "2m", "--report-dir", dir)
	require.Equal(t, exitIncomplete, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Less(t, r.took, 45*time.Second)
	assert.Contains(t, r.stderr, "interrupted after 0 of")
	doc := readReport(t, dir)
	assert.True(t, doc.Interrupted)
	assert.NotNil(t, doc.Results)
	assert.Equal(t, "incomplete", doc.Outcome)
	ju := readJUnit(t, dir)
	assert.Equal(t, 1, ju.Errors)
}

// TestRunInterruptedWhileStarting: Ctrl-C while the verifier is still
// starting is an interruption (the partial report, exit 3), not a
// verifier that failed to answer hello.
func TestRunInterruptedWhileStarting(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	r := cli(t, ctx, "run", "--verifier", helperSpec(t, "slow-start"), "--report-dir", dir)
	require.Equal(t, exitIncomplete, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Less(t, r.took, 15*time.Second, "the run waited for the start instead of stopping")
	assert.Contains(t, r.stderr, "interrupted after 0 of")
	assert.NotContains(t, r.stdout+r.stderr, "did not answer hello")
	doc := readReport(t, dir)
	assert.True(t, doc.Interrupted)
	assert.Equal(t, "incomplete", doc.Outcome)
}

// TestRunJSON: --output json prints report.json's document and nothing
// else on stdout.
func TestRunJSON(t *testing.T) {
	r := cli(t, t.Context(), "run", "--output", "json", "--run", `^rfc4226/5\.4/`, "--seed", "9")
	require.Equal(t, exitOK, r.code, r.stderr)
	var doc reportDoc
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	assert.Equal(t, 1, doc.Schema)
	assert.Equal(t, uint64(9), doc.Seed)
	assert.Equal(t, "passed", doc.Outcome)
	require.Len(t, doc.Results, 1)
	assert.Equal(t, harness.Pass, doc.Results[0].Verdict)
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badProfile := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badProfile, []byte(`{"look_ahead": 10, "lookahead": 3}`), 0o644))
	badExpect := filepath.Join(dir, "expect.txt")
	require.NoError(t, os.WriteFile(badExpect, []byte("rfc4226/7.4/no-such-case\n"), 0o644))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"run", "extra"}, `unknown command "extra"`},
		{[]string{"run", "--verifier", "tcp://x"}, `--verifier "tcp://x": want reference, exec:CMD ARGS... or http://HOST:PORT/PREFIX`},
		{[]string{"run", "--verifier", "exec:"}, "no command after exec:"},
		{[]string{"run", "--verifier", "exec:'unterminated"}, "unterminated ' quote"},
		{[]string{"run", "--verifier", "exec:/no/such/verifier"}, "no such file or directory"},
		{[]string{"run", "--verifier", "http://h/p?x=1"}, "a query, fragment or user name has no place in the URL"},
		{[]string{"run", "--run", "("}, `--run "(": error parsing regexp`},
		{[]string{"run", "--run", "^rfc9999/"}, `--run "^rfc9999/" --skip "": no case is selected`},
		{[]string{"run", "--profile", filepath.Join(dir, "missing.json")}, "--profile: open"},
		{[]string{"run", "--profile", badProfile}, `invalid profile: json: unknown field "lookahead"`},
		{[]string{"run", "--expect", badExpect}, `expect.txt line 1: no case has the ID "rfc4226/7.4/no-such-case"`},
		{[]string{"run", "--output", "xml"}, `--output "xml": want text or json`},
		{[]string{"run", "--timeout", "0s"}, "--timeout 0s: want a positive duration"},
		{[]string{"run", "--start-timeout", "-1s"}, "--start-timeout -1s: want a positive duration"},
		{[]string{"run", "--max-wait", "0s"}, "--max-wait 0s: want a positive duration"},
		{[]string{"list", "--output", "yaml"}, `--output "yaml": want text or json`},
		{[]string{"serve", "--addr", "256.0.0.1:http"}, "--addr:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, t.Context(), tt.args...)
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line on stderr")
		})
	}
}

func TestList(t *testing.T) {
	r := cli(t, t.Context(), "list")
	require.Equal(t, exitOK, r.code, r.stderr)
	cases := harness.Cases()
	for _, c := range cases {
		assert.Regexp(t, "(?m)^"+regexp.QuoteMeta(c.ID)+` +`+string(c.Level)+` +`, r.stdout)
	}
	assert.Equal(t, itoa(len(cases))+" cases", lastLine(r.stdout))

	r = cli(t, t.Context(), "list", "--output", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var doc struct {
		Schema int                `json:"schema"`
		Cases  []harness.CaseInfo `json:"cases"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	assert.Equal(t, cases, doc.Cases)
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"python3 verifier.py", []string{"python3", "verifier.py"}},
		{"  a   b\tc ", []string{"a", "b", "c"}},
		{`'/path with spaces/v' --x "a \"b\" \$c"`, []string{"/path with spaces/v", "--x", `a "b" $c`}},
		{`a\ b c''d ""`, []string{"a b", "cd", ""}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{`'a`, `"a`, `a\`} {
		_, err := splitWords(bad)
		assert.Error(t, err, bad)
	}
	for _, s := range []string{"simple", "it's", `^rfc4226/7\.4/x$`, ""} {
		got, err := splitWords(shellQuote(s))
		require.NoError(t, err)
		assert.Equal(t, []string{s}, got)
	}
}

// reportDoc reads report.json back.
type reportDoc struct {
	harness.Report
	Outcome  string        `json:"outcome"`
	ExitCode int           `json:"exit_code"`
	Failing  []string      `json:"failing"`
	Error    string        `json:"error"`
	Counts   report.Counts `json:"counts"`
}

func (d reportDoc) result(id string) harness.Result {
	for _, r := range d.Results {
		if r.ID == id {
			return r
		}
	}
	return harness.Result{}
}

func readReport(t *testing.T, dir string) reportDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var d reportDoc
	require.NoError(t, json.Unmarshal(data, &d))
	return d
}

// junitDoc is the shape CI reporters read from junit.xml.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// readJUnit reads junit.xml and checks its shape: every element CI
// reporters need is there and the counts add up.
func readJUnit(t *testing.T, dir string) junitDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
	var d junitDoc
	require.NoError(t, xml.Unmarshal(data, &d))
	tests, failures, errors, skipped := 0, 0, 0, 0
	for _, s := range d.Suites {
		require.NotEmpty(t, s.Name)
		require.NotEmpty(t, s.Time)
		require.Len(t, s.Cases, s.Tests, s.Name)
		f, e, sk := 0, 0, 0
		for _, c := range s.Cases {
			require.NotEmpty(t, c.Name)
			require.NotEmpty(t, c.Classname)
			require.NotEmpty(t, c.Time)
			if c.Failure != nil {
				f++
				require.NotEmpty(t, c.Failure.Type)
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				sk++
			}
		}
		require.Equal(t, []int{f, e, sk}, []int{s.Failures, s.Errors, s.Skipped}, s.Name)
		tests, failures, errors, skipped = tests+s.Tests, failures+f, errors+e, skipped+sk
	}
	require.Equal(t, []int{tests, failures, errors, skipped}, []int{d.Tests, d.Failures, d.Errors, d.Skipped})
	return d
}

// noLeaks fails the test if goroutines or child processes outlive it.
func noLeaks(t *testing.T) {
	t.Helper()
	before := goroutines()
	t.Cleanup(func() {
		// Generous: a killed process on a busy machine may take seconds
		// to be reaped; the loop ends as soon as all is clean.
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, kids := goroutines(), childPids(t)
			if n <= before && len(kids) == 0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("leak: %d goroutines (was %d), child processes %v\n%s", n, before, kids, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// goroutines counts the live goroutines, leaving out os/signal's, which
// the first signal.Notify starts for good.
func goroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "os/signal.loop") {
			n++
		}
	}
	return n
}

// childPids lists this process's live children.
func childPids(t *testing.T) []string {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []string
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err == nil {
			pids = append(pids, strings.Fields(string(data))...)
		}
	}
	return pids
}

func itoa(n int) string { return strconv.Itoa(n) }
