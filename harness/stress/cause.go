package stress

import (
	"context"
	"fmt"
	"time"

	"github.com/otplab/otplab/harness"
)

// Defaults of the explanation of violations (see [Options]).
const (
	// DefaultExplainTokens is how many violating tokens are explained.
	DefaultExplainTokens = 20
	// DefaultExplainTimeout bounds the time spent explaining them.
	DefaultExplainTimeout = 20 * time.Second
	// passingSample bounds the passing histories each cause is checked
	// against.
	passingSample = 50
)

// CauseGroup is one proven cause and the violating tokens it explains.
type CauseGroup struct {
	// Key names the variant that explains the tokens ("race",
	// "per-node-fails"), as a run's report names causes.
	Key string `json:"key"`
	// Alternatives lists the keys of variants of other families that fit
	// the same tokens exactly as well: the evidence cannot tell them
	// apart, and Summary says so.
	Alternatives []string `json:"alternatives,omitempty"`
	// Summary says the cause in the explanation engine's words.
	Summary string `json:"summary"`
	// Tokens is the number of violating tokens whose whole history the
	// cause fits.
	Tokens int `json:"tokens"`
	// Serials lists those tokens.
	Serials []string `json:"serials"`
	// Passing is the number of histories of tokens that passed that the
	// cause was checked against, and that none of which refutes it.
	Passing int `json:"passing"`
}

// Text says the cause as the text report does.
func (g CauseGroup) Text() string {
	return fmt.Sprintf("cause (fits every reply of %d token%s' histories, refuted by none of %d that passed): %s",
		g.Tokens, pluralS(g.Tokens), g.Passing, g.Summary)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// timed returns a user's recorded history in the explanation engine's
// terms.
func timed(u *user) harness.TimedHistory {
	th := harness.TimedHistory{Token: u.tok}
	for _, o := range u.ops {
		th.Requests = append(th.Requests, harness.TimedRequest{Request: o.req, Node: o.node + 1,
			Call: o.call, Return: o.ret, Accepted: o.accepted, Unknown: o.unknown})
	}
	return th
}

// prove names the cause of each violation that the explanation engine
// proves: the first ExplainTokens violating tokens (by serial) are replayed
// under each known variant, and a variant is named only if it fits the
// token's whole history and no history of a sample of passing tokens
// refutes it. It sets each violation's cause, or why it has none, and
// returns the causes, the largest group first.
func (r *runner) prove(results []*checked) ([]CauseGroup, time.Duration) {
	limit := r.o.ExplainTokens
	if limit == 0 {
		limit = DefaultExplainTokens
	}
	var violating, passing []harness.TimedHistory
	var viols []*TokenViolation
	for _, c := range results {
		switch c.verdict {
		case violation:
			if limit < 0 {
				c.viol.Unexplained = "not explained: explaining was turned off"
				continue
			}
			if len(violating) >= limit {
				c.viol.Unexplained = fmt.Sprintf("not explained: only the first %d violating tokens are explained", limit)
				continue
			}
			violating = append(violating, timed(c.u))
			viols = append(viols, c.viol)
		case linearizable:
			if len(passing) < passingSample && !hasUnknown(c.u) {
				passing = append(passing, timed(c.u))
			}
		}
	}
	if len(violating) == 0 {
		return nil, 0
	}
	start := time.Now()
	budget := r.o.ExplainTimeout
	if budget == 0 {
		budget = DefaultExplainTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	o := harness.ProofOptions{Nodes: len(r.o.Nodes), Fuzz: r.fuzz()}
	proof, err := harness.ProveCauses(ctx, r.o.Profile, violating, passing, o)
	if err != nil {
		for _, v := range viols {
			v.Unexplained = "not explained: " + err.Error()
		}
		return nil, time.Since(start)
	}
	var groups []CauseGroup
	summary := map[string]string{}
	alts := map[string][]string{}
	for _, c := range proof.Causes {
		groups = append(groups, CauseGroup{Key: c.Key, Alternatives: c.Alternatives, Summary: c.Summary,
			Tokens: len(c.Serials), Serials: c.Serials, Passing: proof.Passing})
		summary[c.Key], alts[c.Key] = c.Summary, c.Alternatives
	}
	for i, tp := range proof.Tokens {
		v := viols[i]
		if tp.Cause == "" {
			v.Unexplained = tp.Unexplained
			continue
		}
		v.Cause, v.CauseKey, v.Alternatives = summary[tp.Cause], tp.Cause, alts[tp.Cause]
	}
	return groups, time.Since(start)
}

func hasUnknown(u *user) bool {
	for _, o := range u.ops {
		if o.unknown {
			return true
		}
	}
	return false
}
