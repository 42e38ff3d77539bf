package harness

import (
	"fmt"
	"time"
)

// Submitting codes on a token's behalf with the reply the profile
// expects: failures, checks for a purpose, resyncs, codes at a time.

// seq returns the n consecutive codes starting at counter from, counted
// from the enrolled counter.
func (s *sim) seq(from uint64, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s.at(from + uint64(i))
	}
	return out
}

// fails submits n wrong codes, each rejected.
func (s *sim) fails(n int, why string) {
	for i := range n {
		s.relieve() // first, so the wrong code is drawn for the moment it is sent
		s.check(s.wrong(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

// failsNow submits n wrong codes at the case's current time, each rejected.
func (s *sim) failsNow(n int, why string) {
	for i := range n {
		s.checkAt(s.wrong(), s.t.now(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

// resyncAt submits a resync at the case's current time, without relief.
func (s *sim) resyncAt(codes []string, want bool, what, why string) {
	saved := s.strictTime
	s.strictTime = true
	lock := s.strictLock
	s.strictLock = true
	defer func() { s.strictTime, s.strictLock = saved, lock }()
	s.resync(codes, want, what, why)
}

// submitAt is submit for a TOTP token at a time the case placed: any reply
// a correct verifier may give passes, and the model follows the one given.
func (s *sim) submitAt(code string, at time.Time, what, why string) {
	r := Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()}
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: at})
	cancel()
	did := fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code))
	if err != nil {
		s.callErr(did, err)
	}
	s.judge(r, rep, rep.Accepted, did, why)
}

// wrongResyncCode returns a well-formed code other than code.
func (s *sim) wrongResyncCode(code string) string {
	for {
		w := s.wrong()
		if w != code {
			return w
		}
	}
}

// checkAs submits code for purpose at the case's current time, after
// keeping the token clear of rules the case is not about.
func (s *sim) checkAs(code, purpose string, want bool, what, why string) {
	s.relieve()
	s.checkFor(code, purpose, s.t.now(), want, what, why)
}

// nextAs submits, for purpose, the code of the counter a correct verifier
// now expects; it must be accepted.
func (s *sim) nextAs(purpose, why string) {
	c, ok := s.tr.counter()
	if !ok {
		s.t.abort("harness: the scenario is degenerate: a correct verifier could be at several counters now (a chance collision; rerun with another --seed)%s", s.history())
	}
	s.checkAs(s.code(c), purpose, true, fmt.Sprintf("the code of counter %d", c), fmt.Sprintf("%s: the server counter is %d", why, c))
}

// failsAs submits n wrong codes, each rejected, the i-th for purpose
// purposes[i mod len(purposes)].
//
// The wrong code is drawn after the token is relieved: drawn before, at a
// moment a throttle or rate limit refuses every code, it could be the
// correct code, refused then but accepted once the wait is over.
func (s *sim) failsAs(n int, purposes []string, why string) {
	for i := range n {
		s.relieve()
		s.checkFor(s.wrong(), purposes[i%len(purposes)], s.t.now(), false, fmt.Sprintf("wrong code %d of %d", i+1, n), why)
	}
}

// failures says "1 failure", "3 failures".
func failures(n int) string { return fmt.Sprintf("%d failure%s", n, plural(n)) }

// check0 submits the code of counter 0 for purpose: accepted.
func (s *sim) check0(purpose string) {
	s.checkAs(s.at(0), purpose, true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code: the rejection spent nothing")
}
