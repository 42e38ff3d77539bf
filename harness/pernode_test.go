package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otplab/otplab/token"
	"pgregory.net/rapid"
)

// Per-node variants replay each request on the state of the node that
// served it: a history fits exactly the per-node variant whose state it
// needs, and a history served by one verifier is never offered one.
func TestPerNodeReplay(t *testing.T) {
	const t0 = 1767225600
	rfc := []byte("12345678901234567890")
	key, err := token.NewKey(rfc, token.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	hotp := Token{Serial: "1000000000001", Kind: HOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfc}
	totp := Token{Serial: "2000000000001", Kind: TOTP, Algorithm: token.SHA1, Digits: 6, Secret: rfc, Period: 30}
	p := Profile{Kinds: []Kind{HOTP, TOTP}, Algorithms: []string{"SHA1"}, Digits: []int{6}, LookAhead: Uint64(5),
		Lockout: &LockoutPolicy{After: 3}, TOTP: &TOTPPolicy{SkewBack: 1, SkewAhead: 1}, Clock: ClockRequest}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	totpCode := fmt.Sprintf("%06d", key.Value(uint64((t0+15)/30)))
	check := func(node int, code string) Request {
		return Request{Op: opCheck, Codes: []string{code}, Time: t0 + 15, node: node}
	}
	wrong := "000001"
	rate := p
	rate.Lockout, rate.RateLimit = nil, &RateLimitPolicy{Attempts: 2, Per: 60}
	throttle := p
	throttle.Lockout, throttle.Throttle = nil, &ThrottlePolicy{After: 2, Delay: 10, Factor: 1}
	for _, tc := range []struct {
		name    string
		p       *Profile
		tok     Token
		reqs    []Request
		replies []bool
		want    string // the per-node key that fits ("" for none)
	}{
		{"totp replay on another node", nil, totp, []Request{check(1, totpCode), check(2, totpCode)}, []bool{true, true}, "per-node-step"},
		{"totp replay on the same node", nil, totp, []Request{check(1, totpCode), check(1, totpCode)}, []bool{true, true}, ""},
		{"hotp replay on another node", nil, hotp, []Request{check(2, "755224"), check(3, "755224")}, []bool{true, true}, "per-node-counter"},
		{"hotp replay on the same node", nil, hotp, []Request{check(2, "755224"), check(2, "755224")}, []bool{true, true}, ""},
		{"failures spread over nodes", nil, hotp, []Request{check(1, wrong), check(2, wrong), check(3, wrong), check(1, "755224")}, []bool{false, false, false, true}, "per-node-fails"},
		{"failures on one node, then another", nil, hotp, []Request{check(1, wrong), check(1, wrong), check(1, wrong), check(2, "755224")}, []bool{false, false, false, true}, "per-node-fails"},
		{"failures on one node, then that node", nil, hotp, []Request{check(1, wrong), check(1, wrong), check(1, wrong), check(1, "755224")}, []bool{false, false, false, true}, ""},
		{"rate limit spread over nodes", &rate, hotp, []Request{check(1, wrong), check(2, wrong), check(3, "755224")}, []bool{false, false, true}, "per-node-rate"},
		{"rate limit on one node", &rate, hotp, []Request{check(1, wrong), check(1, wrong), check(1, "755224")}, []bool{false, false, true}, ""},
		{"throttle spread over nodes", &throttle, hotp, []Request{check(1, wrong), check(2, wrong), check(3, "755224")}, []bool{false, false, true}, "per-node-fails"},
		{"throttle on one node", &throttle, hotp, []Request{check(2, wrong), check(2, wrong), check(2, "755224")}, []bool{false, false, true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := p
			if tc.p != nil {
				p = *tc.p
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			var events []event
			for i, r := range tc.reqs {
				events = append(events, event{[]Request{r}, []bool{tc.replies[i]}})
			}
			h := history{tok: tc.tok, key: key, events: events, nodes: 3}
			e := explain(p, quirks{}, []history{h})
			if e == nil {
				t.Fatal("the history agrees with the shared model: the test is wrong")
			}
			var per []string
			for _, k := range e.keys {
				if strings.HasPrefix(k, "per-node-") {
					per = append(per, k)
				}
			}
			switch {
			case tc.want == "" && len(per) > 0:
				t.Errorf("fits %v, want no per-node variant", per)
			case tc.want != "" && !slices.Equal(per, []string{tc.want}):
				t.Errorf("fits %v, want exactly %s", per, tc.want)
			}
			// The same replies from one verifier: no per-node variant is
			// tried, nor listed as tried.
			single := h
			single.nodes = 0
			single.events = nil
			for _, ev := range events {
				r := ev.reqs[0]
				r.node = 0
				single.events = append(single.events, event{[]Request{r}, ev.replies})
			}
			e = explain(p, quirks{}, []history{single})
			for _, k := range e.keys {
				if strings.HasPrefix(k, "per-node-") {
					t.Errorf("one verifier: %s offered", k)
				}
			}
			for _, w := range append(e.NotWith, e.ConsistentWith...) {
				if strings.Contains(w, "per node") {
					t.Errorf("one verifier: %q said", w)
				}
			}
		})
	}
	// A deployment over one store: the replay is rejected on the other
	// node, failures add up across nodes. The shared model explains it,
	// so nothing is explained.
	shared := []history{
		{tok: totp, key: key, nodes: 3, events: []event{{[]Request{check(1, totpCode)}, []bool{true}}, {[]Request{check(2, totpCode)}, []bool{false}}}},
		{tok: hotp, key: key, nodes: 3, events: []event{
			{[]Request{check(1, wrong)}, []bool{false}}, {[]Request{check(2, wrong)}, []bool{false}},
			{[]Request{check(3, wrong)}, []bool{false}}, {[]Request{check(1, "755224")}, []bool{false}},
		}},
	}
	if e := explain(p, quirks{}, shared); e != nil {
		t.Errorf("one store over three nodes explained: %v", e.keys)
	}
	// A request whose node is not known cannot be replayed per node.
	unknown := history{tok: totp, key: key, nodes: 3, events: []event{{[]Request{check(1, totpCode)}, []bool{true}}, {[]Request{check(0, totpCode)}, []bool{true}}}}
	if ok, _ := fitPerNode(p, quirks{perNode: partStep}, unknown); ok {
		t.Error("a request without its node was replayed per node")
	}
}

// The node of each request is the one the spread sent it to, also for
// requests with the same code; a single verifier leaves nodes unknown.
func TestWithNodes(t *testing.T) {
	var seen []int
	var nodes []Verifier
	for i := range 3 {
		nodes = append(nodes, &recorder{id: i, seen: &seen})
	}
	s := newSpread(nodes, 7)
	ctx := context.Background()
	tok := Token{Serial: "1000000000009"}
	if err := s.Enroll(ctx, tok); err != nil {
		t.Fatal(err)
	}
	var events []event
	for _, code := range []string{"111111", "222222", "111111", "111111"} {
		if _, err := s.Check(ctx, CheckRequest{Serial: tok.Serial, Code: code, Time: time.Unix(100, 0)}); err != nil {
			t.Fatal(err)
		}
		events = append(events, event{[]Request{{Op: opCheck, Codes: []string{code}, Time: 100}}, []bool{false}})
	}
	_ = s.Unlock(ctx, tok.Serial)
	events = append(events, event{[]Request{{Op: opUnlock}}, []bool{true}})
	h := withNodes(s, history{tok: tok, events: events})
	if h.nodes != 3 {
		t.Fatalf("nodes %d, want 3", h.nodes)
	}
	for i, e := range h.events {
		if want := seen[i+1] + 1; e.reqs[0].node != want {
			t.Errorf("request %d: node %d, want %d (served %v)", i+1, e.reqs[0].node, want, seen)
		}
		if events[i].reqs[0].node != 0 {
			t.Errorf("request %d: the history given was changed", i+1)
		}
	}
	if h := withNodes(nodes[0], history{tok: tok, events: events}); h.nodes != 0 || h.events[0].reqs[0].node != 0 {
		t.Error("one verifier: nodes given")
	}
}

// A replay accepted on another node is told so; one on the same node, one
// across an enrollment, or one rejected is not.
func TestAcrossNodes(t *testing.T) {
	chk := func(node int, code string, ok bool) event {
		return event{[]Request{{Op: opCheck, Codes: []string{code}, node: node}}, []bool{ok}}
	}
	enroll := event{[]Request{{Op: opEnroll, node: 2}}, []bool{true}}
	for _, tc := range []struct {
		events []event
		want   string
	}{
		{[]event{chk(1, "123456", true), chk(3, "123456", true)}, "accepted on node 1, then again on node 3"},
		{[]event{chk(2, "123456", true), chk(1, "654321", true), chk(3, "123456", true)}, "accepted on node 2, then again on node 3"},
		{[]event{chk(1, "123456", true), chk(1, "123456", true)}, ""},
		{[]event{chk(1, "123456", true), chk(3, "123456", false)}, ""},
		{[]event{chk(1, "123456", false), chk(3, "123456", true)}, ""},
		{[]event{chk(1, "123456", true), enroll, chk(3, "123456", true)}, ""},
		{[]event{chk(0, "123456", true), chk(0, "123456", true)}, ""},
		{nil, ""},
	} {
		if got := acrossNodes(tc.events); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.events, got, tc.want)
		}
	}
}

// A deployment whose every request one node serves is one verifier: under
// any per-node variant, such a history fits exactly when it fits the
// shared model, with as many replies left open.
func TestPerNodeOnOneNodeIsShared(t *testing.T) {
	rfc := []byte("12345678901234567890")
	key, err := token.NewKey(rfc, token.SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	p := Profile{Kinds: []Kind{HOTP, TOTP}, Algorithms: []string{"SHA1"}, Digits: []int{6}, LookAhead: Uint64(3),
		Lockout: &LockoutPolicy{After: 3}, RateLimit: &RateLimitPolicy{Attempts: 4, Per: 60},
		TOTP: &TOTPPolicy{SkewBack: 1, SkewAhead: 1}, Clock: ClockRequest}
	RapidCheck(t, func(rt *rapid.T) {
		kind := rapid.SampledFrom([]Kind{HOTP, TOTP}).Draw(rt, "kind")
		tok := Token{Serial: "1000000000001", Kind: kind, Algorithm: token.SHA1, Digits: 6, Secret: rfc, Period: 30}
		const t0 = 1767225600
		at := int64(t0)
		node := rapid.IntRange(1, 3).Draw(rt, "node")
		var events []event
		for range rapid.IntRange(1, 12).Draw(rt, "len") {
			at += rapid.Int64Range(0, 40).Draw(rt, "dt")
			var r Request
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op == 0:
				r = Request{Op: opUnlock}
			case op == 1 && kind == HOTP:
				k := rapid.Uint64Range(0, 8).Draw(rt, "k")
				r = Request{Op: opResync, Codes: []string{fmt.Sprintf("%06d", key.Value(k)), fmt.Sprintf("%06d", key.Value(k+1))}, Time: at}
			default:
				var c uint64
				if kind == HOTP {
					c = rapid.Uint64Range(0, 8).Draw(rt, "k")
				} else {
					c = uint64(at/30) + rapid.Uint64Range(0, 2).Draw(rt, "s") - 1
				}
				code := fmt.Sprintf("%06d", key.Value(c))
				if rapid.IntRange(0, 3).Draw(rt, "wrong") == 0 {
					code = "000000"
				}
				r = Request{Op: opCheck, Codes: []string{code}, Time: at}
			}
			r.node = node
			events = append(events, event{[]Request{r}, []bool{rapid.Bool().Draw(rt, "reply")}})
		}
		h := history{tok: tok, key: key, events: events, nodes: 3}
		wantOK, wantLoose := fit(p, quirks{}, []history{h})
		for _, parts := range []perNodeParts{partFails, partRate, partCounter, partStep, partFails | partCounter | partStep | partRate} {
			ok, loose := fitPerNode(p, quirks{perNode: parts}, h)
			if ok != wantOK || ok && loose != wantLoose {
				rt.Fatalf("parts %b: fit %v (%d open), the shared model %v (%d open)", parts, ok, loose, wantOK, wantLoose)
			}
		}
	})
}
