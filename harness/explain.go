package harness

import (
	"context"
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
			key: "input-nfkc", family: "nfkc",
			words:   "Unicode NFKC normalisation of the input (compatibility digits read as ASCII; '+', white space and leading zeros still rejected)",
			summary: "the verifier applies Unicode compatibility normalisation (NFKC) to the typed code: fullwidth, superscript, circled and mathematical digits become ASCII digits, while '+', white space and leading zeros are still rejected (this is not input \"lenient\", which reads decimal numbers; no profile field states it)",
			apply:   func(p Profile, q quirks) (Profile, quirks) { q.nfkc = true; return p, q },
		})
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
	if p.ResyncCodes() > 0 && p.LockoutAfter() > 0 && !p.Lockout.ResyncUnlocks {
		add(variant{
			key: "resync-unlocks", family: "resync-lock",
			words:   "a resync served on a locked token that lifts the lock (lockout.resync_unlocks)",
			summary: "a resync is served on a locked token, and an accepted one lifts the lock (lockout.resync_unlocks), not claimed",
			claim:   `"lockout": {..., "resync_unlocks": true}`,
			apply: func(p Profile, q quirks) (Profile, quirks) {
				l := *p.Lockout
				l.ResyncUnlocks = true
				p.Lockout = &l
				return p, q
			},
		})
		add(variant{
			key: "resync-ignores-lock", family: "resync-lock",
			words:   "a resync served on a locked token that leaves the lock in place",
			summary: "a resync is served on a locked token as if it were not locked (the lock stays): the lockout does not cover resync",
			apply:   func(p Profile, q quirks) (Profile, quirks) { q.lockedResync = true; return p, q },
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
	add(variant{
		key: "counter-double-stored", family: "counter-width",
		words:   "a counter stored as a double and computed as an integer",
		summary: "the counter is stored as an IEEE double (a REAL column, a driver that converts large integers) while the window is computed in exact integers: past 2^53 the stored counter rounds, so codes are accepted again or skipped",
		apply:   func(p Profile, q quirks) (Profile, quirks) { q.counterBits = 54; return p, q },
	})
	if p.CounterMax() > 1<<63-1 {
		for _, max := range []uint64{1<<63 - 1, 1<<63 - 2} {
			add(variant{
				key: fmt.Sprintf("counters-max-%d", max), family: "counter-width",
				words:   fmt.Sprintf("a signed 64-bit counter (the last code accepted is that of %d)", max),
				summary: "the counter is a signed 64-bit integer (an SQL INTEGER or BIGINT column, a Java long): counters from 2^63 on cannot be stored, so they are refused, rejected or end in an application error",
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
		if !p.ReuseAny() {
			add(variant{
				key: "totp-reuse-any", family: "stateless",
				words:   "no TOTP replay protection (a stateless verifier: every code of the window accepted as often as typed)",
				summary: "the verifier has no TOTP replay protection at all (stateless: a code is accepted as often as it is typed while its step is in the window), against RFC 6238 §5.2's MUST; totp.reuse \"any\" declares it",
				claim:   `"totp": {..., "reuse": "any"}`,
				apply: func(p Profile, q quirks) (Profile, quirks) {
					t := *p.TOTP
					t.Reuse = ReuseAny
					p.TOTP = &t
					return p, q
				},
			})
		}
		var others []string
		switch {
		case p.ReuseAny():
			others = []string{ReuseLater, ReuseOnce}
		case p.ReuseOnce():
			others = []string{ReuseLater}
		default:
			others = []string{ReuseOnce}
		}
		for _, other := range others {
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
		if !p.ReuseAny() {
			add(variant{
				key: "totp-last-code", family: "last-code",
				words:   "TOTP replay memory of the last accepted code string instead of its step",
				summary: "TOTP replay protection remembers the last accepted code (the string), not its step: any other code of the window is accepted, an earlier step's after a later one's included (no profile value states it: neither \"later\" nor \"once\" behaves so)",
				apply:   func(p Profile, q quirks) (Profile, quirks) { q.lastCode = true; return p, q },
			})
		}
		b, a := skew(p)
		for _, sb := range secondsWindows {
			for _, sa := range secondsWindows {
				add(variant{
					key: fmt.Sprintf("totp-seconds-%d-%d", sb, sa), family: "seconds",
					words:   fmt.Sprintf("a TOTP tolerance in seconds (%d s back, %d s ahead) instead of %d/%d steps", sb, sa, b, a),
					summary: fmt.Sprintf("the TOTP tolerance is counted in seconds, not steps: a neighbouring step is accepted only while the time is within that many seconds of it (about %d s back and %d s ahead), not the claimed skew of %d back and %d ahead; no profile field states it", sb, sa, b, a),
					apply: func(p Profile, q quirks) (Profile, quirks) {
						q.secWindow, q.secBack, q.secAhead = true, sb, sa
						return p, q
					},
				})
			}
		}
	}
	for _, cm := range clockStops {
		add(variant{
			key: fmt.Sprintf("clock-max-%d", cm.year), family: "clock-max",
			words:   fmt.Sprintf("a verifier clock that stops at %d (%s)", cm.year, cm.why),
			summary: fmt.Sprintf("the verifier's clock stops at %d (%s): later times read as %d-%s, so codes of later steps are rejected; an environment limit, not a TOTP computation error", cm.year, cm.why, cm.year, cm.at),
			apply:   func(p Profile, q quirks) (Profile, quirks) { q.clockMax = cm.unix; return p, q },
		})
	}
	if p.LookAhead != nil {
		l := *p.LookAhead
		// Off by one at the edge first (the commonest), then windows of
		// other sizes real verifiers use, so that a window much wider
		// than claimed is named by a size that fits every reply.
		others := []uint64{l + 1}
		if l > 0 {
			others = []uint64{l - 1, l + 1}
		}
		for _, w := range []uint64{l + 2, 2 * l, l + 5, l + 10, 10, 20, 50, 100, 1000} {
			if w != l && !slices.Contains(others, w) {
				others = append(others, w)
			}
		}
		for _, other := range others {
			edge := "off by one at the edge"
			switch {
			case other > l+1:
				edge = "wider than claimed"
			case other+1 < l:
				edge = "narrower than claimed"
			}
			add(variant{
				key: fmt.Sprintf("look_ahead-%d", other), family: "look_ahead",
				words:   fmt.Sprintf("a look-ahead of %d instead of %d", other, l),
				summary: fmt.Sprintf("the look-ahead window is %d, not the claimed %d (%s)", other, l, edge),
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
	return append(out, perNodeVariants(p)...)
}

// secondsWindows are the tolerances in seconds tried for the TOTP window
// family: what libraries that take the tolerance in seconds are given.
var secondsWindows = []int64{0, 5, 10, 15, 20, 25, 30, 45, 60, 90}

// clockStops are the dates at which real clocks stop: a signed 32-bit
// time_t, an unsigned 32-bit one, CPython's 64-bit nanoseconds (the
// fake time saturates there) and the largest four-digit year.
var clockStops = []struct {
	year    int
	unix    int64
	at, why string
}{
	{2038, 1<<31 - 1, "01-19T03:14:07Z", "a signed 32-bit time_t"},
	{2106, 1<<32 - 1, "02-07T06:28:15Z", "an unsigned 32-bit time"},
	{2262, 9223372036, "04-11T23:47:16Z", "64-bit nanoseconds, as CPython's clock"},
	{9999, 253402300799, "12-31T23:59:59Z", "the largest four-digit year"},
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
	// nodes is the number of nodes of the deployment that served the
	// requests (0 or 1: one verifier); each request says its node.
	nodes int
}

// consistent reports whether a correct verifier under profile p (with
// quirks q) could have given every reply of every history.
func consistent(p Profile, q quirks, hs []history) bool {
	ok, _ := fit(p, q, hs)
	return ok
}

// fit reports whether a correct verifier under profile p (with quirks q)
// could have given every reply of every history, and how loosely: loose
// counts the single requests whose reply the model left open (either
// answer correct). Of two variants that both fit, the one that predicted
// more replies exactly is the better explanation: lenient input allows
// whatever an NFKC verifier does, and says less.
func fit(p Profile, q quirks, hs []history) (ok bool, loose int) {
	for _, h := range hs {
		if q.perNode != 0 {
			ok, l := fitPerNode(p, q, h)
			loose += l
			if !ok {
				return false, loose
			}
			continue
		}
		tr := newTracker(newModel(p, h.tok, h.key, q))
		tr.fuzz = h.fuzz
		for _, e := range h.events {
			ok := false
			if len(e.reqs) == 1 {
				if len(tr.expect(e.reqs[0])) > 1 {
					loose++
				}
				ok = tr.observe(e.reqs[0], e.replies[0])
			} else {
				ok = tr.observeAll(e.reqs, e.replies)
			}
			if !ok {
				return false, loose
			}
		}
	}
	return true, loose
}

// concurrent reports whether some history holds requests that were in
// flight together: only then can a race explain anything.
func concurrent(hs []history) bool {
	for _, h := range hs {
		for _, e := range h.events {
			if len(e.reqs) > 1 {
				return true
			}
		}
	}
	return false
}

// fitting returns the keys of the variants of base (itself under quirks
// q) that explain every reply of the histories, and how loosely each did
// (see fit). A race is tried only on histories with concurrent requests,
// state kept per node only on histories served by several nodes.
func fitting(base Profile, q quirks, hs []history) ([]string, map[string]int) {
	keys, loose, _ := fittingUntil(context.Background(), base, q, hs)
	return keys, loose
}

// fittingUntil is fitting, stopped between two variants when ctx ends; it
// then reports false, and what it found so far is not the whole answer.
func fittingUntil(ctx context.Context, base Profile, q quirks, hs []history) ([]string, map[string]int, bool) {
	var keys []string
	looseness := map[string]int{}
	conc := concurrent(hs)
	multi := nodesOf(hs) > 1
	for _, v := range variants(base) {
		if ctx.Err() != nil {
			return keys, looseness, false
		}
		if v.family == "race" && !conc || perNodeFamily(v.family) && !multi {
			continue
		}
		p, vq := v.apply(base, q)
		if p.Validate() != nil {
			continue
		}
		ok, loose := fit(p, vq, hs)
		if !ok {
			continue
		}
		keys = append(keys, v.key)
		looseness[v.key] = loose
	}
	return keys, looseness, true
}

// explain replays the histories under each variant of base (itself under
// quirks q) and returns the explanation, or nil when the histories agree
// with base already (the case failed for a declared reason).
func explain(base Profile, q quirks, hs []history) *Explanation {
	if len(hs) == 0 || consistent(base, q, hs) {
		return nil
	}
	e := &Explanation{kind: historyKind(hs), nodes: nodesOf(hs)}
	e.keys, e.loose = fitting(base, q, hs)
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
		if perNodeFamily(f) && e.nodes < 2 {
			continue
		}
		if fit[f] == 0 && len(e.NotWith) < 4 && (e.kind == "" || familyKind(f) == "" || familyKind(f) == e.kind) {
			e.NotWith = append(e.NotWith, familyWords(f))
		}
	}
}

// familyKind is the token kind a family of variants concerns, or "" for
// both: "not with" lists only families that could have shown in the
// history.
func familyKind(f string) Kind {
	switch f {
	case "advance", "store-last", "counter-width", "look_ahead", "resync-fails", "resync-lock", "per-node-counter":
		return HOTP
	case "stateless", "last-code", "reuse", "drift", "seconds", "clock-max", "per-node-step":
		return TOTP
	}
	return ""
}

// historyKind is the kind of every token of the histories, or "" when
// they hold both.
func historyKind(hs []history) Kind {
	var k Kind
	for _, h := range hs {
		switch {
		case k == "":
			k = h.tok.Kind
		case k != h.tok.Kind:
			return ""
		}
	}
	return k
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
	case "seconds":
		return "other windows in seconds"
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
		return "another look-ahead"
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
	case "nfkc":
		return "Unicode NFKC normalisation"
	case "stateless":
		return "no replay protection"
	case "last-code":
		return "replay memory of the last code"
	case "resync-lock":
		return "a resync served on a locked token"
	case "seconds":
		return "a TOTP window in seconds"
	case "clock-max":
		return "a clock that stops at a date"
	case "per-node-fails":
		return "a failure count kept per node"
	case "per-node-rate":
		return "a rate limit counted per node"
	case "per-node-counter":
		return "an HOTP counter kept per node"
	case "per-node-step":
		return "a TOTP replay record kept per node"
	}
	return f
}

// familySummary says a cause for a whole family, for when the evidence
// does not pin its parameter down; "" when the variants' own summaries
// already speak for the family.
func familySummary(f string) string {
	switch f {
	case "clock-max":
		return "the verifier's clock stops at a date: later times read as that date, so codes of later steps are rejected (an environment limit, not a TOTP computation error)"
	case "seconds":
		return "the TOTP tolerance is counted in seconds, not steps: a neighbouring step is accepted only while the time is within that many seconds of it; no profile field states it"
	case "counter-width":
		return "the counter storage cannot hold every counter up to 2^64-1"
	case "look_ahead":
		return "the look-ahead window is not the size claimed"
	}
	return ""
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
			hs = append(hs, withNodes(t.run.v, history{tok: s.tok, key: s.key, events: s.hist, fuzz: s.tr.fuzz}))
		}
	}
	return hs
}

// explainCase explains a failed fixed case by its observed histories.
func (r *run) explainCase(t *ct) *Explanation {
	return explain(r.p, t.quirks, t.histories())
}

// groupCauses groups failed results by the variant that explains the most
// of them, largest group first. A cause is named only when it is proven:
// its variant fits the observed history of every failure it groups (the
// failure agrees with the model under it) and of every case that passed (a
// real policy acts in every case, so a variant that would have failed a
// passing case is refuted and dropped from every explanation). When
// variants of other families fit exactly the same failures, the cause
// names them all as alternatives and suggests no claim: the evidence
// cannot tell them apart.
func groupCauses(p Profile, results []Result) []Cause {
	nodes := 1
	for _, r := range results {
		nodes = max(nodes, nodesOf(r.hist), nodesOf(r.agreed))
		if r.Explanation != nil {
			nodes = max(nodes, r.Explanation.nodes)
		}
	}
	byKey := map[string]variant{}
	order := map[string]int{}
	for i, v := range variants(p) {
		byKey[v.key] = v
		order[v.key] = i
	}
	// The candidates are the variants that explain some failure; a
	// variant that the evidence refutes alone may still hold together with
	// another candidate (two mechanisms at once: a stateless verifier
	// whose window is counted in seconds rejects a replay that no replay
	// protection alone would accept).
	var cands []string
	for _, r := range results {
		if (r.Verdict == Fail || r.Verdict == NonStrict) && r.Explanation != nil {
			for _, k := range r.Explanation.keys {
				if !slices.Contains(cands, k) {
					cands = append(cands, k)
				}
			}
		}
	}
	slices.SortFunc(cands, func(a, b string) int { return order[a] - order[b] })
	fitsEvidence := func(vp Profile, vq quirks) bool {
		for _, r := range results {
			if (r.Verdict == Pass && !consistent(vp, vq, r.hist)) || !consistent(vp, vq, r.agreed) {
				return false
			}
		}
		return true
	}
	refuted := map[string]bool{}
	partner := map[string]string{}
	valid := func(key string) bool {
		if ok, seen := refuted[key]; seen {
			return !ok
		}
		v := byKey[key]
		vp, vq := v.apply(p, quirks{})
		if fitsEvidence(vp, vq) {
			refuted[key] = false
			return true
		}
		for _, w := range cands {
			if byKey[w].family == v.family || byKey[w].family == "race" {
				continue
			}
			wp, wq := byKey[w].apply(vp, vq)
			if wp.Validate() == nil && fitsEvidence(wp, wq) {
				refuted[key], partner[key] = false, w
				return true
			}
		}
		refuted[key] = true
		return false
	}
	type item struct {
		id    string
		keys  []string
		loose map[string]int
	}
	var open []item
	for _, r := range results {
		if (r.Verdict != Fail && r.Verdict != NonStrict) || r.Explanation == nil || len(r.Explanation.keys) == 0 {
			continue
		}
		open = append(open, item{r.ID, r.Explanation.keys, r.Explanation.loose})
	}
	covers := func(key string) []string {
		var ids []string
		for _, it := range open {
			if slices.Contains(it.keys, key) {
				ids = append(ids, it.id)
			}
		}
		return ids
	}
	var causes []Cause
	for len(open) > 0 {
		// Count the failures each variant explains, and how many of
		// their replies it left open: of two that explain as many, the
		// one that predicted more replies exactly wins, and only one
		// that did as well is an alternative.
		count, loose := map[string]int{}, map[string]int{}
		for _, it := range open {
			for _, k := range it.keys {
				if !refuted[k] {
					count[k]++
					loose[k] += it.loose[k]
				}
			}
		}
		better := func(k, than string) bool {
			switch {
			case count[k] != count[than]:
				return count[k] > count[than]
			case loose[k] != loose[than]:
				return loose[k] < loose[than]
			}
			return order[k] < order[than]
		}
		best := ""
		for k := range count {
			if best == "" || better(k, best) {
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
		c := Cause{Key: v.key, Summary: v.summary, Claim: v.claim, Cases: covers(best)}
		if perNodeFamily(v.family) {
			c.Summary = perNodeSummary(v, p, nodes)
		}
		if w := partner[best]; w != "" {
			// Only with another mechanism does it fit every reply: say so,
			// and claim nothing on its own.
			c.Summary += "; it fits every reply seen only together with " + familyWords(byKey[w].family)
			c.Claim = ""
		}
		// Variants of other families that fit the same failures, and no
		// other, are alternatives the evidence cannot rule out.
		families := []string{v.family}
		var alts []variant
		for k, n := range count {
			a := byKey[k]
			if n != len(c.Cases) || loose[k] != loose[best] || slices.Contains(families, a.family) || !valid(k) || !slices.Equal(covers(k), c.Cases) {
				continue
			}
			families = append(families, a.family)
			alts = append(alts, a)
		}
		// Variants of the same family that fit the same failures differ
		// only in a parameter the evidence does not pin down: say so.
		var same []string
		for k, n := range count {
			a := byKey[k]
			if k != best && n == len(c.Cases) && loose[k] == loose[best] && a.family == v.family && valid(k) && slices.Equal(covers(k), c.Cases) {
				same = append(same, k)
			}
		}
		c.candidates = []string{best}
		if len(same) > 0 {
			slices.SortFunc(same, func(a, b string) int { return order[a] - order[b] })
			c.candidates = append(c.candidates, same...)
			words := []string{v.words}
			for _, k := range same {
				words = append(words, byKey[k].words)
			}
			if len(words) > 4 {
				words = append(words[:4], fmt.Sprintf("%d more", len(words)-4))
			}
			if f := familySummary(v.family); f != "" {
				c.Summary = f
			}
			c.Summary += "; the replies fit each of: " + strings.Join(words, "; ") + " (could not tell which)"
		}
		if len(alts) > 0 {
			c.candidates = nil
			slices.SortFunc(alts, func(a, b variant) int { return order[a.key] - order[b.key] })
			words := []string{v.words}
			for _, a := range alts {
				words = append(words, a.words)
				c.Alternatives = append(c.Alternatives, a.key)
			}
			c.Summary = "could not tell which of these explains the failures (each fits every reply seen): " + strings.Join(words, "; or ")
			c.Claim = ""
		}
		var rest []item
		for _, it := range open {
			if !slices.Contains(c.Cases, it.id) {
				rest = append(rest, it)
			}
		}
		causes = append(causes, c)
		open = rest
	}
	// Drop refuted variants from every explanation, and those that explain
	// only part of what the result's cause explains (one mechanism that
	// explains every failure beats one that explains some: a stateless
	// verifier's concurrent replays are no race), and say the rest.
	all := open[:0:0]
	for _, r := range results {
		if (r.Verdict == Fail || r.Verdict == NonStrict) && r.Explanation != nil {
			all = append(all, item{r.ID, r.Explanation.keys, nil})
		}
	}
	coverAll := func(key string) []string {
		var ids []string
		for _, it := range all {
			if slices.Contains(it.keys, key) {
				ids = append(ids, it.id)
			}
		}
		return ids
	}
	causeOf := map[string][]string{}
	for _, c := range causes {
		for _, id := range c.Cases {
			causeOf[id] = c.Cases
		}
	}
	for i := range results {
		e := results[i].Explanation
		if e == nil {
			continue
		}
		var keep []string
		for _, k := range e.keys {
			if !valid(k) {
				continue
			}
			if grouped := causeOf[results[i].ID]; grouped != nil {
				ids := coverAll(k)
				if !containsAll(ids, grouped) {
					continue
				}
			}
			keep = append(keep, k)
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

// confirmClaims replays the fixed cases each suggested claim groups, with
// the claimed profile, and withdraws the claim when a case still fails
// under it: a claim is suggested only if stating it would make the
// failures go away (a verifier that remembers the last code string looks
// like reuse "once" in one history, and claiming "once" leaves the
// failure). When the evidence left the parameter open, the next value
// that fits is tried in turn (a look-ahead of 11 fits one case of a
// verifier whose window is 20; claiming 11 does not hold, 20 does).
// Property cases were replayed under the claim already (each round
// assumes the cause found before it). The replay runs on fresh tokens,
// serials following the run's.
func (r *run) confirmClaims(ctx context.Context, cases []*caseDef) {
	if r.report.Interrupted {
		return
	}
	byID := map[string]*caseDef{}
	for _, c := range cases {
		byID[c.id] = c
	}
	r.confirmAcrossNodes(ctx, byID)
	for i := range r.report.Causes {
		c := &r.report.Causes[i]
		if c.Claim == "" || ctx.Err() != nil {
			continue
		}
		failed := ""
		var holds []string
		for _, key := range c.candidates {
			v := variantByKey(r.p, key)
			if v.claim == "" {
				continue
			}
			id, ok := r.replayClaim(ctx, v, c.Cases, byID)
			if ok {
				holds = append(holds, key)
				continue
			}
			if failed == "" {
				failed = fmt.Sprintf("; claiming %s was tried, and %s under it, so the claim would not describe this verifier", v.claim, id)
			}
		}
		held := ""
		if len(holds) > 0 {
			held = holds[0]
		}
		switch {
		case held == "":
			c.Summary += failed
			c.Claim = ""
		case len(holds) == 1 && len(c.candidates) > 1:
			// The replays told the candidates apart: one claim holds.
			v := variantByKey(r.p, held)
			for j := range r.report.Results {
				if e := r.report.Results[j].Explanation; e != nil && e.Cause == c.Key {
					e.Cause = held
				}
			}
			c.Key, c.Claim = held, v.claim
			c.Summary = v.summary + "; of the values that fit, only this claim held when its cases were replayed under it"
		case held != c.Key:
			v := variantByKey(r.p, held)
			for j := range r.report.Results {
				if e := r.report.Results[j].Explanation; e != nil && e.Cause == c.Key {
					e.Cause = held
				}
			}
			c.Key, c.Claim = held, v.claim
			c.Summary = v.summary + failed
		}
	}
}

// replayClaim runs the fixed cases ids again under the profile variant v
// claims; it returns the first case that does not hold, with what it did.
func (r *run) replayClaim(ctx context.Context, v variant, ids []string, byID map[string]*caseDef) (string, bool) {
	vp, _ := v.apply(r.p, quirks{})
	r2 := &run{v: r.v, p: vp, info: r.info, opts: r.opts, seed: r.seed, checks: r.checks, timeout: r.timeout,
		now: r.now, report: &Report{}, base: r.base, clockSet: r.clockSet, offset: r.offset, offsetKnown: r.offsetKnown}
	r2.opts.Progress = nil
	r2.serials.Store(r.serials.Load())
	defer func() { r.serials.Store(r2.serials.Load()) }()
	for _, id := range ids {
		def, ok := byID[id]
		if !ok || def.property {
			continue
		}
		res := r2.runCase(ctx, def)
		if claimHolds(res) {
			continue
		}
		if res.Verdict == Error {
			return id + " could not be judged", false
		}
		return id + " still fails", false
	}
	return "", true
}

// claimHolds reports whether a case replayed under a claimed profile
// agrees with the claim: it passed, or failed only as the claim declares.
func claimHolds(res Result) bool {
	switch res.Verdict {
	case Pass, Skip:
		return true
	case Fail, NonStrict:
		return len(res.Messages) > 0 && strings.HasPrefix(res.Messages[len(res.Messages)-1], "declared by the profile")
	}
	return false
}

// containsAll reports whether every element of sub is in set.
func containsAll(set, sub []string) bool {
	for _, x := range sub {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}
