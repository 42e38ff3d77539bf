package stress

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/token"
)

// history plays a random sequence of one token's requests against the
// reference verifier, one at a time, and records it as stress does.
func history(t *rapid.T, p harness.Profile) (harness.Token, []op) {
	kind := rapid.SampledFrom([]harness.Kind{harness.HOTP, harness.TOTP}).Draw(t, "kind")
	secret := rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "secret")
	tok := harness.Token{Serial: "7000000000001", Kind: kind, Algorithm: token.SHA1, Digits: 6, Secret: secret}
	if kind == harness.HOTP {
		tok.Counter = rapid.Uint64Range(0, 1000).Draw(t, "counter")
	} else {
		tok.Period = 30
	}
	key, err := token.NewKey(secret, token.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.New(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := ref.Enroll(ctx, tok); err != nil {
		t.Fatal(err)
	}
	u := &user{tok: tok, key: key, rng: rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "typos"), 0))}
	press := tok.Counter
	now := int64(1_700_000_000)
	var ops []op
	var sent []string
	n := rapid.IntRange(1, 40).Draw(t, "n")
	for i := range n {
		now += rapid.Int64Range(0, 40).Draw(t, "wait")
		o := op{node: rapid.IntRange(0, 2).Draw(t, "node"), call: int64(i) * 10, ret: int64(i)*10 + 5}
		o.req.Time = now
		var code string
		switch a := rapid.IntRange(0, 6).Draw(t, "action"); {
		case a == 0 && kind == harness.HOTP:
			o.req.Op = "resync"
			press += uint64(rapid.IntRange(0, 30).Draw(t, "ahead"))
			o.req.Codes = []string{u.code(press), u.code(press + 1)}
			press += 2
			rep, err := ref.Resync(ctx, harness.ResyncRequest{Serial: tok.Serial, Codes: o.req.Codes, Time: time.Unix(now, 0)})
			if err != nil {
				t.Fatal(err)
			}
			o.accepted = rep.Accepted
			ops = append(ops, o)
			continue
		case a == 1:
			o.req.Op = "unlock"
			if err := ref.Unlock(ctx, tok.Serial); err != nil {
				t.Fatal(err)
			}
			o.accepted = true
			ops = append(ops, o)
			continue
		case a == 2 && len(sent) > 0:
			code = rapid.SampledFrom(sent).Draw(t, "replay")
		case a == 3:
			code = u.wrong(0)
		case kind == harness.HOTP:
			press += uint64(rapid.IntRange(0, 3).Draw(t, "skip"))
			code = u.code(press)
			press++
		default:
			st := uint64(now/30) + uint64(rapid.IntRange(0, 4).Draw(t, "off")) - 2
			code = u.code(st)
		}
		sent = append(sent, code)
		o.req.Op, o.req.Codes, o.label = "check", []string{code}, "a code"
		rep, err := ref.Check(ctx, harness.CheckRequest{Serial: tok.Serial, Code: code, Time: time.Unix(now, 0)})
		if err != nil {
			t.Fatal(err)
		}
		o.accepted = rep.Accepted
		ops = append(ops, o)
	}
	return tok, ops
}

// A history the reference verifier produced is never accused, and a reply
// flipped where the profile leaves no choice is always caught, at that
// request, from the right states.
func TestCheckerSoundAndComplete(t *testing.T) {
	p := reference.Default()
	rapid.Check(t, func(t *rapid.T) {
		tok, ops := history(t, p)
		m, err := harness.NewModel(p, tok)
		if err != nil {
			t.Fatal(err)
		}
		tm := &tokenModel{m: m}
		if res := porcupine.CheckOperations(tm.porcupine(), operations(ops)); !res {
			t.Fatalf("the reference verifier's history was judged not linearizable:\n%s", dump(tm, ops))
		}
		// Follow the states; flip the first reply the states agree on.
		states := m.Init()
		for k := range ops {
			var replies []bool
			for _, s := range states {
				for _, oc := range m.Outcomes(s, ops[k].req) {
					if !slices.Contains(replies, oc.Accepted) {
						replies = append(replies, oc.Accepted)
					}
				}
			}
			if len(replies) == 1 && ops[k].req.Op != "unlock" && rapid.Bool().Draw(t, "flip") {
				bad := slices.Clone(ops)
				bad[k].accepted = !bad[k].accepted
				if porcupine.CheckOperations(tm.porcupine(), operations(bad)) {
					t.Fatalf("request %d's reply flipped and not caught:\n%s", k, dump(tm, bad))
				}
				v := tm.explain(tok.Serial, bad, 10*time.Second)
				if len(v.win) != 1 || v.win[0].call != bad[k].call {
					t.Fatalf("flipped request %d, window %v", k, v.Window)
				}
				return
			}
			next, ok := tm.group(context.Background(), states, ops[k:k+1])
			if !ok || len(next) == 0 {
				t.Fatalf("no state after request %d", k)
			}
			states = next
		}
	})
}

// Two overlapping acceptances of one HOTP code are a violation shown as
// such; one of them in flight without reply is not.
func TestDoubleAcceptance(t *testing.T) {
	p := reference.Default()
	tok := harness.Token{Serial: "7000000000002", Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6, Secret: []byte("12345678901234567890"), Counter: 41}
	m, err := harness.NewModel(p, tok)
	if err != nil {
		t.Fatal(err)
	}
	tm := &tokenModel{m: m}
	key, _ := token.NewKey(tok.Secret, token.SHA1, 6)
	code := fmt.Sprintf("%06d", key.Value(41))
	check := func(node int, call, ret int64, accepted, unknown bool) op {
		return op{node: node, call: call, ret: ret, accepted: accepted, unknown: unknown, label: "code of counter 41",
			req: harness.Request{Op: "check", Codes: []string{code}, Time: 1_700_000_000}}
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want string
	}{
		{"race", []op{check(1, 12_000_000_000, 12_003_000_000, true, false), check(2, 12_001_000_000, 12_004_000_000, true, false)},
			"code of counter 41 accepted on node 2 at 12.003 s and on node 3 at 12.004 s"},
		{"per node", []op{check(0, 1_000_000_000, 1_100_000_000, true, false), check(2, 2_000_000_000, 2_100_000_000, true, false)},
			"code of counter 41 accepted on node 1 at 1.100 s and on node 3 at 2.100 s"},
		{"unknown", []op{check(0, 1_000_000_000, math.MaxInt64, false, true), check(1, 2_000_000_000, 2_100_000_000, true, false)}, ""},
		{"one rejected", []op{check(0, 1_000_000_000, 1_100_000_000, true, false), check(1, 1_000_000_000, 1_100_000_000, false, false)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok := porcupine.CheckOperations(tm.porcupine(), operations(tc.ops))
			if tc.want == "" {
				if !ok {
					t.Fatalf("accused:\n%s", dump(tm, tc.ops))
				}
				return
			}
			if ok {
				t.Fatal("not caught")
			}
			v := tm.explain(tok.Serial, tc.ops, 10*time.Second)
			if v.Summary != tc.want {
				t.Fatalf("summary %q, want %q", v.Summary, tc.want)
			}
		})
	}
}

func dump(tm *tokenModel, ops []op) string {
	var s string
	for _, o := range ops {
		s += fmt.Sprintf("  t=%d %s\n", o.req.Time, tm.describe(&o))
	}
	return s
}
