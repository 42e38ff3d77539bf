package harness

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Sending requests to the verifier at once, and judging the replies by
// the orders of service they fit.

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

// concurrentResyncs is how many copies of one resync are sent at once.
const concurrentResyncs = 4

func slicesRepeatBool(b bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// burst sends requests (checks and resyncs) at once, from one goroutine
// each, at the case's current time, and feeds the replies to the model,
// which accepts any order of service. It returns the replies in order.
func (s *sim) burst(reqs []Request, what string) []bool {
	s.relieve()
	now := s.t.now()
	if s.realHOTP() {
		now = s.realWhen()
	}
	got := make([]bool, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range reqs {
		reqs[i].Time = now.Unix()
		r := reqs[i]
		wg.Go(func() {
			<-start
			ctx, cancel := s.t.reqCtx()
			defer cancel()
			var rep Reply
			var err error
			if r.Op == opResync {
				rep, err = s.t.run.v.Resync(ctx, ResyncRequest{Serial: s.tok.Serial, Codes: r.Codes, Time: now})
			} else {
				rep, err = s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: r.Codes[0], Time: now, Purpose: r.Purpose})
			}
			got[i], errs[i] = rep.Accepted, err
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.callErr("concurrent request", err)
		}
	}
	s.replyInTime(Request{Time: now.Unix()})
	did := fmt.Sprintf("%s sent %s at once: %s", s.stamp(now), what, describeBurst(reqs, got))
	s.hist = append(s.hist, event{reqs, got})
	if !s.tr.observeAll(reqs, got) {
		s.t.fail("%s\n  %d. %s\n  => no order of serving these requests one at a time gives these replies under the claimed profile", s.history(), len(s.story)+1, did)
	}
	s.tell("%s", did)
	return got
}

// describeBurst tells the replies to a burst: counted when the requests
// are all the same (which got which is up to the scheduler), one by one
// otherwise.
func describeBurst(reqs []Request, got []bool) string {
	same := true
	for _, r := range reqs[1:] {
		same = same && r.Op == reqs[0].Op && slices.Equal(r.Codes, reqs[0].Codes)
	}
	if same {
		return countReplies(got)
	}
	var parts []string
	for i, r := range reqs {
		parts = append(parts, fmt.Sprintf("%s %q %s", r.Op, strings.Join(r.Codes, " "), verdictWord(got[i])))
	}
	return strings.Join(parts, ", ")
}

// parallelFor is parallel with a purpose for each code: the checks go out
// at once, one goroutine each, and the model accepts any order of service.
func (s *sim) parallelFor(codes, purposes []string, what string) []bool {
	s.relieve()
	ops := make([]Request, len(codes))
	got := make([]bool, len(codes))
	errs := make([]error, len(codes))
	now := s.t.now()
	if s.realHOTP() {
		now = s.realWhen()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, code := range codes {
		ops[i] = Request{Op: opCheck, Codes: []string{code}, Time: now.Unix(), Purpose: purposes[i]}
		wg.Go(func() {
			<-start
			ctx, cancel := s.t.reqCtx()
			defer cancel()
			rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: now, Purpose: purposes[i]})
			got[i], errs[i] = rep.Accepted, err
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			s.callErr("concurrent check", err)
		}
	}
	s.replyInTime(Request{Time: now.Unix()})
	parts := make([]string, len(codes))
	for i := range codes {
		parts[i] = fmt.Sprintf("%q for %s %s", codes[i], purposes[i], verdictWord(got[i]))
	}
	did := fmt.Sprintf("%s submitted %s concurrently: %s", s.stamp(now), what, strings.Join(parts, ", "))
	s.hist = append(s.hist, event{ops, got})
	if !s.tr.observeAll(ops, got) {
		s.t.fail("%s\n  %d. %s\n  => no order of serving these requests one at a time gives these replies: one token state serves every purpose, and its checks must be atomic", s.history(), len(s.story)+1, did)
	}
	s.tell("%s", did)
	return got
}
