package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeAndRun starts the real "conformance serve" on a loopback port,
// runs the whole suite against it over HTTP, and shuts it down as SIGINT
// would (by ending its context).
func TestServeAndRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--prefix", "/otp"}, &out, &logs) }()

	var url string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/otp/)`).FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 5*time.Second, 10*time.Millisecond, "serve did not print its URL: %s", logs.String())

	r := cli(t, t.Context(), "run", "--verifier", url, "--checks", "20")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s\nserver log:\n%s", r.stdout, r.stderr, logs.String())
	assert.Contains(t, r.stdout, "verifier: otplab reference verifier")
	assert.Regexp(t, `^\d+ passed, 0 failed, 0 non-strict, \d+ skipped, 0 errors$`, lastLine(r.stdout))

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not shut down")
	}
	log := logs.String()
	assert.Contains(t, log, "shutting down")
	assert.Regexp(t, `(?m)^time=\S+ level=INFO msg=request op=check status=200 ok=true serial=1\d{12} accepted=(true|false)( locked=true)? duration=\S+$`, log)
	assert.Regexp(t, `(?m)msg=request op=enroll status=200 ok=true serial=\d{13} duration=`, log)
	assert.NotContains(t, log, "secret")
	assert.NotContains(t, strings.ToLower(log), "code=")
}
