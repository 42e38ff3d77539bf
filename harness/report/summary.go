// Package report renders a conformance run for people and for CI: the
// text summary a terminal shows, report.json (schema in docs/report.md),
// junit.xml and report.html, a single self-contained page.
//
// The conformance CLI writes its reports with this package, and a go test
// user can write the same files from a run of [harness.Execute]:
//
//	rep, err := harness.Execute(ctx, v, harness.Options{})
//	s := report.Summarize(rep, report.Options{StartError: err, Spec: "my verifier"})
//	if err := s.WriteDir("out/"); err != nil { ... }
//	if s.Outcome != report.Passed { t.Fatal(s.Headline()) }
//
// Every file is written through a temporary file and a rename, so a
// reader never sees half a report.
package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
)

// Outcome is the result of a whole run.
type Outcome string

// The outcomes of a run.
const (
	// Passed: nothing failed.
	Passed Outcome = "passed"
	// Failed: a case failed (NON-STRICT too under Strict), or a result
	// differs from the expect file.
	Failed Outcome = "failed"
	// Incomplete: the run could not start, a case ended in ERROR, or the
	// run was interrupted.
	Incomplete Outcome = "incomplete"
)

// ExitCode is the conformance CLI's exit code for the outcome: 0, 1 or 3.
func (o Outcome) ExitCode() int {
	switch o {
	case Passed:
		return 0
	case Failed:
		return 1
	default:
		return 3
	}
}

// ExpectKind classifies the result of a case listed in an expect file.
type ExpectKind string

// The kinds of outcome of a listed case.
const (
	// Known: the case ended as listed; it does not fail the run.
	Known ExpectKind = "known-failure"
	// UnexpectedPass: a listed case passed; it fails the run.
	UnexpectedPass ExpectKind = "unexpected-pass"
	// Unexpected: a listed case ended with another verdict; it fails the
	// run.
	Unexpected ExpectKind = "unexpected-result"
	// NotJudged: a case listed with another verdict than ERROR ended in
	// ERROR. The verifier was not judged: the run is incomplete.
	NotJudged ExpectKind = "error"
)

// Expectation is the judgement of one case listed in an expect file.
type Expectation struct {
	// ID is the case.
	ID string `json:"id"`
	// Expected is the verdict the file lists: FAIL, NON-STRICT, FLAKY or
	// ERROR.
	Expected string `json:"expected"`
	// Got is the verdict the case ended with.
	Got harness.Verdict `json:"got"`
	// Kind says how Got compares with Expected.
	Kind ExpectKind `json:"kind"`
	// Line is the line of the expect file that lists the case.
	Line int `json:"line"`
}

// Fails reports whether the expectation's outcome fails the run.
func (e Expectation) Fails() bool { return e.Kind != Known }

// String describes the outcome in one line.
func (e Expectation) String() string {
	switch e.Kind {
	case Known:
		return fmt.Sprintf("known failure: %s, as the expect file says (line %d)", e.Got, e.Line)
	case UnexpectedPass:
		return fmt.Sprintf("unexpected pass: the expect file (line %d) lists it as %s", e.Line, e.Expected)
	case NotJudged:
		return fmt.Sprintf("the expect file (line %d) lists it as %s, but it ended in ERROR: the verifier was not judged (list it as ERROR if that is known)", e.Line, e.Expected)
	default:
		return fmt.Sprintf("unexpected result %s: the expect file (line %d) lists it as %s", e.Got, e.Line, e.Expected)
	}
}

// Options say how the run was made and judged, beyond what the
// harness.Report holds. The zero value is a plain run.
type Options struct {
	// Tool names the program that wrote the report; "" means "otplab
	// conformance".
	Tool string
	// Spec says how the verifier was reached, such as the --verifier
	// value; it names the verifier when the report does not.
	Spec string
	// ProfileFile is the profile file the run judged against, if any.
	ProfileFile string
	// Strict counts NON-STRICT as a failure.
	Strict bool
	// Selected is the number of cases the run was asked to run; zero
	// means as many as the report holds.
	Selected int
	// StartError is why the run could not start (the verifier did not
	// answer hello). The report may then be nil.
	StartError error
	// Expect holds the judgement of each case listed in an expect file,
	// by case ID; ExpectFile names that file.
	Expect     map[string]Expectation
	ExpectFile string
	// Replay returns the command that runs one case again with the same
	// seed; nil means no replay commands.
	Replay func(id string, seed uint64) string
	// Probe, when the verifier was probed too, is the probe's result:
	// report.html shows its findings and chart.
	Probe *probe.Result
	// Brief makes the text summary list only the cases that need a look
	// (failures, errors, NON-STRICT, and cases the expect file lists),
	// with each section's counts in one line, as for a CI log. The zero
	// value lists every case.
	Brief bool
}

// Summary is a finished run judged for its outcome: the engine's report,
// the expect file's judgements and the replay commands, ready to render.
type Summary struct {
	// Report is the engine's report; nil when the run could not start.
	Report *harness.Report
	// Options are the options given to Summarize.
	Options Options
	// Outcome is the run's result.
	Outcome Outcome
	// Failing lists, in catalogue order, the IDs of the cases that fail
	// the run.
	Failing []string

	replay map[string]string
}

// Summarize judges a run. rep may be nil when opts.StartError says why
// the run could not start.
func Summarize(rep *harness.Report, opts Options) *Summary {
	s := &Summary{Report: rep, Options: opts, Outcome: Passed, replay: map[string]string{}}
	if opts.Expect == nil {
		s.Options.Expect = map[string]Expectation{}
	}
	if rep == nil {
		s.Outcome = Incomplete
		return s
	}
	errs := 0
	for _, sec := range s.sections() {
		for _, r := range sec.Results {
			if r.Verdict != harness.Pass && r.Verdict != harness.Skip && opts.Replay != nil {
				s.replay[r.ID] = opts.Replay(r.ID, rep.Seed)
			}
			if r.Verdict == harness.Error {
				if e, listed := s.Options.Expect[r.ID]; !listed || e.Fails() {
					errs++ // not judged, unless the expect file lists it as ERROR
				}
				continue
			}
			if e, listed := s.Options.Expect[r.ID]; listed {
				if e.Fails() {
					s.Failing = append(s.Failing, r.ID)
				}
				continue
			}
			if r.Failed(opts.Strict) {
				s.Failing = append(s.Failing, r.ID)
			}
		}
	}
	switch {
	case rep.Interrupted || errs > 0 || opts.StartError != nil:
		s.Outcome = Incomplete
	case len(s.Failing) > 0:
		s.Outcome = Failed
	}
	return s
}

// ExitCode is the conformance CLI's exit code for the run.
func (s *Summary) ExitCode() int { return s.Outcome.ExitCode() }

// Replay returns the command that replays a case, or "".
func (s *Summary) Replay(id string) string { return s.replay[id] }

// Expectation returns the expect file's judgement of a case, if listed.
func (s *Summary) Expectation(id string) (Expectation, bool) {
	e, ok := s.Options.Expect[id]
	return e, ok
}

// selected is the number of cases the run was asked for.
func (s *Summary) selected() int {
	if s.Options.Selected > 0 {
		return s.Options.Selected
	}
	if s.Report != nil {
		return len(s.Report.Results)
	}
	return 0
}

// Headline is the one-line reason for a run that did not pass, and "N
// passed" for one that did.
func (s *Summary) Headline() string {
	rep := s.Report
	switch {
	case rep == nil && s.Options.StartError != nil:
		return s.Options.StartError.Error()
	case rep == nil:
		return "the run could not start"
	case rep.Interrupted:
		return fmt.Sprintf("interrupted after %d of %s", len(rep.Results), plural(s.selected(), "case", "cases"))
	case s.Outcome == Incomplete:
		n := rep.Counts().Error
		return fmt.Sprintf("incomplete: %s in ERROR (the verifier could not be judged)", plural(n, "case ended", "cases ended"))
	case s.Outcome == Failed:
		return fmt.Sprintf("%s: %s", plural(len(s.Failing), "case failed", "cases failed"), strings.Join(s.Failing, ", "))
	default:
		return fmt.Sprintf("%d passed", rep.Counts().Pass)
	}
}

// plural writes "1 case" or "3 cases".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Label is the short word a result is shown with: its verdict, KNOWN for
// a failure the expect file foresaw, and the verdict with a "!" for a
// listed case that ended otherwise.
func Label(r harness.Result, e Expectation, listed bool) string {
	switch {
	case !listed:
		return string(r.Verdict)
	case e.Kind == Known && r.Verdict != harness.Pass:
		return "KNOWN"
	case e.Kind == Known:
		return string(r.Verdict)
	default:
		return string(r.Verdict) + "!"
	}
}

// label is Label for a result of this summary.
func (s *Summary) label(r harness.Result) string {
	e, listed := s.Options.Expect[r.ID]
	return Label(r, e, listed)
}

// known reports whether a result is a failure the expect file foresaw.
func (s *Summary) known(r harness.Result) bool {
	e, listed := s.Options.Expect[r.ID]
	return listed && e.Kind == Known && r.Verdict != harness.Pass
}

// counts tallies the verdicts, with known failures counted apart too.
func (s *Summary) counts() Counts {
	c := Counts{Selected: s.selected()}
	if s.Report == nil {
		return c
	}
	hc := s.Report.Counts()
	c.Pass, c.Fail, c.NonStrict, c.Skip, c.Error = hc.Pass, hc.Fail, hc.NonStrict, hc.Skip, hc.Error
	c.Total = len(s.Report.Results)
	for _, r := range s.Report.Results {
		if s.known(r) {
			c.Known++
		}
	}
	return c
}

// verifierName names the verifier: as it named itself, else as reached.
func (s *Summary) verifierName() string {
	if s.Report != nil && s.Report.Verifier != "" {
		return s.Report.Verifier
	}
	if s.Options.Spec != "" {
		return s.Options.Spec
	}
	return "verifier"
}

func (s *Summary) tool() string {
	if s.Options.Tool != "" {
		return s.Options.Tool
	}
	return "otplab conformance"
}

// Section is the results of one spec section.
type Section struct {
	// Name is the section, such as "rfc4226/7.4".
	Name string
	// Results are the section's results in catalogue order.
	Results []harness.Result
}

// Sections groups results by spec section. Sections and the results in
// each come in catalogue order (harness.Cases), whatever order the
// results are in; sections and cases the catalogue does not know follow,
// in the order they appear.
func Sections(results []harness.Result) []Section {
	sectionRank, caseRank := map[string]int{}, map[string]int{}
	for i, c := range harness.Cases() {
		if _, ok := sectionRank[c.Section]; !ok {
			sectionRank[c.Section] = len(sectionRank)
		}
		caseRank[c.ID] = i
	}
	rank := func(m map[string]int, key string, pos int) int {
		if r, ok := m[key]; ok {
			return r
		}
		return len(m) + pos // unknown: after every known one, in order seen
	}
	type ranked struct {
		r          harness.Result
		sec, inSec int
	}
	rs := make([]ranked, len(results))
	for i, r := range results {
		rs[i] = ranked{r: r, sec: rank(sectionRank, r.Section, i), inSec: rank(caseRank, r.ID, i)}
	}
	// Unknown sections take the position of their first result.
	first := map[string]int{}
	for i := range rs {
		if f, ok := first[rs[i].r.Section]; ok {
			rs[i].sec = f
		} else {
			first[rs[i].r.Section] = rs[i].sec
		}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if a.sec != b.sec {
			return a.sec - b.sec
		}
		return a.inSec - b.inSec
	})
	var out []Section
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1].Name != r.r.Section {
			out = append(out, Section{Name: r.r.Section})
		}
		out[len(out)-1].Results = append(out[len(out)-1].Results, r.r)
	}
	return out
}

func (s *Summary) sections() []Section {
	if s.Report == nil {
		return nil
	}
	return Sections(s.Report.Results)
}

// causeOf returns the cause a result is grouped under, if any.
func (s *Summary) causeOf(r harness.Result) (harness.Cause, bool) {
	if s.Report == nil || r.Explanation == nil || r.Explanation.Cause == "" {
		return harness.Cause{}, false
	}
	for _, c := range s.Report.Causes {
		if c.Key == r.Explanation.Cause {
			return c, true
		}
	}
	return harness.Cause{}, false
}
