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

// BenchmarkObserveBurst feeds the model a burst of twelve concurrent
// requests for one HOTP token, as the explanation engine replays a stress
// history under the racy variant: the code of the next counter four times
// (one accepted), a wrong code four times and the code of the counter
// after four times (one accepted), every order of service and, racy,
// every request served on the state from before the burst.
func BenchmarkObserveBurst(b *testing.B) {
	p := Profile{LookAhead: Uint64(10), Lockout: &LockoutPolicy{After: 20}, Clock: ClockRequest}
	tok := Token{Serial: "1000000000001", Kind: HOTP, Algorithm: token.SHA1, Digits: 6, Secret: []byte("12345678901234567890")}
	key, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		b.Fatal(err)
	}
	m := newModel(p, tok, key, quirks{racy: true})
	const t0 = 1767225600
	var reqs []Request
	var replies []bool
	for i, code := range []string{"755224", "000000", "287082"} {
		for j := range 4 {
			reqs = append(reqs, Request{Op: opCheck, Codes: []string{code}, Time: t0})
			replies = append(replies, i != 1 && j == 0)
		}
	}
	for b.Loop() {
		tr := newTracker(m)
		if !tr.observeAll(reqs, replies) {
			b.Fatal("the racy model refused a burst it allows")
		}
	}
}
