package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
)

// CompareSchema is the version of the layout Matrix.WriteJSON writes. It
// changes only when a field changes meaning or disappears.
const CompareSchema = 1

// Missing is the label of a cell whose report has no result for the row's
// case: the case was not selected, or the report's catalogue lacks it.
const Missing = "MISSING"

// Compared is one report read for a comparison: the parts of report.json
// that the matrix shows. It reads reports of every schema up to
// harness.ReportSchema, and newer ones by case ID, field by field; it
// never decodes the profile, so a profile field this build does not know
// cannot make a report unreadable.
type Compared struct {
	// File is where the report was read from.
	File string `json:"file"`
	// Schema is the report's schema; 0 for a report without the field.
	Schema int `json:"schema"`
	// Verifier is the verifier's name as the report gives it, and Version
	// the version that name carries ("1.1.3" in "django-otp 1.1.3"), or "".
	Verifier string `json:"verifier"`
	Version  string `json:"version,omitempty"`
	// Spec is how the verifier was reached (--verifier), if recorded.
	Spec string `json:"verifier_spec,omitempty"`
	// Profile is the profile judged against, as compact JSON, and
	// ProfileFile the --profile file it came from ("" for hello's).
	Profile     json.RawMessage `json:"profile"`
	ProfileFile string          `json:"profile_file,omitempty"`
	// Seed is the run's seed as a decimal string.
	Seed string `json:"seed"`
	// Started is when the run began, zero when not recorded.
	Started time.Time `json:"started"`
	// Outcome is the run's outcome as recorded ("passed", "failed",
	// "incomplete"), or "".
	Outcome string `json:"outcome,omitempty"`
	// Causes are the report's causes, largest first.
	Causes []harness.Cause `json:"causes"`
	// Selected is the number of cases the run was asked for (0 when not
	// recorded), and Interrupted is set when it stopped early.
	Selected    int  `json:"selected,omitempty"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Results are the report's results by case ID.
	Results map[string]ComparedResult `json:"-"`
	// order is the order of the results in the file.
	order []string
}

// ComparedResult is one case's result in a compared report.
type ComparedResult struct {
	ID          string          `json:"id"`
	Section     string          `json:"section"`
	Level       harness.Level   `json:"level,omitempty"`
	Requirement string          `json:"requirement,omitempty"`
	Verdict     harness.Verdict `json:"verdict"`
	// Known marks a failure the run's expect file foresaw.
	Known    bool     `json:"known,omitempty"`
	Messages []string `json:"messages,omitempty"`
	Script   []string `json:"script,omitempty"`
	// Seed replays the case, as a decimal string.
	Seed string `json:"seed,omitempty"`
	// Cause is the summary of the cause the result is grouped under.
	Cause string `json:"cause,omitempty"`
	// Replay is the command that runs the case again, when recorded.
	Replay string `json:"replay,omitempty"`
	// Folded marks a SKIP the report does not list: the run selected the
	// case, and its section's SKIP said it for the whole section.
	Folded bool `json:"folded,omitempty"`
}

// comparedFile is report.json as Compared reads it: every field optional
// except the results, numbers kept exact.
type comparedFile struct {
	Schema       *int            `json:"schema"`
	Verifier     string          `json:"verifier"`
	VerifierSpec string          `json:"verifier_spec"`
	Profile      json.RawMessage `json:"profile"`
	ProfileFile  string          `json:"profile_file"`
	Seed         json.Number     `json:"seed"`
	SeedString   string          `json:"seed_string"`
	Started      string          `json:"started"`
	Outcome      string          `json:"outcome"`
	Interrupted  bool            `json:"interrupted"`
	Counts       *struct {
		Selected int `json:"selected"`
	} `json:"counts"`
	Causes  []harness.Cause `json:"causes"`
	Results *[]struct {
		ID          string        `json:"id"`
		Section     string        `json:"section"`
		Level       harness.Level `json:"level"`
		Requirement string        `json:"requirement"`
		Verdict     string        `json:"verdict"`
		Known       bool          `json:"known"`
		Messages    []string      `json:"messages"`
		Script      []string      `json:"script"`
		Seed        json.Number   `json:"seed"`
		SeedString  string        `json:"seed_string"`
		Explanation *struct {
			Cause string `json:"cause"`
		} `json:"explanation"`
	} `json:"results"`
	Replay map[string]string `json:"replay"`
}

// errNotReport says a file is JSON but not a conformance report.
var errNotReport = errors.New("not a conformance report.json")

// ReadCompared reads a report.json for a comparison. Its errors name the
// file and say what is wrong in one line.
func ReadCompared(name string) (*Compared, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, OSReason(err))
	}
	c, err := ParseCompared(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.File = name
	return c, nil
}

// ParseCompared reads a report.json document from memory; see
// ReadCompared.
func ParseCompared(data []byte) (*Compared, error) {
	var f comparedFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w: invalid JSON at byte %d: %w", errNotReport, se.Offset, err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%w: field %q holds a JSON %s", errNotReport, te.Field, te.Value)
		}
		return nil, fmt.Errorf("%w: %w", errNotReport, err)
	}
	if f.Results == nil {
		return nil, fmt.Errorf("%w: it has no \"results\" list", errNotReport)
	}
	c := &Compared{Verifier: f.Verifier, Spec: f.VerifierSpec, ProfileFile: f.ProfileFile, Outcome: f.Outcome,
		Causes: f.Causes, Results: map[string]ComparedResult{}}
	if f.Schema != nil {
		c.Schema = *f.Schema
	}
	c.Interrupted = f.Interrupted
	if f.Counts != nil {
		c.Selected = f.Counts.Selected
	}
	if c.Causes == nil {
		c.Causes = []harness.Cause{}
	}
	c.Version = versionIn(f.Verifier)
	c.Profile = compactJSON(f.Profile)
	c.Seed = f.SeedString
	if c.Seed == "" {
		c.Seed = f.Seed.String()
	}
	if f.Started != "" {
		t, err := time.Parse(time.RFC3339Nano, f.Started)
		if err != nil {
			return nil, fmt.Errorf("%w: \"started\" %q is not an RFC 3339 time", errNotReport, f.Started)
		}
		c.Started = t
	}
	causes := map[string]string{}
	for _, k := range c.Causes {
		causes[k.Key] = k.Summary
	}
	for i, r := range *f.Results {
		if r.ID == "" {
			return nil, fmt.Errorf("%w: result %d has no \"id\"", errNotReport, i+1)
		}
		v := harness.Verdict(r.Verdict)
		switch v {
		case harness.Pass, harness.Fail, harness.NonStrict, harness.Skip, harness.Error:
		default:
			return nil, fmt.Errorf("%w: result %s has verdict %q", errNotReport, r.ID, r.Verdict)
		}
		if _, dup := c.Results[r.ID]; dup {
			return nil, fmt.Errorf("%w: case %s appears twice", errNotReport, r.ID)
		}
		cr := ComparedResult{ID: r.ID, Section: r.Section, Level: r.Level, Requirement: r.Requirement, Verdict: v,
			Known: r.Known && v != harness.Pass, Messages: r.Messages, Script: r.Script, Seed: r.SeedString, Replay: f.Replay[r.ID]}
		if cr.Section == "" {
			cr.Section = sectionOf(r.ID)
		}
		if cr.Seed == "" {
			cr.Seed = r.Seed.String()
		}
		if r.Explanation != nil {
			cr.Cause = causes[r.Explanation.Cause]
		}
		c.Results[r.ID] = cr
		c.order = append(c.order, r.ID)
	}
	return c, nil
}

// sectionOf is a case ID without its last element.
func sectionOf(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[:i]
	}
	return id
}

// versionIn finds the version a verifier's name carries: the first word
// after the first that is a version number (a digit, or "v" and a digit,
// then digits, letters and . + ~ : - only): "django-otp 1.1.3" and
// "liboath 2.6.7 (window 5)" give "1.1.3" and "2.6.7". Protocol v1's hello
// has no version field, so verifiers name theirs in "name".
func versionIn(name string) string {
	words := strings.Fields(name)
	for _, w := range words[min(1, len(words)):] {
		d := strings.TrimPrefix(w, "v")
		if d == "" || d[0] < '0' || d[0] > '9' {
			continue
		}
		ok := true
		for _, r := range d {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".+~:-", r)) {
				ok = false
				break
			}
		}
		if ok {
			return w
		}
	}
	return ""
}

// compactJSON compacts a raw JSON value; absent or null gives {}.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil || b.String() == "null" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(b.Bytes())
}

// Label is how a compared result is shown: its verdict, KNOWN for a
// failure the expect file foresaw.
func (r ComparedResult) Label() string {
	if r.Known {
		return "KNOWN"
	}
	return string(r.Verdict)
}

// Matrix is a comparison of reports: one row per case in catalogue order,
// one column per report, and, for exactly two reports, the diff from the
// first to the second.
type Matrix struct {
	// Schema is CompareSchema.
	Schema int `json:"schema"`
	// Columns are the reports, in the order given.
	Columns []*Compared `json:"columns"`
	// Sections hold the rows, grouped by spec section in catalogue order;
	// cases the catalogue does not know follow in the order first seen.
	Sections []MatrixSection `json:"sections"`
	// Diff is set when exactly two reports are compared.
	Diff *Diff `json:"diff,omitempty"`
	// Notes say what the reader should know about the inputs (a schema
	// newer than this build reads, reports with different case lists).
	Notes []string `json:"notes"`
}

// MatrixSection is the rows of one spec section.
type MatrixSection struct {
	Name string      `json:"name"`
	Rows []MatrixRow `json:"rows"`
}

// MatrixRow is one case across the reports.
type MatrixRow struct {
	ID          string        `json:"id"`
	Level       harness.Level `json:"level,omitempty"`
	Requirement string        `json:"requirement,omitempty"`
	// Cells has one entry per column; a cell's Verdict is "" and its
	// label Missing when that report has no result for the case.
	Cells []ComparedResult `json:"cells"`
	// Differs is set when the cells do not all have the same label.
	Differs bool `json:"differs"`
}

// Diff is what changed from one report (before) to another (after).
type Diff struct {
	// NewlyFailing: PASS or SKIP before, FAIL, NON-STRICT or ERROR
	// after.
	NewlyFailing []Change `json:"newly_failing"`
	// Fixed: FAIL, NON-STRICT or ERROR before, PASS after.
	Fixed []Change `json:"fixed"`
	// Changed: any other change of verdict (FAIL to NON-STRICT, PASS to
	// SKIP, ...).
	Changed []Change `json:"changed"`
	// Added: cases only the second report has; Removed: only the first.
	Added   []Change `json:"added"`
	Removed []Change `json:"removed"`
	// Regressions: PASS before, FAIL, NON-STRICT or ERROR after (the
	// cases --fail-on regression fails on; all of them are in
	// NewlyFailing too).
	Regressions []Change `json:"regressions"`
}

// Change is one case's verdict before and after; "" where the case is
// absent.
type Change struct {
	ID     string `json:"id"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// CellLabel is a cell's label: its verdict, KNOWN, or Missing.
func CellLabel(c ComparedResult) string {
	if c.Verdict == "" {
		return Missing
	}
	return c.Label()
}

// Compare builds the matrix of the given reports, in the given order.
func Compare(cols []*Compared) *Matrix {
	m := &Matrix{Schema: CompareSchema, Columns: cols, Sections: []MatrixSection{}, Notes: []string{}}
	// Order the union of the cases as Sections orders results.
	seen := map[string]ComparedResult{}
	var union []harness.Result
	for _, c := range cols {
		if c.Schema > harness.ReportSchema {
			m.Notes = append(m.Notes, fmt.Sprintf("%s: report schema %d is newer than this build reads (%d): compared by case ID and verdict",
				c.File, c.Schema, harness.ReportSchema))
		}
		for _, id := range c.order {
			if _, ok := seen[id]; !ok {
				r := c.Results[id]
				seen[id] = r
				union = append(union, harness.Result{ID: id, Section: r.Section})
			}
		}
	}
	known := map[string]harness.CaseInfo{}
	for _, ci := range harness.Cases() {
		known[ci.ID] = ci
	}
	for _, sec := range Sections(union) {
		ms := MatrixSection{Name: sec.Name}
		for _, r := range sec.Results {
			row := MatrixRow{ID: r.ID, Level: seen[r.ID].Level, Requirement: seen[r.ID].Requirement}
			if ci, ok := known[r.ID]; ok {
				// The catalogue's level and requirement: a report's may
				// be raised by its profile (input "exact" makes the input
				// cases PROFILE), and columns would disagree.
				row.Requirement, row.Level = ci.Requirement, ci.Level
			}
			for i, c := range cols {
				cell, ok := c.Results[r.ID]
				if !ok {
					cell = c.folded(r.ID, r.Section)
				}
				row.Cells = append(row.Cells, cell)
				if i > 0 && CellLabel(cell) != CellLabel(row.Cells[0]) {
					row.Differs = true
				}
			}
			ms.Rows = append(ms.Rows, row)
		}
		m.Sections = append(m.Sections, ms)
	}
	for i, c := range cols {
		n := 0
		for _, sec := range m.Sections {
			for _, row := range sec.Rows {
				if row.Cells[i].Verdict == "" {
					n++
				}
			}
		}
		if n > 0 {
			m.Notes = append(m.Notes, fmt.Sprintf("[%d] %s lacks %s the other reports have", i+1, c.File, plural(n, "case", "cases")))
		}
	}
	if len(cols) == 2 {
		m.Diff = m.diff()
	}
	return m
}

// folded is the cell of a case the report does not list. The engine
// leaves out the cases of a section whose first case SKIPs for a reason
// they share (the flows section of a verifier that claims no flows), and
// counts them as selected: when a run that was not interrupted selected
// more cases than it lists, and the case's section has a SKIP, the case is
// shown as that SKIP, folded. Otherwise it is missing.
func (c *Compared) folded(id, section string) ComparedResult {
	missing := ComparedResult{ID: id, Section: section}
	if c.Interrupted || c.Selected <= len(c.Results) {
		return missing
	}
	for _, oid := range c.order {
		r := c.Results[oid]
		if r.Section == section && r.Verdict == harness.Skip {
			msg := "not listed in this report: the run left it out with its section, which " + oid + " SKIPs"
			if len(r.Messages) > 0 {
				msg += ": " + r.Messages[0]
			}
			return ComparedResult{ID: id, Section: section, Verdict: harness.Skip, Folded: true, Messages: []string{msg}}
		}
	}
	return missing
}

// failing reports whether a verdict is a failure for the diff.
func failing(v harness.Verdict) bool {
	return v == harness.Fail || v == harness.NonStrict || v == harness.Error
}

func (m *Matrix) diff() *Diff {
	d := &Diff{NewlyFailing: []Change{}, Fixed: []Change{}, Changed: []Change{}, Added: []Change{}, Removed: []Change{}, Regressions: []Change{}}
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			a, b := row.Cells[0], row.Cells[1]
			ch := Change{ID: row.ID, Before: string(a.Verdict), After: string(b.Verdict)}
			switch {
			case a.Verdict == "":
				d.Added = append(d.Added, ch)
			case b.Verdict == "":
				d.Removed = append(d.Removed, ch)
			case a.Verdict == b.Verdict:
			case !failing(a.Verdict) && failing(b.Verdict):
				d.NewlyFailing = append(d.NewlyFailing, ch)
				if a.Verdict == harness.Pass {
					d.Regressions = append(d.Regressions, ch)
				}
			case failing(a.Verdict) && b.Verdict == harness.Pass:
				d.Fixed = append(d.Fixed, ch)
			default:
				d.Changed = append(d.Changed, ch)
			}
		}
	}
	return d
}

// Regressions lists the cases that passed in the first of two reports and
// fail (FAIL, NON-STRICT or ERROR) in the second; nil unless exactly two
// reports are compared.
func (m *Matrix) Regressions() []Change {
	if m.Diff == nil {
		return nil
	}
	return m.Diff.Regressions
}

// title names a column in one line: the verifier's name (which carries
// its version, if any), else how it was reached.
func (c *Compared) title() string {
	switch {
	case c.Verifier != "":
		return c.Verifier
	case c.Spec != "":
		return c.Spec
	}
	return "verifier"
}

// profileSource says where the profile came from.
func (c *Compared) profileSource() string {
	if c.ProfileFile != "" {
		return c.ProfileFile
	}
	return "hello"
}

// date is the run's start as a UTC date and time, or "".
func (c *Compared) date() string {
	if c.Started.IsZero() {
		return ""
	}
	return c.Started.UTC().Format("2006-01-02 15:04Z")
}

// tally counts a column's labels.
func (m *Matrix) tally(col int) map[string]int {
	n := map[string]int{}
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			n[CellLabel(row.Cells[col])]++
		}
	}
	return n
}

// tallyLine is a column's counts in words.
func (m *Matrix) tallyLine(col int) string {
	n := m.tally(col)
	var parts []string
	for _, l := range compareLabels() {
		if n[l] > 0 {
			parts = append(parts, strconv.Itoa(n[l])+" "+l)
		}
	}
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, ", ")
}

// compareLabels are the cell labels, in the order they are tallied and
// offered as filters.
func compareLabels() []string {
	return []string{string(harness.Pass), string(harness.Fail), string(harness.NonStrict), "KNOWN", string(harness.Skip), string(harness.Error), Missing}
}
