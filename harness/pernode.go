package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// perNodeParts names the parts of a token's state that a deployment keeps
// in each node's memory instead of its shared store.
type perNodeParts uint8

const (
	// partFails is the failure count and the lock (lockout, throttle).
	partFails perNodeParts = 1 << iota
	// partRate is the record of recent checks (rate limit).
	partRate
	// partCounter is the HOTP counter: the replay record of HOTP.
	partCounter
	// partStep is the TOTP last accepted step (or steps): the replay
	// record of TOTP.
	partStep
)

// take returns s with the parts of from named by parts.
func (parts perNodeParts) take(s, from State) State {
	if parts&partFails != 0 {
		s.fails, s.tFail, s.locked, s.tLock = from.fails, from.tFail, from.locked, from.tLock
	}
	if parts&partRate != 0 {
		s.rate = from.rate
	}
	if parts&partCounter != 0 {
		s.c, s.spent, s.used = from.c, from.spent, from.used
	}
	if parts&partStep != 0 {
		s.hasLast, s.last, s.steps = from.hasLast, from.last, from.steps
	}
	return s
}

// deployment is one possible state of a token across the nodes of a
// deployment: each node's view, whose shared parts are the same in all.
type deployment []State

// served returns the deployments that follow d when node i (from 0)
// answered r with accepted: node i's view steps as one verifier would,
// its shared parts are written to every node and its per-node parts stay
// in node i. Unlock lifts the lock everywhere (an unlock is an
// administrator's act on the account, not a node's).
func (tr *tracker) served(d deployment, i int, r Request, accepted bool, parts perNodeParts) []deployment {
	var out []deployment
	for _, n := range tr.step(d[i], r, accepted) {
		next := make(deployment, len(d))
		for j := range d {
			switch {
			case j == i:
				next[j] = n
			case r.Op == opUnlock:
				next[j] = (parts &^ (partFails | partRate)).take(n, d[j])
			default:
				next[j] = parts.take(n, d[j])
			}
		}
		if !slices.ContainsFunc(out, func(o deployment) bool { return slices.Equal(o, next) }) {
			out = append(out, next)
		}
	}
	return out
}

// fitPerNode replays h with the parts of the state q.perNode names kept per
// node, each request observed by the view of the node that served it. It
// reports whether some deployment gives every reply, and how many single
// requests the replay left open. A history without nodes, or with a
// request whose node is not known, cannot be replayed so: it does not fit.
func fitPerNode(p Profile, q quirks, h history) (ok bool, loose int) {
	if h.nodes < 2 {
		return false, 0
	}
	tr := newTracker(newModel(p, h.tok, h.key, q))
	tr.fuzz = h.fuzz
	var states []deployment
	for _, s := range tr.states {
		d := make(deployment, h.nodes)
		for j := range d {
			d[j] = s
		}
		states = append(states, d)
	}
	add := func(to []deployment, ds ...deployment) []deployment {
		for _, d := range ds {
			if !slices.ContainsFunc(to, func(o deployment) bool { return slices.Equal(o, d) }) {
				to = append(to, d)
			}
		}
		return to
	}
	for _, e := range h.events {
		for _, r := range e.reqs {
			if r.node < 1 || r.node > h.nodes {
				return false, loose
			}
		}
		var next []deployment
		if len(e.reqs) == 1 {
			r := e.reqs[0]
			yes, no := false, false
			for _, d := range states {
				yes = yes || len(tr.step(d[r.node-1], r, true)) > 0
				no = no || len(tr.step(d[r.node-1], r, false)) > 0
				next = add(next, tr.served(d, r.node-1, r, e.replies[0], q.perNode)...)
			}
			if yes && no {
				loose++
			}
		} else {
			// Requests in flight together: any order of service.
			type at struct {
				served uint32
				key    string
			}
			seen := map[at]bool{}
			full := uint32(1)<<len(e.reqs) - 1
			var walk func(served uint32, d deployment)
			walk = func(served uint32, d deployment) {
				k := at{served, fmt.Sprint(d)}
				if seen[k] {
					return
				}
				seen[k] = true
				if served == full {
					next = add(next, d)
					return
				}
				for i, r := range e.reqs {
					if served&(1<<i) == 0 {
						for _, n := range tr.served(d, r.node-1, r, e.replies[i], q.perNode) {
							walk(served|1<<i, n)
						}
					}
				}
			}
			for _, d := range states {
				walk(0, d)
			}
		}
		if len(next) == 0 {
			return false, loose
		}
		states = next
		tr.seen(e.reqs...)
	}
	return true, loose
}

// nodesOf returns the number of nodes the histories were served by (1 for
// one verifier).
func nodesOf(hs []history) int {
	n := 1
	for _, h := range hs {
		n = max(n, h.nodes)
	}
	return n
}

// perNodeVariants returns the variants that keep part of the state per
// node, for the parts profile p has.
func perNodeVariants(p Profile) []variant {
	var out []variant
	part := func(parts perNodeParts) func(Profile, quirks) (Profile, quirks) {
		return func(p Profile, q quirks) (Profile, quirks) { q.perNode = parts; return p, q }
	}
	if p.LockoutAfter() > 0 || p.Throttle != nil {
		out = append(out, variant{
			key: "per-node-fails", family: "per-node-fails",
			words:   fmt.Sprintf("the %s counted per node (each node counts the failures it served)", limitWords(p)),
			summary: fmt.Sprintf("the %s is counted per node: each node counts only the failures it served, so the nodes together compare more wrong codes before any %s (RFC 4226 §7.3 wants it to hold across login sessions)", limitWords(p), limitNoun(p)),
			apply:   part(partFails),
		})
	}
	if p.RateLimit != nil {
		out = append(out, variant{
			key: "per-node-rate", family: "per-node-rate",
			words:   "the rate limit counted per node (each node counts the checks it served)",
			summary: "the rate limit is counted per node: each node counts only the checks it served, so the nodes together serve that many times the claimed rate",
			apply:   part(partRate),
		})
	}
	if slices.Contains(p.Kinds, HOTP) {
		out = append(out, variant{
			key: "per-node-counter", family: "per-node-counter",
			words:   "the HOTP counter kept per node (a code used on one node is new to the others)",
			summary: "the HOTP counter is kept per node: each node moves only its own counter, so a code accepted on one node is accepted again on another",
			apply:   part(partCounter),
		})
	}
	if p.TOTP != nil && !p.ReuseAny() {
		out = append(out, variant{
			key: "per-node-step", family: "per-node-step",
			words:   "the TOTP replay record kept per node (a step used on one node is new to the others)",
			summary: "the TOTP replay record (the last used step) is kept per node: each node remembers only the codes it accepted, so a code accepted on one node is accepted again on another (RFC 6238 §5.2)",
			apply:   part(partStep),
		})
	}
	return out
}

// perNodeFamily reports whether a family of variants keeps state per node.
func perNodeFamily(f string) bool { return strings.HasPrefix(f, "per-node-") }

func limitWords(p Profile) string {
	if p.LockoutAfter() > 0 {
		return "lockout"
	}
	return "throttle"
}

func limitNoun(p Profile) string {
	if p.LockoutAfter() > 0 {
		return "lock"
	}
	return "delay"
}

// perNodeSummary says a per-node cause with the deployment's figures:
// "failures on nodes 1, 2 and 3 each counted apart, so 3x5 wrong codes
// were compared before any lock".
func perNodeSummary(v variant, p Profile, nodes int) string {
	if nodes < 2 {
		return v.summary
	}
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprint(i + 1)
	}
	list := strings.Join(names[:nodes-1], ", ") + " and " + names[nodes-1]
	switch v.family {
	case "per-node-fails":
		if f := p.LockoutAfter(); f > 0 {
			return fmt.Sprintf("the lockout is counted per node: failures on nodes %s are each counted apart, so up to %dx%d wrong codes are compared before any lock (RFC 4226 §7.3 wants the lockout to hold across login sessions)", list, nodes, f)
		}
		return fmt.Sprintf("the throttle is counted per node: failures on nodes %s are each counted apart, so each node lets wrong codes through without the delay the others owe (RFC 4226 §7.3 wants the delay to hold across login sessions)", list)
	case "per-node-rate":
		return fmt.Sprintf("the rate limit is counted per node: checks on nodes %s are each counted apart, so up to %dx%d checks are served per %d s", list, nodes, p.RateLimit.Attempts, p.RateLimit.Per)
	case "per-node-counter":
		return fmt.Sprintf("the HOTP counter is kept per node: nodes %s each move their own counter, so a code accepted on one node is accepted again on another (up to %d times in all)", list, nodes)
	case "per-node-step":
		return fmt.Sprintf("the TOTP replay record (the last used step) is kept per node: nodes %s each remember only the codes they accepted, so a code accepted on one node is accepted again on another (up to %d times in all; RFC 6238 §5.2)", list, nodes)
	}
	return v.summary
}

// acrossNodes says how the last request of a token's history fails only
// across nodes: its code was accepted on one node and now again on
// another ("accepted on node 1, then again on node 3"); "" when it was not
// or the nodes are not known.
func acrossNodes(events []event) string {
	if len(events) == 0 {
		return ""
	}
	last := events[len(events)-1]
	if len(last.reqs) != 1 || last.reqs[0].Op != opCheck || !last.replies[0] || last.reqs[0].node == 0 {
		return ""
	}
	r := last.reqs[0]
	start := 0 // enrolling again starts the token over
	for i, e := range events {
		if slices.ContainsFunc(e.reqs, func(q Request) bool { return q.Op == opEnroll }) {
			start = i + 1
		}
	}
	for _, e := range events[start : len(events)-1] {
		for i, q := range e.reqs {
			if q.Op == opCheck && e.replies[i] && q.node != 0 && q.node != r.node && q.Codes[0] == r.Codes[0] {
				return fmt.Sprintf("accepted on node %d, then again on node %d", q.node, r.node)
			}
		}
	}
	return ""
}

// oneNode returns node 1 of the deployment v spreads requests over, as v
// would serve it (behind the same clock), or nil for a single verifier.
func oneNode(v Verifier) Verifier {
	s := spreadOf(v)
	if s == nil {
		return nil
	}
	if c, ok := v.(*clocked); ok {
		return &clocked{v: s.nodes[0], gate: c.gate}
	}
	return s.nodes[0]
}

// confirmAcrossNodes proves a cause that keeps state per node by the
// failures it explains failing only across nodes: the cause's fixed cases
// are replayed on node 1 alone, under the claimed profile. A case that
// holds there fails only across nodes: the per-node variant is the cause,
// and any alternative that does not depend on the nodes is refuted (it
// would fail the case on one node as well; a TOTP replay record kept per
// node accepts each replay sent to another node, exactly as no replay
// protection does). If every case still fails on one node, the per-node
// variants are refuted: the other alternatives stay, or, with none, the
// cause is withdrawn (nothing proven explains its cases). The summary says
// which cases fail only across nodes.
func (r *run) confirmAcrossNodes(ctx context.Context, byID map[string]*caseDef) {
	node := oneNode(r.v)
	if node == nil {
		return
	}
	causes := r.report.Causes[:0:0]
	for _, c := range r.report.Causes {
		keys := append([]string{c.Key}, c.Alternatives...)
		var per, other []string
		for _, k := range keys {
			if perNodeFamily(variantByKey(r.p, k).family) {
				per = append(per, k)
			} else {
				other = append(other, k)
			}
		}
		if len(per) == 0 || ctx.Err() != nil {
			causes = append(causes, c)
			continue
		}
		held, failed := r.onOneNode(ctx, node, c.Cases, byID)
		if ctx.Err() != nil || len(held)+len(failed) == 0 {
			causes = append(causes, c)
			continue
		}
		keep := per
		if len(held) == 0 {
			keep = other
		}
		for j := range r.report.Results {
			e := r.report.Results[j].Explanation
			if e == nil || !slices.Contains(c.Cases, r.report.Results[j].ID) {
				continue
			}
			e.Cause = ""
			if len(keep) > 0 {
				e.Cause = keep[0]
			}
			e.keys = slices.DeleteFunc(e.keys, func(k string) bool {
				return slices.Contains(keys, k) && !slices.Contains(keep, k)
			})
			e.describe(r.p)
		}
		if len(keep) == 0 {
			continue // withdrawn
		}
		v := variantByKey(r.p, keep[0])
		c.Key, c.Claim, c.Alternatives, c.candidates = v.key, v.claim, keep[1:], []string{v.key}
		if len(c.Alternatives) == 0 {
			c.Alternatives = nil
		}
		switch {
		case len(held) == 0:
			c.Summary = v.summary + "; " + failed[0] + " fails on node 1 alone too, so state kept per node does not explain it"
		case len(failed) == 0:
			c.Summary = perNodeSummary(v, r.p, len(spreadOf(r.v).nodes)) + "; its cases pass when replayed on node 1 alone: they fail only across nodes"
		default:
			verb := "fail"
			if len(failed) == 1 {
				verb = "fails"
			}
			c.Summary = fmt.Sprintf("%s; %d of its %d cases pass when replayed on node 1 alone (they fail only across nodes), %s %s on node 1 alone too (another mechanism acts there as well)",
				perNodeSummary(v, r.p, len(spreadOf(r.v).nodes)), len(held), len(held)+len(failed), strings.Join(failed, ", "), verb)
		}
		causes = append(causes, c)
	}
	r.report.Causes = causes
}

// onOneNode runs the fixed cases ids again on node alone, under the
// claimed profile; it returns those that hold there and those that do not.
func (r *run) onOneNode(ctx context.Context, node Verifier, ids []string, byID map[string]*caseDef) (held, failed []string) {
	r2 := &run{v: node, p: r.p, info: r.info, opts: r.opts, seed: r.seed, checks: r.checks, timeout: r.timeout,
		now: r.now, report: &Report{}, base: r.base, clockSet: r.clockSet, offset: r.offset, offsetKnown: r.offsetKnown}
	r2.opts.Progress = nil
	r2.opts.Nodes = nil
	r2.serials.Store(r.serials.Load())
	defer func() { r.serials.Store(r2.serials.Load()) }()
	for _, id := range ids {
		def, ok := byID[id]
		if !ok || def.property {
			continue
		}
		if claimHolds(r2.runCase(ctx, def)) {
			held = append(held, id)
		} else {
			failed = append(failed, id)
		}
	}
	return held, failed
}
