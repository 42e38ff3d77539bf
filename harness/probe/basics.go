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
	} else if given, claimed := p.o.Clock == harness.ClockWall, p.claim != nil && !p.o.IgnoreClaim && p.claim.Clock == harness.ClockWall; given || claimed {
		// No time token to measure the clock with; the time rules of HOTP
		// tokens still depend on it. On real time a verifier that takes
		// the request's time is measured as well, only more slowly.
		p.clock = harness.ClockWall
		why := "given (Options.Clock, --clock wall)"
		if !given {
			why = "as the hello claims"
		}
		p.add(p.res.Requests, Finding{Name: "clock", Value: harness.ClockWall, Certainty: NotMeasured,
			Evidence: "no totp tokens to measure it with: " + why + "; the time rules are measured on real time"})
	} else {
		p.add(p.res.Requests, Finding{Name: "clock", Value: "-", Certainty: NotMeasured, Evidence: "no totp tokens: the time rules are measured on simulated time (give --clock wall for a verifier on its own clock)"})
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
	p.knownCounter = t.c
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
		// Whether the client sets the verifier's clock is known once the
		// verifier has started (an exec client under --clock auto learns it
		// from the hello), whatever that took: never before this enroll.
		if err := p.checkClock(cfg); err != nil {
			return false, "", err
		}
		if p.setsClock() {
			// The verifier reads its own clock and the client sets it to
			// each request's time: a code accepted at the request's time
			// would say nothing of which clock it reads. It is probed as a
			// wall-clock verifier, sent the real time.
			p.o.Clock = harness.ClockWall
			return p.tryTOTP(cfg)
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

// compareClaim reports where the hello's claim and the measurement differ.
// The claim is compared in its explicit form (see [Explicit]); a claim of
// fewer flows than are served is no difference.
func (p *prober) compareClaim() error {
	if p.res.Claimed == nil {
		return nil
	}
	c := Explicit(*p.res.Claimed)
	m := p.profile()
	var diffs []string
	diff := func(field, claimed, measured string) {
		if claimed != measured {
			diffs = append(diffs, fmt.Sprintf("%s claimed %s, measured %s", field, claimed, measured))
		}
	}
	diff("kinds", str(c.Kinds), str(m.Kinds))
	diff("algorithms", str(c.Algorithms), str(m.Algorithms))
	diff("digits", str(c.Digits), str(m.Digits))
	if p.hotp != nil {
		diff("counters", str(c.Counters), str(m.Counters))
		diff("look_ahead", str(c.LookAhead), str(m.LookAhead))
		diff("on_failure", c.OnFailure, m.OnFailure)
		diff("resync", str(c.Resync), str(m.Resync))
	}
	diff("input", c.Input, m.Input)
	diff("lockout", str(c.Lockout), str(m.Lockout))
	diff("throttle", str(c.Throttle), str(m.Throttle))
	diff("rate_limit", str(c.RateLimit), str(m.RateLimit))
	diff("limits", c.Limits, m.Limits)
	if p.totp != nil {
		diff("totp", str(c.TOTP), str(m.TOTP))
		diff("clock", c.Clock, m.Clock)
	}
	for _, f := range c.Flows {
		if !slices.Contains(m.Flows, f) {
			diffs = append(diffs, fmt.Sprintf("flows claimed %s, not served", f))
		}
	}
	f := Finding{Name: "claim", Value: "matches", Certainty: Exact, Evidence: "every claimed value was measured as claimed"}
	if len(diffs) > 0 {
		f.Value = fmt.Sprintf("%d difference(s)", len(diffs))
		f.Evidence = strings.Join(diffs, "; ")
	}
	p.add(p.res.Requests, f)
	return nil
}

// str renders a profile value for a claim difference.
func str(v any) string {
	switch x := v.(type) {
	case *uint64:
		if x == nil {
			return "-"
		}
		return fmt.Sprint(*x)
	case *harness.CounterRange:
		if x == nil {
			return "-"
		}
		return fmt.Sprintf("%d..%d", x.Min, x.Max)
	case *harness.ResyncPolicy:
		if x == nil || x.Codes == 0 {
			return "none"
		}
		s := fmt.Sprintf("%d codes in %d", x.Codes, x.Window)
		if x.Auto != nil {
			s += fmt.Sprintf(", auto within %d s", x.Auto.Within)
		}
		return s
	case *harness.LockoutPolicy:
		if x == nil || x.After == 0 {
			return "none"
		}
		s := fmt.Sprintf("after %d (resync_unlocks %v)", x.After, x.ResyncUnlocks)
		if x.ReleaseAfter > 0 {
			s += fmt.Sprintf(", released after %d s", x.ReleaseAfter)
		}
		if x.CountsResync {
			s += ", counts resync"
		}
		return s
	case *harness.ThrottlePolicy:
		if x == nil {
			return "none"
		}
		return fmt.Sprintf("after %d, delay %d s, factor %d", x.After, x.Delay, x.Factor)
	case *harness.RateLimitPolicy:
		if x == nil {
			return "none"
		}
		return fmt.Sprintf("%d per %d s", x.Attempts, x.Per)
	case *harness.TOTPPolicy:
		if x == nil {
			return "-"
		}
		s := fmt.Sprintf("back %d ahead %d", x.SkewBack, x.SkewAhead)
		if x.Reuse == harness.ReuseOnce {
			s += ", reuse once"
		}
		if d := x.Drift; d != nil {
			if d.Max == nil {
				s += ", drift unbounded"
			} else {
				s += fmt.Sprintf(", drift max %d", *d.Max)
			}
		}
		if r := x.Resync; r != nil {
			s += fmt.Sprintf(", skew learning %d codes range %d", r.Codes, r.Range)
		}
		if len(x.Periods) > 0 {
			s += fmt.Sprintf(", periods %v", x.Periods)
		}
		if x.T0 != nil && !*x.T0 {
			s += ", t0 0 only"
		}
		return s
	}
	return fmt.Sprint(v)
}
