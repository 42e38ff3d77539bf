package stress

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/otplab/otplab/harness"
)

// tokenModel is the profile's model of one token, shaped for porcupine.
// Inputs are *op (the request and what is known of it), outputs are the
// same *op (the reply, or unknown), states are harness.State values.
type tokenModel struct {
	m *harness.Model
	// fuzz is how many seconds either way the verifier's clock may differ
	// from the request's time (profile clock "wall").
	fuzz int64
}

// step returns the states a correct verifier may be in after o in state s.
func (t *tokenModel) step(s harness.State, o *op) []harness.State {
	var out []harness.State
	add := func(ns harness.State) {
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	lo, hi := o.req.Time, o.req.Time
	if o.req.Op != "unlock" {
		lo, hi = lo-t.fuzz, hi+t.fuzz
	}
	for at := lo; at <= hi; at++ {
		req := o.req
		req.Time = at
		for _, oc := range t.m.Outcomes(s, req) {
			if o.unknown || oc.Accepted == o.accepted {
				add(oc.State)
			}
		}
	}
	return out
}

// porcupine returns the model in porcupine's terms, from enrolment.
func (t *tokenModel) porcupine() porcupine.Model { return t.porcupineFrom(t.m.Init()) }

// porcupineFrom returns the model in porcupine's terms, starting in any of
// the states. A porcupine state is the set of states a correct verifier may
// be in (a []harness.State without duplicates): the power-set construction
// of porcupine's NondeterministicModel, written out so that a step costs one
// slice instead of one interface per state.
func (t *tokenModel) porcupineFrom(start []harness.State) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return slices.Clone(start) },
		Step: func(state, input, _ any) (bool, any) {
			var next []harness.State
			for _, s := range state.([]harness.State) {
				for _, n := range t.step(s, input.(*op)) {
					if !slices.Contains(next, n) {
						next = append(next, n)
					}
				}
			}
			return len(next) > 0, next
		},
		Equal: func(a, b any) bool {
			x, y := a.([]harness.State), b.([]harness.State)
			if len(x) != len(y) {
				return false
			}
			for _, s := range x {
				if !slices.Contains(y, s) {
					return false
				}
			}
			return true
		},
		DescribeOperation: func(input, _ any) string { return t.describe(input.(*op)) },
		DescribeState: func(state any) string {
			var ds []string
			for _, s := range state.([]harness.State) {
				ds = append(ds, t.describeState(s))
			}
			return strings.Join(ds, " or ")
		},
	}
}

// describeState describes a state of the token, also a fresh one.
func (t *tokenModel) describeState(s harness.State) string {
	if d := t.m.DescribeState(s); d != "" {
		return d
	}
	return "nothing accepted yet"
}

// describe tells one request and its reply in the token's terms.
func (t *tokenModel) describe(o *op) string {
	var what string
	switch o.req.Op {
	case "check":
		what = fmt.Sprintf("check %q (%s)", o.req.Codes[0], o.label)
	case "resync":
		what = fmt.Sprintf("resync %q (%s)", o.req.Codes, o.label)
	default:
		what = o.req.Op
	}
	reply := "rejected"
	switch {
	case o.unknown:
		reply = "no reply (" + o.err + ")"
	case o.req.Op == "unlock":
		reply = "done"
	case o.accepted:
		reply = "accepted"
	case o.locked:
		reply = "rejected, locked"
	}
	return fmt.Sprintf("%s on node %d: %s", what, o.node+1, reply)
}

// verdict is the result of checking one token's history.
type verdict int

// The verdicts of a token.
const (
	// unchecked: the check did not finish within the time limit.
	unchecked verdict = iota
	// linearizable: the replies fit the profile in some order that
	// respects real time.
	linearizable
	// violation: no such order exists.
	violation
)

// checked is one token's check.
type checked struct {
	u       *user
	model   *tokenModel
	ops     []porcupine.Operation
	verdict verdict
	viol    *TokenViolation
	took    time.Duration
}

// check checks every user's history, several tokens at a time.
func (r *runner) check(users []*user, elapsed time.Duration) *Report {
	rep := newReport(r.o, users, elapsed)
	start := time.Now()
	defer func() { rep.CheckDuration = time.Since(start) }()
	work := make(chan *checked)
	var wg sync.WaitGroup
	var results []*checked
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				r.checkToken(c)
				mu.Lock()
				results = append(results, c)
				mu.Unlock()
			}
		}()
	}
	for _, u := range users {
		if !u.enrolled {
			rep.NotEnrolled = append(rep.NotEnrolled, u.tok.Serial)
			continue
		}
		work <- &checked{u: u}
	}
	close(work)
	wg.Wait()
	slices.SortFunc(results, func(a, b *checked) int { return cmp.Compare(a.u.tok.Serial, b.u.tok.Serial) })
	rep.Causes, rep.ExplainDuration = r.prove(results)
	rep.add(results, r.o.CheckTimeout)
	return rep
}

// fuzz is how many seconds either way the verifier's clock may differ
// from a request's time: 1 for a verifier on its own clock, 0 on the
// request's.
func (r *runner) fuzz() int64 {
	if r.o.Profile.RequestClock() {
		return 0
	}
	return 1
}

func (r *runner) checkToken(c *checked) {
	m, err := harness.NewModel(r.o.Profile, c.u.tok)
	if err != nil {
		c.verdict = unchecked
		return
	}
	c.model = &tokenModel{m: m, fuzz: r.fuzz()}
	c.ops = operations(c.u.ops)
	start := time.Now()
	res := porcupine.CheckOperationsTimeout(c.model.porcupine(), c.ops, r.o.CheckTimeout)
	c.took = time.Since(start)
	switch res {
	case porcupine.Ok:
		c.verdict = linearizable
	case porcupine.Illegal:
		c.verdict = violation
		c.viol = c.model.explain(c.u.tok.Serial, c.u.ops, r.o.CheckTimeout)
	default:
		c.verdict = unchecked
	}
}

// operations turns a token's records into porcupine operations, in the
// order they were sent.
func operations(ops []op) []porcupine.Operation {
	slices.SortStableFunc(ops, func(a, b op) int { return cmp.Compare(a.call, b.call) })
	out := make([]porcupine.Operation, len(ops))
	for i := range ops {
		o := &ops[i]
		out[i] = porcupine.Operation{ClientId: o.node, Input: o, Call: o.call, Output: o, Return: o.ret}
	}
	return out
}

// TokenViolation is the smallest part of one token's history that no
// correct verifier could have produced.
type TokenViolation struct {
	// Serial names the token.
	Serial string `json:"serial"`
	// Summary says what went wrong in the token's terms.
	Summary string `json:"summary"`
	// Cause is what explains the token's whole history, in the
	// explanation engine's words, when a cause is proven (see
	// Report.Causes); empty otherwise.
	Cause string `json:"cause,omitempty"`
	// CauseKey names the cause's variant ("race", "per-node-fails").
	CauseKey string `json:"cause_key,omitempty"`
	// Alternatives lists the keys of the variants the evidence could not
	// tell from CauseKey.
	Alternatives []string `json:"alternatives,omitempty"`
	// Unexplained says why no cause is named, when none is.
	Unexplained string `json:"unexplained,omitempty"`
	// Before describes the states the token may be in before the window.
	Before []string `json:"before"`
	// Window lists the requests of the window, one line each, with node
	// and times; earlier requests it refers to come first.
	Window []string `json:"window"`

	// win and start are the window's requests and the states before it,
	// for the timeline.
	win   []op
	start []harness.State
}

// explain finds the first window of the history that no correct verifier
// explains. The history is cut at quiescent points (every request before
// returned before any after was sent, and none before is unknown); the
// states possible at each cut are followed exactly, so the window starts
// from the true set of states, not from enrolment.
func (t *tokenModel) explain(serial string, ops []op, limit time.Duration) *TokenViolation {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ops = ops[:t.shortestPrefix(ops, limit)]
	states := t.m.Init()
	i := 0
	for i < len(ops) {
		// The group runs to the next quiescent point; an unknown request
		// may take effect at any later moment, so it runs to the end.
		j, end := i+1, ops[i].ret
		for j < len(ops) && ops[j].call <= end {
			end = max(end, ops[j].ret)
			j++
		}
		next, ok := t.group(ctx, states, ops[i:j])
		if !ok {
			// Too many to follow: report from here.
			return t.violation(serial, ops, i, j, states)
		}
		if len(next) == 0 {
			return t.violation(serial, ops, i, j, states)
		}
		states = next
		i = j
	}
	return &TokenViolation{Serial: serial, Summary: "porcupine found no linearization, but the history replays group by group; see the visualisation"}
}

// shortestPrefix returns the length of the shortest prefix of the history
// (in the order requests were sent) that porcupine finds illegal: the
// violation is complete at its last request. A prefix in call order is a
// history in its own right: every request in it was sent, and its reply is
// what it was.
func (t *tokenModel) shortestPrefix(ops []op, limit time.Duration) int {
	model := t.porcupine()
	all := operations(ops)
	deadline := time.Now().Add(limit)
	lo, hi := 1, len(ops) // hi is illegal
	for lo < hi {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		mid := (lo + hi) / 2
		if porcupine.CheckOperationsTimeout(model, all[:mid], left) == porcupine.Illegal {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// maxGroup bounds the requests of one group followed exactly.
const maxGroup = 14

// group returns every state a correct verifier may end in after serving
// the group's requests in any order (their intervals overlap), from any
// of states. An unknown request may also not have taken effect.
func (t *tokenModel) group(ctx context.Context, states []harness.State, g []op) ([]harness.State, bool) {
	if len(g) > maxGroup {
		return nil, false
	}
	type key struct {
		served uint32
		st     harness.State
	}
	seen := map[key]bool{}
	var out []harness.State
	var walk func(served uint32, st harness.State) bool
	walk = func(served uint32, st harness.State) bool {
		if ctx.Err() != nil {
			return false
		}
		if seen[key{served, st}] {
			return true
		}
		seen[key{served, st}] = true
		all := true
		for i := range g {
			if served&(1<<i) == 0 && !g[i].unknown {
				all = false
			}
		}
		if all && !slices.Contains(out, st) {
			out = append(out, st)
		}
		for i := range g {
			if served&(1<<i) != 0 {
				continue
			}
			for _, n := range t.step(st, &g[i]) {
				if !walk(served|1<<i, n) {
					return false
				}
			}
		}
		return true
	}
	for _, s := range states {
		if !walk(0, s) {
			return nil, false
		}
	}
	return out, true
}

// violation describes the window ops[i:j], reached in states.
func (t *tokenModel) violation(serial string, ops []op, i, j int, states []harness.State) *TokenViolation {
	v := &TokenViolation{Serial: serial, win: slices.Clone(ops[i:j]), start: states}
	for _, s := range states {
		v.Before = append(v.Before, t.describeState(s))
	}
	win := ops[i:j]
	// The earlier acceptances of a code the window accepts.
	var earlier []op
	for _, w := range win {
		if w.accepted && w.req.Op == "check" {
			for _, e := range ops[:i] {
				if e.accepted && e.req.Op == "check" && e.req.Codes[0] == w.req.Codes[0] && !slices.ContainsFunc(earlier, func(x op) bool { return x.call == e.call }) {
					earlier = append(earlier, e)
				}
			}
		}
	}
	// The failures since the last reset, when the token is locked.
	if allLocked(t, states) {
		var fails []op
		for k := i - 1; k >= 0; k-- {
			b := ops[k]
			if b.req.Op == "unlock" || b.accepted {
				break
			}
			fails = append(fails, b)
		}
		slices.Reverse(fails)
		earlier = append(earlier, fails...)
	}
	line := func(o op) string {
		ret := "never"
		if !o.unknown {
			ret = seconds(o.ret)
		}
		return fmt.Sprintf("[%s s .. %s s] %s", seconds(o.call), ret, t.describe(&o))
	}
	for _, e := range earlier {
		v.Window = append(v.Window, "earlier: "+line(e))
	}
	for _, w := range win {
		v.Window = append(v.Window, line(w))
	}
	v.Summary = t.summarize(win, earlier, states)
	return v
}

// summarize tells the violation in one line. Its cause is not guessed from
// the window's shape: the explanation engine proves it (see prove).
func (t *tokenModel) summarize(win, earlier []op, states []harness.State) string {
	all := append(slices.Clone(earlier), win...)
	// One code accepted twice.
	for a := range all {
		for b := a + 1; b < len(all); b++ {
			x, y := all[a], all[b]
			if x.req.Op != "check" || y.req.Op != "check" || !x.accepted || !y.accepted || x.req.Codes[0] != y.req.Codes[0] {
				continue
			}
			lbl := strings.TrimSuffix(x.label, " again")
			return fmt.Sprintf("%s accepted on node %d at %s s and on node %d at %s s", lbl, x.node+1, seconds(x.ret), y.node+1, seconds(y.ret))
		}
	}
	last := win[len(win)-1]
	if len(win) == 1 && last.accepted && allLocked(t, states) {
		return fmt.Sprintf("%s at %s s although the token is locked", t.describe(&last), seconds(last.ret))
	}
	var ds []string
	for _, s := range states {
		ds = append(ds, t.describeState(s))
	}
	if len(win) == 1 {
		return fmt.Sprintf("%s at %s s does not fit the profile from %s", t.describe(&last), seconds(last.call), strings.Join(ds, " or "))
	}
	return fmt.Sprintf("no order of these %d requests fits the profile from %s", len(win), strings.Join(ds, " or "))
}

// allLocked reports whether every state is a locked one.
func allLocked(t *tokenModel, states []harness.State) bool {
	for _, s := range states {
		if !strings.Contains(t.m.DescribeState(s), "locked at") {
			return false
		}
	}
	return len(states) > 0
}

// seconds prints ns since the start as seconds with milliseconds.
func seconds(ns int64) string {
	if ns == math.MaxInt64 {
		return "never"
	}
	return fmt.Sprintf("%.3f", float64(ns)/1e9)
}
