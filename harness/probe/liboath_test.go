package probe_test

import (
	"context"
	"crypto/subtle"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/token"
)

// liboathProfile is the profile CI uses for liboath.
const liboathProfile = "../../examples/liboath/profile.json"

// oathLike mirrors liboath's users-file verifier as examples/liboath/
// FINDINGS.md describes it, with window w:
//   - HOTP: searches c..c+w (first match) and stores the matched counter
//     (the last used one, not the next), with the accepted code as "last
//     OTP": a code string-equal to it is a replay;
//   - TOTP: steps T, T+1, T-1, ..., T+w, T-w; a new code must sit strictly
//     later in the window than the last accepted one; time from requests;
//   - the code length is the typed length (6..8), not the token's;
//   - SHA1 only, 6..8 digits, secrets up to 32 bytes, periods 30 and 60;
//   - no resync, no lockout, no unlock.
type oathLike struct {
	w     uint64
	claim harness.Profile
	mu    sync.Mutex
	users map[string]*oathUser
}

type oathUser struct {
	kind   harness.Kind
	secret []byte
	c      uint64 // HOTP: the last used (or enrolled) counter
	last   string // the last accepted code
	period int64
	t0     int64
}

func newOathLike(w uint64) (*oathLike, error) {
	data, err := os.ReadFile(filepath.FromSlash(liboathProfile))
	if err != nil {
		return nil, err
	}
	p, err := harness.ParseProfile(data)
	if err != nil {
		return nil, err
	}
	return &oathLike{w: w, claim: p, users: map[string]*oathUser{}}, nil
}

func (o *oathLike) Describe(context.Context) (harness.Info, error) {
	p := o.claim
	return harness.Info{Name: "liboath-like", Ops: []string{"enroll", "check"}, Profile: &p}, nil
}

func (o *oathLike) Enroll(_ context.Context, tok harness.Token) error {
	switch {
	case tok.Algorithm != token.SHA1:
		return fmt.Errorf("enroll: liboath's users file is HMAC-SHA1 only, not %s", tok.Algorithm)
	case tok.Digits < 6 || tok.Digits > 8:
		return fmt.Errorf("enroll: liboath supports 6, 7 or 8 digits, not %d", tok.Digits)
	case len(tok.Secret) == 0 || len(tok.Secret) > 32:
		return fmt.Errorf("enroll: liboath holds 1..32-byte secrets, not %d", len(tok.Secret))
	case tok.Kind == harness.TOTP && tok.Period != 30 && tok.Period != 60:
		return fmt.Errorf("enroll: periods 30 and 60 only, not %d", tok.Period)
	case tok.Kind != harness.HOTP && tok.Kind != harness.TOTP:
		return fmt.Errorf("enroll: unknown kind %q", tok.Kind)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.users[tok.Serial] = &oathUser{kind: tok.Kind, secret: tok.Secret, c: tok.Counter, period: tok.Period, t0: tok.T0}
	return nil
}

// gen is liboath's code of counter c with as many digits as typed.
func gen(secret []byte, c uint64, digits int) string {
	k, err := token.NewKey(secret, token.SHA1, digits)
	if err != nil {
		return ""
	}
	return k.HOTP(c)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (o *oathLike) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := o.users[req.Serial]
	n := len(req.Code)
	if u == nil || n < 6 || n > 8 {
		return harness.Reply{}, nil // OATH_INVALID_DIGITS
	}
	if u.last != "" && equal(u.last, req.Code) {
		return harness.Reply{}, nil // OATH_REPLAYED_OTP
	}
	if u.kind == harness.HOTP {
		for i := uint64(0); i <= o.w; i++ {
			if equal(gen(u.secret, u.c+i, n), req.Code) {
				u.c, u.last = u.c+i, req.Code
				return harness.Reply{Accepted: true}, nil
			}
		}
		return harness.Reply{}, nil
	}
	now := req.Time.Unix() - u.t0
	if now < 0 {
		return harness.Reply{}, nil
	}
	t := uint64(now / u.period)
	// find returns the position of code in liboath's search order.
	find := func(code string) (int64, bool) {
		for i := uint64(0); i <= o.w; i++ {
			if equal(gen(u.secret, t+i, len(code)), code) {
				return int64(i), true
			}
			if i > 0 && i <= t && equal(gen(u.secret, t-i, len(code)), code) {
				return -int64(i), true
			}
		}
		return 0, false
	}
	d, ok := find(req.Code)
	if !ok {
		return harness.Reply{}, nil
	}
	if u.last != "" {
		if l, ok := find(u.last); ok && d <= l {
			return harness.Reply{}, nil // at or before the last accepted step
		}
	}
	u.last = req.Code
	return harness.Reply{Accepted: true}, nil
}

func (o *oathLike) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, fmt.Errorf("resync: liboath has no resync or lockout: %w", harness.ErrUnsupported)
}

func (o *oathLike) Unlock(context.Context, string) error {
	return fmt.Errorf("unlock: liboath has no resync or lockout: %w", harness.ErrUnsupported)
}

// TestProbeLiboathStyle: a verifier with liboath's traits probes to
// exactly the profile CI uses for liboath, and the stored-counter and
// code-length departures are flagged.
func TestProbeLiboathStyle(t *testing.T) {
	data, err := os.ReadFile(filepath.FromSlash(liboathProfile))
	require.NoError(t, err)
	claimed, err := harness.ParseProfile(data)
	require.NoError(t, err)
	// The CI profile is the probe's explicit form: every purpose served,
	// the periods the mimic takes (30 and 60).
	want := probe.Explicit(claimed)

	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore-claim=%v", ignore), func(t *testing.T) {
			v, err := newOathLike(5)
			require.NoError(t, err)
			res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 4, IgnoreClaim: ignore})
			require.NoError(t, err)
			if d := cmp.Diff(want, res.Profile); d != "" {
				t.Fatalf("probed profile differs from %s (-want +probed):\n%s\n%s", liboathProfile, d, table(res))
			}
			got, err := harness.ParseProfile(res.Profile.JSON())
			require.NoError(t, err)
			assert.Empty(t, cmp.Diff(want, got), "the JSON round-trips")

			sc, ok := res.Finding("stored-counter")
			require.True(t, ok)
			assert.True(t, sc.Departs)
			assert.Equal(t, probe.Exact, sc.Certainty)
			assert.Contains(t, sc.Value, "last used")
			assert.Contains(t, sc.Evidence, "reaches only m+5")

			for name, value := range map[string]string{
				"look-ahead": "5", "replay": "rejected", "resync": "none", "guessing-limit": "none",
				"totp-skew-back": "5", "totp-skew-ahead": "5", "totp-reuse": "rejected",
				"code-length": "the typed code's", "algorithms": "SHA1", "digits": "6, 7, 8",
				"clock": "request", "totp-reuse-mode": "later", "totp-periods": "30, 60",
				"input": "exact", "on-failure": "keep", "claim": "matches",
			} {
				f, ok := res.Finding(name)
				require.True(t, ok, name)
				assert.Equal(t, value, f.Value, "%s: %s", name, f.Evidence)
			}
			dig, _ := res.Finding("digits")
			assert.Contains(t, dig.Evidence, "left out of the profile")
			cl, _ := res.Finding("code-length")
			assert.True(t, cl.Departs)
			assert.Contains(t, cl.Evidence, "an 8-digit token accepted the 6-digit form")
			t.Logf("%d requests\n%s", res.Requests, table(res))
		})
	}
}

// TestProbeLiboathWindowZero: with window 0 a token logs in once; the
// probe says so and does not pretend to measure a lockout.
func TestProbeLiboathWindowZero(t *testing.T) {
	v, err := newOathLike(0)
	require.NoError(t, err)
	res, err := probe.Probe(t.Context(), v, probe.Options{Seed: 8, IgnoreClaim: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(0), *res.Profile.LookAhead)
	sc, _ := res.Finding("stored-counter")
	assert.Contains(t, sc.Value, "last used")
	assert.Contains(t, sc.Evidence, "log in only once")
	assert.True(t, strings.HasPrefix(table(res), "probe of liboath-like"))
}
