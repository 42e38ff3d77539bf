package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness/reference"
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

// startServe runs serve with lim on a loopback port and returns its base
// URL, its log, a stop function and the channel of its result.
func startServe(t *testing.T, lim serveLimits) (string, *syncBuffer, context.CancelFunc, <-chan error) {
	t.Helper()
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, newCapped(v, lim), "", lim, &out, &logs) }()
	return "http://" + ln.Addr().String() + "/", &logs, cancel, done
}

// TestServeDropsSlowBody: a client that sends one body byte every
// second is cut off once the request's read timeout passes (it used to
// stay connected for good), and a stop then ends serve with no error
// within the shutdown grace.
func TestServeDropsSlowBody(t *testing.T) {
	t.Parallel()
	lim := defaultServeLimits()
	lim.Read, lim.ShutdownGrace = 2*time.Second, 2*time.Second
	url, _, stop, done := startServe(t, lim)
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	start := time.Now()
	var werr error
	for time.Since(start) < 30*time.Second {
		if _, werr = conn.Write([]byte(" ")); werr != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Error(t, werr, "the server never closed a connection that trickles its body")

	// A second trickler is open when the server is told to stop: it is
	// closed after the grace and serve reports no error.
	conn2, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"))
	require.NoError(t, err)
	defer conn2.Close()
	_, err = fmt.Fprintf(conn2, "POST /check HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// post sends one protocol request and returns the reply's body.
func post(t *testing.T, url, op, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+op, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestServeCaps: a body over the cap, a serial over the cap and an enroll
// beyond the token cap are refused with a clear reason; a huge serial
// never reaches the log whole.
func TestServeCaps(t *testing.T) {
	lim := defaultServeLimits()
	lim.MaxTokens = 3
	url, logs, stop, done := startServe(t, lim)
	enroll := func(serial string) string {
		return fmt.Sprintf(`{"id":1,"op":"enroll","token":{"serial":%q,"kind":"hotp","algorithm":"SHA1","digits":6,"secret":"3132333435363738393031323334353637383930","counter":0}}`, serial)
	}
	for i := range 3 {
		code, body := post(t, url, "enroll", enroll(fmt.Sprintf("s%d", i)))
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, `"ok":true`)
	}
	_, body := post(t, url, "enroll", enroll("s0")) // a known serial is replaced
	assert.Contains(t, body, `"ok":true`)
	_, body = post(t, url, "enroll", enroll("s3"))
	assert.Contains(t, body, `"ok":false`)
	assert.Contains(t, body, "maximum of 3 tokens (--max-tokens)")

	long := strings.Repeat("9", 10_000)
	_, body = post(t, url, "enroll", enroll(long))
	assert.Contains(t, body, "a serial of 10000 bytes: this server takes at most 256")
	_, body = post(t, url, "check", fmt.Sprintf(`{"id":2,"op":"check","serial":%q,"code":"123456","time":0}`, long))
	assert.Contains(t, body, "a serial of 10000 bytes")

	code, body := post(t, url, "enroll", enroll(strings.Repeat("9", 100_000)))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)

	stop()
	require.NoError(t, <-done)
	log := logs.String()
	assert.NotContains(t, log, strings.Repeat("9", logSerialMax+1))
	assert.Contains(t, log, "…(10000 bytes)")
	assert.Less(t, len(log), 10_000, "the log holds no serial whole")
}

// TestServeWarnsOffLoopback: --addr on a non-loopback address warns that
// the test server has no authentication.
func TestServeWarnsOffLoopback(t *testing.T) {
	assert.True(t, loopback(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}))
	assert.True(t, loopback(&net.TCPAddr{IP: net.IPv6loopback}))
	assert.False(t, loopback(&net.TCPAddr{IP: net.IPv4zero}))
	assert.False(t, loopback(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)}))
	ctx, cancel := context.WithCancel(t.Context())
	var out, logs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "0.0.0.0:0"}, &out, &logs) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "serving") }, 30*time.Second, 10*time.Millisecond)
	cancel()
	assert.Equal(t, exitOK, <-done)
	assert.Contains(t, logs.String(), "warning: --addr 0.0.0.0:0 is not a loopback address: this test server has no authentication")
	r := cli(t, t.Context(), "serve", "--max-tokens", "0")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--max-tokens 0: want at least 1")
}
