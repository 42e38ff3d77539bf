package harness

import (
	"testing"

	"github.com/otplab/otplab/token"
)

// TestModelRateLimitExample plays the rate-limit example of
// docs/protocol.md through the model: the doc and the model agree.
func TestModelRateLimitExample(t *testing.T) {
	p := Profile{LookAhead: Uint64(0), RateLimit: &RateLimitPolicy{Attempts: 2, Per: 30}, Clock: ClockRequest}
	m, err := NewModel(p, Token{Serial: "1000000000001", Kind: HOTP, Algorithm: token.SHA1, Digits: 6, Secret: []byte("12345678901234567890")})
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(m)
	const t0 = 1767225600
	for i, step := range []struct {
		at   int64
		code string
		want bool
	}{
		{0, "755224", true}, {0, "287082", true}, {10, "359152", false},
		{20, "359152", false}, {31, "359152", false}, {61, "359152", true},
	} {
		r := Request{Op: opCheck, Codes: []string{step.code}, Time: t0 + step.at}
		if got := tr.expect(r); len(got) != 1 || got[0] != step.want {
			t.Fatalf("step %d (+%d s %s): the model allows %v, the doc says %v", i+1, step.at, step.code, got, step.want)
		}
		tr.observe(r, step.want)
	}
}
