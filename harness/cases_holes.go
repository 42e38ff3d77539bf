package harness

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// The holes real verifiers slipped through: resyncs with the wrong number
// of codes, concurrency beyond one code sent twice, re-enrollment.

func holeCases() []*caseDef {
	return []*caseDef{
		resyncCase("one-code-short",
			"resync {codes N}: exactly N consecutive codes; N-1 genuine codes are rejected with no change (one code where two are claimed is a guessing shortcut)",
			"Resyncs with the first N-1 of N consecutive genuine codes (rejected), then with all N (accepted).",
			needResyncPair, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				s.tell("pressed the button %d times without submitting", k)
				s.resync(s.seq(k, n-1), false, fmt.Sprintf("the first %d of the %d codes from counter %d", n-1, n, s.ctr(k)), fmt.Sprintf("the profile claims resync with %d codes", n))
				s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
			}),
		resyncCase("one-code-extra",
			"resync {codes N}: exactly N codes; N+1 codes, even genuine and consecutive, are rejected with no change",
			"Resyncs with N+1 consecutive genuine codes (rejected), then with the first N of them (accepted).",
			nil, func(t *ct, n int, r, l uint64) {
				k := min(r, l+5)
				s := t.hotp(tokOpts{})
				s.tell("pressed the button %d times without submitting", k)
				s.resync(s.seq(k, n+1), false, fmt.Sprintf("the %d codes from counter %d (one more than claimed)", n+1, s.ctr(k)), fmt.Sprintf("the profile claims resync with %d codes; a verifier that ignores extra codes accepts sequences it never checked", n))
				s.resync(s.seq(k, n), true, fmt.Sprintf("the %d codes from counter %d", n, s.ctr(k)), "the rejected attempt changed nothing")
			}),
		resyncCase("last-wrong",
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
			}),
		{
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
		},
		{
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
		},
		{
			id:          "rfc4226/7.3/concurrent-lockout",
			level:       PROFILE,
			requirement: "lockout {after F}: the lock holds under concurrent failures: wrong codes sent at once past the threshold lock the token, and the correct code is then rejected",
			what:        fmt.Sprintf("Sends F+3 wrong codes at once, on %d fresh tokens in turn, then the correct code; it must be rejected.", concurrencyRounds),
			needs: all(needLockout, func(p Profile) string {
				if p.LockoutAfter()+3 > 16 {
					return "the lockout threshold is too high for one burst"
				}
				if p.Throttle != nil || p.RateLimit != nil {
					return "the profile's throttle or rate limit refuses the burst before the lock"
				}
				return ""
			}),
			body: func(t *ct) {
				f := t.profile().LockoutAfter()
				for range concurrencyRounds {
					s := t.hotp(tokOpts{clean: distinct(0, lookAhead(t.profile())+uint64(f)+6, 0, 1, 2, 3)})
					s.strictLock = true
					reqs := make([]Request, f+3)
					for i := range reqs {
						reqs[i] = Request{Op: opCheck, Codes: []string{s.wrong()}}
					}
					s.burst(reqs, fmt.Sprintf("%d wrong codes", f+3))
					s.check(s.cur(), false, s.curWhat("the correct code"), fmt.Sprintf("%d failures arrived, %d lock the token", f+3, f))
				}
			},
		},
		{
			id:          "otplab/enroll/re-enroll-replaces",
			level:       MUST,
			requirement: "enrolling a serial again replaces the token: the old counter, failure count, lock and last time step are gone (protocol v1, enroll)",
			what:        "Moves a HOTP token's counter on and makes failures (locking it when a lockout is claimed), enrolls the same serial again at its first counter, then the first code must be accepted; a TOTP token's used step is accepted again after re-enrollment.",
			body: func(t *ct) {
				p := t.profile()
				l := lookAhead(p)
				f := p.LockoutAfter()
				s := t.hotp(tokOpts{clean: distinct(0, l+uint64(f)+6, 0, 1, 2, 3)})
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "it is the next expected code")
				s.check(s.at(1), true, fmt.Sprintf("the code of counter %d", s.ctr(1)), "it is the next expected code")
				if f > 0 {
					s.strictLock = true
					s.fails(f, "they are wrong codes, and lock the token")
				} else {
					s.fails(1, "it is a wrong code")
				}
				s.reenroll()
				s.strictLock = false
				s.check(s.at(0), true, fmt.Sprintf("the code of counter %d", s.ctr(0)), "the new enrollment starts at this counter, unlocked, with no failures")
				if f > 1 {
					s.strictLock = true
					s.fails(f-1, "they are wrong codes")
					s.check(s.cur(), true, s.curWhat("the correct code"), fmt.Sprintf("only %d failures since the new enrollment", f-1))
				}
				if !p.SupportsKind(TOTP) || p.Clock == ClockWall {
					return
				}
				at, st := midStep(t.simNow, 0, t.period())
				u := t.totp(tokOpts{clean: stepWindow(p, st, st)})
				u.checkAt(u.code(st), at, true, fmt.Sprintf("the code of step %d", st), "it is the current code")
				u.reenroll()
				u.checkAt(u.code(st), at, true, fmt.Sprintf("the code of step %d again", st), "the new enrollment has no used step")
			},
		},
	}
}

// concurrentResyncs is how many copies of one resync are sent at once.
const concurrentResyncs = 4

func slicesRepeatBool(b bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = b
	}
	return out
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
