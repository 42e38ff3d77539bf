package probe_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/token"
)

// wallNow is a fixed wall clock in the middle of a 30 s step, for the
// verifiers that read their own clock.
var wallNow = time.Unix(56_666_666*30+15, 0)

func fixedNow() time.Time { return wallNow }

// both builds a profile for both kinds, every algorithm, 6 and 8 digits
// and the request clock, with explicit "none" values, as a probe writes
// them.
func both(l uint64, n int, r uint64, f int, unlocks bool, back, ahead uint64) harness.Profile {
	return harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
		Algorithms: []string{"SHA1", "SHA256", "SHA512"},
		Digits:     []int{6, 8},
		LookAhead:  harness.Uint64(l),
		Resync:     &harness.ResyncPolicy{Codes: n, Window: r},
		Lockout:    &harness.LockoutPolicy{After: f, ResyncUnlocks: unlocks},
		TOTP:       &harness.TOTPPolicy{SkewBack: back, SkewAhead: ahead},
		Clock:      harness.ClockRequest,
	}
}

// allowed reports whether a finding of the reference may have this
// certainty: a lower bound only where the truth is unbounded (drift, any
// period), "could not tell" only where no observation can (the reuse rule
// of a window with no earlier step), never a departure.
func allowed(f probe.Finding) bool {
	switch f.Certainty {
	case probe.LowerBound:
		return f.Name == "totp-periods" || f.Name == "totp-drift"
	case probe.CouldNotTell:
		return f.Name == "totp-reuse-mode"
	}
	return true
}

// allowedOnRealTime reports whether a finding measured on real time may
// have this certainty: a lock that never releases is watched only for
// MaxWait (a lower bound), and every duration is known to a second.
func allowedOnRealTime(f probe.Finding) bool {
	switch f.Certainty {
	case probe.LowerBound:
		return f.Name == "lockout" && strings.Contains(f.Evidence, "could not tell on real time")
	case probe.CouldNotTell:
		return strings.Contains(f.Evidence, "on real time")
	}
	return true
}

func TestProbeRecoversReferenceProfiles(t *testing.T) {
	for name, start := range startingProfiles() {
		for _, ignore := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ignore-claim=%v", name, ignore), func(t *testing.T) {
				t.Parallel()
				v, err := reference.New(start, reference.WithClock(fixedNow))
				require.NoError(t, err)
				opts := probe.Options{Seed: 7, Now: fixedNow, IgnoreClaim: ignore}
				if start.Clock == harness.ClockWall {
					// On real time: the verifier's clock and ours run, and
					// the lock that never releases is watched for 2 s.
					v, err = reference.New(start)
					require.NoError(t, err)
					opts.Now, opts.MaxWait = nil, 2*time.Second
				}
				res, err := probe.Probe(t.Context(), v, opts)
				require.NoError(t, err, table(res))
				want := recovered(start)
				if d := cmp.Diff(want, res.Profile); d != "" {
					t.Fatalf("probed profile differs (-started with +probed):\n%s\n%s", d, table(res))
				}
				for _, f := range res.Findings {
					assert.False(t, f.Departs, "the reference departs nowhere: %+v", f)
					assert.True(t, allowed(f) || start.Clock == harness.ClockWall && allowedOnRealTime(f), "%+v", f)
				}
				claim, ok := res.Finding("claim")
				require.True(t, ok)
				assert.Equal(t, "matches", claim.Value, claim.Evidence)
				sum := 0
				for _, f := range res.Findings {
					sum += f.Requests
				}
				assert.Equal(t, res.Requests, sum, "the findings account for every request")
				t.Logf("%d requests", res.Requests)
			})
		}
	}
}

// TestProbeCostWithTruthfulClaim pins the request budget for the
// reference's default profile: a truthful claim is confirmed cheaply.
func TestProbeCostWithTruthfulClaim(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 1})
	require.NoError(t, err)
	assert.LessOrEqual(t, res.Requests, 340, table(res))
	lock, _ := res.Finding("lockout")
	assert.LessOrEqual(t, lock.Requests, 8, "a claimed lock that never releases: one probe at Wait")
	la, _ := res.Finding("look-ahead")
	assert.Equal(t, 4, la.Requests, "two fresh tokens on either side of the claimed edge")
}

// liar claims one profile and enforces another.
type liar struct {
	*reference.Verifier
	claim harness.Profile
}

func (l liar) Describe(context.Context) (harness.Info, error) {
	return harness.Info{Name: "liar", Profile: &l.claim}, nil
}

func TestProbeMeasuresDespiteAWrongClaim(t *testing.T) {
	truth := both(7, 2, 300, 4, true, 0, 3)
	claim := reference.Default()
	v, err := reference.New(truth)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), liar{v, claim}, probe.Options{Seed: 3})
	require.NoError(t, err)
	if d := cmp.Diff(recovered(truth), res.Profile); d != "" {
		t.Fatalf("probed profile differs (-enforced +probed):\n%s", d)
	}
	require.NotNil(t, res.Claimed)
	assert.Equal(t, claim, *res.Claimed)
	f, ok := res.Finding("claim")
	require.True(t, ok)
	assert.Equal(t, "4 difference(s)", f.Value)
	for _, want := range []string{"look_ahead claimed 10, measured 7", "resync claimed 2 codes in 1000, measured 2 codes in 300",
		"lockout claimed after 5 (resync_unlocks false), measured after 4 (resync_unlocks true)", "totp claimed back 1 ahead 1, measured back 0 ahead 3"} {
		assert.Contains(t, f.Evidence, want)
	}
}

func TestProbeLimitsGiveLowerBounds(t *testing.T) {
	want := both(100, 2, 5000, 0, false, 1, 1)
	v, err := reference.New(want)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 5, MaxLookAhead: 50, MaxResyncWindow: 2000, MaxLockout: 12, IgnoreClaim: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(50), *res.Profile.LookAhead)
	assert.Equal(t, uint64(2000), res.Profile.Resync.Window)
	for name, cert := range map[string]probe.Certainty{
		"look-ahead": probe.LowerBound, "resync-window": probe.LowerBound,
		"stored-counter": probe.NotMeasured, "guessing-limit": probe.NotObserved,
	} {
		f, ok := res.Finding(name)
		require.True(t, ok, name)
		assert.Equal(t, cert, f.Certainty, "%s: %+v", name, f)
	}
	lock, _ := res.Finding("guessing-limit")
	assert.Equal(t, 14, lock.Requests, "one token: 12 failures, then the correct code")
}

func TestProbeIsReproducible(t *testing.T) {
	run := func() *probe.Result {
		v, err := reference.New(both(4, 2, 100, 3, false, 1, 1))
		require.NoError(t, err)
		var serials []string
		res, err := probe.Probe(t.Context(), recorder{v, &serials}, probe.Options{Seed: 99, IgnoreClaim: true})
		require.NoError(t, err)
		res.Duration = 0
		for _, s := range serials {
			require.Len(t, s, 13)
		}
		return res
	}
	a, b := run(), run()
	assert.Empty(t, cmp.Diff(a, b))
}

// recorder notes the serials of the tokens enrolled.
type recorder struct {
	*reference.Verifier
	serials *[]string
}

func (r recorder) Enroll(ctx context.Context, tok harness.Token) error {
	*r.serials = append(*r.serials, tok.Serial)
	return r.Verifier.Enroll(ctx, tok)
}

func TestProbeUsesFreshSerials(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	var serials []string
	_, err = probe.Probe(t.Context(), recorder{v, &serials}, probe.Options{Seed: 11, IgnoreClaim: true})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, s := range serials {
		assert.False(t, seen[s], "serial %s enrolled twice", s)
		seen[s] = true
		assert.Regexp(t, `^[12][0-9]{12}$`, s)
	}
	var n int
	_, err = probe.Probe(t.Context(), v, probe.Options{Seed: 11, Serial: func(k harness.Kind) string {
		n++
		return fmt.Sprintf("9%012d", n)
	}})
	require.NoError(t, err)
	assert.Positive(t, n)
}

// failing is a verifier whose every request fails in some way.
type failing struct {
	enroll error
	check  error
	hang   bool
}

func (f failing) Enroll(ctx context.Context, _ harness.Token) error {
	if f.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.enroll
}

func (f failing) Check(context.Context, harness.CheckRequest) (harness.Reply, error) {
	return harness.Reply{}, f.check
}

func (f failing) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, harness.ErrUnsupported
}

func (f failing) Unlock(context.Context, string) error { return harness.ErrUnsupported }

func TestProbeErrors(t *testing.T) {
	transport := errors.New("broken pipe")
	tests := []struct {
		name string
		v    harness.Verifier
		want string
		is   error
	}{
		{"refuses every token", failing{enroll: &harness.RefusedError{Op: "enroll", Message: "no"}}, "no token of any kind", nil},
		{"check fails", failing{check: transport}, "broken pipe", transport},
		{"times out", failing{hang: true}, "deadline exceeded", context.DeadlineExceeded},
		{"rejects every code", failing{}, "no token of any kind", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := probe.Probe(t.Context(), tt.v, probe.Options{Seed: 1, Timeout: 20 * time.Millisecond, Now: fixedNow})
			require.Error(t, err)
			require.NotNil(t, res, "a partial result comes with the error")
			assert.Contains(t, err.Error(), tt.want)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestProbeStopsOnCancel(t *testing.T) {
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = probe.Probe(ctx, v, probe.Options{Seed: 1})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestTableAndSVG(t *testing.T) {
	v, err := newOathLike(5)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 2})
	require.NoError(t, err)

	out := table(res)
	for _, want := range []string{"FINDING", "look-ahead", "stored-counter", "last used (c = matched) (!)", "guessing-limit", "none", "not observed", "(!) departs"} {
		assert.Contains(t, out, want)
	}

	var svg bytes.Buffer
	require.NoError(t, res.SVG(&svg))
	doc := svg.String()
	dec := xml.NewDecoder(&svg)
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	assert.Equal(t, 1, elems["svg"])
	assert.Positive(t, elems["circle"])
	assert.Positive(t, elems["path"])
	for _, s := range res.Series {
		assert.Contains(t, doc, s.Name)
	}

	empty := &probe.Result{}
	svg.Reset()
	require.NoError(t, empty.SVG(&svg))
	assert.Contains(t, svg.String(), "no searches were made")
}

func table(res *probe.Result) string {
	var b strings.Builder
	_ = res.Table(&b)
	return b.String()
}

// Concurrent probes of one verifier must not disturb each other: their
// serials differ by seed.
func TestConcurrentProbesShareAVerifier(t *testing.T) {
	want := both(10, 2, 1000, 5, false, 1, 1)
	v, err := reference.New(want)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for seed := uint64(1); seed <= 4; seed++ {
		wg.Go(func() {
			res, err := probe.Probe(t.Context(), v, probe.Options{Seed: seed, IgnoreClaim: true})
			if assert.NoError(t, err) {
				assert.Empty(t, cmp.Diff(recovered(want), res.Profile))
			}
		})
	}
	wg.Wait()
}

// burner is google-authenticator's HOTP as DOMAIN.md describes it: a
// window of 3 (c..c+2), SHA1 and 6 digits only, and a rejected code burns
// a counter. It has no resync, no lockout and no unlock.
type burner struct {
	mu   sync.Mutex
	toks map[string]*burnTok
}

type burnTok struct {
	key *token.Key
	c   uint64
}

func (b *burner) Enroll(_ context.Context, tok harness.Token) error {
	if tok.Kind != harness.HOTP || tok.Algorithm != token.SHA1 || tok.Digits != 6 {
		return errors.New("enroll: hotp SHA1/6 only")
	}
	k, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.toks[tok.Serial] = &burnTok{key: k, c: tok.Counter}
	return nil
}

func (b *burner) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.toks[req.Serial]
	if t == nil {
		return harness.Reply{}, nil
	}
	if k, ok := t.key.Find(req.Code, t.c, 2); ok {
		t.c = k + 1
		return harness.Reply{Accepted: true}, nil
	}
	t.c++
	return harness.Reply{}, nil
}

func (b *burner) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, harness.ErrUnsupported
}

func (b *burner) Unlock(context.Context, string) error { return harness.ErrUnsupported }

// TestProbeFailuresThatBurnCounters: a verifier whose failures move the
// counter is not mistaken for one that locks after one failure.
func TestProbeFailuresThatBurnCounters(t *testing.T) {
	res, err := probe.Probe(t.Context(), &burner{toks: map[string]*burnTok{}}, probe.Options{Seed: 6})
	require.NoError(t, err)
	want := harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP},
		Algorithms: []string{"SHA1"},
		Digits:     []int{6},
		Counters:   &harness.CounterRange{Max: token.MaxCounter},
		LookAhead:  harness.Uint64(2),
		OnFailure:  harness.OnFailureAdvance,
		Input:      harness.InputExact,
		Resync:     &harness.ResyncPolicy{},
		Limits:     harness.LimitsNone,
		Flows:      harness.Purposes(),
	}
	assert.Empty(t, cmp.Diff(want, res.Profile), table(res))
	f, ok := res.Finding("counter-after-failure")
	require.True(t, ok)
	assert.Equal(t, "moved by each failure", f.Value)
	of, ok := res.Finding("on-failure")
	require.True(t, ok)
	assert.Equal(t, "advance", of.Value, "on_failure advance is a profile value now, not a departure")
	assert.False(t, of.Departs)
	sc, _ := res.Finding("stored-counter")
	assert.Equal(t, "next (c = matched + 1)", sc.Value)

	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	res, err = probe.Probe(t.Context(), v, probe.Options{Seed: 6})
	require.NoError(t, err)
	f, ok = res.Finding("counter-after-failure")
	require.True(t, ok)
	assert.Equal(t, "unchanged", f.Value)
}

// overflowAtTop is the reference serving the counters of a signed 64-bit
// column, up to 2^63-2 (it stores the counter after the match), that also
// enrolls a token at 2^63-1 but answers its checks with an error, as
// django-otp does. Unlike overflowing (refused_test.go), which passes
// every enrolment on and fails the checks of all counters from 2^63, it
// enrolls only that one counter past what the reference serves.
type overflowAtTop struct {
	*reference.Verifier
	mu  sync.Mutex
	top map[string]bool
}

func (o *overflowAtTop) Enroll(ctx context.Context, tok harness.Token) error {
	if tok.Kind == harness.HOTP && tok.Counter == math.MaxInt64 {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.top == nil {
			o.top = map[string]bool{}
		}
		o.top[tok.Serial] = true
		return nil
	}
	return o.Verifier.Enroll(ctx, tok)
}

func (o *overflowAtTop) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	o.mu.Lock()
	top := o.top[req.Serial]
	o.mu.Unlock()
	if top {
		return harness.Reply{}, &harness.RefusedError{Op: "check", Message: "counter overflow"}
	}
	return o.Verifier.Check(ctx, req)
}

// TestProbeCountersEndBelowAnErroringTop: a verifier that enrolls a
// counter but answers its check with an error serves counters up to the
// one below; the probe says so, flags it, and its profile claims that
// range, which then judges the verifier with no FAIL or ERROR at the top.
// (Before, the profile claimed the counter whose check errors.)
func TestProbeCountersEndBelowAnErroringTop(t *testing.T) {
	p := reference.Default()
	p.Kinds, p.TOTP = []harness.Kind{harness.HOTP}, nil
	p.Counters = &harness.CounterRange{Max: math.MaxInt64 - 1}
	ref, err := reference.New(p)
	require.NoError(t, err)
	v := &overflowAtTop{Verifier: ref}
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 5, IgnoreClaim: true})
	require.NoError(t, err, table(res))
	f, _ := res.Finding("counters")
	assert.Equal(t, fmt.Sprintf("0 .. %d", uint64(math.MaxInt64-1)), f.Value, table(res))
	assert.True(t, f.Departs)
	assert.Contains(t, f.Evidence, "answered with an error (counter overflow)")
	require.NotNil(t, res.Profile.Counters)
	assert.Equal(t, uint64(math.MaxInt64-1), res.Profile.Counters.Max)

	printed := res.Profile
	rep, err := harness.Execute(t.Context(), v, harness.Options{Profile: &printed, Seed: 5, Checks: -1, Run: regexp.MustCompile(`^rfc4226/5\.1/`)})
	require.NoError(t, err)
	for _, r := range rep.Results {
		// NON-STRICT: a range below 2^64-1 is a declared departure.
		assert.Contains(t, []harness.Verdict{harness.Pass, harness.Skip, harness.NonStrict}, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
	}
}
