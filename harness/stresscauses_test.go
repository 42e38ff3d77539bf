package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
)

// stressProfile is what the planted clusters claim: HOTP and TOTP, look-ahead
// 10, two-code resync, lockout after 5, time from requests.
func stressProfile() Profile {
	return Profile{
		Kinds: []Kind{HOTP, TOTP}, Algorithms: []string{"SHA1"}, Digits: []int{6},
		Counters:  &CounterRange{Min: 0, Max: 1<<32 - 1},
		LookAhead: Uint64(10), Resync: &ResyncPolicy{Codes: 2, Window: 100},
		Lockout: &LockoutPolicy{After: 5}, TOTP: &TOTPPolicy{SkewBack: 1, SkewAhead: 1},
		Clock: ClockRequest,
	}
}

// timedRec builds a token's recorded history: requests at given instants
// (milliseconds) on given nodes.
type timedRec struct {
	th  TimedHistory
	key *token.Key
}

func newTimedRec(t *testing.T, serial string, counter uint64) *timedRec {
	t.Helper()
	secret := []byte(serial + "-secret-of-twenty")[:20]
	key, err := token.NewKey(secret, token.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	return &timedRec{th: TimedHistory{Token: Token{Serial: serial, Kind: HOTP, Algorithm: token.SHA1, Digits: 6, Secret: secret, Counter: counter}}, key: key}
}

const stressT0 = 1_800_000_000

// check records a check of the code of counter c on node, sent at call ms
// and answered at ret ms.
func (r *timedRec) check(c uint64, node int, call, ret int64, accepted bool) *timedRec {
	return r.code(r.key.HOTP(c), node, call, ret, accepted)
}

func (r *timedRec) code(code string, node int, call, ret int64, accepted bool) *timedRec {
	r.th.Requests = append(r.th.Requests, TimedRequest{Request: Request{Op: opCheck, Codes: []string{code}, Time: stressT0 + call/1000},
		Node: node, Call: call * int64(time.Millisecond), Return: ret * int64(time.Millisecond), Accepted: accepted})
	return r
}

// wrong is a code of no counter near c.
func (r *timedRec) wrong(c uint64) string {
	for d := 0; ; d++ {
		code := fmt.Sprintf("%06d", (r.key.Value(c)+uint32(d)*7919+1)%1_000_000)
		var v uint32
		fmt.Sscanf(code, "%d", &v)
		if _, ok := r.key.FindValue(v, c, 200); !ok {
			return code
		}
	}
}

func prove(t *testing.T, violating, passing []*timedRec) Proof {
	t.Helper()
	var vs, ps []TimedHistory
	for _, r := range violating {
		vs = append(vs, r.th)
	}
	for _, r := range passing {
		ps = append(ps, r.th)
	}
	proof, err := ProveCauses(context.Background(), stressProfile(), vs, ps, ProofOptions{Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	return proof
}

// Requests whose intervals overlap, directly or through another, are one
// batch; the others follow one another in the order they were sent.
func TestEngineHistoryGroupsOverlaps(t *testing.T) {
	r := newTimedRec(t, "7000000000001", 0).
		check(0, 1, 0, 10, true).
		check(1, 2, 20, 40, true). // overlaps the next
		check(2, 3, 30, 50, true). // and this one the next: one batch of 3
		check(3, 1, 45, 60, true).
		check(4, 2, 70, 80, true)
	h, why, err := engineHistory(r.th, ProofOptions{Nodes: 3})
	if err != nil || why != "" {
		t.Fatalf("engineHistory: %v %q", err, why)
	}
	var sizes []int
	for _, e := range h.events {
		sizes = append(sizes, len(e.reqs))
	}
	if fmt.Sprint(sizes) != "[1 3 1]" {
		t.Fatalf("batches of %v, want [1 3 1]", sizes)
	}
	if h.events[1].reqs[2].node != 1 || h.events[2].reqs[0].node != 2 || h.nodes != 3 {
		t.Fatalf("nodes not kept: %+v", h.events)
	}
}

// One code accepted on two nodes at once: a race and a counter kept per
// node both fit the token's history, so alone it names both as
// alternatives; a passing token whose code, once accepted on one node, was
// rejected on another refutes the per-node counter, and the race is named
// alone.
func TestProveRaceOrPerNode(t *testing.T) {
	bad := newTimedRec(t, "7000000000002", 10).
		check(10, 1, 0, 5, true).
		check(11, 1, 10, 30, true).
		check(11, 2, 12, 28, true).
		check(12, 3, 40, 45, true)
	proof := prove(t, []*timedRec{bad}, nil)
	if len(proof.Causes) != 1 {
		t.Fatalf("causes %+v, want one", proof.Causes)
	}
	c := proof.Causes[0]
	if c.Key != "race" || len(c.Alternatives) != 1 || c.Alternatives[0] != "per-node-counter" || !strings.HasPrefix(c.Summary, "could not tell which") {
		t.Fatalf("cause %+v, want a race or a counter kept per node, could not tell which", c)
	}
	good := newTimedRec(t, "7000000000003", 50).
		check(50, 1, 0, 5, true).
		check(50, 2, 10, 15, false).
		check(51, 3, 20, 25, true)
	proof = prove(t, []*timedRec{bad}, []*timedRec{good})
	if len(proof.Causes) != 1 || proof.Causes[0].Key != "race" || len(proof.Causes[0].Alternatives) != 0 || proof.Passing != 1 {
		t.Fatalf("causes %+v (passing %d), want the race alone", proof.Causes, proof.Passing)
	}
	if !strings.HasPrefix(proof.Causes[0].Summary, "concurrent requests for one token are not served one at a time") {
		t.Fatalf("summary %q: not the engine's words for a race", proof.Causes[0].Summary)
	}
	if proof.Tokens[0].Cause != "race" || proof.Causes[0].Serials[0] != bad.th.Token.Serial {
		t.Fatalf("token %+v not under its cause", proof.Tokens[0])
	}
}

// The same double acceptance, one request after the other on one node: no
// concurrency, no second node, and no known variant accepts a code twice:
// no cause, and the report says why.
func TestProveNothingFits(t *testing.T) {
	bad := newTimedRec(t, "7000000000004", 0).
		check(0, 1, 0, 5, true).
		check(0, 1, 10, 15, true)
	proof := prove(t, []*timedRec{bad}, nil)
	if len(proof.Causes) != 0 || !strings.HasPrefix(proof.Tokens[0].Unexplained, "no cause found: no known variant fits") {
		t.Fatalf("causes %+v, token %+v: want none, said so", proof.Causes, proof.Tokens[0])
	}
}

// On two nodes one after the other, only a counter kept per node fits; a
// passing token refutes it, and then no cause is named: the variants that
// fit are listed with the refutation.
func TestProveRefutedByPassing(t *testing.T) {
	bad := newTimedRec(t, "7000000000005", 0).
		check(0, 1, 0, 5, true).
		check(0, 2, 10, 15, true)
	proof := prove(t, []*timedRec{bad}, nil)
	if len(proof.Causes) != 1 || proof.Causes[0].Key != "per-node-counter" || len(proof.Causes[0].Alternatives) != 0 {
		t.Fatalf("causes %+v, want the counter kept per node alone", proof.Causes)
	}
	good := newTimedRec(t, "7000000000006", 0).
		check(0, 1, 0, 5, true).
		check(0, 2, 10, 15, false)
	proof = prove(t, []*timedRec{bad}, []*timedRec{good})
	if len(proof.Causes) != 0 || !strings.Contains(proof.Tokens[0].Unexplained, "refuted by a token that passed") ||
		!strings.Contains(proof.Tokens[0].Unexplained, "HOTP counter kept per node") {
		t.Fatalf("causes %+v, token %+v: want none, refuted", proof.Causes, proof.Tokens[0])
	}
}

// Wrong guesses spread over three nodes, then the right code accepted on a
// fourth request although five failures lock the token: the lockout
// counted per node, the one variant that fits, with the deployment's
// figures.
func TestProvePerNodeLockout(t *testing.T) {
	bad := newTimedRec(t, "7000000000007", 0)
	for i := range 5 {
		bad.code(bad.wrong(0), 1+i%3, int64(10*i), int64(10*i+5), false)
	}
	bad.check(0, 3, 60, 65, true)
	good := newTimedRec(t, "7000000000008", 0).check(0, 1, 0, 5, true)
	proof := prove(t, []*timedRec{bad}, []*timedRec{good})
	if len(proof.Causes) != 1 || proof.Causes[0].Key != "per-node-fails" || len(proof.Causes[0].Alternatives) != 0 {
		t.Fatalf("causes %+v, want the lockout counted per node", proof.Causes)
	}
	if !strings.Contains(proof.Causes[0].Summary, "failures on nodes 1, 2 and 3 are each counted apart, so up to 3x5 wrong codes") {
		t.Fatalf("summary %q lacks the figures", proof.Causes[0].Summary)
	}
}

// A request without reply may have taken effect at any later moment: the
// token is left unexplained and says so, and a passing token with one
// refutes nothing (it is not counted).
func TestProveTimedOut(t *testing.T) {
	bad := newTimedRec(t, "7000000000009", 10).
		check(10, 1, 10, 30, true).
		check(10, 2, 12, 28, true)
	bad.th.Requests = append(bad.th.Requests, TimedRequest{Request: Request{Op: opCheck, Codes: []string{bad.key.HOTP(11)}, Time: stressT0},
		Node: 3, Call: 40 * int64(time.Millisecond), Unknown: true})
	good := newTimedRec(t, "7000000000010", 0).check(0, 1, 0, 5, true)
	good.th.Requests = append(good.th.Requests, TimedRequest{Request: Request{Op: opCheck, Codes: []string{good.key.HOTP(0)}, Time: stressT0},
		Node: 2, Call: 10 * int64(time.Millisecond), Unknown: true})
	proof := prove(t, []*timedRec{bad}, []*timedRec{good})
	if len(proof.Causes) != 0 || !strings.Contains(proof.Tokens[0].Unexplained, "1 of its requests got no reply") || proof.Passing != 0 {
		t.Fatalf("causes %+v, token %+v, passing %d: want no cause, said so, and no passing history used", proof.Causes, proof.Tokens[0], proof.Passing)
	}
}

// A history that fits the claimed profile once its overlapping requests
// are served in any order is not explained (the order within a batch is
// what porcupine's check held against it).
func TestProveFitsBase(t *testing.T) {
	ok := newTimedRec(t, "7000000000011", 0).
		check(0, 1, 0, 5, true).
		check(1, 2, 10, 30, true)
	proof := prove(t, []*timedRec{ok}, nil)
	if len(proof.Causes) != 0 || !strings.Contains(proof.Tokens[0].Unexplained, "fits the claimed profile") {
		t.Fatalf("causes %+v, token %+v", proof.Causes, proof.Tokens[0])
	}
}

// When the context ends, tokens not replayed say the budget ran out.
func TestProveBudget(t *testing.T) {
	bad := newTimedRec(t, "7000000000012", 0).check(0, 1, 0, 5, true).check(0, 2, 10, 15, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	proof, err := ProveCauses(ctx, stressProfile(), []TimedHistory{bad.th}, nil, ProofOptions{Nodes: 3})
	if err != nil || proof.Complete || len(proof.Causes) != 0 || !strings.Contains(proof.Tokens[0].Unexplained, "time budget") {
		t.Fatalf("proof %+v, %v", proof, err)
	}
}

// A token whose key cannot be made is an error naming it.
func TestProveBadToken(t *testing.T) {
	bad := newTimedRec(t, "7000000000013", 0).check(0, 1, 0, 5, true)
	bad.th.Token.Digits = 3
	_, err := ProveCauses(context.Background(), stressProfile(), []TimedHistory{bad.th}, nil, ProofOptions{Nodes: 3})
	if err == nil || !strings.Contains(err.Error(), "7000000000013") {
		t.Fatalf("error %v, want one naming the token", err)
	}
}

// A TOTP code accepted on two nodes at once, by a verifier on its own clock
// (each time known to a second): a race, a replay record kept per node and
// no replay protection at all fit it alone; a passing token whose replays
// were rejected, on the same node and on another, leaves the race.
func TestProveTOTPOnWallClock(t *testing.T) {
	secret := []byte("a-totp-secret-twenty")
	key, err := token.NewKey(secret, token.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	tok := func(serial string) Token {
		return Token{Serial: serial, Kind: TOTP, Algorithm: token.SHA1, Digits: 6, Secret: secret, Period: 30}
	}
	const now = stressT0 + 15 // mid-step
	step := uint64(now / 30)
	req := func(code string, node int, call, ret int64, accepted bool) TimedRequest {
		return TimedRequest{Request: Request{Op: opCheck, Codes: []string{code}, Time: now + call/1000}, Node: node,
			Call: call * int64(time.Millisecond), Return: ret * int64(time.Millisecond), Accepted: accepted}
	}
	bad := TimedHistory{Token: tok("7000000000020"), Requests: []TimedRequest{
		req(key.HOTP(step), 1, 0, 20, true),
		req(key.HOTP(step), 2, 5, 25, true),
	}}
	o := ProofOptions{Nodes: 3, Fuzz: 1}
	proof, err := ProveCauses(context.Background(), stressProfile(), []TimedHistory{bad}, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(proof.Causes) != 1 || proof.Causes[0].Key != "totp-reuse-any" || fmt.Sprint(proof.Causes[0].Alternatives) != "[race per-node-step]" ||
		!strings.HasPrefix(proof.Causes[0].Summary, "could not tell which") {
		t.Fatalf("causes %+v, want a race, per node or stateless, could not tell which", proof.Causes)
	}
	good := TimedHistory{Token: tok("7000000000021"), Requests: []TimedRequest{
		req(key.HOTP(step), 1, 0, 5, true),
		req(key.HOTP(step), 1, 10, 15, false),
		req(key.HOTP(step), 2, 20, 25, false),
	}}
	proof, err = ProveCauses(context.Background(), stressProfile(), []TimedHistory{bad}, []TimedHistory{good}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(proof.Causes) != 1 || proof.Causes[0].Key != "race" || len(proof.Causes[0].Alternatives) != 0 {
		t.Fatalf("causes %+v, want the race alone", proof.Causes)
	}
}

// Property: a history a correct verifier could have produced gets no cause,
// whatever its batches of concurrent requests and its nodes. Each batch is
// served one request after another in a drawn order, each reply drawn
// among those the claimed profile allows.
func TestProveNeverAccusesACorrectHistory(t *testing.T) {
	p := stressProfile()
	RapidCheck(t, func(rt *rapid.T) {
		r := newTimedRec(t, "7000000000030", 0)
		m := newModel(p, r.th.Token, r.key, quirks{})
		state := m.Init()[0]
		var press uint64
		at := int64(0)
		for range rapid.IntRange(1, 25).Draw(rt, "batches") {
			n := rapid.IntRange(1, 3).Draw(rt, "size")
			var batch []TimedRequest
			for i := range n {
				var q Request
				switch rapid.IntRange(0, 5).Draw(rt, "op") {
				case 0:
					q = Request{Op: opUnlock}
				case 1:
					q = Request{Op: opCheck, Codes: []string{r.wrong(press)}}
				case 2:
					q = Request{Op: opResync, Codes: []string{r.key.HOTP(press + 12), r.key.HOTP(press + 13)}}
					press += 14
				default:
					back := uint64(rapid.IntRange(0, 2).Draw(rt, "back"))
					q = Request{Op: opCheck, Codes: []string{r.key.HOTP(press - min(back, press))}}
					if back == 0 {
						press++
					}
				}
				q.Time = stressT0 + at/1000
				batch = append(batch, TimedRequest{Request: q, Node: rapid.IntRange(1, 3).Draw(rt, "node"),
					Call: (at + int64(i)) * int64(time.Millisecond), Return: (at + 10) * int64(time.Millisecond)})
			}
			for _, i := range rapid.Permutation(seq(n)).Draw(rt, "order") {
				outs := m.Outcomes(state, batch[i].Request)
				o := outs[rapid.IntRange(0, len(outs)-1).Draw(rt, "outcome")]
				batch[i].Accepted, state = o.Accepted, o.State
			}
			r.th.Requests = append(r.th.Requests, batch...)
			at += 20
		}
		proof, err := ProveCauses(context.Background(), p, []TimedHistory{r.th}, nil, ProofOptions{Nodes: 3})
		if err != nil {
			rt.Fatal(err)
		}
		if len(proof.Causes) != 0 || proof.Tokens[0].Unexplained != unexplainedBase {
			rt.Fatalf("a correct history got %+v (%s)", proof.Causes, proof.Tokens[0].Unexplained)
		}
	})
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
