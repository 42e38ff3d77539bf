package harness

import (
	"fmt"
	"strings"
	"time"

	"github.com/otplab/otplab/token"
)

// tokOpts shapes a simulated token for a case.
type tokOpts struct {
	kind    Kind
	alg     token.Algorithm // default SHA1
	digits  int             // default 6
	counter uint64          // HOTP: the enrolled counter
	period  int64           // TOTP: default 30
	t0      int64           // TOTP
	secret  []byte          // default: drawn from the case's random source
	// clean rejects a drawn secret whose codes would make the case's
	// scenario depend on a chance collision; another is drawn.
	clean func(k *token.Key) bool
}

// sim is a simulated token enrolled in the verifier, with the model of what
// a correct verifier now knows about it and the story of what was done to
// it, told in the token's terms for failure messages.
type sim struct {
	t     *ct
	tok   Token
	key   *token.Key
	m     *model
	story []string
	// strictLock is set by lockout cases: the harness must not unlock the
	// token behind their back.
	strictLock bool
}

// maxDraws bounds the search for a collision-free secret.
const maxDraws = 2000

// newToken draws a fresh token (new serial, new secret) and enrolls it.
func (t *ct) newToken(o tokOpts) *sim {
	if o.alg == 0 {
		o.alg = token.SHA1
	}
	if o.digits == 0 {
		o.digits = 6
	}
	if o.kind == "" {
		o.kind = HOTP
	}
	if o.kind == TOTP && o.period == 0 {
		o.period = token.DefaultPeriod
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
		if o.clean == nil || o.clean(k) {
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
		Secret: key.Secret(), Counter: o.counter, Period: o.period, T0: o.t0}
	if o.kind == TOTP {
		tok.Counter = 0
	}
	s := &sim{t: t, tok: tok, key: key, m: newModel(t.profile(), tok, key)}
	ctx, cancel := t.reqCtx()
	defer cancel()
	if err := t.run.v.Enroll(ctx, tok); err != nil {
		t.callErr("enroll "+tok.String(), err)
	}
	s.tell("enrolled %s", tok)
	return s
}

// hotp enrolls a fresh SHA1 6-digit HOTP token at counter 0 unless o says
// otherwise.
func (t *ct) hotp(o tokOpts) *sim { o.kind = HOTP; return t.newToken(o) }

// totp enrolls a fresh TOTP token.
func (t *ct) totp(o tokOpts) *sim { o.kind = TOTP; return t.newToken(o) }

func (s *sim) tell(format string, a ...any) {
	s.story = append(s.story, fmt.Sprintf(format, a...))
}

// code returns the code of HOTP counter (or TOTP step) c.
func (s *sim) code(c uint64) string { return s.key.HOTP(c) }

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

// check submits code at the case's current time. want is what the case
// intends to happen and why says where that comes from; the model must
// agree that a correct verifier gives exactly that answer, or the scenario
// would hang on a chance collision and the case ends as ERROR instead of
// accusing anybody.
func (s *sim) check(code string, want bool, what, why string) {
	s.checkAt(code, s.t.now(), want, what, why)
}

func (s *sim) checkAt(code string, at time.Time, want bool, what, why string) {
	o := op{kind: "check", codes: []string{code}, time: at.Unix()}
	s.relieve()
	s.expectOnly(o, want, what)
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Check(ctx, CheckRequest{Serial: s.tok.Serial, Code: code, Time: at})
	cancel()
	if err != nil {
		s.t.callErr(fmt.Sprintf("check of %s %s", what, quote(code)), err)
	}
	s.judge(o, rep.Accepted, want, fmt.Sprintf("submitted %s %s", what, quote(code)), why)
}

// resync submits codes as a resync request.
func (s *sim) resync(codes []string, want bool, what, why string) {
	o := op{kind: "resync", codes: codes, time: s.t.now().Unix()}
	s.relieve()
	s.expectOnly(o, want, what)
	ctx, cancel := s.t.reqCtx()
	rep, err := s.t.run.v.Resync(ctx, ResyncRequest{Serial: s.tok.Serial, Codes: codes, Time: s.t.now()})
	cancel()
	if err != nil {
		s.t.callErr("resync with "+what, err)
	}
	s.judge(o, rep.Accepted, want, fmt.Sprintf("resync with %s %q", what, codes), why)
}

// unlock asks the verifier to lift a lockout.
func (s *sim) unlock() {
	ctx, cancel := s.t.reqCtx()
	err := s.t.run.v.Unlock(ctx, s.tok.Serial)
	cancel()
	if err != nil {
		s.t.callErr("unlock", err)
	}
	s.m.observe(op{kind: "unlock"}, true)
	s.tell("unlocked")
}

func (s *sim) expectOnly(o op, want bool, what string) {
	exp := s.m.expect(o)
	if len(exp) != 1 || exp[0] != want {
		s.t.abort("harness: the scenario is degenerate: %s would be %v by a correct verifier, the case meant %s (a chance collision of codes; rerun with another --seed)%s",
			what, exp, verdictWord(want), s.history())
	}
}

func (s *sim) judge(o op, got, want bool, did, why string) {
	if !s.m.observe(o, got) || got != want {
		s.t.fail("%s%s\n  => %s, expected %s: %s", s.history(), "\n  "+itoa(len(s.story)+1)+". "+did, verdictWord(got), verdictWord(want), why)
	}
	s.tell("%s: %s", did, verdictWord(got))
}

func quote(code string) string { return fmt.Sprintf("%q", code) }

func itoa(n int) string { return fmt.Sprint(n) }

// relieve keeps cases that are not about lockout clear of it: when the
// next rejection could lock the token (or it may be locked already), it
// unlocks first. A verifier that locks after one failure and has no unlock
// makes such cases SKIP.
func (s *sim) relieve() {
	f := s.t.profile().LockoutAfter()
	if f == 0 || s.strictLock {
		return
	}
	for _, st := range s.m.states {
		if st.locked || st.fails >= f-1 {
			s.unlock()
			return
		}
	}
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
		exp := s.m.expect(op{kind: "check", codes: []string{code}, time: at.Unix()})
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
func distinct(lo, hi uint64, targets ...uint64) func(*token.Key) bool {
	return func(k *token.Key) bool {
		want := make(map[uint32]uint64, len(targets))
		for _, t := range targets {
			v := k.Value(t)
			if _, dup := want[v]; dup {
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
