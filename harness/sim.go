package harness

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/otplab/otplab/token"
)

// tokOpts shapes a simulated token for a case. Zero fields take what the
// profile supports: its first algorithm and digit count (SHA1 and 6 when
// claimed), its smallest counter, a 30 s step when it can enroll one.
type tokOpts struct {
	kind   Kind
	alg    token.Algorithm
	digits int
	// counter is the HOTP counter to enroll, relative to the profile's
	// smallest counter, unless absolute is set.
	counter  uint64
	absolute bool
	period   int64 // TOTP
	t0       int64 // TOTP
	secret   []byte
	// clean rejects a drawn secret whose codes would make the case's
	// scenario depend on a chance collision; another is drawn. For a HOTP
	// token it sees counters relative to the enrolled counter.
	clean func(k codes) bool
}

// codes is what a clean predicate reads: the code values of a key, HOTP
// counters counted from the enrolled counter.
type codes interface {
	Value(c uint64) uint32
	HOTP(c uint64) string
}

// shifted is a key seen from counter base on.
type shifted struct {
	k    *token.Key
	base uint64
}

func (s shifted) Value(c uint64) uint32 { return s.k.Value(s.base + c) }
func (s shifted) HOTP(c uint64) string  { return s.k.HOTP(s.base + c) }

// event is one request, or one burst of concurrent requests, with the
// replies the verifier gave: the observed history of a token.
type event struct {
	reqs    []Request
	replies []bool
}

// sim is a simulated token enrolled in the verifier, with the tracker of
// what a correct verifier now knows about it, its observed history, and the
// story of what was done to it, told in the token's terms for failure
// messages.
type sim struct {
	t     *ct
	tok   Token
	key   *token.Key
	c0    uint64 // the enrolled counter (HOTP)
	tr    *tracker
	hist  []event
	story []string
	// unclaimed, when set, says why the next checks go past what the
	// profile claims to serve (a counter past counters.max): an
	// application error to them is taken as not accepted, not as a FAIL.
	unclaimed string
	// strictLock is set by lockout cases: the harness must not unlock the
	// token behind their back.
	strictLock bool
	// strictTime is set by cases about time rules: the harness must not
	// let time pass behind their back.
	strictTime bool
}

// maxDraws bounds the search for a collision-free secret.
const maxDraws = 2000

// defaults fills o with what the profile supports.
func (t *ct) defaults(o tokOpts) tokOpts {
	p := t.profile()
	if o.kind == "" {
		o.kind = HOTP
	}
	if o.alg == 0 {
		o.alg = token.SHA1
		if !p.SupportsAlgorithm(token.SHA1) {
			a, _ := token.ParseAlgorithm(p.Algorithms[0])
			o.alg = a
		}
	}
	if o.digits == 0 {
		o.digits = 6
		if !p.SupportsDigits(6) {
			o.digits = p.Digits[0]
		}
	}
	if o.kind == TOTP && o.period == 0 {
		o.period = t.period()
	}
	return o
}

// period returns the step length time cases use: 30 s, or the first one
// the profile lists when 30 s is not among them.
func (t *ct) period() int64 { return profilePeriod(t.profile()) }

// profilePeriod is the step of the TOTP tokens cases enroll under p: 30 s
// when p supports it, else the first period p lists.
func profilePeriod(p Profile) int64 {
	if p.SupportsPeriod(token.DefaultPeriod) {
		return token.DefaultPeriod
	}
	return p.TOTP.Periods[0]
}

// newToken draws a fresh token (new serial, new secret) and enrolls it.
func (t *ct) newToken(o tokOpts) *sim {
	o = t.defaults(o)
	p := t.profile()
	if !p.SupportsKind(o.kind) {
		t.skip("the profile does not claim %s tokens", o.kind)
	}
	c0 := o.counter
	if !o.absolute {
		c0 = satAdd(p.CounterMin(), o.counter)
	}
	if o.kind == HOTP && !p.SupportsCounter(c0) {
		t.skip("the case needs a token at counter %d, outside the claimed counter range %d..%d", c0, p.CounterMin(), p.CounterMax())
	}
	var key *token.Key
	for i := 0; ; i++ {
		secret := o.secret
		if secret == nil {
			secret = make([]byte, o.alg.Size())
			for j := range secret {
				secret[j] = byte(t.rng.Uint32())
			}
		}
		k, err := token.NewKey(secret, o.alg, o.digits)
		if err != nil {
			t.abort("harness: %v", err)
		}
		var view codes = k
		if o.kind == HOTP {
			view = shifted{k, c0}
		}
		if o.clean == nil || o.clean(view) {
			key = k
			break
		}
		if o.secret != nil || i >= maxDraws {
			t.abort("harness: found no secret without a chance collision for this scenario in %d draws", i+1)
		}
	}
	prefix := byte('1')
	if o.kind == TOTP {
		prefix = '2'
	}
	tok := Token{Serial: t.run.nextSerial(prefix), Kind: o.kind, Algorithm: o.alg, Digits: o.digits,
		Secret: key.Secret(), Counter: c0, Period: o.period, T0: o.t0}
	if o.kind == TOTP {
		tok.Counter, c0 = 0, 0
	}
	s := &sim{t: t, tok: tok, key: key, c0: c0, tr: newTracker(newModel(p, tok, key, t.quirks))}
	if s.realHOTP() && p.hasTimeRules() {
		s.tr.fuzz = realFuzz
	}
	t.mu.Lock()
	t.sims = append(t.sims, s)
	t.mu.Unlock()
	ctx, cancel := t.reqCtx()
	defer cancel()
	if err := t.run.v.Enroll(ctx, tok); err != nil {
		t.enrollErr(tok, err)
	}
	s.tell("enrolled %s%s", tok, onNode(t.run.v, tok.Serial))
	return s
}

// enrollErr ends a case whose enrollment failed: a refusal of a token the
// profile claims is a FAIL of the case, a transport failure an ERROR.
func (t *ct) enrollErr(tok Token, err error) {
	var refused *RefusedError
	if errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
		t.expl = refusalExplanation(t.profile(), tok)
		t.failAt(Fail, "enroll %s\n  => refused (%s), expected enrolled: the profile claims this kind, algorithm, digit count, counter, period and t0", tok, refused.Message)
	}
	t.callErr("enroll "+tok.String(), err)
}

// hotp enrolls a fresh HOTP token at the profile's smallest counter unless
// o says otherwise.
func (t *ct) hotp(o tokOpts) *sim { o.kind = HOTP; return t.newToken(o) }

// totp enrolls a fresh TOTP token.
func (t *ct) totp(o tokOpts) *sim { o.kind = TOTP; return t.newToken(o) }

func (s *sim) tell(format string, a ...any) {
	s.story = append(s.story, fmt.Sprintf(format, a...))
}

// code returns the code of absolute HOTP counter (or TOTP step) c.
func (s *sim) code(c uint64) string { return s.key.HOTP(c) }

// at returns the code of the HOTP counter k after the enrolled one.
func (s *sim) at(k uint64) string { return s.key.HOTP(s.c0 + k) }

// ctr returns the absolute counter k after the enrolled one.
func (s *sim) ctr(k uint64) uint64 { return s.c0 + k }

// history is the story so far as numbered steps.
func (s *sim) history() string {
	var b strings.Builder
	for i, line := range s.story {
		fmt.Fprintf(&b, "\n  %d. %s", i+1, line)
	}
	return b.String()
}

func verdictWord(accepted bool) string {
	if accepted {
		return "accepted"
	}
	return "rejected"
}

// stamp is a request time as a script shows it.
func (s *sim) stamp(at time.Time) string {
	return fmt.Sprintf("[t=%+ds]", at.Unix()-s.t.start)
}

// check submits code at the case's current time. want is what the case
// intends to happen and why says where that comes from; the model must
// agree that a correct verifier gives exactly that answer, or the scenario
// would hang on a chance collision and the case ends as ERROR instead of
// accusing anybody.
func (s *sim) check(code string, want bool, what, why string) {
	s.relieve()
	s.checkAt(code, s.t.now(), want, what, why)
}

// checkAt submits code at the given time, without relieving the token.
func (s *sim) checkAt(code string, at time.Time, want bool, what, why string) {
	s.checkFor(code, "", at, want, what, why)
}

// checkFor submits code for a purpose at the given time.
func (s *sim) checkFor(code, purpose string, at time.Time, want bool, what, why string) {
	r := Request{Op: opCheck, Codes: []string{code}, Time: at.Unix(), Purpose: purpose}
	certain := true
	if s.realHOTP() {
		certain = s.place(&r, &want)
		at = time.Unix(r.Time, 0)
	}
	if certain {
		s.expectOnly(r, want, what)
	} else {
		s.lenientNote(what)
	}
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: at, Purpose: purpose})
	cancel()
	if err == nil {
		s.replyInTime(r)
	}
	var refused *RefusedError
	outside := ""
	if err != nil && s.unclaimed != "" && errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
		// Not a request the profile claims to serve: an error is one way
		// not to accept it.
		outside = fmt.Sprintf(" (answered with an error, %s: taken as not accepted, since %s)", refused.Message, s.unclaimed)
		rep, err = Reply{}, nil
	}
	if err != nil {
		s.refusedInHistory(r, err)
		s.callErr(fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code)), err)
	}
	did := fmt.Sprintf("%s submitted %s %s%s", s.stamp(at), what, quote(code), outside)
	if purpose != "" {
		did += " for " + purpose
	}
	if !certain {
		want = rep.Accepted
	}
	s.judge(r, rep, want, did, why)
}

// resync submits codes as a resync request.
func (s *sim) resync(codes []string, want bool, what, why string) {
	s.relieve()
	now := s.t.now()
	r := Request{Op: opResync, Codes: codes, Time: now.Unix()}
	certain := true
	if s.realHOTP() {
		certain = s.place(&r, &want)
		now = time.Unix(r.Time, 0)
	}
	if certain {
		s.expectOnly(r, want, what)
	} else {
		s.lenientNote("the resync with " + what)
	}
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Resync(ctx, ResyncRequest{Serial: s.tok.Serial, Codes: codes, Time: now})
	cancel()
	if err == nil {
		s.replyInTime(r)
	}
	if err != nil {
		s.refusedInHistory(r, err)
		s.callErr(fmt.Sprintf("%s resync with %s %q", s.stamp(now), what, codes), err)
	}
	if !certain {
		want = rep.Accepted
	}
	s.judge(r, rep, want, fmt.Sprintf("%s resync with %s %q", s.stamp(now), what, codes), why)
}

// refusedInHistory records a request the verifier answered with an
// application error (ok:false) as not accepted, so that explaining the
// case replays it: a counter storage that raises an error past 2^63-1
// reads as the signed 64-bit variant that cannot hold the counter.
func (s *sim) refusedInHistory(r Request, err error) {
	var refused *RefusedError
	if errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
		s.hist = append(s.hist, event{[]Request{r}, []bool{false}})
	}
}

// unlock asks the verifier to lift a lockout.
func (s *sim) unlock() {
	ctx, cancel := s.t.reqCtx()
	err := s.t.run.v.Unlock(ctx, s.tok.Serial)
	cancel()
	var refused *RefusedError
	if err != nil && errors.As(err, &refused) && !errors.Is(err, ErrUnsupported) {
		// No profile field claims unlock: the case needs an op the
		// verifier would not serve.
		s.t.skip("the case needs unlock, which the verifier refused (%s); a verifier without unlock leaves it out of hello's ops or answers unsupported:true", refused.Message)
	}
	if err != nil {
		s.callErr("unlock", err)
	}
	r := Request{Op: opUnlock}
	s.tr.observe(r, true)
	s.hist = append(s.hist, event{[]Request{r}, []bool{true}})
	s.tell("unlocked%s", onNode(s.t.run.v, s.tok.Serial))
}

func (s *sim) expectOnly(r Request, want bool, what string) {
	exp := s.tr.expect(r)
	if len(exp) != 1 || exp[0] != want {
		s.t.abort("harness: the scenario is degenerate: %s would be %s by a correct verifier, the case meant %s (a chance collision of codes or an unforeseen policy interplay; rerun with another --seed)%s",
			what, expectWords(exp), verdictWord(want), s.history())
	}
}

func (s *sim) judge(r Request, rep Reply, want bool, did, why string) {
	got := rep.Accepted
	did += onNode(s.t.run.v, s.tok.Serial)
	s.hist = append(s.hist, event{[]Request{r}, []bool{got}})
	if !s.tr.observe(r, got) || got != want {
		locked := ""
		if rep.Locked {
			locked = " (the reply said locked)"
		}
		if a := acrossNodes(withNodes(s.t.run.v, history{tok: s.tok, events: s.hist}).events); a != "" {
			locked += " (" + a + ")"
		}
		s.t.fail("%s\n  %d. %s\n  => %s%s, expected %s: %s", s.history(), len(s.story)+1, did, verdictWord(got), locked, verdictWord(want), why)
	}
	s.tell("%s: %s", did, verdictWord(got))
}

// callErr ends the case on a failed request of the token, did: an
// application error is a FAIL told after the token's story (see
// [ct.callErr]).
func (s *sim) callErr(did string, err error) {
	s.t.callErrAfter(s.history()+fmt.Sprintf("\n  %d. ", len(s.story)+1), did, err)
}

func quote(code string) string { return fmt.Sprintf("%q", code) }

func itoa(n int) string { return fmt.Sprint(n) }

// relieve keeps cases clear of rules they are not about. When the next
// rejection could lock the token (or it may be locked already), it unlocks
// first, unless the case is about lockout; when a throttle or a rate limit
// could refuse the next request, it lets time pass until neither can,
// unless the case is about time rules (on real time it unlocks instead,
// when it may and the verifier can). A verifier that locks after one
// failure and has no unlock makes such cases SKIP.
func (s *sim) relieve() {
	p := s.t.profile()
	if f := p.LockoutAfter(); f > 0 && !s.strictLock {
		for _, st := range s.tr.states {
			if st.locked || st.fails >= f-1 {
				s.unlock()
				break
			}
		}
	}
	if s.strictTime {
		return
	}
	now := s.t.now().Unix()
	until := now
	for _, st := range s.tr.states {
		if at := s.tr.m.clearAt(st); at > 0 {
			// On real time a second more, so that the next request is
			// clear even if the verifier reads its time a second early.
			until = max(until, at+s.tr.fuzz)
		}
	}
	if until > now {
		if s.realHOTP() && !s.strictLock && s.t.run.info.Supports("unlock") {
			// On real time an unlock clears the throttle and the rate
			// limit at once, instead of waiting them out for real.
			s.unlock()
			return
		}
		s.t.wait(until-now, s)
	}
}

// clearAt returns the earliest time at which neither the throttle nor the
// rate limit refuses a request in state st.
func (m *Model) clearAt(st State) int64 {
	var at int64
	if d := m.p.ThrottleDelay(st.fails); d > 0 {
		at = st.tFail + d
	}
	if rl := m.p.RateLimit; rl != nil {
		if ts := unpackInts(st.rate); len(ts) >= rl.Attempts {
			at = max(at, ts[len(ts)-rl.Attempts]+rl.Per)
		}
	}
	return at
}

// wrong returns a well-formed code that a correct verifier must reject
// now: it matches no counter or step the token could accept.
func (s *sim) wrong() string {
	return s.wrongAt(s.t.now())
}

func (s *sim) wrongAt(at time.Time) string {
	for {
		v := s.t.rng.Uint32N(uint32(pow10(s.tok.Digits)))
		code := string(appendPadded(nil, v, s.tok.Digits))
		exp := s.tr.expect(Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()})
		if len(exp) == 1 && !exp[0] {
			return code
		}
	}
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

func appendPadded(dst []byte, v uint32, digits int) []byte {
	return fmt.Appendf(dst, "%0*d", digits, v)
}

// distinct returns a clean predicate: the codes of the target counters
// appear nowhere else in [lo, hi], and differ from each other.
func distinct(lo, hi uint64, targets ...uint64) func(codes) bool {
	return func(k codes) bool {
		want := make(map[uint32]uint64, len(targets))
		for _, t := range targets {
			v := k.Value(t)
			if u, dup := want[v]; dup && u != t {
				return false
			}
			want[v] = t
		}
		for c := lo; ; c++ {
			if t, ok := want[k.Value(c)]; ok && t != c {
				return false
			}
			if c == hi {
				return true
			}
		}
	}
}

// checkNext submits the code of the counter a correct verifier now
// expects, which the model knows (under on_failure "advance" the failures
// so far burnt counters); it must be accepted.
func (s *sim) checkNext(why string) {
	c, ok := s.tr.counter()
	if !ok {
		s.t.abort("harness: the scenario is degenerate: a correct verifier could be at several counters now (a chance collision; rerun with another --seed)%s", s.history())
	}
	if s.t.profile().Advances() && c != s.c0 {
		why += " (under the declared on_failure advance, each failure burnt one)"
	}
	s.check(s.at(c-s.c0), true, fmt.Sprintf("the code of counter %d", c), fmt.Sprintf("%s: the server counter is %d", why, c))
}

// declared ends a case that checks an RFC rule the profile declares a
// departure from: FAIL, once, with the declaration as the reason.
func (t *ct) declared(format string, a ...any) { t.failAt(Fail, format, a...) }

// cur returns the code of the counter a correct verifier expects next
// (HOTP), the "correct code" of lockout cases.
func (s *sim) cur() string {
	c, ok := s.tr.counter()
	if !ok {
		s.t.abort("harness: the scenario is degenerate: a correct verifier could be at several counters now (a chance collision; rerun with another --seed)%s", s.history())
	}
	return s.code(c)
}

// curWhat names the code cur returns.
func (s *sim) curWhat(what string) string {
	c, _ := s.tr.counter()
	return fmt.Sprintf("%s of counter %d", what, c)
}

// submit sends a check whose verdict the profile leaves open: any reply a
// correct verifier may give passes, and the model follows the one given.
func (s *sim) submit(code, what, why string) {
	s.relieve()
	at := s.t.now()
	if s.realHOTP() {
		at = s.realWhen()
	}
	r := Request{Op: opCheck, Codes: []string{code}, Time: at.Unix()}
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: at})
	cancel()
	if err != nil {
		s.callErr(fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code)), err)
	}
	s.judge(r, rep, rep.Accepted, fmt.Sprintf("%s submitted %s %s", s.stamp(at), what, quote(code)), why)
}

// reenroll enrolls the same token again, at its first counter: a correct
// verifier forgets everything it knew about the serial.
func (s *sim) reenroll() {
	ctx, cancel := s.t.reqCtx()
	err := s.t.run.v.Enroll(ctx, s.tok)
	cancel()
	if err != nil {
		s.t.enrollErr(s.tok, err)
	}
	r := Request{Op: opEnroll}
	s.tr.observe(r, true)
	s.hist = append(s.hist, event{[]Request{r}, []bool{true}})
	s.tell("enrolled the same serial again (%s)", s.tok)
}

// after returns the case's clock moved on by d seconds, without moving it.
func (t *ct) after(d int64) time.Time { return time.Unix(t.simNow+d, 0) }

// advance moves the case's clock on by d seconds (a time rule's case).
func (s *sim) advance(d int64) {
	s.t.simNow += d
	s.tell("waited %d s", d)
}

// refusalExplanation explains a refused enrollment of a claimed token when
// a known counter storage would refuse it: a signed 64-bit column cannot
// hold a counter from 2^63 on (the variants that claim counters.max below
// it), and a verifier that keeps the counter as a double refuses what it
// cannot hold exactly past 2^53 (a counter near 2^64-1 rounds to 2^64,
// out of range). Both may fit one refusal; the other cases of the run
// tell them apart when the causes are grouped (a double fails at 2^53, a
// signed 64-bit column does not). The explanation groups the refusal with
// the failures the same storage explains.
// exactDouble reports whether an IEEE double holds c exactly: at most 53
// significant bits.
func exactDouble(c uint64) bool {
	return c == 0 || bits.Len64(c)-bits.TrailingZeros64(c) <= 53
}

func refusalExplanation(p Profile, tok Token) *Explanation {
	if tok.Kind != HOTP || tok.Counter <= 1<<53 {
		return nil
	}
	e := &Explanation{}
	for _, v := range variants(p) {
		if v.family != "counter-width" {
			continue
		}
		vp, _ := v.apply(p, quirks{})
		if !vp.SupportsCounter(tok.Counter) || (v.key == "counter-double" && !exactDouble(tok.Counter)) {
			e.keys = append(e.keys, v.key)
		}
	}
	if len(e.keys) == 0 {
		return nil
	}
	e.describe(p)
	return e
}
