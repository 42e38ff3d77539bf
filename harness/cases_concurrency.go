package harness

import "fmt"

// parallel submits the codes at once, from one goroutine each, and feeds
// the replies to the model, which accepts any order of service. It returns
// the replies in the order of codes.
func (s *sim) parallel(codes []string, what string) []bool {
	reqs := make([]Request, len(codes))
	for i, code := range codes {
		reqs[i] = Request{Op: opCheck, Codes: []string{code}}
	}
	return s.burst(reqs, what)
}

// replayAccepted submits again, one at a time, each code a burst had
// accepted: every one must be rejected, or an update was lost.
func (s *sim) replayAccepted(codes []string, got []bool) {
	seen := map[string]bool{}
	for i, c := range codes {
		if !got[i] || seen[c] {
			continue
		}
		seen[c] = true
		s.check(c, false, fmt.Sprintf("the code %q again (accepted in the burst)", c), "a code accepted once is never accepted again: a replay that works after a burst means a lost update")
	}
}

// checkNextIfKnown is checkNext when a correct verifier's counter is
// certain, and nothing otherwise.
func (s *sim) checkNextIfKnown(why string) {
	if _, ok := s.tr.counter(); ok {
		s.checkNext(why)
	}
}

// concurrencyRounds is how many fresh tokens each concurrency case uses:
// races show up by chance, so one round proves little.
const concurrencyRounds = 5

// concurrentSubmits is how many copies of one code are sent at once.
const concurrentSubmits = 8

func concurrencyCases() []*caseDef {
	return []*caseDef{
		{
			id:          "rfc4226/7.2/concurrent-same-code",
			level:       MUST,
			requirement: "an accepted code is accepted once: the check and the counter update are one atomic step, also under concurrent submissions",
			what:        fmt.Sprintf("Submits the valid code of counter 0 %d times at once, on %d fresh tokens in turn; exactly one submission per token must be accepted.", concurrentSubmits, concurrencyRounds),
			body: func(t *ct) {
				l := lookAhead(t.profile())
				for range concurrencyRounds {
					s := t.hotp(tokOpts{clean: distinct(0, l+1, 0)})
					codes := make([]string, concurrentSubmits)
					for i := range codes {
						codes[i] = s.at(0)
					}
					got := s.parallel(codes, fmt.Sprintf("the code of counter %d, %d times", s.ctr(0), concurrentSubmits))
					s.replayAccepted(codes, got)
				}
			},
		},
		{
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
		},
	}
}
