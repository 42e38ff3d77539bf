package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/otplab/otplab/cmd/conformance/internal/expect"
	"github.com/otplab/otplab/cmd/conformance/internal/junit"
	"github.com/otplab/otplab/harness"
)

// summary is a finished run judged for the exit code: the engine's report
// (nil when hello failed), the expect file's outcomes and the replay
// commands.
type summary struct {
	flags    *runFlags
	cfg      config
	rep      *harness.Report
	helloErr error
	expected map[string]expect.Outcome
	failing  []string // case IDs that fail the run
	replay   map[string]string
	code     int
}

func summarize(rep *harness.Report, helloErr error, cfg config, f *runFlags) *summary {
	s := &summary{flags: f, cfg: cfg, rep: rep, helloErr: helloErr, expected: map[string]expect.Outcome{}, replay: map[string]string{}}
	if rep == nil {
		s.code = exitIncomplete
		return s
	}
	errs := 0
	for _, r := range rep.Results {
		if r.Verdict != harness.Pass && r.Verdict != harness.Skip {
			s.replay[r.ID] = f.replayCommand(r.ID, rep.Seed)
		}
		if r.Verdict == harness.Error {
			errs++
			continue
		}
		if o, listed := cfg.expect.Judge(r); listed {
			s.expected[r.ID] = o
			if o.Fails() {
				s.failing = append(s.failing, r.ID)
			}
			continue
		}
		if r.Failed(f.strict) {
			s.failing = append(s.failing, r.ID)
		}
	}
	switch {
	case rep.Interrupted || errs > 0:
		s.code = exitIncomplete
	case len(s.failing) > 0:
		s.code = exitFailed
	}
	return s
}

// outcome names the run's result in the JSON report.
func (s *summary) outcome() string {
	switch s.code {
	case exitOK:
		return "passed"
	case exitFailed:
		return "failed"
	default:
		return "incomplete"
	}
}

// headline is the one-line reason for a non-zero exit.
func (s *summary) headline() string {
	switch {
	case s.rep == nil:
		return s.helloErr.Error()
	case s.rep.Interrupted:
		return fmt.Sprintf("interrupted after %d of %d cases", len(s.rep.Results), s.cfg.total)
	case s.code == exitIncomplete:
		return fmt.Sprintf("incomplete: %d cases ended in ERROR (the verifier could not be judged)", s.rep.Counts().Error)
	default:
		return fmt.Sprintf("%d cases failed: %s", len(s.failing), strings.Join(s.failing, ", "))
	}
}

// document is report.json: the engine's report (schema 1) and what the CLI
// adds to it.
type document struct {
	*harness.Report
	// Tool names the program that wrote the report.
	Tool string `json:"tool"`
	// Spec is the --verifier value.
	Spec string `json:"verifier_spec"`
	// ProfileFile is the --profile file, if any.
	ProfileFile string `json:"profile_file,omitempty"`
	// Strict is --strict.
	Strict bool `json:"strict"`
	// Counts tallies the verdicts.
	Counts counts `json:"counts"`
	// Outcome is "passed", "failed" or "incomplete".
	Outcome string `json:"outcome"`
	// ExitCode is the process's exit code.
	ExitCode int `json:"exit_code"`
	// Error says why the run could not start (hello failed).
	Error string `json:"error,omitempty"`
	// Failing lists the case IDs that fail the run.
	Failing []string `json:"failing"`
	// Expect holds the outcome of every case listed in the --expect file.
	Expect []expect.Outcome `json:"expect,omitempty"`
	// Replay maps each case that did not pass to the command that replays
	// it.
	Replay map[string]string `json:"replay,omitempty"`
}

type counts struct {
	Pass      int `json:"pass"`
	Fail      int `json:"fail"`
	NonStrict int `json:"non_strict"`
	Skip      int `json:"skip"`
	Error     int `json:"error"`
	Total     int `json:"total"`
	Selected  int `json:"selected"`
}

func (s *summary) document() document {
	d := document{Report: s.rep, Tool: "otplab conformance", Spec: s.flags.verifier, ProfileFile: s.flags.profile,
		Strict: s.flags.strict, Outcome: s.outcome(), ExitCode: s.code, Failing: s.failing, Replay: s.replay}
	if d.Failing == nil {
		d.Failing = []string{}
	}
	if d.Report == nil {
		d.Report = &harness.Report{Schema: harness.ReportSchema, Verifier: s.flags.verifier, Seed: s.flags.seed, Results: []harness.Result{}}
		d.Error = s.helloErr.Error()
	}
	if d.Report.Results == nil {
		d.Report.Results = []harness.Result{} // "results": [], never null
	}
	c := d.Report.Counts()
	d.Counts = counts{Pass: c.Pass, Fail: c.Fail, NonStrict: c.NonStrict, Skip: c.Skip, Error: c.Error, Total: len(d.Report.Results), Selected: s.cfg.total}
	for _, r := range d.Report.Results {
		if o, ok := s.expected[r.ID]; ok {
			d.Expect = append(d.Expect, o)
		}
	}
	return d
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeText writes the human report: results grouped by spec section,
// each failure with its explanation and replay command, and the closing
// line "N passed, N failed, ...".
func (s *summary) writeText(w io.Writer) {
	if s.rep == nil {
		fmt.Fprintf(w, "\nverifier %s did not answer hello: %v\n", s.flags.verifier, s.helloErr)
		fmt.Fprintf(w, "\n0 passed, 0 failed, 0 non-strict, 0 skipped, 0 errors (the run could not start)\n")
		return
	}
	rep := s.rep
	fmt.Fprintf(w, "\nverifier: %s (--verifier %s)\n", rep.Verifier, shellQuote(s.flags.verifier))
	source := "from the verifier's hello"
	if s.flags.profile != "" {
		source = "from " + s.flags.profile
	}
	prof, _ := json.Marshal(rep.Profile)
	fmt.Fprintf(w, "profile:  %s %s\n", source, prof)
	fmt.Fprintf(w, "seed:     %d (--seed %d replays the run)\n", rep.Seed, rep.Seed)

	for _, sec := range sections(rep.Results) {
		fmt.Fprintf(w, "\n%s\n", sec.name)
		for _, r := range sec.results {
			label := string(r.Verdict)
			o, listed := s.expected[r.ID]
			if listed && o.Kind != expect.Known {
				label += "!"
			}
			fmt.Fprintf(w, "  %-11s %s (%s)\n", label, r.ID, round(r.Duration))
			switch {
			case listed:
				fmt.Fprintf(w, "%s\n", indent(o.String(), 14))
			case r.Verdict == harness.Skip:
				fmt.Fprintf(w, "%s\n", indent(strings.Join(r.Messages, "\n"), 14))
				continue
			}
			if r.Verdict == harness.Pass || r.Verdict == harness.Skip {
				continue
			}
			fmt.Fprintf(w, "%s\n", indent("requirement ["+string(r.Level)+"]: "+r.Requirement, 14))
			for _, m := range r.Messages {
				fmt.Fprintf(w, "%s\n", indent(m, 14))
			}
			fmt.Fprintf(w, "%s\n", indent("replay: "+s.replay[r.ID], 14))
		}
	}
	fmt.Fprintln(w)
	if rep.Interrupted {
		fmt.Fprintf(w, "interrupted: %d of %d cases ran\n", len(rep.Results), s.cfg.total)
	}
	if len(s.failing) > 0 {
		fmt.Fprintf(w, "failing: %s\n", strings.Join(s.failing, " "))
	}
	known := 0
	for _, o := range s.expected {
		if o.Kind == expect.Known {
			known++
		}
	}
	line := rep.Counts().String()
	if known > 0 {
		line += fmt.Sprintf(" (%d as expected by %s)", known, s.flags.expect)
	}
	fmt.Fprintln(w, line)
}

// section is the results of one spec section, in catalogue order.
type section struct {
	name    string
	results []harness.Result
}

// sections groups results by spec section, in order of first appearance.
func sections(results []harness.Result) []section {
	var out []section
	index := map[string]int{}
	for _, r := range results {
		i, ok := index[r.Section]
		if !ok {
			i = len(out)
			index[r.Section] = i
			out = append(out, section{name: r.Section})
		}
		out[i].results = append(out[i].results, r)
	}
	return out
}

// indent indents every non-blank line of s by n spaces, dropping blank
// lines at either end.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// writeReportDir writes junit.xml and report.json into dir.
func (s *summary) writeReportDir(dir string) error {
	var j, r bytes.Buffer
	if err := junit.Write(&j, "otplab conformance: "+s.verifierName(), s.junitSuites()); err != nil {
		return err
	}
	if err := writeJSON(&r, s.document()); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "junit.xml"), j.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "report.json"), r.Bytes())
}

func (s *summary) verifierName() string {
	if s.rep != nil && s.rep.Verifier != "" {
		return s.rep.Verifier
	}
	return s.flags.verifier
}

// junitSuites maps the results to one JUnit testsuite per spec section:
// FAIL (and NON-STRICT with --strict, and results the expect file did not
// foresee) as failure, ERROR as error, SKIP and known failures as skipped.
// An interrupted run or a failed hello adds a suite "conformance" with one
// error, so that CI shows it.
func (s *summary) junitSuites() []junit.Suite {
	var suites []junit.Suite
	var started time.Time
	if s.rep != nil {
		started = s.rep.Started
		for _, sec := range sections(s.rep.Results) {
			js := junit.Suite{Name: sec.name, Timestamp: started}
			for _, r := range sec.results {
				js.Cases = append(js.Cases, s.junitCase(r))
			}
			suites = append(suites, js)
		}
	}
	var problem string
	switch {
	case s.rep == nil:
		problem = fmt.Sprintf("verifier %s did not answer hello: %v", s.flags.verifier, s.helloErr)
	case s.rep.Interrupted:
		problem = fmt.Sprintf("the run was interrupted after %d of %d cases", len(s.rep.Results), s.cfg.total)
	}
	if problem != "" {
		suites = append(suites, junit.Suite{Name: "conformance", Timestamp: started, Cases: []junit.Case{{
			Name: "conformance/run", Classname: "conformance",
			Error: &junit.Problem{Message: firstLine(problem), Type: "INCOMPLETE", Text: problem},
		}}})
	}
	if len(suites) > 0 {
		seed := s.flags.seed
		if s.rep != nil {
			seed = s.rep.Seed
		}
		suites[0].Properties = []junit.Property{
			{Name: "verifier", Value: s.verifierName()},
			{Name: "verifier_spec", Value: s.flags.verifier},
			{Name: "seed", Value: fmt.Sprint(seed)},
		}
	}
	return suites
}

func (s *summary) junitCase(r harness.Result) junit.Case {
	c := junit.Case{Name: r.ID, Classname: r.Section, Time: junit.Duration(r.Duration)}
	text := s.caseText(r)
	msg := gist(r.Messages)
	o, listed := s.expected[r.ID]
	switch {
	case r.Verdict == harness.Error:
		c.Error = &junit.Problem{Message: msg, Type: string(r.Verdict), Text: text}
	case listed && o.Kind == expect.Known:
		if r.Verdict == harness.Pass {
			break
		}
		c.Skipped = &junit.Problem{Message: o.String(), Text: text}
	case listed:
		c.Failure = &junit.Problem{Message: o.String(), Type: string(o.Kind), Text: text}
	case r.Failed(s.flags.strict):
		c.Failure = &junit.Problem{Message: msg, Type: string(r.Verdict), Text: text}
	case r.Verdict == harness.Skip:
		c.Skipped = &junit.Problem{Message: msg}
	case r.Verdict == harness.NonStrict:
		c.SystemOut = text
	}
	return c
}

// caseText is the full explanation of a result for the JUnit body.
func (s *summary) caseText(r harness.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %s\n", r.Verdict, r.Level, r.Requirement)
	for _, m := range r.Messages {
		b.WriteString(m + "\n")
	}
	if cmd, ok := s.replay[r.ID]; ok {
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
