package wire

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

// clockCases are the cases at fixed dates (1970 to 2603) and one at the
// present simulated time.
var clockCases = regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-sha1|year-2603|current-step)$`)

// runClockVerifier runs testdata/clock/verifier.py with its clock read the
// way mode says, under libfaketime, and judges the clock cases.
func runClockVerifier(t *testing.T, args ...string) *harness.Report {
	t.Helper()
	needFakeTime(t)
	py := pythonExe(t)
	script, err := filepath.Abs("testdata/clock/verifier.py")
	require.NoError(t, err)
	c, err := NewExec(append([]string{py, script}, args...), ExecOptions{Clock: ClockFake, Grace: time.Second})
	require.NoError(t, err)
	defer c.Close()
	// Starting an interpreter under libfaketime on a busy machine takes
	// seconds: a generous bound for each request, hello included.
	rep, err := harness.Execute(t.Context(), c, harness.Options{Seed: 21, Run: clockCases, Timeout: 60 * time.Second})
	require.NoError(t, err)
	for _, r := range rep.Results {
		assert.NotEqual(t, harness.Fail, r.Verdict, "%s: %v", r.ID, r.Messages)
		assert.NotEqual(t, harness.Error, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
	require.NotNil(t, rep.ClockCheck)
	t.Logf("clock check (%d requests): %s: %s", rep.ClockCheck.Requests, rep.ClockCheck.Verdict, rep.ClockCheck.Note)
	for _, r := range rep.Results {
		t.Logf("%s %s: %s", r.Verdict, r.ID, strings.Join(r.Messages, " | "))
	}
	return rep
}

// verdictOf returns the verdict and messages of case id.
func verdictOf(rep *harness.Report, id string) (harness.Verdict, string) {
	for _, r := range rep.Results {
		if r.ID == id {
			return r.Verdict, strings.Join(r.Messages, " ")
		}
	}
	return "", "not in the report"
}

// TestClockCheckPythonFollows: a Python verifier on
// time.clock_gettime (a float) follows the fake clock to 2603: the check
// says so and every case runs.
func TestClockCheckPythonFollows(t *testing.T) {
	t.Parallel()
	rep := runClockVerifier(t, "gettime")
	assert.Equal(t, harness.ClockFollows, rep.ClockCheck.Verdict, rep.ClockCheck.Note)
	assert.True(t, rep.ClockSet)
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
}

// TestClockCheckPythonSaturates: a Python verifier on datetime.now(),
// whose clock stops at 2262-04-11 under the fake clock: the year-2603 case
// SKIPs with the reason and the fix, the Appendix B rows before 2262 are
// judged, nothing FAILs.
func TestClockCheckPythonSaturates(t *testing.T) {
	t.Parallel()
	rep := runClockVerifier(t, "datetime")
	c := rep.ClockCheck
	assert.Equal(t, harness.ClockPartial, c.Verdict, c.Note)
	assert.True(t, rep.ClockSet)
	require.Len(t, c.Misses, 1, "%+v", c.Misses)
	assert.Contains(t, c.Misses[0].Reason, "CPython")
	v, msg := verdictOf(rep, "rfc6238/4.2/year-2603")
	assert.Equal(t, harness.Skip, v, msg)
	assert.Contains(t, msg, "2262-04-11")
	v, msg = verdictOf(rep, "rfc6238/4.2/appendix-b-sha1")
	assert.Equal(t, harness.Pass, v, msg)
	assert.Contains(t, msg, "not judged: time 20000000000")
	v, msg = verdictOf(rep, "rfc6238/4.2/current-step")
	assert.Equal(t, harness.Pass, v, msg)
}

// TestClockCheckDeepBind: a verifier whose clock comes from a C module
// loaded with RTLD_DEEPBIND (libc's time(), past LD_PRELOAD) does not
// follow at all: it is judged on real time, with a warning, and nothing
// FAILs.
func TestClockCheckDeepBind(t *testing.T) {
	t.Parallel()
	pythonExe(t)
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed: the RTLD_DEEPBIND module cannot be built (CI installs it)")
	}
	lib := filepath.Join(t.TempDir(), "now.so")
	out, err := exec.Command(gcc, "-shared", "-fPIC", "-o", lib, "testdata/clock/now.c").CombinedOutput()
	require.NoError(t, err, "%s", out)
	rep := runClockVerifier(t, "lib", lib)
	c := rep.ClockCheck
	assert.Equal(t, harness.ClockRealTime, c.Verdict, c.Note)
	assert.False(t, rep.ClockSet, "judged on real time")
	assert.Contains(t, rep.ClockNote, "warning")
	v, msg := verdictOf(rep, "rfc6238/4.2/current-step")
	assert.Equal(t, harness.Pass, v, msg)
}
