package report

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/otplab/otplab/harness"
)

// Document is report.json: the engine's report, how it was judged, and
// every 64-bit number also as a decimal string, so that a JavaScript
// reader (whose numbers are doubles, exact only up to 2^53) reads it
// exactly. docs/report.md documents every field; Schema is
// harness.ReportSchema.
type Document struct {
	Schema          int               `json:"schema"`
	Tool            string            `json:"tool"`
	Verifier        string            `json:"verifier"`
	VerifierSpec    string            `json:"verifier_spec"`
	Profile         harness.Profile   `json:"profile"`
	ProfileFile     string            `json:"profile_file,omitempty"`
	ProfileCounters CounterStrings    `json:"profile_counters"`
	ClockSet        bool              `json:"clock_set"`
	ClockOffset     *int64            `json:"clock_offset,omitempty"`
	ClockNote       string            `json:"clock_note,omitempty"`
	Seed            uint64            `json:"seed"`
	SeedString      string            `json:"seed_string"`
	Checks          int               `json:"checks"`
	Started         time.Time         `json:"started"`
	Duration        time.Duration     `json:"duration_ns"`
	Interrupted     bool              `json:"interrupted"`
	Strict          bool              `json:"strict"`
	Outcome         Outcome           `json:"outcome"`
	ExitCode        int               `json:"exit_code"`
	Error           string            `json:"error,omitempty"`
	Counts          Counts            `json:"counts"`
	Failing         []string          `json:"failing"`
	Causes          []harness.Cause   `json:"causes"`
	ExpectFile      string            `json:"expect_file,omitempty"`
	Expect          []Expectation     `json:"expect,omitempty"`
	Results         []ResultDoc       `json:"results"`
	Replay          map[string]string `json:"replay,omitempty"`

	// ClockCheck is the engine's clock check (harness.Report.ClockCheck).
	ClockCheck *harness.ClockCheck `json:"clock_check,omitempty"`
}

// CounterStrings is the HOTP counter range the run judged against, as
// decimal strings.
type CounterStrings struct {
	Min string `json:"min"`
	Max string `json:"max"`
}

// ResultDoc is one result in report.json: the engine's result with its
// seed as a string and how the expect file judged it.
type ResultDoc struct {
	harness.Result
	// SeedString is Seed as a decimal string.
	SeedString string `json:"seed_string"`
	// Known is set for a failure the expect file foresaw: it does not
	// fail the run.
	Known bool `json:"known"`
	// Expect is the expect file's judgement, for a listed case.
	Expect *Expectation `json:"expect,omitempty"`
}

// Counts tallies the results by verdict.
type Counts struct {
	Pass      int `json:"pass"`
	Fail      int `json:"fail"`
	NonStrict int `json:"non_strict"`
	Skip      int `json:"skip"`
	Error     int `json:"error"`
	// Known counts the results (FAIL or NON-STRICT) that are
	// failures the expect file foresaw; they are counted under their
	// verdict too.
	Known int `json:"known"`
	// Total is the number of results; Selected the number of cases the
	// run was asked for (more when it was interrupted).
	Total    int `json:"total"`
	Selected int `json:"selected"`
}

// Document builds report.json's document.
func (s *Summary) Document() Document {
	rep := s.Report
	d := Document{Schema: harness.ReportSchema, Tool: s.tool(), VerifierSpec: s.Options.Spec, ProfileFile: s.Options.ProfileFile,
		Strict: s.Options.Strict, Outcome: s.Outcome, ExitCode: s.ExitCode(), Counts: s.counts(), Failing: s.Failing,
		Causes: []harness.Cause{}, Results: []ResultDoc{}, ExpectFile: s.Options.ExpectFile}
	if len(s.replay) > 0 {
		d.Replay = s.replay
	}
	if d.Failing == nil {
		d.Failing = []string{}
	}
	if s.Options.StartError != nil {
		d.Error = s.Options.StartError.Error()
	}
	if rep == nil {
		d.Verifier = s.verifierName()
	} else {
		d.Verifier, d.Profile, d.Seed, d.Checks = rep.Verifier, rep.Profile, rep.Seed, rep.Checks
		d.Started, d.Duration, d.Interrupted = rep.Started, rep.Duration, rep.Interrupted
		d.ClockSet = rep.ClockSet
		d.ClockOffset, d.ClockNote, d.ClockCheck = rep.ClockOffset, rep.ClockNote, rep.ClockCheck
		if rep.Causes != nil {
			d.Causes = rep.Causes
		}
		for _, sec := range s.sections() {
			for _, r := range sec.Results {
				rd := ResultDoc{Result: r, SeedString: strconv.FormatUint(r.Seed, 10), Known: s.known(r)}
				if e, ok := s.Options.Expect[r.ID]; ok {
					rd.Expect = &e
					d.Expect = append(d.Expect, e)
				}
				d.Results = append(d.Results, rd)
			}
		}
	}
	d.SeedString = strconv.FormatUint(d.Seed, 10)
	d.ProfileCounters = CounterStrings{Min: strconv.FormatUint(d.Profile.CounterMin(), 10), Max: strconv.FormatUint(d.Profile.CounterMax(), 10)}
	return d
}

// WriteJSON writes report.json's document, indented.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.Document())
}
