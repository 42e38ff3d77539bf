package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report/internal/junit"
)

// WriteJUnit writes junit.xml: one testsuite per spec section, in
// catalogue order. FAIL (NON-STRICT too under Strict) and any result the
// expect file did not foresee is a failure, with the cause that explains
// it in its message; ERROR is an error; SKIP is skipped. A known failure
// is skipped with type "known-failure" and a message that starts "known
// failure", so that CI neither fails on it nor loses it among the skips.
// A run that could not start or was interrupted adds a suite
// "conformance" with one error.
func (s *Summary) WriteJUnit(w io.Writer) error {
	var suites []junit.Suite
	var started time.Time
	if s.Report != nil {
		started = s.Report.Started
		for _, sec := range s.sections() {
			js := junit.Suite{Name: sec.Name, Timestamp: started}
			for _, r := range sec.Results {
				js.Cases = append(js.Cases, s.junitCase(r))
			}
			suites = append(suites, js)
		}
	}
	var problem string
	switch {
	case s.Report == nil:
		problem = "the run could not start"
		if s.Options.StartError != nil {
			problem += ": " + s.Options.StartError.Error()
		}
	case s.Report.Interrupted:
		problem = fmt.Sprintf("the run was interrupted after %d of %s", len(s.Report.Results), plural(s.selected(), "case", "cases"))
	}
	if problem != "" {
		suites = append(suites, junit.Suite{Name: "conformance", Timestamp: started, Cases: []junit.Case{{
			Name: "conformance/run", Classname: "conformance",
			Error: &junit.Problem{Message: firstLine(problem), Type: "INCOMPLETE", Text: problem},
		}}})
	}
	if len(suites) > 0 {
		var seed uint64
		if s.Report != nil {
			seed = s.Report.Seed
		}
		suites[0].Properties = []junit.Property{
			{Name: "verifier", Value: s.verifierName()},
			{Name: "verifier_spec", Value: s.Options.Spec},
			{Name: "seed", Value: strconv.FormatUint(seed, 10)},
		}
		// The causes, grouped, at the top of the file as in the other
		// reports: "cause.1" = summary, the case count and the claim.
		if s.Report != nil {
			for i, c := range s.Report.Causes {
				v := fmt.Sprintf("%s (%s: %s)", c.Summary, plural(len(c.Cases), "case", "cases"), strings.Join(c.Cases, " "))
				if c.Claim != "" {
					v += "; claim it in the profile: " + c.Claim
				}
				suites[0].Properties = append(suites[0].Properties, junit.Property{Name: fmt.Sprintf("cause.%d", i+1), Value: v})
			}
		}
	}
	return junit.Write(w, s.tool()+": "+s.verifierName(), suites)
}

func (s *Summary) junitCase(r harness.Result) junit.Case {
	c := junit.Case{Name: r.ID, Classname: r.Section, Time: junit.Duration(r.Duration)}
	text := s.caseText(r)
	msg := gist(r.Messages)
	if cause, ok := s.causeOf(r); ok {
		msg += " (cause: " + cause.Summary + ")"
	}
	e, listed := s.Options.Expect[r.ID]
	switch {
	case r.Verdict == harness.Error:
		if listed {
			msg = e.String() + ": " + msg
		}
		c.Error = &junit.Problem{Message: msg, Type: string(r.Verdict), Text: text}
	case listed && e.Kind == Known:
		if r.Verdict == harness.Pass {
			break
		}
		c.Skipped = &junit.Problem{Message: e.String() + ": " + msg, Type: string(Known), Text: text}
	case listed:
		c.Failure = &junit.Problem{Message: e.String(), Type: string(e.Kind), Text: text}
	case r.Failed(s.Options.Strict):
		c.Failure = &junit.Problem{Message: msg, Type: string(r.Verdict), Text: text}
	case r.Verdict == harness.Skip:
		c.Skipped = &junit.Problem{Message: msg}
	case r.Verdict == harness.NonStrict:
		c.SystemOut = text
	}
	return c
}

// caseText is the full story of a result for the JUnit body.
func (s *Summary) caseText(r harness.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s\n", r.Verdict, r.Level, r.Requirement)
	if e, ok := s.Options.Expect[r.ID]; ok {
		b.WriteString(e.String() + "\n")
	}
	for _, m := range r.Messages {
		b.WriteString(m + "\n")
	}
	if len(r.Script) > 0 {
		b.WriteString("script:\n" + Indent(strings.Join(r.Script, "\n"), 2) + "\n")
	}
	if c, ok := s.causeOf(r); ok {
		fmt.Fprintf(&b, "cause: %s\n", c.Summary)
		if c.Claim != "" {
			fmt.Fprintf(&b, "claim it in the profile: %s\n", c.Claim)
		}
	}
	if x := r.Explanation; x != nil && len(x.ConsistentWith) > 0 {
		fmt.Fprintf(&b, "consistent with: %s\n", strings.Join(x.ConsistentWith, "; "))
	}
	if cmd := s.replay[r.ID]; cmd != "" {
		fmt.Fprintf(&b, "replay: %s\n", cmd)
	}
	return b.String()
}

// gist is the one line that sums up a result's messages: the conclusion
// of a step-by-step story (its "=>" line) or else the first line.
func gist(msgs []string) string {
	var first string
	for _, m := range msgs {
		for _, l := range strings.Split(m, "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "=> ") {
				return firstLine(strings.TrimPrefix(l, "=> "))
			}
			if first == "" {
				first = l
			}
		}
	}
	return firstLine(first)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}
