package harness

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/otplab/otplab/token"
)

// TimedRequest is one request of a token's history as a load test records
// it: the node that served it, when it was sent and when its reply came,
// and the reply, or none.
type TimedRequest struct {
	// Request is the request (Op, Codes, Time; Purpose as sent).
	Request Request
	// Node is the node of the deployment that served it, from 1.
	Node int
	// Call and Return are the instants the request was sent and its reply
	// came, on one clock of any unit; Return is ignored when Unknown.
	Call, Return int64
	// Accepted is the reply (unlock: true once done).
	Accepted bool
	// Unknown is set when no reply came (the request timed out or its
	// connection failed): it may or may not have taken effect, at any
	// moment after Call.
	Unknown bool
}

// TimedHistory is every request of one token, from its enrolment on.
type TimedHistory struct {
	// Token is the token as it was enrolled.
	Token Token
	// Requests are its requests, in any order.
	Requests []TimedRequest
}

// ProofOptions say how [ProveCauses] replays the histories.
type ProofOptions struct {
	// Nodes is the number of nodes of the deployment (0 or 1: one
	// verifier, and no variant that keeps state per node is tried).
	Nodes int
	// Fuzz is how many seconds either way a verifier's clock may differ
	// from the time a request carries (0 for profile clock "request"; 1
	// for a verifier on its own clock).
	Fuzz int64
}

// ProvenCause is one cause that explains the violations of several tokens.
type ProvenCause struct {
	// Key names the variant ("race", "per-node-fails", ...), as in the
	// causes of a run's report.
	Key string `json:"key"`
	// Alternatives lists the keys of variants of other families that fit
	// exactly the same tokens as well: the evidence cannot tell them from
	// Key, and Summary says so.
	Alternatives []string `json:"alternatives,omitempty"`
	// Summary says the cause in the explanation engine's words.
	Summary string `json:"summary"`
	// Serials lists the violating tokens it explains, in order.
	Serials []string `json:"serials"`
}

// TokenProof is what the proof found for one violating token.
type TokenProof struct {
	// Serial names the token.
	Serial string
	// Cause is the Key of the ProvenCause that explains it, or "".
	Cause string
	// Fits lists the variants that fit every reply of its history before
	// the passing tokens were consulted, in the engine's words.
	Fits []string
	// Unexplained says why no cause is named for it, when none is.
	Unexplained string
}

// Proof is the outcome of [ProveCauses].
type Proof struct {
	// Causes are the proven causes, the one that explains the most tokens
	// first.
	Causes []ProvenCause
	// Tokens says, for each violating token given, its cause or why it
	// has none, in the order given.
	Tokens []TokenProof
	// Passing is the number of passing histories every named cause was
	// checked against (those with a request without reply are left out:
	// they cannot refute anything for sure).
	Passing int
	// Complete is false when ctx ended before every token was replayed:
	// the tokens not reached say so.
	Complete bool
}

// Reasons a token gets no cause.
const (
	unexplainedUnknown = "not explained: %d of its requests got no reply, and each may have taken effect at any later moment, which the replay does not follow"
	unexplainedWide    = "not explained: %d requests were in flight together, more than the replay follows (16)"
	unexplainedBase    = "no cause found: replayed as batches of overlapping requests served in any order, its history fits the claimed profile (the violation depends on the order within a batch)"
	unexplainedNone    = "no cause found: no known variant fits every reply of its history"
	unexplainedRefuted = "no cause found: every variant that fits its history (%s) is refuted by a token that passed"
	unexplainedBudget  = "not explained: the time budget for explaining ran out"
)

// maxBatch is the most requests in flight together that the replay
// follows (the engine's bound on a burst).
const maxBatch = 16

// ProveCauses finds what explains each violating token's history, by the
// rule that judges a run: it replays the history under every known variant
// of profile p (a race, state kept per node, another window, ...) and keeps
// the variants under which a verifier could have given every reply; a
// variant is then named as a cause only if no passing history refutes it
// (a real mechanism acts on every token), and variants of other families
// that fit exactly the same tokens are named together as alternatives.
//
// Each history becomes the engine's: requests whose intervals overlap,
// directly or through others, form one batch served in any order (a race
// may serve them on one stale state); the batches follow one another in
// the order they were sent. A history with a request that got no reply is
// left unexplained (it may have taken effect at any later moment), and so
// is every token not reached before ctx ends. The error reports a token
// whose key cannot be made.
func ProveCauses(ctx context.Context, p Profile, violating, passing []TimedHistory, o ProofOptions) (Proof, error) {
	proof := Proof{Complete: true}
	var results []Result
	explained := map[string]*TokenProof{}
	for _, th := range violating {
		tp := TokenProof{Serial: th.Token.Serial}
		proof.Tokens = append(proof.Tokens, tp)
	}
	// Each token is replayed on its own, several at a time.
	fits := make([]*Explanation, len(violating))
	var firstErr error
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(violating)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				e, err := fitToken(ctx, p, violating[i], o, &proof.Tokens[i])
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
				fits[i] = e
			}
		}()
	}
	for i := range violating {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return Proof{}, firstErr
	}
	for i, e := range fits {
		tp := &proof.Tokens[i]
		if tp.Unexplained == unexplainedBudget {
			proof.Complete = false
		}
		if e == nil {
			continue
		}
		results = append(results, Result{ID: tp.Serial, Verdict: Fail, Explanation: e})
		explained[tp.Serial] = tp
	}
	for _, th := range passing {
		h, why, err := engineHistory(th, o)
		if err != nil {
			return Proof{}, err
		}
		if why != "" {
			continue
		}
		results = append(results, Result{ID: "passed " + th.Token.Serial, Verdict: Pass, hist: []history{h}})
		proof.Passing++
	}
	if len(explained) == 0 {
		return proof, nil
	}
	for _, c := range groupCauses(p, results) {
		pc := ProvenCause{Key: c.Key, Alternatives: c.Alternatives, Summary: c.Summary}
		for _, id := range c.Cases {
			if tp := explained[id]; tp != nil {
				tp.Cause = c.Key
				pc.Serials = append(pc.Serials, id)
			}
		}
		slices.Sort(pc.Serials)
		if len(pc.Serials) > 0 {
			proof.Causes = append(proof.Causes, pc)
		}
	}
	for _, tp := range explained {
		if tp.Cause == "" {
			tp.Unexplained = fmt.Sprintf(unexplainedRefuted, joinWords(tp.Fits))
		}
	}
	slices.SortStableFunc(proof.Causes, func(a, b ProvenCause) int { return cmp.Compare(len(b.Serials), len(a.Serials)) })
	return proof, nil
}

// fitToken replays one violating token's history under every variant and
// returns the explanation, or nil with tp.Unexplained set.
func fitToken(ctx context.Context, p Profile, th TimedHistory, o ProofOptions, tp *TokenProof) (*Explanation, error) {
	if ctx.Err() != nil {
		tp.Unexplained = unexplainedBudget
		return nil, nil
	}
	h, why, err := engineHistory(th, o)
	if err != nil {
		return nil, err
	}
	if why != "" {
		tp.Unexplained = why
		return nil, nil
	}
	hs := []history{h}
	if consistent(p, quirks{}, hs) {
		tp.Unexplained = unexplainedBase
		return nil, nil
	}
	keys, loose, done := fittingUntil(ctx, p, quirks{}, hs)
	switch {
	case !done:
		tp.Unexplained = unexplainedBudget
		return nil, nil
	case len(keys) == 0:
		tp.Unexplained = unexplainedNone
		return nil, nil
	}
	for _, k := range keys {
		tp.Fits = append(tp.Fits, variantByKey(p, k).words)
	}
	return &Explanation{keys: keys, loose: loose, kind: h.tok.Kind, nodes: nodesOf(hs)}, nil
}

// joinWords lists at most three variants' words.
func joinWords(ws []string) string {
	if len(ws) > 3 {
		return fmt.Sprintf("%s; and %d more", strings.Join(ws[:3], "; "), len(ws)-3)
	}
	return strings.Join(ws, "; ")
}

// engineHistory turns a recorded history into the engine's: batches of
// requests whose intervals overlap, in the order they were sent. It says
// why when the history cannot be replayed exactly.
func engineHistory(th TimedHistory, o ProofOptions) (history, string, error) {
	key, err := token.NewKey(th.Token.Secret, th.Token.Algorithm, th.Token.Digits)
	if err != nil {
		return history{}, "", fmt.Errorf("token %s: %w", th.Token.Serial, err)
	}
	h := history{tok: th.Token, key: key, fuzz: o.Fuzz, nodes: max(o.Nodes, 1)}
	if h.nodes == 1 {
		h.nodes = 0
	}
	reqs := slices.Clone(th.Requests)
	unknown := 0
	for _, r := range reqs {
		if r.Unknown {
			unknown++
		}
	}
	if unknown > 0 {
		return h, fmt.Sprintf(unexplainedUnknown, unknown), nil
	}
	slices.SortStableFunc(reqs, func(a, b TimedRequest) int { return cmp.Compare(a.Call, b.Call) })
	for i := 0; i < len(reqs); {
		j, end := i+1, reqs[i].Return
		for j < len(reqs) && reqs[j].Call <= end {
			end = max(end, reqs[j].Return)
			j++
		}
		if j-i > maxBatch {
			return h, fmt.Sprintf(unexplainedWide, j-i), nil
		}
		var e event
		for _, r := range reqs[i:j] {
			q := r.Request
			q.Codes = slices.Clone(q.Codes)
			if h.nodes > 1 {
				q.node = r.Node
			}
			e.reqs = append(e.reqs, q)
			e.replies = append(e.replies, r.Accepted)
		}
		h.events = append(h.events, e)
		i = j
	}
	return h, "", nil
}
