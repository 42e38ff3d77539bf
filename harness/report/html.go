package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlPage is parsed on each call: it is cheap, and a package variable
// would be global state.
func htmlPage() (*template.Template, error) {
	return template.New("report.html").Funcs(template.FuncMap{"anchor": anchor}).Parse(htmlSource)
}

// columns are the matrix's verdict columns; KNOWN holds the failures the
// expect file foresaw (which are not counted under their verdict here).
var columns = []string{string(harness.Pass), string(harness.Fail), string(harness.NonStrict), string(harness.Skip), string(harness.Error), "KNOWN"}

type htmlData struct {
	Title, Tool, Verifier, Spec string
	Outcome                     Outcome
	Headline                    string
	Run                         bool
	CountLine, Seed             string
	ProfileSource, Profile      string
	Started, Duration           string
	Schema                      int
	Causes                      []htmlCause
	AnyFailure                  bool
	Columns                     []string
	Matrix                      []htmlRow
	Totals                      []int
	Sections                    []htmlSection
	Probe                       *htmlProbe
}

type htmlCause struct {
	Summary, Claim, Count string
	Cases                 []string
}

type htmlRow struct {
	Section string
	Cells   []htmlCell
}

type htmlCell struct {
	Label string
	N     int
}

type htmlSection struct {
	Name  string
	Cases []htmlCase
}

type htmlCase struct {
	ID, Label, Shown, Verdict, Level, Requirement, Duration string
	Unexpected, Open                                        bool
	Expect, Messages, Script, Cause, Consistent, NotWith    string
	Replay                                                  string
}

type htmlProbe struct {
	Table string
	SVG   template.HTML
}

// WriteHTML writes report.html: one self-contained page (no network, no
// external script or style) that shows the outcome, the causes first, a
// matrix of sections by verdicts, every case with its story (each
// failure's script and replay command open), filters by verdict, and the
// probe's findings and chart when Options.Probe is set.
func (s *Summary) WriteHTML(w io.Writer) error {
	d, err := s.htmlData()
	if err != nil {
		return err
	}
	return renderHTML(w, d)
}

// WriteProbeHTML writes a report.html page for a probe alone: its
// findings table and chart.
func WriteProbeHTML(w io.Writer, res *probe.Result) error {
	name := res.Name
	if name == "" {
		name = "verifier"
	}
	p, err := probeView(res)
	if err != nil {
		return err
	}
	d := htmlData{Title: "otplab probe: " + name, Tool: "otplab conformance probe", Verifier: name, Outcome: Passed,
		Headline: fmt.Sprintf("%d requests, seed %d", res.Requests, res.Seed), Schema: harness.ReportSchema, Probe: p}
	return renderHTML(w, d)
}

func renderHTML(w io.Writer, d htmlData) error {
	t, err := htmlPage()
	if err != nil {
		return fmt.Errorf("report.html template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return fmt.Errorf("report.html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

func (s *Summary) htmlData() (htmlData, error) {
	d := htmlData{Title: "otplab conformance: " + s.verifierName(), Tool: s.tool(), Verifier: s.verifierName(), Outcome: s.Outcome,
		Headline: s.Headline(), Schema: harness.ReportSchema, Columns: columns}
	if s.Options.Spec != "" && s.Options.Spec != d.Verifier {
		d.Spec = s.Options.Spec
	}
	if s.Options.Probe != nil {
		p, err := probeView(s.Options.Probe)
		if err != nil {
			return d, err
		}
		d.Probe = p
	}
	rep := s.Report
	if rep == nil {
		return d, nil
	}
	d.Run = true
	d.CountLine = rep.Counts().String()
	if k := s.counts().Known; k > 0 {
		d.CountLine += fmt.Sprintf(" (%d known failures)", k)
	}
	d.Seed = fmt.Sprint(rep.Seed)
	d.ProfileSource = "from the verifier's hello"
	if s.Options.ProfileFile != "" {
		d.ProfileSource = "from " + s.Options.ProfileFile
	}
	prof, _ := json.Marshal(rep.Profile)
	d.Profile = string(prof)
	if !rep.Started.IsZero() {
		d.Started = rep.Started.UTC().Format(time.RFC3339)
	}
	d.Duration = Round(rep.Duration).String()
	for _, c := range rep.Causes {
		d.Causes = append(d.Causes, htmlCause{Summary: c.Summary, Claim: c.Claim, Count: plural(len(c.Cases), "case", "cases"), Cases: c.Cases})
	}
	d.Totals = make([]int, len(columns))
	for _, sec := range s.sections() {
		row := htmlRow{Section: sec.Name}
		hs := htmlSection{Name: sec.Name}
		n := map[string]int{}
		for _, r := range sec.Results {
			hc := s.htmlCase(r)
			n[hc.Label]++
			d.AnyFailure = d.AnyFailure || hc.Open
			hs.Cases = append(hs.Cases, hc)
		}
		for i, col := range columns {
			row.Cells = append(row.Cells, htmlCell{Label: col, N: n[col]})
			d.Totals[i] += n[col]
		}
		d.Matrix = append(d.Matrix, row)
		d.Sections = append(d.Sections, hs)
	}
	return d, nil
}

func (s *Summary) htmlCase(r harness.Result) htmlCase {
	label := string(r.Verdict)
	if s.known(r) {
		label = "KNOWN"
	}
	e, listed := s.Options.Expect[r.ID]
	hc := htmlCase{ID: r.ID, Label: label, Shown: s.label(r), Verdict: label, Level: string(r.Level), Requirement: r.Requirement,
		Duration: Round(r.Duration).String(), Unexpected: listed && e.Fails(), Replay: s.replay[r.ID],
		Messages: strings.Join(r.Messages, "\n"), Script: strings.Join(r.Script, "\n")}
	hc.Open = r.Verdict == harness.Fail || r.Verdict == harness.Error || r.Verdict == harness.NonStrict || hc.Unexpected
	if listed {
		hc.Expect = e.String()
		if s.Options.ExpectFile != "" {
			hc.Expect += " (" + s.Options.ExpectFile + ")"
		}
	}
	if c, ok := s.causeOf(r); ok {
		hc.Cause = c.Summary
		if c.Claim != "" {
			hc.Cause += "\nclaim it in the profile: " + c.Claim
		}
	}
	if x := r.Explanation; x != nil {
		hc.Consistent = strings.Join(x.ConsistentWith, "\n")
		hc.NotWith = strings.Join(x.NotWith, "\n")
	}
	return hc
}

func probeView(res *probe.Result) (*htmlProbe, error) {
	var table, svg bytes.Buffer
	if err := res.Table(&table); err != nil {
		return nil, err
	}
	if err := res.SVG(&svg); err != nil {
		return nil, err
	}
	// Inline SVG needs no namespace declaration in HTML; leaving it out
	// keeps the page free of URLs. probe.SVG escapes every text it draws.
	inline := strings.Replace(svg.String(), ` xmlns="http://www.w3.org/2000/svg"`, "", 1)
	return &htmlProbe{Table: table.String(), SVG: template.HTML(inline)}, nil //nolint:gosec // generated by probe.SVG, which escapes its text
}

// anchor turns a case ID or section into an HTML id: letters and digits
// stay, '-' stays, anything else becomes '_' and its code in hex.
func anchor(s string) string {
	var b strings.Builder
	b.WriteString("c-")
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "_%x", r)
		}
	}
	return b.String()
}
