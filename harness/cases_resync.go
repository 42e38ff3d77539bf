package harness

import (
	"fmt"
	"slices"

	"github.com/otplab/otplab/token"
)

// seq returns the n consecutive codes starting at counter from, counted
// from the enrolled counter.
func (s *sim) seq(from uint64, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s.at(from + uint64(i))
	}
	return out
}

func resyncCase(name, requirement, what string, needs func(Profile) string, body func(t *ct, n int, r, l uint64)) *caseDef {
	if needs == nil {
		needs = needResync
	}
	return &caseDef{
		id: "rfc4226/7.4/resync-" + name, level: PROFILE, requirement: requirement, what: what,
		ops: []string{"resync"}, needs: needs,
		body: func(t *ct) {
			p := t.profile()
			body(t, p.Resync.Codes, p.Resync.Window, lookAhead(p))
		},
	}
}

func resyncCases() []*caseDef {
	return []*caseDef{
		resyncCase("edge",
			"resync {codes N, window R}: resync with N consecutive codes accepts when the first is the code of c+k, 0 <= k <= R; then c is one past the last",
			"Presses the token R times without submitting, resyncs with the N codes from counter R (accepted), then submits the next code by check (accepted).",
			nil, func(t *ct, n int, r, l uint64) {
				s := t.hotp(tokOpts{})
				s.tell("pressed the button %d times without submitting", r)
				s.resync(s.seq(r, n), true, fmt.Sprintf("the %d codes from counter %d (offset R=%d)", n, s.ctr(r), r), fmt.Sprintf("the profile claims resync window %d", r))
				next := r + uint64(n)
				s.check(s.at(next), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(next)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(next)))
			}),
		resyncCase("beyond",
			"resync {codes N, window R}: a sequence whose first code is beyond c+R is rejected with no change",
			"Presses the token R+1 times without submitting, resyncs with the N codes from counter R+1 (rejected), then submits the code of counter 0 by check (accepted: nothing changed).",
			nil, func(t *ct, n int, r, l uint64) {
				s := t.hotp(tokOpts{clean: distinct(0, l, 0)})
				s.tell("pressed the button %d times without submitting", r+1)
				s.resync(s.seq(r+1, n), false, fmt.Sprintf("the %d codes from counter %d (offset R+1=%d)", n, s.ctr(r+1), r+1), fmt.Sprintf("the profile claims resync window %d", r))
				s.checkNext("a rejected resync does not move the server counter")
			}),
		resyncCase("gap",
			"resync: the codes must follow the first one by one; a sequence with a gap is rejected",
			"Resyncs with N codes from counter k whose last code skips one press (counter k+N instead of k+N-1); it must be rejected, and the proper sequence then accepted.",
			needResyncPair, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				codes := s.seq(k, n)
				codes[n-1] = s.at(k + uint64(n))
				s.tell("pressed the button %d times without submitting", k)
				s.resync(codes, false, fmt.Sprintf("codes of counters %d..%d with counter %d left out", s.ctr(k), s.ctr(k+uint64(n)), s.ctr(k+uint64(n)-1)), "the codes must be consecutive")
				s.resync(s.seq(k, n), true, fmt.Sprintf("the %d consecutive codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
			}),
		resyncCase("reversed",
			"resync: codes are given oldest first; the same codes in the wrong order are rejected",
			"Resyncs with the N codes from counter k in reverse order (rejected), then in the right order (accepted).",
			needResyncPair, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				codes := s.seq(k, n)
				rev := slices.Clone(codes)
				slices.Reverse(rev)
				s.tell("pressed the button %d times without submitting", k+uint64(n))
				s.resync(rev, false, fmt.Sprintf("the codes of counters %d..%d newest first", s.ctr(k), s.ctr(k+uint64(n)-1)), "resync codes are oldest first")
				s.resync(codes, true, "the same codes oldest first", "they are consecutive codes inside the window")
			}),
		resyncCase("same-code-twice",
			"resync: N consecutive codes, i.e. N different presses; one code repeated is rejected",
			"Resyncs with the code of counter k given N times; it must be rejected.",
			needResyncPair, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				codes := make([]string, n)
				for i := range codes {
					codes[i] = s.at(k)
				}
				s.tell("pressed the button %d times without submitting; the display showed the code of counter %d", k, s.ctr(k))
				s.resync(codes, false, fmt.Sprintf("the code of counter %d repeated %d times", s.ctr(k), n), "one press read twice is not a sequence of consecutive codes")
			}),
		resyncCase("behind-counter",
			"resync: the window starts at the server's counter c; codes of counters below c are rejected",
			"Accepts the codes of counters c..c+3 (server counter c+4), then resyncs with the N codes from counter c; it must be rejected.",
			nil, func(t *ct, n int, r, l uint64) {
				s := t.hotp(tokOpts{})
				for c := range uint64(4) {
					s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
				}
				s.resync(s.seq(0, n), false, fmt.Sprintf("the %d codes from counter %d (already used)", n, s.ctr(0)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(4)))
			}),
		resyncCase("first-is-last-used",
			"resync: the first code must be the code of c+k with k >= 0; the last accepted code (counter c-1) cannot start a resync",
			"Accepts the codes of counters c..c+4, then resyncs with the codes from counter c+4 (the last one used); it must be rejected.",
			needResyncPair, func(t *ct, n int, r, l uint64) {
				s := t.hotp(tokOpts{})
				for c := range uint64(5) {
					s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
				}
				s.resync(s.seq(4, n), false, fmt.Sprintf("the %d codes from counter %d (the last accepted)", n, s.ctr(4)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(5)))
			}),
		resyncCase("replay-after-resync",
			"resync: after a resync c is one past the last code; neither a resync nor a check with the same codes is accepted again",
			"Resyncs with the N codes from counter k (accepted), then repeats the resync (rejected) and submits each of its codes by check (each rejected), then the next code (accepted).",
			nil, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				codes := s.seq(k, n)
				s.tell("pressed the button %d times without submitting", k)
				s.resync(codes, true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the sequence is inside the resync window")
				next := k + uint64(n)
				s.resync(codes, false, "the same codes again (a replay)", fmt.Sprintf("the server counter is %d", s.ctr(next)))
				for i, c := range codes {
					s.check(c, false, fmt.Sprintf("the code of counter %d from the resync (a replay)", s.ctr(k+uint64(i))), fmt.Sprintf("the code is behind the server counter %d", s.ctr(next)))
				}
				s.checkNext("the resync and the rejected replays left it one past the resync")
			}),
		resyncCase("partly-in-window",
			"resync: a sequence whose first code is inside the look-ahead window and whose last is beyond it is accepted like any other in the resync window",
			"Resyncs with N codes from counter L (the look-ahead edge), so the later codes lie beyond the check window; it must be accepted, and the next code then accepted by check.",
			all(needResync, needLookAhead, func(p Profile) string {
				if p.Resync.Window < lookAhead(p) {
					return "the resync window is narrower than the look-ahead window"
				}
				return ""
			}), func(t *ct, n int, r, l uint64) {
				s := t.hotp(tokOpts{})
				s.tell("pressed the button %d times without submitting", l)
				s.resync(s.seq(l, n), true, fmt.Sprintf("the %d codes from counter %d (the look-ahead edge)", n, s.ctr(l)), fmt.Sprintf("offset %d is inside the resync window %d", l, r))
				next := l + uint64(n)
				s.check(s.at(next), true, fmt.Sprintf("the code of counter %d", s.ctr(next)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(next)))
			}),
		resyncCase("chance-collision",
			"resync accepts when the first code is the code of c+k for some 0 <= k <= R and the others follow it; an earlier chance match of the first code alone does not spoil a genuine sequence",
			"Finds a token whose code at counter k also appears by chance at an earlier counter j (both inside the window, the next codes differ), then resyncs with the genuine codes from k; it must be accepted. Verifiers that stop at the first match of the first code reject it.",
			all(needResyncPair, needAlgorithm(HOTP, token.SHA1, 6)), func(t *ct, n int, r, l uint64) {
				key, j, k, ok := findCollision(t, n, r, t.profile().CounterMin())
				if !ok {
					t.skip("found no token with a chance collision inside a resync window of %d within the search budget", r)
				}
				s := t.hotp(tokOpts{secret: key.Secret(), counter: j, absolute: true, alg: token.SHA1, digits: 6})
				s.tell("the code of counter %d equals the code of counter %d (a chance collision the harness looked for)", k, j)
				s.tell("pressed the button %d times without submitting", k-j)
				s.resync(s.seq(k-j, n), true, fmt.Sprintf("the %d codes from counter %d (offset %d)", n, k, k-j), fmt.Sprintf("offset %d is inside the resync window %d; the match at counter %d is not followed by the second code", k-j, r, j))
			}),
	}
}

// findCollision searches the code stream of random secrets for counters
// j < k <= j+R whose first codes match while the sequences from them
// differ. It costs about sqrt(10^6 x 10^6 / R) codes per secret.
func findCollision(t *ct, n int, r, base uint64) (*token.Key, uint64, uint64, bool) {
	const budget = 3_000_000 // codes, about 0.6 s
	spent := 0
	for spent < budget {
		secret := make([]byte, 20)
		for i := range secret {
			secret[i] = byte(t.rng.Uint32())
		}
		key, _ := token.NewKey(secret, token.SHA1, 6)
		seen := make(map[uint32]uint64)
		for c := base; c < base+200_000 && c >= base && spent < budget; c++ {
			spent++
			v := key.Value(c)
			j, dup := seen[v]
			seen[v] = c
			if !dup || c-j > r {
				continue
			}
			// A genuine sequence at c, and a different one at j.
			same := true
			for i := uint64(1); i < uint64(n) && same; i++ {
				same = key.Value(j+i) == key.Value(c+i)
			}
			if !same {
				return key, j, c, true
			}
		}
	}
	return nil, 0, 0, false
}
