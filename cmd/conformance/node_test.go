package main

import (
	"bufio"
	"context"
	"os"
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

// nodeVerifier returns the path of examples/node/verifier.js, skipping
// the test when node or the example's npm packages (npm ci) are missing.
func nodeVerifier(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the example verifier in examples/node cannot run")
	}
	dir, err := filepath.Abs("../../examples/node")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "lossless-json")); err != nil {
		t.Skip("examples/node has no node_modules: run npm ci there (scripts/interop.sh does)")
	}
	return filepath.Join(dir, "verifier.js")
}

// TestRunNode runs the suite against the Node.js example verifier over
// exec and over HTTP; both must pass.
func TestRunNode(t *testing.T) {
	t.Parallel()
	js := nodeVerifier(t)
	t.Run("exec", func(t *testing.T) {
		r := cli(t, t.Context(), "run", "--verifier", "exec:node "+shellQuote(js))
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.Contains(t, r.stdout, "verifier: node-verifier")
		assert.Regexp(t, `^\d+ passed, 0 failed, 0 non-strict, \d+ skipped, 0 errors$`, lastLine(r.stdout))
	})
	t.Run("http", func(t *testing.T) {
		url := startNodeHTTP(t, js)
		r := cli(t, t.Context(), "run", "--verifier", url)
		require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		assert.Regexp(t, `^\d+ passed, 0 failed, 0 non-strict, \d+ skipped, 0 errors$`, lastLine(r.stdout))
	})
}

// startNodeHTTP starts verifier.js --http on a free port and returns its
// URL; the process is stopped when the test ends.
func startNodeHTTP(t *testing.T, js string) string {
	t.Helper()
	cmd := exec.Command("node", js, "--http", "127.0.0.1:0", "--prefix", "/otp")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- url
			}
		}
	}()
	select {
	case url := <-urls:
		return url
	case <-time.After(10 * time.Second):
		t.Fatal("node verifier did not start listening")
		return ""
	}
}

// counterCases are the cases that check 64-bit counters.
var counterCases = regexp.MustCompile(`^rfc4226/5\.1/counter-`)

// TestRunNodeJSNumberCounters: the same verifier keeping counters as JS
// numbers (JSON.parse, then writeBigUInt64BE for the HMAC, as npm OTP
// libraries are used) fails the counter cases past 2^53 and nothing else
// but the HOTP property case, which also enrolls near 2^53 and 2^64.
func TestRunNodeJSNumberCounters(t *testing.T) {
	t.Parallel()
	js := nodeVerifier(t)
	dir := t.TempDir()
	r := cli(t, context.Background(), "run", "--verifier", "exec:node "+shellQuote(js)+" --js-number-counters", "--seed", "1", "--report-dir", dir)
	require.NotEqual(t, exitOK, r.code, "stdout:\n%s", r.stdout)
	doc := readReport(t, dir)
	var bad []string
	for _, res := range doc.Results {
		if res.Verdict == harness.Pass || res.Verdict == harness.Skip {
			continue
		}
		bad = append(bad, res.ID)
		if !counterCases.MatchString(res.ID) && res.ID != "otplab/model/hotp-sequences" {
			t.Errorf("%s: %s, but only the counter cases should notice JS-number counters:\n%s", res.ID, res.Verdict, strings.Join(res.Messages, "\n"))
		}
	}
	assert.Contains(t, bad, "rfc4226/5.1/counter-2^53")
	assert.Contains(t, bad, "rfc4226/5.1/counter-2^64")
	assert.NotContains(t, bad, "rfc4226/5.1/counter-2^32", "a double holds 2^32 exactly")
	assert.Equal(t, harness.Fail, doc.result("rfc4226/5.1/counter-2^53").Verdict)
	// Every failure shares one cause, named: the double.
	require.Len(t, doc.Causes, 1, "one cause for JS-number counters")
	assert.Equal(t, "counter-double", doc.Causes[0].Key)
	assert.ElementsMatch(t, bad, doc.Causes[0].Cases)
	x := doc.result("rfc4226/5.1/counter-2^53").Explanation
	require.NotNil(t, x, "a cause is named for the counter failure")
	assert.Equal(t, "counter-double", x.Cause)
}
