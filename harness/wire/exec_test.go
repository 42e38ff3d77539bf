package wire

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

func newHelperExec(t *testing.T, mode string, opts ExecOptions) *Exec {
	t.Helper()
	argv, env := helperArgv(t, mode)
	opts.Env = env
	if opts.Grace == 0 {
		opts.Grace = 200 * time.Millisecond
	}
	c, err := NewExec(argv, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var testToken = harness.Token{Serial: "1000000000001", Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6,
	Secret: []byte("12345678901234567890")}

// rfcCode is the RFC 4226 Appendix D code of counter i.
func rfcCode(t testing.TB, i uint64) string {
	k, err := token.NewKey([]byte("12345678901234567890"), token.SHA1, 6)
	require.NoError(t, err)
	return k.HOTP(i)
}

func TestExecReferenceSuite(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "reference", ExecOptions{})
	rep, err := harness.Execute(t.Context(), c, harness.Options{Seed: 7, Checks: 10, Timeout: 10 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, "otplab reference verifier", rep.Verifier)
	for _, r := range rep.Results {
		assert.Contains(t, []harness.Verdict{harness.Pass, harness.Skip}, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
	}
	assert.Positive(t, rep.Counts().Pass)
	require.NoError(t, c.Close())
}

func TestExecRoundTrips(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "reference", ExecOptions{})
	ctx := t.Context()
	info, err := c.Describe(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Profile)
	assert.Equal(t, uint64(10), *info.Profile.LookAhead)

	require.NoError(t, c.Enroll(ctx, testToken))
	now := time.Unix(1_767_225_600, 0)
	for i, want := range []bool{true, true, false} {
		code := rfcCode(t, uint64(i))
		if i == 2 {
			code = rfcCode(t, 0) // a replay
		}
		rep, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: code, Time: now})
		require.NoError(t, err)
		assert.Equal(t, want, rep.Accepted, "check %d", i)
	}
	rep, err := c.Resync(ctx, harness.ResyncRequest{Serial: testToken.Serial, Codes: []string{rfcCode(t, 50), rfcCode(t, 51)}, Time: now})
	require.NoError(t, err)
	assert.True(t, rep.Accepted)
	require.NoError(t, c.Unlock(ctx, testToken.Serial))
	err = c.Unlock(ctx, "1999999999999")
	var refused *harness.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, "unlock", refused.Op)

	// The largest counter survives the trip exactly.
	big := testToken
	big.Serial, big.Counter = "1000000000002", token.MaxCounter
	require.NoError(t, c.Enroll(ctx, big))
	rep, err = c.Check(ctx, harness.CheckRequest{Serial: big.Serial, Code: rfcCodeAt(t, token.MaxCounter), Time: now})
	require.NoError(t, err)
	assert.True(t, rep.Accepted)
}

func rfcCodeAt(t testing.TB, c uint64) string { return rfcCode(t, c) }

// TestExecPipelining sends many requests at once over one subprocess; the
// helper answers them concurrently, so replies come back out of order.
func TestExecPipelining(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "reference", ExecOptions{})
	ctx := t.Context()
	const tokens, perToken = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, tokens)
	for i := range tokens {
		wg.Go(func() {
			tok := testToken
			tok.Serial = fmt.Sprintf("10000000001%02d", i)
			if err := c.Enroll(ctx, tok); err != nil {
				errs <- err
				return
			}
			for j := range perToken {
				rep, err := c.Check(ctx, harness.CheckRequest{Serial: tok.Serial, Code: rfcCode(t, uint64(j)), Time: time.Unix(0, 0)})
				if err != nil || !rep.Accepted {
					errs <- fmt.Errorf("token %d check %d: %v %v", i, j, rep, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestExecMisbehaving drives each misbehaving helper: the request it
// spoils fails fast with a reason, never later than its deadline, and the
// client serves the next request (restarting the subprocess if needed).
func TestExecMisbehaving(t *testing.T) {
	tests := []struct {
		mode     string
		want     string // in the error
		slow     bool   // the error can only come at the deadline
		restarts bool   // the subprocess must be restarted for the next request
	}{
		{mode: "crash", want: `ended (exit status 3) (stderr: "Traceback (most recent call last):\nZeroDivisionError: boom")`, restarts: true},
		{mode: "hang", want: "no reply: context deadline exceeded", slow: true},
		{mode: "garbage", want: `broke the protocol: malformed message: reply: invalid JSON at byte 1`},
		{mode: "wrong-id", want: "matches no pending request"},
		{mode: "bad-type", want: `malformed message: reply: field "accepted" is a JSON string, want boolean`},
		{mode: "no-ok", want: "malformed message: reply to check: missing ok"},
		{mode: "huge-line", want: "a reply line longer than 1048576 bytes"},
		{mode: "close-stdout", want: "it closed its stdout", restarts: true},
		{mode: "refuse", want: "verifier refused check: token store offline"},
		{mode: "unsupported", want: "verifier refused check: no checks today"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			noLeaks(t)
			c := newHelperExec(t, tt.mode, ExecOptions{})
			ctx := t.Context()
			require.NoError(t, c.Enroll(ctx, testToken))
			const timeout = 2 * time.Second
			rctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			_, err := c.Check(rctx, harness.CheckRequest{Serial: testToken.Serial, Code: "123456"})
			cancel()
			took := time.Since(start)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.slow {
				assert.GreaterOrEqual(t, took, timeout)
			} else {
				assert.Less(t, took, timeout/2, "the failure must not wait for the deadline")
			}
			assert.Equal(t, tt.mode == "unsupported", errors.Is(err, harness.ErrUnsupported))
			assert.Equal(t, tt.mode != "refuse" && tt.mode != "unsupported", errors.Is(err, ErrTransport))

			rep, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: "good"})
			require.NoError(t, err, "the client must serve the next request")
			assert.True(t, rep.Accepted)
			wantStarts := 1
			if tt.restarts {
				wantStarts = 2
			}
			assert.Equal(t, wantStarts, c.Starts())
			require.NoError(t, c.Close())
		})
	}
}

// TestExecHungIsRestarted: after HangAfter timeouts in a row the
// subprocess is killed and a fresh one serves the next request.
func TestExecHungIsRestarted(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "hang", ExecOptions{HangAfter: 2})
	ctx := t.Context()
	// Start the subprocess first: under load, a start slower than the
	// short deadlines below would make a timeout the start's, not a hang.
	_, err := c.Describe(ctx)
	require.NoError(t, err)
	for range 2 {
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := c.Check(rctx, harness.CheckRequest{Serial: "1", Code: "123456"})
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	rep, err := c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "good"})
	require.NoError(t, err)
	assert.True(t, rep.Accepted)
	assert.Equal(t, 2, c.Starts())
}

// TestExecGivesUp: a verifier that dies at once (or never answers hello)
// is started MaxFailedStarts times, then every request fails at once,
// without waiting for another start. The requests' own deadlines are
// short: start-up is on the start timeout's clock, not theirs.
func TestExecGivesUp(t *testing.T) {
	const startTimeout = 2 * time.Second
	for _, mode := range []string{"crash-at-start", "silent"} {
		t.Run(mode, func(t *testing.T) {
			noLeaks(t)
			c := newHelperExec(t, mode, ExecOptions{MaxFailedStarts: 2, StartTimeout: startTimeout, StartOption: "--start-timeout"})
			ctx := t.Context()
			for range 2 {
				rctx, cancel := context.WithTimeout(ctx, time.Millisecond)
				_, err := c.Describe(rctx)
				cancel()
				require.ErrorIs(t, err, ErrTransport)
				if mode == "crash-at-start" {
					assert.Contains(t, err.Error(), `ended (exit status 7) (stderr: "fatal: cannot open /etc/verifier.conf")`)
				} else {
					assert.Contains(t, err.Error(), "did not answer hello within 2s of starting (--start-timeout raises it)")
				}
			}
			start := time.Now()
			_, err := c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "123456"})
			require.ErrorIs(t, err, ErrTransport)
			assert.Contains(t, err.Error(), "gave no reply in 2 starts in a row")
			assert.Less(t, time.Since(start), startTimeout, "no third start was waited for")
			assert.Equal(t, 0, c.Starts())
		})
	}
}

// TestExecStartsPastRequestDeadline: a request whose deadline passed
// before it could start the verifier (it waited on a busy machine, or for
// another request's start) still starts it: the start is on the start
// timeout's clock. A verifier that crashes at start is reported as such,
// not as the request's deadline.
func TestExecStartsPastRequestDeadline(t *testing.T) {
	passed, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	c := newHelperExec(t, "reference", ExecOptions{})
	_, err := c.Describe(passed)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Starts())

	c = newHelperExec(t, "crash-at-start", ExecOptions{MaxFailedStarts: 1})
	_, err = c.Describe(passed)
	require.ErrorIs(t, err, ErrTransport)
	assert.Contains(t, err.Error(), "ended (exit status 7)")
}

// TestExecStartNotOnRequestClock: a verifier slow to start (here: one
// that sleeps before reading) answers a request whose deadline is shorter
// than the start, and the deadline still holds once it has started.
func TestExecStartNotOnRequestClock(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "slow-start", ExecOptions{})
	ctx := t.Context()
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	require.NoError(t, c.Enroll(rctx, testToken), "a start of 1 s counted against a 500 ms request")
	assert.Equal(t, 1, c.Starts())
	// Started, the same verifier is judged on the request's deadline.
	hctx, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	_, err := c.Check(hctx, harness.CheckRequest{Serial: testToken.Serial, Code: "sleep"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestExecStartCancelled: cancelling the request that is waiting for a
// start ends the wait at once, though the start timeout is long.
func TestExecStartCancelled(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "silent", ExecOptions{StartTimeout: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Describe(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Minute)
}

func TestExecCommandNotFound(t *testing.T) {
	noLeaks(t)
	c, err := NewExec([]string{"/nonexistent/verifier"}, ExecOptions{})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Describe(t.Context())
	require.ErrorIs(t, err, ErrTransport)
	assert.Contains(t, err.Error(), "start verifier")
	_, err = NewExec(nil, ExecOptions{})
	require.Error(t, err)
}

// TestExecOrphanKilled: a crashed verifier's child that kept stdout open
// is killed with the process group, and the crash is still seen at once.
func TestExecOrphanKilled(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "orphan", ExecOptions{})
	ctx := t.Context()
	require.NoError(t, c.Enroll(ctx, testToken))
	start := time.Now()
	_, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: "123456"})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second, "the crash waited for the orphan's minute")
	m := regexp.MustCompile(`child (\d+)`).FindStringSubmatch(err.Error())
	require.NotNil(t, m, "%v", err)
	pid, _ := strconv.Atoi(m[1])
	require.Eventually(t, func() bool { return !alive(pid) }, 30*time.Second, 10*time.Millisecond, "the orphan %d lives on", pid)
}

// TestExecCloseStopsHungVerifier: Close does not wait for a verifier that
// ignores EOF longer than the grace period, and a request in flight fails.
func TestExecCloseStopsHungVerifier(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "hang", ExecOptions{})
	ctx := t.Context()
	_, err := c.Describe(ctx)
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "123456"})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, c.Close())
	assert.Less(t, time.Since(start), 20*time.Second, "Close waited for the verifier's minute")
	require.ErrorIs(t, <-errc, ErrTransport)
	_, err = c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "good"})
	require.ErrorIs(t, err, ErrClosed)
}

// TestExecCancel: a cancelled context ends the wait at once.
func TestExecCancel(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "hang", ExecOptions{})
	_, err := c.Describe(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "123456"})
	require.ErrorIs(t, err, context.Canceled)
}
