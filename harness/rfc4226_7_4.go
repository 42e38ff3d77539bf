package harness

import (
	"fmt"
	"slices"

	"github.com/otplab/otplab/token"
)

// The cases of RFC 4226 §7.4 (resynchronization of the counter):
// look-ahead, resync with a sequence of codes or a single code, and
// auto-resync.

// caseLookAheadEdge builds the case rfc4226/7.4/look-ahead-edge.
func caseLookAheadEdge() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/look-ahead-edge",
		level:       PROFILE,
		requirement: "look_ahead L: check accepts the code of counter c+k for 0 <= k <= L",
		what:        "Presses the token L times without submitting, then submits the code of counter c+L (offset L from the server's counter c); it must be accepted.",
		needs:       needLookAhead,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{clean: distinct(0, l, l)})
			s.tell("pressed the button %d times without submitting", l)
			s.check(s.at(l), true, fmt.Sprintf("the code of counter %d (offset L=%d)", s.ctr(l), l), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is inside the window", l, l))
		},
	}
}

// caseLookAheadBeyond builds the case rfc4226/7.4/look-ahead-beyond.
func caseLookAheadBeyond() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/look-ahead-beyond",
		level:       PROFILE,
		requirement: "look_ahead L: any code other than those of counters c..c+L is rejected and c does not change",
		what:        "Presses the token L+1 times without submitting, then submits the code of counter c+L+1 (rejected), then the code of counter c (accepted; under on_failure advance, c+1).",
		needs:       needLookAhead,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{clean: distinct(0, l+2, l+1, 0, 1)})
			s.tell("pressed the button %d times without submitting", l+1)
			s.check(s.at(l+1), false, fmt.Sprintf("the code of counter %d (offset L+1=%d)", s.ctr(l+1), l+1), fmt.Sprintf("the profile claims look_ahead %d, so offset %d is outside the window", l, l+1))
			s.checkNext("the rejected code did not move the server counter")
		},
	}
}

// caseLookAheadMovesCounter builds the case rfc4226/7.4/look-ahead-moves-counter.
func caseLookAheadMovesCounter() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/look-ahead-moves-counter",
		level:       PROFILE,
		requirement: "look_ahead L: after accepting the code of counter c+k the server sets c = c+k+1",
		what:        "Accepts the code of counter c+k, k = L (after L unsubmitted presses); then the code of counter c+k-1 and a replay of c+k are rejected and the next codes are accepted.",
		needs:       needLookAheadAtLeast(1),
		body: func(t *ct) {
			l := lookAhead(t.profile())
			k := l
			s := t.hotp(tokOpts{clean: distinct(0, k+4+l, k-1, k, k+1, k+2, k+3, k+4)})
			s.tell("pressed the button %d times without submitting", k)
			s.check(s.at(k), true, fmt.Sprintf("the code of counter %d (offset %d)", s.ctr(k), k), fmt.Sprintf("look_ahead %d covers offset %d", l, k))
			s.check(s.at(k-1), false, fmt.Sprintf("the code of counter %d (skipped, now behind)", s.ctr(k-1)), fmt.Sprintf("the server counter is %d after the hit at %d", s.ctr(k+1), s.ctr(k)))
			s.checkNext("the hit moved the server counter one past it")
			s.check(s.at(k), false, fmt.Sprintf("the code of counter %d again (a replay)", s.ctr(k)), "it is behind the server counter")
			s.checkNext("the replay did not move the server counter")
		},
	}
}

// caseLookAheadWindowMoves builds the case rfc4226/7.4/look-ahead-window-moves.
func caseLookAheadWindowMoves() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/look-ahead-window-moves",
		level:       PROFILE,
		requirement: "look_ahead L: after a hit the window starts at the new c = c+k+1, so it reaches counter c+k+1+L",
		what:        "Accepts the code of counter c (the server counter becomes c+1), presses L times without submitting, then submits the code of counter c+1+L (offset L from the new counter); it must be accepted. Verifiers that store the last used counter instead of the next one reject it.",
		needs:       needLookAhead,
		body: func(t *ct) {
			l := lookAhead(t.profile())
			s := t.hotp(tokOpts{clean: distinct(0, 1+l, 0, 1+l)})
			s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
			s.tell("pressed the button %d times without submitting", l)
			s.check(s.at(1+l), true, fmt.Sprintf("the code of counter %d (offset L=%d from the server counter %d)", s.ctr(1+l), l, s.ctr(1)), fmt.Sprintf("the profile claims look_ahead %d and the server counter is %d", l, s.ctr(1)))
		},
	}
}

// caseResyncEdge builds the case rfc4226/7.4/resync-edge.
func caseResyncEdge() *caseDef {
	return resyncCase("edge",
		"resync {codes N, window R}: resync with N consecutive codes accepts when the first is the code of c+k, 0 <= k <= R; then c is one past the last",
		"Presses the token R times without submitting, resyncs with the N codes from counter R (accepted), then submits the next code by check (accepted).",
		nil, func(t *ct, n int, r, l uint64) {
			s := t.hotp(tokOpts{})
			s.tell("pressed the button %d times without submitting", r)
			s.resync(s.seq(r, n), true, fmt.Sprintf("the %d codes from counter %d (offset R=%d)", n, s.ctr(r), r), fmt.Sprintf("the profile claims resync window %d", r))
			next := r + uint64(n)
			s.check(s.at(next), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(next)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(next)))
		})
}

// caseResyncBeyond builds the case rfc4226/7.4/resync-beyond.
func caseResyncBeyond() *caseDef {
	return resyncCase("beyond",
		"resync {codes N, window R}: a sequence whose first code is beyond c+R is rejected with no change",
		"Presses the token R+1 times without submitting, resyncs with the N codes from counter R+1 (rejected), then submits the code of counter 0 by check (accepted: nothing changed).",
		nil, func(t *ct, n int, r, l uint64) {
			s := t.hotp(tokOpts{clean: distinct(0, l, 0)})
			s.tell("pressed the button %d times without submitting", r+1)
			s.resync(s.seq(r+1, n), false, fmt.Sprintf("the %d codes from counter %d (offset R+1=%d)", n, s.ctr(r+1), r+1), fmt.Sprintf("the profile claims resync window %d", r))
			s.checkNext("a rejected resync does not move the server counter")
		})
}

// caseResyncGap builds the case rfc4226/7.4/resync-gap.
func caseResyncGap() *caseDef {
	return resyncCase("gap",
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
		})
}

// caseResyncReversed builds the case rfc4226/7.4/resync-reversed.
func caseResyncReversed() *caseDef {
	return resyncCase("reversed",
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
		})
}

// caseResyncSameCodeTwice builds the case rfc4226/7.4/resync-same-code-twice.
func caseResyncSameCodeTwice() *caseDef {
	return resyncCase("same-code-twice",
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
		})
}

// caseResyncBehindCounter builds the case rfc4226/7.4/resync-behind-counter.
func caseResyncBehindCounter() *caseDef {
	return resyncCase("behind-counter",
		"resync: the window starts at the server's counter c; codes of counters below c are rejected",
		"Accepts the codes of counters c..c+3 (server counter c+4), then resyncs with the N codes from counter c; it must be rejected.",
		nil, func(t *ct, n int, r, l uint64) {
			s := t.hotp(tokOpts{})
			for c := range uint64(4) {
				s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
			}
			s.resync(s.seq(0, n), false, fmt.Sprintf("the %d codes from counter %d (already used)", n, s.ctr(0)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(4)))
		})
}

// caseResyncFirstIsLastUsed builds the case rfc4226/7.4/resync-first-is-last-used.
func caseResyncFirstIsLastUsed() *caseDef {
	return resyncCase("first-is-last-used",
		"resync: the first code must be the code of c+k with k >= 0; the last accepted code (counter c-1) cannot start a resync",
		"Accepts the codes of counters c..c+4, then resyncs with the codes from counter c+4 (the last one used); it must be rejected.",
		needResyncPair, func(t *ct, n int, r, l uint64) {
			s := t.hotp(tokOpts{})
			for c := range uint64(5) {
				s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
			}
			s.resync(s.seq(4, n), false, fmt.Sprintf("the %d codes from counter %d (the last accepted)", n, s.ctr(4)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(5)))
		})
}

// caseResyncReplayAfterResync builds the case rfc4226/7.4/resync-replay-after-resync.
func caseResyncReplayAfterResync() *caseDef {
	return resyncCase("replay-after-resync",
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
		})
}

// caseResyncPartlyInWindow builds the case rfc4226/7.4/resync-partly-in-window.
func caseResyncPartlyInWindow() *caseDef {
	return resyncCase("partly-in-window",
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
		})
}

// caseResyncChanceCollision builds the case rfc4226/7.4/resync-chance-collision.
func caseResyncChanceCollision() *caseDef {
	return resyncCase("chance-collision",
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
		})
}

// caseAutoResyncAccepts builds the case rfc4226/7.4/auto-resync-accepts.
func caseAutoResyncAccepts() *caseDef {
	return policyCase("rfc4226/7.4/auto-resync-accepts",
		"resync {auto {within W}}: a check rejected by the look-ahead with the code of c+k, L < k <= R, followed within W seconds by the code of c+k+1, is accepted, and c becomes c+k+2",
		"Presses the token R times, submits the code of counter c+R (rejected: beyond the look-ahead), then at t+W the code of c+R+1 (accepted) and the code of c+R+2 (accepted).",
		nil, needAuto, func(t *ct, p Profile, s *sim) {
			r, w := p.Resync.Window, p.Resync.Auto.Within
			s.tell("pressed the button %d times without submitting", r)
			s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), fmt.Sprintf("it is beyond the look-ahead %d; the verifier remembers it", lookAhead(p)))
			s.advance(w)
			s.checkAt(s.at(r+1), t.now(), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(r+1)), fmt.Sprintf("it follows the remembered code within %d s: an automatic resync", w))
			s.checkAt(s.at(r+2), t.now(), true, fmt.Sprintf("the code of counter %d", s.ctr(r+2)), fmt.Sprintf("the automatic resync set the counter to %d", s.ctr(r+2)))
		})
}

// caseAutoResyncTimeout builds the case rfc4226/7.4/auto-resync-timeout.
func caseAutoResyncTimeout() *caseDef {
	return policyCase("rfc4226/7.4/auto-resync-timeout",
		"resync {auto {within W}}: the second code must come at most W seconds after the first",
		"Presses the token R times, submits the code of counter c+R (rejected), then at t+W+1 the code of c+R+1; it must be rejected.",
		nil, needAuto, func(t *ct, p Profile, s *sim) {
			r, w := p.Resync.Window, p.Resync.Auto.Within
			s.tell("pressed the button %d times without submitting", r)
			s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
			s.advance(w + 1)
			s.checkAt(s.at(r+1), t.now(), false, fmt.Sprintf("the code of counter %d", s.ctr(r+1)), fmt.Sprintf("%d s after the first code, one more than the claimed %d", w+1, w))
		})
}

// caseAutoResyncGap builds the case rfc4226/7.4/auto-resync-gap.
func caseAutoResyncGap() *caseDef {
	return policyCase("rfc4226/7.4/auto-resync-gap",
		"resync {auto}: the second code must be that of the very next counter",
		"Presses the token R times, submits the code of counter c+R (rejected), then the code of c+R+2 (a press skipped); it must be rejected.",
		nil, needAuto, func(t *ct, p Profile, s *sim) {
			r := p.Resync.Window
			s.tell("pressed the button %d times without submitting", r)
			s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
			s.checkAt(s.at(r+2), t.now(), false, fmt.Sprintf("the code of counter %d (one press skipped)", s.ctr(r+2)), "the codes of an automatic resync are consecutive")
		})
}

// caseAutoResyncUsedUp builds the case rfc4226/7.4/auto-resync-used-up.
func caseAutoResyncUsedUp() *caseDef {
	return policyCase("rfc4226/7.4/auto-resync-used-up",
		"resync {auto}: the remembered code is for the very next check of the token; any check in between uses it up",
		"Presses the token R times, submits the code of counter c+R (rejected), a wrong code (rejected), then the code of c+R+1; it must be rejected.",
		nil, needAuto, func(t *ct, p Profile, s *sim) {
			r := p.Resync.Window
			s.tell("pressed the button %d times without submitting", r)
			s.checkAt(s.at(r), t.now(), false, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), "it is beyond the look-ahead")
			s.checkAt(s.wrong(), t.now(), false, "a wrong code", "it matches nothing")
			s.checkAt(s.at(r+1), t.now(), false, fmt.Sprintf("the code of counter %d", s.ctr(r+1)), "the wrong code in between used the remembered code up")
		})
}

// caseConcurrentNeighbours builds the case rfc4226/7.4/concurrent-neighbours.
func caseConcurrentNeighbours() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/concurrent-neighbours",
		level:       PROFILE,
		requirement: "look_ahead L: concurrent checks of neighbouring codes behave as if served one at a time, and leave the counter one past the highest accepted",
		what:        fmt.Sprintf("Submits the codes of counters 0..min(L,3) at once, on %d fresh tokens in turn; the replies must match some order of service, and the code after the highest accepted one must then be accepted.", concurrencyRounds),
		needs:       needLookAheadAtLeast(1),
		body: func(t *ct) {
			l := lookAhead(t.profile())
			n := min(l, 3) + 1
			targets := make([]uint64, n+1)
			for i := range targets {
				targets[i] = uint64(i)
			}
			for range concurrencyRounds {
				s := t.hotp(tokOpts{clean: distinct(0, n+l, targets...)})
				got := s.parallel(s.seq(0, int(n)), fmt.Sprintf("the codes of counters %d..%d", s.ctr(0), s.ctr(n-1)))
				s.replayAccepted(s.seq(0, int(n)), got)
				s.checkNextIfKnown("the replies and the replays fix the server counter one past the highest accepted code")
			}
		},
	}
}

// caseResyncOneCodeShort builds the case rfc4226/7.4/resync-one-code-short.
func caseResyncOneCodeShort() *caseDef {
	return resyncCase("one-code-short",
		"resync {codes N}: exactly N consecutive codes; N-1 genuine codes are rejected with no change (one code where two are claimed is a guessing shortcut)",
		"Resyncs with the first N-1 of N consecutive genuine codes (rejected), then with all N (accepted).",
		needResyncPair, func(t *ct, n int, r, l uint64) {
			k := min(r, l+5)
			s := t.hotp(tokOpts{})
			s.tell("pressed the button %d times without submitting", k)
			s.resync(s.seq(k, n-1), false, fmt.Sprintf("the first %d of the %d codes from counter %d", n-1, n, s.ctr(k)), fmt.Sprintf("the profile claims resync with %d codes", n))
			s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
		})
}

// caseResyncOneCodeExtra builds the case rfc4226/7.4/resync-one-code-extra.
func caseResyncOneCodeExtra() *caseDef {
	return resyncCase("one-code-extra",
		"resync {codes N}: exactly N codes; N+1 codes, even genuine and consecutive, are rejected with no change",
		"Resyncs with N+1 consecutive genuine codes (rejected), then with the first N of them (accepted).",
		nil, func(t *ct, n int, r, l uint64) {
			k := min(r, l+5)
			s := t.hotp(tokOpts{})
			s.tell("pressed the button %d times without submitting", k)
			s.resync(s.seq(k, n+1), false, fmt.Sprintf("the %d codes from counter %d (one more than claimed)", n+1, s.ctr(k)), fmt.Sprintf("the profile claims resync with %d codes; a verifier that ignores extra codes accepts sequences it never checked", n))
			s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
		})
}

// caseResyncLastWrong builds the case rfc4226/7.4/resync-last-wrong.
func caseResyncLastWrong() *caseDef {
	return resyncCase("last-wrong",
		"resync {codes N}: every one of the N codes must be genuine; N codes with the last one wrong are rejected with no change",
		"Resyncs with N codes from counter k whose last is a wrong code (rejected), then with the genuine N (accepted).",
		nil, func(t *ct, n int, r, l uint64) {
			k := min(r, l+5)
			s := t.hotp(tokOpts{})
			codes := s.seq(k, n)
			codes[n-1] = s.wrongResyncCode(codes[n-1])
			s.tell("pressed the button %d times without submitting", k)
			s.resync(codes, false, fmt.Sprintf("%d codes from counter %d with the last one wrong", n, s.ctr(k)), "the last code is not the code of the next counter")
			s.resync(s.seq(k, n), true, fmt.Sprintf("the %d genuine codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
		})
}

// caseConcurrentSameResync builds the case rfc4226/7.4/concurrent-same-resync.
func caseConcurrentSameResync() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/concurrent-same-resync",
		level:       MUST,
		requirement: "a resync is accepted once: the same sequence sent several times at once is accepted exactly once, and its codes are spent",
		what:        fmt.Sprintf("Sends the same genuine resync %d times at once, on %d fresh tokens in turn; exactly one must be accepted, and each of its codes is then rejected by check.", concurrentResyncs, concurrencyRounds),
		ops:         []string{"resync"},
		needs:       needResync,
		body: func(t *ct) {
			p := t.profile()
			n, k := p.Resync.Codes, min(p.Resync.Window, lookAhead(p)+5)
			for range concurrencyRounds {
				s := t.hotp(tokOpts{})
				codes := s.seq(k, n)
				reqs := make([]Request, concurrentResyncs)
				for i := range reqs {
					reqs[i] = Request{Op: opResync, Codes: codes}
				}
				got := s.burst(reqs, fmt.Sprintf("the resync with the %d codes from counter %d, %d times", n, s.ctr(k), concurrentResyncs))
				accepted := 0
				for _, ok := range got {
					if ok {
						accepted++
					}
				}
				if accepted > 0 {
					s.replayAccepted(codes, slicesRepeatBool(true, len(codes)))
				}
			}
		},
	}
}

// caseConcurrentResyncAndCheck builds the case rfc4226/7.4/concurrent-resync-and-check.
func caseConcurrentResyncAndCheck() *caseDef {
	return &caseDef{
		id:          "rfc4226/7.4/concurrent-resync-and-check",
		level:       MUST,
		requirement: "a resync and a check of a code it covers, sent at once, behave as if served one at a time: the code is spent once",
		what:        fmt.Sprintf("Sends a genuine resync from counter c and a check of the code of counter c at once, on %d fresh tokens in turn; at most one may be accepted, then every accepted code is rejected on replay.", concurrencyRounds),
		ops:         []string{"resync"},
		needs:       needResync,
		body: func(t *ct) {
			n := t.profile().Resync.Codes
			for range concurrencyRounds {
				s := t.hotp(tokOpts{clean: distinct(0, uint64(n)+lookAhead(t.profile())+2, 0, 1, 2)})
				codes := s.seq(0, n)
				reqs := []Request{{Op: opResync, Codes: codes}, {Op: opCheck, Codes: []string{codes[0]}}}
				got := s.burst(reqs, fmt.Sprintf("a resync with the %d codes from counter %d and a check of the code of counter %d", n, s.ctr(0), s.ctr(0)))
				if got[0] {
					s.replayAccepted(codes, slicesRepeatBool(true, len(codes)))
				} else if got[1] {
					s.replayAccepted(codes[:1], []bool{true})
				}
			}
		},
	}
}

// caseResyncSingleEdge builds the case rfc4226/7.4/resync-single-edge.
func caseResyncSingleEdge() *caseDef {
	return singleResyncCase("edge",
		"resync {codes 1, window R}: one code, that of counter c+k with 0 <= k <= R, is accepted and c becomes c+k+1; the code of c+R+1 is rejected with no change",
		"On one fresh token, presses R times and resyncs with the one code of counter R (accepted), then submits the next code by check (accepted); on another, resyncs with the code of counter R+1 (rejected), then submits the code of counter 0 by check (accepted: nothing changed).",
		needPlacedWindow, func(t *ct, p Profile, r, l uint64) {
			s := t.hotp(tokOpts{clean: distinct(0, r+1, r, r+1)})
			s.tell("pressed the button %d times without submitting", r)
			s.resync([]string{s.at(r)}, true, fmt.Sprintf("the code of counter %d (offset R=%d)", s.ctr(r), r), fmt.Sprintf("the profile claims a one-code resync over window %d", r))
			s.check(s.at(r+1), true, fmt.Sprintf("the code of counter %d (the next press)", s.ctr(r+1)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(r+1)))

			b := t.hotp(tokOpts{clean: distinct(0, r+1, 0, r+1)})
			b.tell("pressed the button %d times without submitting", r+1)
			b.resync([]string{b.at(r + 1)}, false, fmt.Sprintf("the code of counter %d (offset R+1=%d)", b.ctr(r+1), r+1), fmt.Sprintf("the profile claims resync window %d", r))
			b.checkNext("a rejected resync does not move the server counter")
		})
}

// caseResyncSingleBehind builds the case rfc4226/7.4/resync-single-behind.
func caseResyncSingleBehind() *caseDef {
	return singleResyncCase("behind",
		"resync {codes 1}: the window starts at the server's counter c: the last accepted code (counter c-1) and older ones are rejected, the code of c itself is accepted",
		"Accepts the codes of counters 0, 1 and 2 by check, then resyncs with the code of counter 2 (rejected: the last used), with the code of counter 0 (rejected), and with the code of counter 3 (accepted, offset 0), then submits the code of counter 4 by check (accepted).",
		needPlacedWindow, func(t *ct, p Profile, r, l uint64) {
			s := t.hotp(tokOpts{clean: distinct(0, r+5, 0, 1, 2, 3, 4)})
			for c := range uint64(3) {
				s.check(s.at(c), true, fmt.Sprintf("the code of counter %d", s.ctr(c)), "it is the next expected code")
			}
			s.resync([]string{s.at(2)}, false, fmt.Sprintf("the code of counter %d (the last accepted)", s.ctr(2)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(3)))
			s.resync([]string{s.at(0)}, false, fmt.Sprintf("the code of counter %d (used)", s.ctr(0)), fmt.Sprintf("the window starts at the server counter %d", s.ctr(3)))
			s.resync([]string{s.at(3)}, true, fmt.Sprintf("the code of counter %d (offset 0)", s.ctr(3)), "offset 0 is the lower edge of the window")
			s.check(s.at(4), true, fmt.Sprintf("the code of counter %d", s.ctr(4)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(4)))
		})
}

// caseResyncSingleCount builds the case rfc4226/7.4/resync-single-count.
func caseResyncSingleCount() *caseDef {
	return singleResyncCase("count",
		"resync {codes 1}: exactly one code; two consecutive codes (the older panel's form) or none are rejected with no change",
		"Resyncs with the two consecutive codes of counters k and k+1 (rejected), then with no code (rejected), then with the one code of counter k (accepted), then submits the code of counter k+1 by check (accepted).",
		nil, func(t *ct, p Profile, r, l uint64) {
			k := min(r, l+2)
			s := t.hotp(tokOpts{clean: distinct(0, k+l+2, k, k+1)})
			s.tell("pressed the button %d times without submitting", k+2)
			s.resync(s.seq(k, 2), false, fmt.Sprintf("the two codes of counters %d and %d", s.ctr(k), s.ctr(k+1)), "the profile claims a resync of exactly 1 code")
			s.resync([]string{}, false, "no code", "the profile claims a resync of exactly 1 code")
			s.resync([]string{s.at(k)}, true, fmt.Sprintf("the one code of counter %d", s.ctr(k)), fmt.Sprintf("offset %d is inside the resync window %d, and the rejected attempts changed nothing", k, r))
			s.check(s.at(k+1), true, fmt.Sprintf("the code of counter %d", s.ctr(k+1)), fmt.Sprintf("the resync set the server counter to %d", s.ctr(k+1)))
		})
}

// caseResyncSingleGuessing builds the case rfc4226/7.4/resync-single-guessing.
func caseResyncSingleGuessing() *caseDef {
	return &caseDef{
		id:    "rfc4226/7.4/resync-single-guessing",
		level: SHOULD,
		requirement: `RFC 4226 §7.3: "We RECOMMEND T not to be too large, particularly if the resynchronization method used on the server is window-based, and the window size is large." ` +
			"A one-code resync over window R accepts a guess with probability about R/10^6, so it needs a lockout or throttle that counts rejected resyncs (counts_resync)",
		what:  "Reads the claimed policy: NON-STRICT, with the guessing odds of the claimed window, unless rejected resyncs count toward a claimed lockout or throttle (counts_resync); otherwise PASS with the bound noted. Sends nothing.",
		ops:   []string{"resync"},
		needs: needSingleResync,
		body: func(t *ct) {
			p := t.profile()
			r, d := p.Resync.Window, t.defaults(tokOpts{}).digits
			odds := min(1, float64(r+1)/float64(pow10(d)))
			guesses := max(1, uint64(1/odds))
			// Rejected resyncs count toward the lockout and the throttle
			// only with counts_resync: without it, an attacker who sends
			// nothing but resyncs is never slowed down.
			switch {
			case p.CountsResync() && p.LockoutAfter() > 0:
				t.note("the profile claims a lockout after %d failures that counts rejected resyncs: at most %d guesses at odds of about %.2g each before the token locks", p.LockoutAfter(), p.LockoutAfter(), odds)
			case p.CountsResync() && p.Throttle != nil:
				t.note("the profile claims a throttle (after %d, delay %d s, factor %d) and counts rejected resyncs as failures: guesses at odds of about %.2g each are slowed down", p.Throttle.After, p.Throttle.Delay, p.Throttle.Factor, odds)
			default:
				lock := "no lockout"
				if p.LockoutAfter() > 0 {
					lock = fmt.Sprintf("a lockout after %d failures that does not count rejected resyncs (counts_resync false)", p.LockoutAfter())
				}
				t.fail("the profile claims a one-code resync over window %d with %s, and rejected resyncs slow nothing down: with window R and no lockout, each guess succeeds with probability about R/10^%d, here (%d+1)/10^%d = %.2g, so about %d guesses on average resync the token and are accepted, and nothing claimed stops them; claim \"lockout\": {\"after\": F, \"counts_resync\": true} to bound them, or narrow the window",
					r, lock, d, r, d, odds, guesses)
			}
		},
	}
}

func resyncCase(name, requirement, what string, needs func(Profile) string, body func(t *ct, n int, r, l uint64)) *caseDef {
	if needs == nil {
		needs = needResync
	}
	return &caseDef{
		id: "rfc4226/7.4/resync-" + name, level: PROFILE, requirement: requirement, what: what,
		ops: []string{"resync"}, needs: needs,
		source: body,
		body: func(t *ct) {
			p := t.profile()
			body(t, p.Resync.Codes, p.Resync.Window, lookAhead(p))
		},
	}
}

func singleResyncCase(name, requirement, what string, needs func(Profile) string, body func(t *ct, p Profile, r, l uint64)) *caseDef {
	n := needSingleResync
	if needs != nil {
		n = all(needSingleResync, needs)
	}
	return &caseDef{
		id: "rfc4226/7.4/resync-single-" + name, level: PROFILE, requirement: requirement, what: what,
		ops: []string{"resync"}, needs: n,
		source: body,
		body: func(t *ct) {
			p := t.profile()
			body(t, p, p.Resync.Window, lookAhead(p))
		},
	}
}
