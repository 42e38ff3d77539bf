package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otplab/otplab/token"
)

// variant is a policy a real verifier may have instead of the one its
// profile claims: either another profile (a claim the profile language can
// state) or a known defect (a quirk of the model). Explaining a failure
// replays the case's observed history through the model under each variant.
type variant struct {
	// key names the variant in reports and groups causes.
	key string
	// family groups variants that differ only in parameters, so that "not
	// with" lists each family once.
	family string
	// words says the variant in a sentence fragment.
	words string
	// summary says the cause for the top of the report.
	summary string
	// claim is the profile change that claims it ("" for defects).
	claim string
	// apply returns the profile and quirks the model runs under.
	apply func(Profile, quirks) (Profile, quirks)
}

// variants returns the variants worth trying against profile p. Their
// order breaks ties when several explain the same failures: variants
// without parameters first (the simpler claim), then the parameterised
// ones, most specific first within each family.
func variants(p Profile) []variant {
	var out []variant
	add := func(v variant) { out = append(out, v) }
	if !p.Advances() {
		add(variant{
			key: "on_failure-advance", family: "advance",
			words:   "a counter burnt by every failure",
			summary: "every failed check burns a counter (on_failure advance), not claimed",
			claim:   `"on_failure": "advance"`,
			apply: func(p Profile, q quirks) (Profile, quirks) {
				p.OnFailure = OnFailureAdvance
				return p, q
			},
		})
	}
	if p.Input != InputLenient {
		add(variant{
			key: "input-lenient", family: "lenient",
			words:   "lenient input (codes read as decimal numbers)",
			summary: "codes are read as decimal numbers (input lenient), not claimed",
			claim:   `"input": "lenient"`,
			apply: func(p Profile, q quirks) (Profile, quirks) {
				p.Input = InputLenient
				return p, q
			},
		})
	}
	add(variant{
		key: "store-last", family: "store-last",
		words:   "the last used counter stored instead of the next one",
		summary: "the verifier stores the last used counter instead of the next expected one, so its window reaches one counter less after each success",
		apply:   func(p Profile, q quirks) (Profile, quirks) { q.storeLast = true; return p, q },
	})
	if p.ResyncCodes() > 0 && (p.LockoutAfter() > 0 || p.Throttle != nil) {
		add(variant{
			key: "resync-keeps-fails", family: "resync-fails",
			words:   "an accepted resync that leaves the failure count as it was",
			summary: "an accepted resync does not reset the count of consecutive failures (protocol v1: an accepted check, an accepted resync and unlock reset it)",
			apply:   func(p Profile, q quirks) (Profile, quirks) { q.resyncKeepsFails = true; return p, q },
		})
	}
	add(variant{
		key: "counter-32", family: "counter-width",
		words:   "a counter stored in 32 bits",
		summary: "the counter is stored in a 32-bit integer: it wraps to 0 past 2^32-1",
		apply:   func(p Profile, q quirks) (Profile, quirks) { q.counterBits = 32; return p, q },
	})
	add(variant{
		key: "counter-double", family: "counter-width",
		words:   "a counter stored as a double",
		summary: "the counter is stored as an IEEE double (a JavaScript number): past 2^53 it loses its last bit",
		apply:   func(p Profile, q quirks) (Profile, quirks) { q.counterBits = 53; return p, q },
	})
	if p.CounterMax() > 1<<63-1 {
		for _, max := range []uint64{1<<63 - 1, 1<<63 - 2} {
			add(variant{
				key: fmt.Sprintf("counters-max-%d", max), family: "counter-width",
				words:   fmt.Sprintf("a signed 64-bit counter (the last code accepted is that of %d)", max),
				summary: "the counter is a signed 64-bit integer (SQL BIGINT, Java long): counters from 2^63 on cannot be stored",
				claim:   fmt.Sprintf(`"counters": {"min": %d, "max": %d}`, p.CounterMin(), max),
				apply: func(p Profile, q quirks) (Profile, quirks) {
					p.Counters = &CounterRange{Min: p.CounterMin(), Max: max}
					return p, q
				},
			})
		}
	}
	if p.TOTP != nil {
		if p.TOTP.Drift == nil {
			add(variant{
				key: "totp-drift", family: "drift",
				words:   "recorded drift (the window follows the last accepted step)",
				summary: "the verifier records drift: its window moves to where the last code was accepted, not claimed",
				claim:   `"totp": {..., "drift": {"max": null}}`,
				apply: func(p Profile, q quirks) (Profile, quirks) {
					t := *p.TOTP
					t.Drift = &DriftPolicy{}
					p.TOTP = &t
					return p, q
				},
			})
		}
		other := ReuseOnce
		if p.ReuseOnce() {
			other = ReuseLater
		}
		add(variant{
			key: "totp-reuse-" + other, family: "reuse",
			words:   fmt.Sprintf("TOTP reuse %q", other),
			summary: fmt.Sprintf("TOTP replay protection works as reuse %q, not as claimed", other),
			claim:   fmt.Sprintf(`"totp": {..., "reuse": %q}`, other),
			apply: func(p Profile, q quirks) (Profile, quirks) {
				t := *p.TOTP
				t.Reuse = other
				p.TOTP = &t
				return p, q
			},
		})
	}
	if p.LookAhead != nil {
		l := *p.LookAhead
		others := []uint64{l + 1}
		if l > 0 {
			others = []uint64{l - 1, l + 1}
		}
		for _, other := range others {
			add(variant{
				key: fmt.Sprintf("look_ahead-%d", other), family: "look_ahead",
				words:   fmt.Sprintf("a look-ahead of %d instead of %d", other, l),
				summary: fmt.Sprintf("the look-ahead window is %d, not the claimed %d (off by one at the edge)", other, l),
				claim:   fmt.Sprintf(`"look_ahead": %d`, other),
				apply: func(p Profile, q quirks) (Profile, quirks) {
					p.LookAhead = &other
					return p, q
				},
			})
		}
	}
	if p.Throttle == nil {
		for _, after := range []int{1, 2, 3, 5} {
			for _, delay := range []int64{1, 2, 5, 10, 30, 60} {
				for _, factor := range []int64{2, 1} {
					tp := ThrottlePolicy{After: after, Delay: delay, Factor: factor}
					add(variant{
						key:     fmt.Sprintf("throttle-%d-%d-%d", after, delay, factor),
						family:  "throttle",
						words:   fmt.Sprintf("throttling after %d failure%s, delay %d s, factor %d", after, plural(after), delay, factor),
						summary: "a delay after failures (throttling), not claimed",
						claim:   fmt.Sprintf(`"throttle": {"after": %d, "delay": %d, "factor": %d}`, after, delay, factor),
						apply: func(p Profile, q quirks) (Profile, quirks) {
							p.Throttle = &tp
							p.Limits = "" // a limit replaces a declared limits "none"
							return p, q
						},
					})
				}
			}
		}
	}
	if p.LockoutAfter() == 0 {
		for f := 1; f <= 10; f++ {
			add(variant{
				key: fmt.Sprintf("lockout-%d", f), family: "lockout",
				words:   fmt.Sprintf("a lockout after %d failure%s", f, plural(f)),
				summary: "a lockout after failures, not claimed",
				claim:   fmt.Sprintf(`"lockout": {"after": %d}`, f),
				apply: func(p Profile, q quirks) (Profile, quirks) {
					p.Lockout = &LockoutPolicy{After: f}
					p.Limits = "" // a limit replaces a declared limits "none"
					return p, q
				},
			})
		}
	}
	if p.RateLimit == nil {
		// Not 1 per S: "one check per window" fits nearly any failure.
		for _, n := range []int{2, 3, 5, 10} {
			for _, per := range []int64{30, 60} {
				add(variant{
					key: fmt.Sprintf("rate_limit-%d-%d", n, per), family: "rate_limit",
					words:   fmt.Sprintf("a rate limit of %d check%s per %d s", n, plural(n), per),
					summary: "a rate limit on checks, not claimed",
					claim:   fmt.Sprintf(`"rate_limit": {"attempts": %d, "per": %d}`, n, per),
					apply: func(p Profile, q quirks) (Profile, quirks) {
						p.RateLimit = &RateLimitPolicy{Attempts: n, Per: per}
						p.Limits = "" // a limit replaces a declared limits "none"
						return p, q
					},
				})
			}
		}
	}
	add(variant{
		key: "race", family: "race",
		words:   "a race: concurrent requests served on one state (check-then-write without a lock, so updates are lost)",
		summary: "concurrent requests for one token are not served one at a time: two requests read the same state, so a code is accepted twice or an update is lost",
		apply:   func(p Profile, q quirks) (Profile, quirks) { q.racy = true; return p, q },
	})
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// history is what a case observed of one token: enough to replay it.
type history struct {
	tok    Token
	key    *token.Key
	events []event
	// fuzz is the tracker's time uncertainty the events were judged with
	// (real time), replayed with the same.
	fuzz int64
}

// consistent reports whether a correct verifier under profile p (with
// quirks q) could have given every reply of every history.
func consistent(p Profile, q quirks, hs []history) bool {
	for _, h := range hs {
		tr := newTracker(newModel(p, h.tok, h.key, q))
		tr.fuzz = h.fuzz
		for _, e := range h.events {
			ok := false
			if len(e.reqs) == 1 {
				ok = tr.observe(e.reqs[0], e.replies[0])
			} else {
				ok = tr.observeAll(e.reqs, e.replies)
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// explain replays the histories under each variant of base (itself under
// quirks q) and returns the explanation, or nil when the histories agree
// with base already (the case failed for a declared reason).
func explain(base Profile, q quirks, hs []history) *Explanation {
	if len(hs) == 0 || consistent(base, q, hs) {
		return nil
	}
	e := &Explanation{}
	for _, v := range variants(base) {
		p, vq := v.apply(base, q)
		if p.Validate() == nil && consistent(p, vq, hs) {
			e.keys = append(e.keys, v.key)
		}
	}
	e.describe(base)
	return e
}

// describe sets the explanation's words from its keys: the variants that
// fit (at most two of each family named), and the families that do not.
func (e *Explanation) describe(base Profile) {
	e.ConsistentWith, e.NotWith = nil, nil
	fit := map[string]int{}
	var families []string
	for _, v := range variants(base) {
		if !slices.Contains(families, v.family) {
			families = append(families, v.family)
		}
		if !slices.Contains(e.keys, v.key) {
			continue
		}
		fit[v.family]++
		switch n := fit[v.family]; {
		case n <= 2:
			e.ConsistentWith = append(e.ConsistentWith, v.words)
		case n == 3:
			e.ConsistentWith = append(e.ConsistentWith, otherWords(v.family))
		}
	}
	for _, f := range families {
		if fit[f] == 0 && len(e.NotWith) < 4 {
			e.NotWith = append(e.NotWith, familyWords(f))
		}
	}
}

// otherWords says "and more of this family" in a list of fits.
func otherWords(f string) string {
	switch f {
	case "throttle":
		return "throttling with other delays"
	case "lockout":
		return "a lockout after more failures"
	case "rate_limit":
		return "other rate limits"
	}
	return "other variants of " + familyWords(f)
}

// familyWords names a family of variants for "not with".
func familyWords(f string) string {
	switch f {
	case "throttle":
		return "throttling"
	case "advance":
		return "a counter burnt by failures"
	case "lenient":
		return "lenient input"
	case "lockout":
		return "an unclaimed lockout"
	case "rate_limit":
		return "a rate limit"
	case "look_ahead":
		return "a look-ahead off by one"
	case "store-last":
		return "the last used counter stored"
	case "counter-width":
		return "a 32-bit, double or signed 64-bit counter"
	case "drift":
		return "recorded drift"
	case "reuse":
		return "the other TOTP reuse rule"
	case "race":
		return "a race between concurrent requests"
	case "resync-fails":
		return "a resync that keeps the failure count"
	}
	return f
}

// explanationLine says an explanation in one line for a failure message.
func explanationLine(e *Explanation) string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	if len(e.ConsistentWith) > 0 {
		b.WriteString("consistent with: " + strings.Join(e.ConsistentWith, "; "))
	} else {
		b.WriteString("explained by no known variant")
	}
	if len(e.NotWith) > 0 {
		b.WriteString("; not with: " + strings.Join(e.NotWith, ", "))
	}
	return b.String()
}

// histories collects what a case observed of each of its tokens.
func (t *ct) histories() []history {
	t.mu.Lock()
	defer t.mu.Unlock()
	var hs []history
	for _, s := range t.sims {
		if len(s.hist) > 0 {
			hs = append(hs, history{tok: s.tok, key: s.key, events: s.hist, fuzz: s.tr.fuzz})
		}
	}
	return hs
}

// explainCase explains a failed fixed case by its observed histories.
func (r *run) explainCase(t *ct) *Explanation {
	return explain(r.p, t.quirks, t.histories())
}

// groupCauses groups failed results by the variant that explains the most
// of them, largest group first. A variant must also explain every case that
// passed (a real policy acts in every case), or it is refuted: refuted
// variants are dropped from the results' explanations.
func groupCauses(p Profile, results []Result) []Cause {
	byKey := map[string]variant{}
	order := map[string]int{}
	for i, v := range variants(p) {
		byKey[v.key] = v
		order[v.key] = i
	}
	refuted := map[string]bool{}
	valid := func(key string) bool {
		if ok, seen := refuted[key]; seen {
			return !ok
		}
		vp, vq := byKey[key].apply(p, quirks{})
		for _, r := range results {
			if r.Verdict == Pass && !consistent(vp, vq, r.hist) {
				refuted[key] = true
				return false
			}
		}
		refuted[key] = false
		return true
	}
	type item struct {
		id   string
		keys []string
	}
	var open []item
	for _, r := range results {
		if (r.Verdict != Fail && r.Verdict != NonStrict) || r.Explanation == nil || len(r.Explanation.keys) == 0 {
			continue
		}
		open = append(open, item{r.ID, r.Explanation.keys})
	}
	var causes []Cause
	for len(open) > 0 {
		count := map[string]int{}
		for _, it := range open {
			for _, k := range it.keys {
				if !refuted[k] {
					count[k]++
				}
			}
		}
		best := ""
		for k, n := range count {
			if best == "" || n > count[best] || (n == count[best] && order[k] < order[best]) {
				best = k
			}
		}
		if best == "" {
			break
		}
		if !valid(best) {
			continue
		}
		v := byKey[best]
		c := Cause{Key: v.key, Summary: v.summary, Claim: v.claim}
		var rest []item
		for _, it := range open {
			if slices.Contains(it.keys, best) {
				c.Cases = append(c.Cases, it.id)
			} else {
				rest = append(rest, it)
			}
		}
		causes = append(causes, c)
		open = rest
	}
	// Drop refuted variants from every explanation, and say the rest.
	for i := range results {
		e := results[i].Explanation
		if e == nil {
			continue
		}
		var keep []string
		for _, k := range e.keys {
			if !refuted[k] && (valid(k)) {
				keep = append(keep, k)
			}
		}
		e.keys = keep
		e.describe(p)
	}
	slices.SortStableFunc(causes, func(a, b Cause) int { return len(b.Cases) - len(a.Cases) })
	return causes
}

// setCauses groups the report's failures and points each grouped result
// at its cause; reports print each result's explanation beside it.
func setCauses(rep *Report) {
	rep.Causes = groupCauses(rep.Profile, rep.Results)
	for _, c := range rep.Causes {
		for _, id := range c.Cases {
			for i := range rep.Results {
				if rep.Results[i].ID == id && rep.Results[i].Explanation != nil {
					rep.Results[i].Explanation.Cause = c.Key
				}
			}
		}
	}
}
