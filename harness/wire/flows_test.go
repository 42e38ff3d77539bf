package wire

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// flowsProfile is the reference default serving every purpose.
func flowsProfile() harness.Profile {
	p := reference.Default()
	p.Flows = harness.Purposes()
	return p
}

// purposeLog wraps a verifier and records the purpose of every check it
// receives, so that a test sees what crossed the wire.
type purposeLog struct {
	harness.Verifier
	mu   sync.Mutex
	seen []string
}

func (l *purposeLog) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	l.mu.Lock()
	l.seen = append(l.seen, req.Purpose)
	l.mu.Unlock()
	return l.Verifier.Check(ctx, req)
}

// recoveryThenLogin plays the seeds' bug hunt over c: a code spent in
// recovery must not log in, and every other door takes the next codes.
func recoveryThenLogin(t *testing.T, c harness.Verifier) {
	t.Helper()
	ctx := t.Context()
	now := time.Unix(1_767_225_600, 0)
	require.NoError(t, c.Enroll(ctx, testToken))
	for _, s := range []struct {
		purpose string
		code    string
		want    bool
	}{
		{harness.PurposeRecovery, rfcCode(t, 0), true},
		{harness.PurposeLogin, rfcCode(t, 0), false},
		{"", rfcCode(t, 0), false},
		{harness.PurposeDeviceTest, rfcCode(t, 1), true},
		{harness.PurposeSignature, rfcCode(t, 2), true},
		{harness.PurposePasswordChange, rfcCode(t, 3), true},
	} {
		rep, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: s.code, Time: now, Purpose: s.purpose})
		require.NoError(t, err, s.purpose)
		assert.Equal(t, s.want, rep.Accepted, "purpose %q", s.purpose)
	}
}

// refusesRecovery checks that c, serving login only, refuses a recovery
// check as unsupported, and that the refusal changed nothing.
func refusesRecovery(t *testing.T, c harness.Verifier) {
	t.Helper()
	ctx := t.Context()
	now := time.Unix(1_767_225_600, 0)
	require.NoError(t, c.Enroll(ctx, testToken))
	_, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: rfcCode(t, 0), Time: now, Purpose: harness.PurposeRecovery})
	require.ErrorIs(t, err, harness.ErrUnsupported)
	assert.Contains(t, err.Error(), `purpose "recovery"`)
	rep, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: rfcCode(t, 0), Time: now, Purpose: harness.PurposeLogin})
	require.NoError(t, err)
	assert.True(t, rep.Accepted, "the refused recovery changed nothing")
}

// TestPurposeHTTP: the purpose of a check reaches the verifier unchanged
// over http (absent stays absent), and one outside the flows comes back as
// ErrUnsupported.
func TestPurposeHTTP(t *testing.T) {
	noLeaks(t)
	ref, err := reference.New(flowsProfile())
	require.NoError(t, err)
	log := &purposeLog{Verifier: ref}
	srv := httptest.NewServer(NewHandler(log, "", ServeOptions{}))
	defer srv.Close()
	c := newHTTPClient(t, srv.URL)
	recoveryThenLogin(t, c)
	assert.Equal(t, []string{"recovery", "login", "", "device-test", "signature", "password-change"}, log.seen)

	narrow := httptest.NewServer(NewHandler(newReference(t), "", ServeOptions{}))
	defer narrow.Close()
	refusesRecovery(t, newHTTPClient(t, narrow.URL))
	require.NoError(t, c.Close())
}

// TestPurposeExec: the same over exec, against the helper verifier in a
// subprocess: serving every flow, then login only.
func TestPurposeExec(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "flows", ExecOptions{})
	recoveryThenLogin(t, c)
	require.NoError(t, c.Close())
	narrow := newHelperExec(t, "reference", ExecOptions{})
	refusesRecovery(t, narrow)
	require.NoError(t, narrow.Close())
}

// TestServeLinesPurpose: the verifier's side of exec hands the purpose on
// and logs it.
func TestServeLinesPurpose(t *testing.T) {
	ref, err := reference.New(flowsProfile())
	require.NoError(t, err)
	log := &purposeLog{Verifier: ref}
	code := rfcCode(t, 0)
	require.NoError(t, ref.Enroll(t.Context(), testToken)) // lines are served concurrently
	in := `{"id":2,"op":"check","serial":"1000000000001","code":"` + code + `","time":1,"purpose":"recovery"}` + "\n"
	var out strings.Builder
	var events []Event
	var mu sync.Mutex
	require.NoError(t, ServeLines(t.Context(), log, strings.NewReader(in), &out, ServeOptions{Log: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}))
	assert.Equal(t, []string{"recovery"}, log.seen)
	assert.Contains(t, out.String(), `{"id":2,"ok":true,"accepted":true}`)
	var purposes []string
	for _, e := range events {
		purposes = append(purposes, e.Purpose)
	}
	assert.Equal(t, []string{"recovery"}, purposes)
}

// TestFlowsSuiteOverWire: the reference verifier serving every flow passes
// the flows cases over both transports.
func TestFlowsSuiteOverWire(t *testing.T) {
	noLeaks(t)
	srv := httptest.NewServer(NewHandler(mustReference(t, flowsProfile()), "", ServeOptions{}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		c    harness.Verifier
	}{{"http", newHTTPClient(t, srv.URL)}, {"exec", newHelperExec(t, "flows", ExecOptions{})}} {
		rep, err := harness.Execute(t.Context(), tc.c, harness.Options{Seed: 5, Checks: 5, Timeout: 10 * time.Second,
			Run: regexp.MustCompile(`^otplab/flows/`)})
		require.NoError(t, err, tc.name)
		require.NotEmpty(t, rep.Results, tc.name)
		for _, r := range rep.Results {
			want := harness.Pass
			if r.ID == "otplab/flows/failures-throttle" {
				want = harness.Skip // the profile claims no throttle
			}
			assert.Equal(t, want, r.Verdict, "%s %s: %s", tc.name, r.ID, strings.Join(r.Messages, "\n"))
		}
	}
}

func mustReference(t *testing.T, p harness.Profile) *reference.Verifier {
	t.Helper()
	v, err := reference.New(p)
	require.NoError(t, err)
	return v
}

func TestEventShowsPurpose(t *testing.T) {
	e := Event{Op: OpCheck, Serial: "1", Purpose: "recovery", OK: true}
	assert.Contains(t, e.String(), `purpose="recovery"`)
	assert.NotContains(t, fmt.Sprint(Event{Op: OpCheck}), "purpose")
}
