package probe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// hint returns v as a search hint, or nil when claims are ignored or the
// claim does not say.
func (p *prober) hint(v *uint64) *uint64 {
	if p.o.IgnoreClaim || p.claim == nil {
		return nil
	}
	return v
}

// hello reads the verifier's own description, if it gives one.
func (p *prober) hello() error {
	d, ok := p.v.(harness.Describer)
	if !ok {
		return nil
	}
	since := p.res.Requests
	ctx, cancel := p.reqCtx()
	info, err := d.Describe(ctx)
	cancel()
	if err != nil {
		if p.fatal(err) {
			return fmt.Errorf("hello: %w", err)
		}
		p.add(since, Finding{Name: "hello", Value: "no answer", Certainty: Exact, Evidence: err.Error()})
		return nil
	}
	p.res.Name = info.Name
	ev := "hello claims no profile"
	if info.Profile != nil {
		claim := *info.Profile
		p.res.Claimed = &claim
		if err := claim.Validate(); err != nil {
			ev = fmt.Sprintf("hello claims an invalid profile, ignored: %v", err)
		} else {
			p.claim = &claim
			ev = "hello claims a profile; claimed values are tried first and then confirmed"
			if p.o.IgnoreClaim {
				ev = "hello claims a profile; measuring as if it did not (IgnoreClaim)"
			}
		}
	}
	if len(info.Ops) > 0 {
		ev += "; ops: " + strings.Join(info.Ops, ", ")
	}
	name := info.Name
	if name == "" {
		name = "(unnamed)"
	}
	p.add(since, Finding{Name: "hello", Value: name, Certainty: Exact, Evidence: ev})
	return nil
}

// configs lists token configurations in the order they are tried to find
// one the verifier accepts: SHA1 with 6 digits first.
func configs(kind harness.Kind) []config {
	var out []config
	for _, d := range []int{6, 8, 7, 9, 10} {
		for _, a := range token.Algorithms() {
			out = append(out, config{kind: kind, alg: a, digits: d})
		}
	}
	return out
}

// kinds finds, for each token kind, a configuration whose codes the
// verifier accepts; for TOTP it also finds the clock.
func (p *prober) kinds() error {
	since := p.res.Requests
	var ev []string
	var firstErr error
	for _, cfg := range configs(harness.HOTP) {
		ok, why, err := p.tryHOTP(cfg)
		if err != nil && !errors.Is(err, errRefused) {
			return err
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if ok {
			p.hotp = &cfg
			ev = append(ev, fmt.Sprintf("hotp %s/%d: %s", cfg.alg, cfg.digits, why))
			break
		}
		if why != "" && !strings.HasPrefix(why, "enroll refused") {
			ev = append(ev, fmt.Sprintf("hotp %s/%d: %s", cfg.alg, cfg.digits, why))
		}
	}
	if p.hotp == nil {
		ev = append(ev, "hotp: no configuration enrolled and accepted its code")
	}
	totpStart := p.res.Requests
	var clockEv string
	cands := configs(harness.TOTP)
	if p.hotp != nil { // the configuration HOTP takes is the likeliest
		first := config{kind: harness.TOTP, alg: p.hotp.alg, digits: p.hotp.digits}
		cands = append([]config{first}, slices.DeleteFunc(cands, func(c config) bool { return c == first })...)
	}
	for _, cfg := range cands {
		ok, why, err := p.tryTOTP(cfg)
		if err != nil && !errors.Is(err, errRefused) {
			return err
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if ok {
			p.totp = &cfg
			ev = append(ev, fmt.Sprintf("totp %s/%d: accepted (%s clock)", cfg.alg, cfg.digits, p.clock))
			clockEv = why
			break
		}
		if why != "" && !strings.HasPrefix(why, "enroll refused") {
			ev = append(ev, fmt.Sprintf("totp %s/%d: %s", cfg.alg, cfg.digits, why))
		}
	}
	if p.totp == nil {
		ev = append(ev, "totp: no configuration enrolled and accepted its code")
	}
	var names []string
	if p.hotp != nil {
		names = append(names, "hotp")
	}
	if p.totp != nil {
		names = append(names, "totp")
	}
	if len(names) == 0 {
		p.add(since, Finding{Name: "kinds", Value: "none", Certainty: NotObserved, Evidence: strings.Join(ev, "; ")})
		if firstErr != nil {
			return fmt.Errorf("no token of any kind was enrolled and accepted: %w", firstErr)
		}
		return errors.New("no token of any kind was enrolled and accepted")
	}
	p.add(since, Finding{Name: "kinds", Value: strings.Join(names, ", "), Certainty: Exact,
		Evidence: "enrolled a fresh token and submitted its current code: " + strings.Join(ev, "; ")})
	if p.totp != nil {
		p.res.Findings[len(p.res.Findings)-1].Requests = totpStart - since
		p.add(totpStart, Finding{Name: "clock", Value: p.clock, Certainty: Exact, Evidence: clockEv})
	} else {
		p.add(p.res.Requests, Finding{Name: "clock", Value: "-", Certainty: NotMeasured, Evidence: "no totp tokens: time plays no part"})
	}
	return nil
}

// tryHOTP enrolls an HOTP token of cfg and submits the code of its counter
// c; a verifier that rejects it but accepts c+1 treats the enrolled
// counter as used, which is noted as the window's lower edge.
func (p *prober) tryHOTP(cfg config) (bool, string, error) {
	t, err := p.enroll(cfg, time.Time{}, distinct(-1, 2, 0, 1))
	if err != nil {
		return false, "enroll refused", err
	}
	rep, err := t.check(t.code(0))
	if err != nil {
		return false, "", err
	}
	if rep.Accepted {
		return true, "the code of the enrolled counter c accepted", nil
	}
	t, err = p.enroll(cfg, time.Time{}, distinct(-1, 2, 0, 1))
	if err != nil {
		return false, "enroll refused", err
	}
	if rep, err = t.check(t.code(1)); err != nil {
		return false, "", err
	}
	if rep.Accepted {
		p.lower = 1
		return true, "the code of c rejected, the code of c+1 accepted: the enrolled counter is treated as used", nil
	}
	return false, "enrolled, but the codes of c and c+1 were rejected", nil
}

// tryTOTP enrolls a TOTP token of cfg and submits the code of the current
// step, first at a simulated time far from the wall clock (accepted: the
// verifier takes the request's time), then at the wall clock.
func (p *prober) tryTOTP(cfg config) (bool, string, error) {
	wallStep := func() uint64 { s, _ := token.Step(p.o.Now().Unix(), 0, token.DefaultPeriod); return s }
	// The code must not also be a code of a step near the wall clock.
	farFromWall := func(k *token.Key, c uint64) bool {
		if !distinct(-int64(p.o.MaxSkew)-1, int64(p.o.MaxSkew)+1, 0)(k, c) {
			return false
		}
		w, v := wallStep(), k.Value(c)
		for s := w - p.o.MaxSkew - 2; s <= w+p.o.MaxSkew+2; s++ {
			if k.Value(s) == v {
				return false
			}
		}
		return true
	}
	if p.o.Clock != harness.ClockWall {
		t, err := p.enroll(cfg, p.simAt, farFromWall)
		if err != nil {
			return false, "enroll refused", err
		}
		rep, err := t.check(t.code(0))
		if err != nil {
			return false, "", err
		}
		if rep.Accepted {
			p.clock = harness.ClockRequest
			p.totpTok = t
			return true, fmt.Sprintf("the code of step %d was accepted at the request's time %s, %d days from the wall clock",
				t.c, t.at.UTC().Format(time.RFC3339), int(p.o.Now().Sub(t.at).Hours()/24)), nil
		}
	}
	if p.o.Clock == harness.ClockRequest {
		return false, "enrolled, but the code of the request's step was rejected", nil
	}
	at, err := p.wallAt()
	if err != nil {
		return false, "", err
	}
	t, err := p.enroll(cfg, at, distinct(-int64(p.o.MaxSkew)-1, int64(p.o.MaxSkew)+1, 0))
	if err != nil {
		return false, "enroll refused", err
	}
	p.clock = harness.ClockWall
	rep, err := t.check(t.code(0))
	if err != nil {
		return false, "", err
	}
	if rep.Accepted {
		p.totpTok = t
		why := "the code of the wall clock's step was accepted"
		if p.o.Clock == "" {
			why = "the code of the request's step (far from the wall clock) was rejected, the code of the wall clock's step accepted"
		}
		return true, why, nil
	}
	p.clock = ""
	return false, "enrolled, but neither the request's nor the wall clock's step was accepted", nil
}

// lookAhead measures both edges of the HOTP window on fresh tokens: the
// code of c-1 must be rejected, and the largest accepted offset L is
// found by galloping and bisection (accepted iff k <= L).
func (p *prober) lookAhead() error {
	if p.hotp == nil {
		p.add(p.res.Requests, Finding{Name: "look-ahead", Value: "-", Certainty: NotMeasured, Evidence: "no hotp tokens"})
		return nil
	}
	rec := p.series("HOTP look-ahead", "offset")
	rec(p.lower, true)
	since := p.res.Requests
	t, err := p.enroll(*p.hotp, time.Time{}, distinct(-1, p.lower+1, -1))
	if err != nil {
		return err
	}
	rep, err := t.check(t.code(-1))
	if err != nil {
		return err
	}
	rec(-1, rep.Accepted)
	f := Finding{Name: "look-ahead-lower", Value: "c", Certainty: Exact,
		Evidence: "a fresh token rejected the code of c-1 and accepted the code of c"}
	switch {
	case rep.Accepted:
		f.Value, f.Departs = "c-1 or below", true
		f.Evidence = "a fresh token accepted the code of c-1, a counter behind the one it was enrolled with"
	case p.lower == 1:
		f.Value, f.Departs = "c+1", true
		f.Evidence = "a fresh token rejected the code of its enrolled counter c and accepted c+1: the enrolled counter is taken as already used; the profile cannot express this"
	}
	p.add(since, f)

	since = p.res.Requests
	pred := func(k uint64) (bool, error) {
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k), int64(k)))
		if err != nil {
			return false, err
		}
		rep, err := t.check(t.code(int64(k)))
		if err != nil {
			return false, err
		}
		rec(int64(k), rep.Accepted)
		return rep.Accepted, nil
	}
	var h *uint64
	if p.claim != nil {
		h = p.hint(p.claim.LookAhead)
	}
	l, atMax, err := edge(uint64(p.lower), p.o.MaxLookAhead, h, pred)
	if err != nil {
		return err
	}
	p.l, p.lBound = l, atMax
	f = Finding{Name: "look-ahead", Value: fmt.Sprint(l), Certainty: Exact,
		Evidence: describePoints(p.res.Series[len(p.res.Series)-1].Points[2:], "offset k (the code of c+k)")}
	if atMax {
		f.Value, f.Certainty = fmt.Sprintf(">= %d", l), LowerBound
		f.Evidence += fmt.Sprintf("; the search stops at %d (MaxLookAhead)", l)
	}
	p.add(since, f)
	return nil
}

// storedCounter finds what the verifier stores after a hit: the next
// counter (the RFC and the profile) or the last used one (liboath), and
// whether the accepted code is then refused as a replay.
func (p *prober) storedCounter() error {
	if p.hotp == nil || p.lBound || p.lower != 0 {
		why := "no hotp tokens"
		if p.hotp != nil {
			why = "the look-ahead window is not known exactly"
		}
		p.add(p.res.Requests, Finding{Name: "stored-counter", Value: "-", Certainty: NotMeasured, Evidence: why})
		return nil
	}
	since := p.res.Requests
	l := int64(p.l)
	t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, 2*l+2, 0, l+1))
	if err != nil {
		return err
	}
	if rep, err := t.check(t.code(0)); err != nil || !rep.Accepted {
		if err != nil {
			return err
		}
		p.add(since, Finding{Name: "stored-counter", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: "a fresh token rejected the code of its enrolled counter, which an earlier token accepted"})
		return nil
	}
	rep, err := t.check(t.code(l + 1))
	if err != nil {
		return err
	}
	replayOf := int64(-1) // the counter offset whose code is replayed
	f := Finding{Name: "stored-counter", Certainty: Exact}
	if rep.Accepted {
		f.Value = "next (c = matched + 1)"
		f.Evidence = fmt.Sprintf("after the code of c was accepted, the code of c+1+L (c+%d) was accepted: the window moved to start at c+1", l+1)
		replayOf = l + 1
	} else {
		targets := []int64{0, l}
		if l == 0 {
			targets = targets[:1]
		}
		t, err = p.enroll(*p.hotp, time.Time{}, distinct(0, 2*l+2, targets...))
		if err != nil {
			return err
		}
		if rep, err = t.check(t.code(0)); err != nil {
			return err
		}
		ok := rep.Accepted
		if ok && l > 0 {
			if rep, err = t.check(t.code(l)); err != nil {
				return err
			}
			ok = rep.Accepted
		}
		replayOf = l
		switch {
		case ok:
			p.lastUsed = true
			f.Value, f.Departs = "last used (c = matched)", true
			f.Evidence = fmt.Sprintf("after the code of c was accepted, the code of c+1+L (c+%d) was rejected", l+1)
			if l > 0 {
				f.Evidence += fmt.Sprintf(" and the code of c+L (c+%d) accepted on a second token", l)
			}
			f.Evidence += fmt.Sprintf(": after a hit at m the window reaches only m+%d, so a fresh token accepts %d codes ahead and later ones %d; look_ahead %d is kept, exact on fresh tokens (the profile cannot express this)", l, l+1, l, l)
			if l == 0 {
				f.Evidence += "; with a window of 0 a token can log in only once"
			}
		default:
			f.Value, f.Departs = "neither", true
			f.Evidence = fmt.Sprintf("after the code of c was accepted, the codes of c+1+L and c+L (L = %d) were both rejected: the window after a hit is shorter than L", l)
			replayOf = -1
		}
	}
	p.add(since, f)
	if replayOf < 0 {
		return nil
	}
	since = p.res.Requests
	if rep, err = t.check(t.code(replayOf)); err != nil {
		return err
	}
	r := Finding{Name: "replay", Value: "rejected", Certainty: Exact,
		Evidence: "the last accepted code, submitted again at once, was rejected"}
	if rep.Accepted {
		r.Value, r.Departs = "accepted", true
		r.Evidence = "the last accepted code, submitted again at once, was accepted again (RFC 4226 §7.2)"
	}
	p.add(since, r)
	return nil
}

// primary is the kind used to measure what is not kind-specific:
// algorithms, digits, code length and lockout. HOTP when supported.
func (p *prober) primary() config {
	if p.hotp != nil {
		return *p.hotp
	}
	return *p.totp
}

// goodIndex is the offset of the first acceptable code of a fresh token.
func (p *prober) goodIndex(kind harness.Kind) int64 {
	if kind == harness.HOTP {
		return p.lower
	}
	return 0
}

// span is how far ahead a verifier may look for a code of a fresh token.
func (p *prober) span(kind harness.Kind) int64 {
	if kind == harness.HOTP {
		return int64(p.l) + 2
	}
	return int64(p.ahead) + 2
}

// accepts enrolls a token of cfg and submits its first acceptable code.
// The code is checked against the other algorithms' codes of the same
// secret, so a verifier that uses the wrong hash cannot pass by chance.
func (p *prober) accepts(cfg config) (bool, string, error) {
	gi, span := p.goodIndex(cfg.kind), p.span(cfg.kind)
	if cfg.kind == harness.TOTP {
		span = int64(p.o.MaxSkew) + 1
	}
	clean := func(k *token.Key, c uint64) bool {
		lo := -span
		if cfg.kind == harness.HOTP {
			lo = 0
		}
		if !distinct(lo, span, gi)(k, c) {
			return false
		}
		want := k.Value(c + uint64(gi))
		for _, a := range token.Algorithms() {
			if a == cfg.alg {
				continue
			}
			other, err := token.NewKey(k.Secret(), a, cfg.digits)
			if err != nil {
				return false
			}
			for i := lo; i <= span; i++ {
				if other.Value(c+uint64(i)) == want {
					return false
				}
			}
		}
		return true
	}
	t, err := p.enroll(cfg, time.Time{}, clean)
	if err != nil {
		if errors.Is(err, errRefused) {
			return false, "enroll refused", nil
		}
		return false, "", err
	}
	rep, err := t.check(t.code(gi))
	if err != nil {
		return false, "", err
	}
	if !rep.Accepted {
		return false, "enrolled, code rejected", nil
	}
	return true, "accepted", nil
}

// algorithms finds which HMAC hashes the verifier accepts.
func (p *prober) algorithms() error {
	since := p.res.Requests
	base := p.primary()
	var ev []string
	for _, a := range token.Algorithms() {
		ok, why := true, "accepted"
		if a != base.alg {
			var err error
			if ok, why, err = p.accepts(config{kind: base.kind, alg: a, digits: base.digits}); err != nil {
				return err
			}
		}
		if ok {
			p.algs = append(p.algs, a)
		}
		ev = append(ev, fmt.Sprintf("%s: %s", a, why))
	}
	names := make([]string, len(p.algs))
	for i, a := range p.algs {
		names[i] = a.String()
	}
	p.add(since, Finding{Name: "algorithms", Value: strings.Join(names, ", "), Certainty: Exact,
		Evidence: fmt.Sprintf("%s tokens with %d digits and a secret of the hash's size: %s", base.kind, base.digits, strings.Join(ev, "; "))})
	return nil
}

// digits finds which code lengths the verifier accepts.
func (p *prober) digits() error {
	since := p.res.Requests
	base := p.primary()
	var ev []string
	for d := token.MinDigits; d <= token.MaxDigits; d++ {
		ok, why := true, "accepted"
		if d != base.digits {
			var err error
			if ok, why, err = p.accepts(config{kind: base.kind, alg: base.alg, digits: d}); err != nil {
				return err
			}
		}
		if ok {
			p.digitsOK = append(p.digitsOK, d)
		}
		ev = append(ev, fmt.Sprintf("%d: %s", d, why))
	}
	listed := profileDigits(p.digitsOK, p.o.Digits)
	var left []string
	for _, d := range p.digitsOK {
		if !slices.Contains(listed, d) {
			left = append(left, fmt.Sprint(d))
		}
	}
	evidence := fmt.Sprintf("%s %s tokens: %s", base.kind, base.alg, strings.Join(ev, "; "))
	if len(left) > 0 {
		evidence += fmt.Sprintf("; also accepted but left out of the profile, which lists only %s: %s", joinInts(p.o.Digits), strings.Join(left, ", "))
	}
	p.add(since, Finding{Name: "digits", Value: joinInts(p.digitsOK), Certainty: Exact, Evidence: evidence})
	return nil
}

// plural returns word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// article is the indefinite article before a spoken number of digits.
func article(n int) string {
	if n == 8 {
		return "an"
	}
	return "a"
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// codeLength checks that the token's own length decides: a 6-digit token
// must reject the 8-digit form of its code, and an 8-digit token the last
// 6 digits of its code (a verifier that takes the typed length accepts
// both, and the second makes guessing 100 times easier).
func (p *prober) codeLength() error {
	since := p.res.Requests
	base := p.primary()
	gi := p.goodIndex(base.kind)
	var ev []string
	departs := false
	try := func(digits, typed int) error {
		cfg := config{kind: base.kind, alg: base.alg, digits: digits}
		t, err := p.enroll(cfg, time.Time{}, distinct(-p.span(base.kind), p.span(base.kind), gi))
		if err != nil {
			return err
		}
		other, err := token.NewKey(t.key.Secret(), base.alg, typed)
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		code := other.HOTP(t.c + uint64(gi))
		rep, err := t.check(code)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("%s %d-digit token %s the %d-digit form of its code", article(digits), digits, map[bool]string{true: "accepted", false: "rejected"}[rep.Accepted], typed)
		ev = append(ev, what)
		departs = departs || rep.Accepted
		return nil
	}
	if slices.Contains(p.digitsOK, 6) {
		if err := try(6, 8); err != nil {
			return err
		}
	}
	if slices.Contains(p.digitsOK, 8) {
		if err := try(8, 6); err != nil {
			return err
		}
	}
	if len(ev) == 0 {
		p.add(since, Finding{Name: "code-length", Value: "-", Certainty: NotMeasured, Evidence: "neither 6 nor 8 digits are accepted"})
		return nil
	}
	f := Finding{Name: "code-length", Value: "the token's", Certainty: Exact, Evidence: strings.Join(ev, "; ")}
	if departs {
		f.Value, f.Departs = "the typed code's", true
		f.Evidence += ": the length of the typed code decides, not the token's (the profile cannot express this)"
	}
	p.add(since, f)
	return nil
}

// resync finds the number of codes a resync takes and its window.
func (p *prober) resync() error {
	if p.hotp == nil {
		p.add(p.res.Requests, Finding{Name: "resync", Value: "-", Certainty: NotMeasured, Evidence: "no hotp tokens"})
		return nil
	}
	since := p.res.Requests
	p.resyncDone = true
	// at tries every number of codes at offset k on fresh tokens.
	at := func(k uint64) ([]int, []string, bool, error) {
		var acc []int
		var ev []string
		for n := 1; n <= p.o.MaxResyncCodes; n++ {
			targets := make([]int64, n)
			for i := range targets {
				targets[i] = int64(k) + int64(i)
			}
			t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k)+int64(n), targets...))
			if err != nil {
				return nil, nil, false, err
			}
			rep, err := t.resync(k, n)
			switch {
			case errors.Is(err, harness.ErrUnsupported):
				return nil, []string{err.Error()}, true, nil
			case errors.Is(err, errRefused):
				ev = append(ev, fmt.Sprintf("%d: refused (%v)", n, err))
			case err != nil:
				return nil, nil, false, err
			case rep.Accepted:
				acc = append(acc, n)
				ev = append(ev, fmt.Sprintf("%d: accepted", n))
			default:
				ev = append(ev, fmt.Sprintf("%d: rejected", n))
			}
		}
		return acc, ev, false, nil
	}
	acc, ev, unsupported, err := at(0)
	if err != nil {
		return err
	}
	var lo uint64
	evidence := "resync with the n codes from the token's counter c, one fresh token per n: " + strings.Join(ev, "; ")
	if unsupported {
		p.add(since, Finding{Name: "resync", Value: "none", Certainty: Exact, Evidence: "resync is not supported: " + strings.Join(ev, "")})
		return nil
	}
	departs := false
	if len(acc) == 0 && !p.lBound {
		lo = p.l + 1
		var err error
		if acc, ev, _, err = at(lo); err != nil {
			return err
		}
		evidence += fmt.Sprintf("; from c+%d (beyond the look-ahead): %s", lo, strings.Join(ev, "; "))
		departs = len(acc) > 0
		if departs {
			evidence += "; resync refuses codes inside the look-ahead window (the profile cannot express this)"
		}
	}
	if len(acc) == 0 {
		p.add(since, Finding{Name: "resync", Value: "none", Certainty: NotObserved, Evidence: evidence})
		return nil
	}
	n := acc[0]
	f := Finding{Name: "resync", Value: fmt.Sprintf("%d codes", n), Certainty: Exact, Evidence: evidence, Departs: departs}
	if len(acc) > 1 {
		f.Departs = true
		f.Evidence += fmt.Sprintf("; several lengths accepted (%s), the profile lists the smallest", joinInts(acc))
	}
	p.add(since, f)

	since = p.res.Requests
	rec := p.series("HOTP resync window", "offset")
	rec(int64(lo), true)
	pred := func(k uint64) (bool, error) {
		targets := make([]int64, n)
		for i := range targets {
			targets[i] = int64(k) + int64(i)
		}
		t, err := p.enroll(*p.hotp, time.Time{}, distinct(0, int64(k)+int64(n)-1, targets...))
		if err != nil {
			return false, err
		}
		rep, err := t.resync(k, n)
		if err != nil {
			return false, err
		}
		rec(int64(k), rep.Accepted)
		return rep.Accepted, nil
	}
	var h *uint64
	if p.claim != nil && p.claim.Resync != nil && p.claim.Resync.Codes == n {
		h = p.hint(&p.claim.Resync.Window)
	}
	r, atMax, err := edge(lo, p.o.MaxResyncWindow, h, pred)
	if err != nil {
		return err
	}
	p.resyncN, p.resyncR = n, r
	w := Finding{Name: "resync-window", Value: fmt.Sprint(r), Certainty: Exact,
		Evidence: describePoints(p.res.Series[len(p.res.Series)-1].Points[1:], fmt.Sprintf("offset k (the %d codes from c+k)", n))}
	if atMax {
		w.Value, w.Certainty = fmt.Sprintf(">= %d", r), LowerBound
		w.Evidence += fmt.Sprintf("; the search stops at %d (MaxResyncWindow)", r)
	}
	p.add(since, w)
	return nil
}

// totpSkew measures how many steps back and ahead of the current one the
// verifier accepts, on fresh tokens.
func (p *prober) totpSkew() error {
	if p.totp == nil {
		p.add(p.res.Requests, Finding{Name: "totp-skew", Value: "-", Certainty: NotMeasured, Evidence: "no totp tokens"})
		return nil
	}
	rec := p.series("TOTP skew", "steps from T")
	rec(0, true)
	var cb, ca *uint64
	if p.claim != nil && p.claim.TOTP != nil {
		cb, ca = p.hint(&p.claim.TOTP.SkewBack), p.hint(&p.claim.TOTP.SkewAhead)
	}
	max := int64(p.o.MaxSkew)
	for _, side := range []struct {
		name string
		sign int64
		hint *uint64
		dst  *uint64
	}{{"totp-skew-back", -1, cb, &p.back}, {"totp-skew-ahead", 1, ca, &p.ahead}} {
		since := p.res.Requests
		var pts []Point
		pred := func(d uint64) (bool, error) {
			off := side.sign * int64(d)
			t, err := p.enroll(*p.totp, time.Time{}, distinct(-max-1, max+1, off))
			if err != nil {
				return false, err
			}
			rep, err := t.check(t.code(off))
			if err != nil {
				return false, err
			}
			rec(off, rep.Accepted)
			pts = append(pts, Point{X: off, Accepted: rep.Accepted})
			return rep.Accepted, nil
		}
		d, atMax, err := edge(0, p.o.MaxSkew, side.hint, pred)
		if err != nil {
			return err
		}
		*side.dst = d
		f := Finding{Name: side.name, Value: fmt.Sprint(d), Certainty: Exact,
			Evidence: describePoints(pts, "step T+d (T the current step)")}
		if atMax {
			f.Value, f.Certainty = fmt.Sprintf(">= %d", d), LowerBound
			f.Evidence += fmt.Sprintf("; the search stops at %d (MaxSkew)", d)
		}
		if p.clock == harness.ClockWall {
			f.Evidence += "; on the wall clock, assuming the verifier's agrees with ours within the step"
		}
		p.add(since, f)
	}
	return nil
}

// totpReuse checks RFC 6238 §5.2: an accepted code is not accepted again
// in its step, and (with skew back) an older step is not accepted after a
// newer one.
func (p *prober) totpReuse() error {
	if p.totp == nil || p.totpTok == nil {
		return nil
	}
	since := p.res.Requests
	t := p.totpTok
	rep, err := t.check(t.code(0))
	if err != nil {
		return err
	}
	f := Finding{Name: "totp-reuse", Value: "rejected", Certainty: Exact,
		Evidence: "the accepted code of the current step, submitted again in the same step, was rejected"}
	if rep.Accepted {
		f.Value, f.Departs = "accepted", true
		f.Evidence = "the accepted code of the current step, submitted again in the same step, was accepted again (RFC 6238 §5.2)"
	}
	if p.back > 0 && !p.bounded() {
		t, err := p.enroll(*p.totp, time.Time{}, distinct(-int64(p.back)-2, int64(p.ahead)+2, 0, -1))
		if err != nil {
			return err
		}
		if rep, err = t.check(t.code(0)); err != nil {
			return err
		}
		if rep.Accepted {
			if rep, err = t.check(t.code(-1)); err != nil {
				return err
			}
			if rep.Accepted {
				f.Value, f.Departs = "older step accepted", true
				f.Evidence += "; after the code of step T, the code of step T-1 (inside the skew window) was accepted: steps are not kept in order"
			} else {
				f.Evidence += "; after the code of step T, the code of step T-1 was rejected"
			}
		}
	}
	p.add(since, f)
	return nil
}

// bounded reports whether a TOTP skew is only a lower bound.
func (p *prober) bounded() bool { return p.back >= p.o.MaxSkew || p.ahead >= p.o.MaxSkew }

// lockTok is a fresh token for the lockout measurements, with the codes it
// may use: good ones in order and wrong ones that match nothing the
// verifier could accept.
type lockTok struct {
	*tok
	avoid map[uint32]bool
	shift int64 // HOTP: counters moved by failures, when failures move it
}

func (p *prober) lockToken() (*lockTok, error) {
	cfg := p.primary()
	gi := p.goodIndex(cfg.kind)
	lo, hi := int64(0), p.span(cfg.kind)+2+int64(p.o.MaxResyncCodes)
	if cfg.kind == harness.TOTP {
		lo = -int64(p.back) - 3
		hi += 2
	}
	t, err := p.enroll(cfg, time.Time{}, distinct(lo, hi, gi, gi+1))
	if err != nil {
		return nil, err
	}
	lt := &lockTok{tok: t, avoid: map[uint32]bool{}}
	for i := lo - 1; i <= hi; i++ {
		lt.avoid[t.key.Value(t.c+uint64(i))] = true
	}
	return lt, nil
}

// wrong returns a fresh well-formed code that matches no counter or step
// the verifier could accept, different from the ones used before.
func (lt *lockTok) wrong() string {
	mod := uint32(1)
	for range lt.key.Digits() {
		mod *= 10
	}
	for {
		var v uint32
		if lt.key.Digits() > 9 {
			v = uint32(lt.p.rng.Uint64N(1 << 31))
		} else {
			v = lt.p.rng.Uint32N(mod)
		}
		if !lt.avoid[v] {
			lt.avoid[v] = true
			return fmt.Sprintf("%0*d", lt.key.Digits(), v)
		}
	}
}

// good submits the i-th acceptable code (i = 0, 1) of the token: the
// codes of the next counters for HOTP, of the next steps for TOTP (at
// their own time with a request clock, at once within the skew otherwise).
func (lt *lockTok) good(i int64) (harness.Reply, bool, error) {
	p := lt.p
	if lt.t.Kind == harness.HOTP {
		rep, err := lt.check(lt.code(p.lower + lt.shift + i))
		return rep, true, err
	}
	if p.clock == harness.ClockWall && uint64(i) > p.ahead {
		return harness.Reply{}, false, nil
	}
	at := lt.at
	if p.clock == harness.ClockRequest {
		at = at.Add(time.Duration(i) * token.DefaultPeriod * time.Second)
	}
	rep, err := lt.checkAt(lt.code(i), at)
	return rep, true, err
}

// fails submits n wrong codes; with stop it stops at the first reply that
// says the token is locked and returns how many were sent then.
func (lt *lockTok) fails(n int, stop bool) (int, error) {
	for i := 1; i <= n; i++ {
		rep, err := lt.check(lt.wrong())
		if err != nil {
			return 0, err
		}
		if rep.Accepted {
			return 0, fmt.Errorf("check %s: a wrong code was accepted", lt.t.Serial)
		}
		if stop && rep.Locked {
			return i, nil
		}
	}
	return 0, nil
}

// lockout measures the lockout threshold F (the correct code is rejected
// after F consecutive failures, accepted after F-1), whether a success
// resets the count, whether unlock works and whether resync unlocks.
func (p *prober) lockout() error {
	since := p.res.Requests
	max := p.o.MaxLockout
	rec := p.series("lockout", "failures before the correct code")
	rec(0, true) // the correct code of a fresh token: accepted in kinds
	memo := map[int]bool{0: true}
	locked := map[int]*lockTok{} // a token left locked by f failures
	pred := func(f int) (bool, error) {
		if v, ok := memo[f]; ok {
			return v, nil
		}
		lt, err := p.lockToken()
		if err != nil {
			return false, err
		}
		if _, err := lt.fails(f, false); err != nil {
			return false, err
		}
		if p.burns {
			lt.shift = int64(f)
		}
		rep, _, err := lt.good(0)
		if err != nil {
			return false, err
		}
		if rep.Accepted, err = p.burnCheck(lt, f, rep.Accepted); err != nil {
			return false, err
		}
		memo[f] = rep.Accepted
		if !rep.Accepted {
			locked[f] = lt
		}
		rec(int64(f), rep.Accepted)
		return rep.Accepted, nil
	}
	var ev []string
	flagged := false
	if p.claim != nil && !p.o.IgnoreClaim {
		if h := p.claim.LockoutAfter(); h > 0 && h <= max {
			if ok, err := pred(h - 1); err != nil {
				return err
			} else if ok {
				if _, err := pred(h); err != nil {
					return err
				}
			}
		}
	}
	known := func() (lo, hi int) {
		lo, hi = 0, -1
		for f, ok := range memo {
			if ok && f > lo {
				lo = f
			}
			if !ok && (hi < 0 || f < hi) {
				hi = f
			}
		}
		return lo, hi
	}
	if _, hi := known(); hi < 0 {
		// A scout: up to max failures on one token, stopping where a
		// reply says locked, then the correct code.
		lt, err := p.lockToken()
		if err != nil {
			return err
		}
		at, err := lt.fails(max, true)
		if err != nil {
			return err
		}
		n := max
		if at > 0 {
			n = at
		}
		if p.burns {
			lt.shift = int64(n)
		}
		rep, _, err := lt.good(0)
		if err != nil {
			return err
		}
		if rep.Accepted, err = p.burnCheck(lt, n, rep.Accepted); err != nil {
			return err
		}
		if at > 0 {
			flagged = true
			ev = append(ev, fmt.Sprintf("a reply said locked after %d failures", at))
		}
		memo[n] = rep.Accepted
		rec(int64(n), rep.Accepted)
		if !rep.Accepted {
			locked[n] = lt
		}
	}
	lo, hi := known()
	var f int
	switch {
	case hi < 0 && lo >= max:
		f = 0
	case hi < 0:
		x, atMax, err := edge(uint64(lo), uint64(max), nil, func(x uint64) (bool, error) { return pred(int(x)) })
		if err != nil {
			return err
		}
		if !atMax {
			f = int(x) + 1
		}
	default:
		top := uint64(hi - 1)
		var h *uint64
		if flagged { // the reply's flag is likely right: try it first
			h = &top
		}
		x, _, err := edge(uint64(lo), top, h, func(x uint64) (bool, error) { return pred(int(x)) })
		if err != nil {
			return err
		}
		f = int(x) + 1
	}
	p.lockDone, p.lockAfter = true, f
	var counter *Finding // measured along the way; its requests count as the lockout's
	if p.primary().kind == harness.HOTP && (p.burns || p.burnKnown || memo[max]) {
		c := Finding{Name: "counter-after-failure", Value: "unchanged", Certainty: Exact,
			Evidence: "after wrong codes the code of the enrolled counter was still accepted (or, once locked, accepted after unlock)"}
		if p.burns {
			c.Value, c.Departs = "moved by each failure", true
			c.Evidence = "after f wrong codes the code of c was rejected and then the code of c+f+1 accepted: each rejected check burns a counter (RFC 4226 §7.4: on failure the counter does not change); the lockout search used the code of c+f"
		}
		counter = &c
	}
	pts := p.res.Series[len(p.res.Series)-1].Points
	evidence := strings.Replace(describePoints(pts, "number of failures f"), "one fresh token per number of failures f:", "one fresh token per number f of wrong codes, then the correct code:", 1)
	if len(ev) > 0 {
		evidence += "; " + strings.Join(ev, "; ")
	}
	if f == 0 {
		p.add(since, Finding{Name: "lockout", Value: "none", Certainty: NotObserved,
			Evidence: evidence + fmt.Sprintf("; the correct code was still accepted after %d consecutive failures (MaxLockout)", max)})
		if counter != nil {
			p.add(p.res.Requests, *counter)
		}
		return nil
	}
	p.add(since, Finding{Name: "lockout", Value: fmt.Sprintf("after %d %s", f, plural(f, "failure")), Certainty: Exact, Evidence: evidence})
	if counter != nil {
		p.add(p.res.Requests, *counter)
	}
	if err := p.unlock(locked[f]); err != nil {
		return err
	}
	if err := p.lockoutReset(f); err != nil {
		return err
	}
	return p.resyncUnlocks(f)
}

// burnCheck runs once, at the first HOTP token whose correct code was
// rejected after f failures: if the code of c+f+1 is accepted instead, the
// failures moved the counter (as google-authenticator's HOTP does) rather
// than locking the token, and the lockout search continues from there.
func (p *prober) burnCheck(lt *lockTok, f int, accepted bool) (bool, error) {
	if accepted || p.burnKnown || lt.t.Kind != harness.HOTP || f == 0 {
		return accepted, nil
	}
	p.burnKnown = true
	// The rejected correct code burnt one more counter if failures burn.
	rep, err := lt.check(lt.code(p.lower + int64(f) + 1))
	if err != nil {
		return false, err
	}
	if rep.Accepted {
		p.burns = true
		lt.shift = int64(f) + 1
	}
	return rep.Accepted, nil
}

// unlock checks that an administrator's unlock lets the correct code in
// again, on a token that f failures locked.
func (p *prober) unlock(lt *lockTok) error {
	since := p.res.Requests
	if lt == nil {
		p.add(since, Finding{Name: "unlock", Value: "-", Certainty: NotMeasured, Evidence: "no locked token left"})
		return nil
	}
	if err := lt.unlock(); err != nil {
		if errors.Is(err, errRefused) {
			p.add(since, Finding{Name: "unlock", Value: "unsupported", Certainty: Exact, Evidence: err.Error()})
			return nil
		}
		return err
	}
	rep, ok, err := lt.good(0)
	if err != nil || !ok {
		return err
	}
	f := Finding{Name: "unlock", Value: "works", Certainty: Exact,
		Evidence: "a locked token accepted the correct code it had rejected, once unlocked: the counter did not move while locked"}
	if !rep.Accepted {
		f.Value, f.Departs = "code still rejected", true
		f.Evidence = "after unlock the correct code was still rejected: the failures may have moved the counter, or unlock does not work"
	}
	p.add(since, f)
	return nil
}

// lockoutReset checks that an accepted code resets the failure count:
// F-1 failures, a success, F-1 failures, and the next code is accepted.
func (p *prober) lockoutReset(f int) error {
	since := p.res.Requests
	if f < 2 {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "lockout after 1 failure: nothing to reset"})
		return nil
	}
	if p.burns {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "failures move the counter"})
		return nil
	}
	if p.primary().kind == harness.HOTP && p.lastUsed && p.l == 0 {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "a token accepts one code only (last used counter, window 0)"})
		return nil
	}
	lt, err := p.lockToken()
	if err != nil {
		return err
	}
	if _, err := lt.fails(f-1, false); err != nil {
		return err
	}
	rep, _, err := lt.good(0)
	if err != nil {
		return err
	}
	if !rep.Accepted {
		p.add(since, Finding{Name: "lockout-reset", Value: "inconsistent", Certainty: Exact, Departs: true,
			Evidence: fmt.Sprintf("the correct code was rejected after %d failures on a fresh token", f-1)})
		return nil
	}
	if _, err := lt.fails(f-1, false); err != nil {
		return err
	}
	rep, ok, err := lt.good(1)
	if err != nil {
		return err
	}
	if !ok {
		p.add(since, Finding{Name: "lockout-reset", Value: "-", Certainty: NotMeasured, Evidence: "no second code can be submitted at once (wall clock, no skew ahead)"})
		return nil
	}
	r := Finding{Name: "lockout-reset", Value: "a success resets the count", Certainty: Exact,
		Evidence: fmt.Sprintf("%d failures, the correct code (accepted), %d failures, the next code: accepted", f-1, f-1)}
	if !rep.Accepted {
		r.Value, r.Departs = "a success does not reset the count", true
		r.Evidence = fmt.Sprintf("%d failures, the correct code (accepted), %d failures, the next code: rejected; the profile says an accepted check resets the count", f-1, f-1)
	}
	p.add(since, r)
	return nil
}

// resyncUnlocks checks whether a genuine resync is accepted on a locked
// token and unlocks it.
func (p *prober) resyncUnlocks(f int) error {
	since := p.res.Requests
	if p.hotp == nil || p.resyncN == 0 || p.primary().kind != harness.HOTP {
		p.add(since, Finding{Name: "resync-unlocks", Value: "-", Certainty: NotMeasured, Evidence: "no hotp resync"})
		return nil
	}
	lt, err := p.lockToken()
	if err != nil {
		return err
	}
	if _, err := lt.fails(f, false); err != nil {
		return err
	}
	k := uint64(p.lower)
	if p.burns {
		k += uint64(f)
	}
	if k < p.resyncLo() {
		k = p.resyncLo()
	}
	rep, err := lt.resync(k, p.resyncN)
	if err != nil && !errors.Is(err, errRefused) {
		return err
	}
	r := Finding{Name: "resync-unlocks", Value: "no", Certainty: Exact,
		Evidence: fmt.Sprintf("after %d failures (locked), a genuine resync was rejected", f)}
	if err == nil && rep.Accepted {
		next, err := lt.check(lt.code(int64(k) + int64(p.resyncN)))
		if err != nil {
			return err
		}
		if next.Accepted {
			p.resyncUnl = true
			r.Value = "yes"
			r.Evidence = fmt.Sprintf("after %d failures (locked), a genuine resync was accepted and the next code then accepted", f)
		} else {
			r.Value, r.Departs = "accepted but still locked", true
			r.Evidence = fmt.Sprintf("after %d failures (locked), a genuine resync was accepted but the next code was rejected: neither resync_unlocks value fits", f)
		}
	}
	p.add(since, r)
	return nil
}

// resyncLo is the smallest offset at which a resync was accepted.
func (p *prober) resyncLo() uint64 {
	for _, s := range p.res.Series {
		if s.Name == "HOTP resync window" && len(s.Points) > 0 {
			return uint64(s.Points[0].X)
		}
	}
	return 0
}

// compareClaim reports where the hello's claim and the measurement differ.
func (p *prober) compareClaim() error {
	c := p.res.Claimed
	if c == nil {
		return nil
	}
	m := p.profile()
	var diffs []string
	diff := func(field, claimed, measured string) {
		if claimed != measured {
			diffs = append(diffs, fmt.Sprintf("%s claimed %s, measured %s", field, claimed, measured))
		}
	}
	str := func(v any) string {
		switch x := v.(type) {
		case *uint64:
			if x == nil {
				return "-"
			}
			return fmt.Sprint(*x)
		case *harness.ResyncPolicy:
			if x == nil || x.Codes == 0 {
				return "none"
			}
			return fmt.Sprintf("%d codes in %d", x.Codes, x.Window)
		case *harness.LockoutPolicy:
			if x == nil || x.After == 0 {
				return "none"
			}
			return fmt.Sprintf("after %d (resync_unlocks %v)", x.After, x.ResyncUnlocks)
		case *harness.TOTPPolicy:
			if x == nil {
				return "-"
			}
			return fmt.Sprintf("back %d ahead %d", x.SkewBack, x.SkewAhead)
		}
		return fmt.Sprint(v)
	}
	diff("kinds", str(c.Kinds), str(m.Kinds))
	diff("algorithms", str(c.Algorithms), str(m.Algorithms))
	diff("digits", str(c.Digits), str(m.Digits))
	if p.hotp != nil {
		diff("look_ahead", str(c.LookAhead), str(m.LookAhead))
		diff("resync", str(c.Resync), str(m.Resync))
	}
	diff("lockout", str(c.Lockout), str(m.Lockout))
	if p.totp != nil {
		diff("totp", str(c.TOTP), str(m.TOTP))
		diff("clock", c.Clock, m.Clock)
	}
	f := Finding{Name: "claim", Value: "matches", Certainty: Exact, Evidence: "every claimed value was measured as claimed"}
	if len(diffs) > 0 {
		f.Value = fmt.Sprintf("%d difference(s)", len(diffs))
		f.Evidence = strings.Join(diffs, "; ")
	}
	p.add(p.res.Requests, f)
	return nil
}
