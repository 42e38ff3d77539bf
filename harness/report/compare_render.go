package report

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the comparison for a person: each report (verifier,
// version, profile, seed, date, tallies and causes), the diff when two
// reports are compared, then the matrix, one line a case, grouped by
// section; a "*" marks the rows whose cells differ. With onlyDiffering,
// rows whose cells agree are left out.
func (m *Matrix) WriteText(w io.Writer, onlyDiffering bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Comparing %s\n", plural(len(m.Columns), "report", "reports"))
	for i, c := range m.Columns {
		fmt.Fprintf(bw, "\n[%d] %s  (%s)\n", i+1, c.title(), c.File)
		meta := []string{"profile from " + c.profileSource(), "seed " + c.Seed}
		if d := c.date(); d != "" {
			meta = append(meta, "started "+d)
		}
		if c.Outcome != "" {
			meta = append(meta, "outcome "+c.Outcome)
		}
		if c.Schema != 1 {
			meta = append(meta, fmt.Sprintf("report schema %d", c.Schema))
		}
		fmt.Fprintf(bw, "    %s\n    %s\n", strings.Join(meta, ", "), m.tallyLine(i))
		for j, k := range c.Causes {
			fmt.Fprintf(bw, "    cause %d: %s (%s)\n", j+1, k.Summary, plural(len(k.Cases), "case", "cases"))
		}
	}
	for _, n := range m.Notes {
		fmt.Fprintf(bw, "\nnote: %s\n", n)
	}
	if d := m.Diff; d != nil {
		fmt.Fprintf(bw, "\nWhat changed from [1] to [2]\n")
		changedAny := false
		for _, g := range d.groups() {
			if len(g.changes) == 0 {
				continue
			}
			changedAny = true
			fmt.Fprintf(bw, "  %s (%d)\n", g.name, len(g.changes))
			for _, ch := range g.changes {
				fmt.Fprintf(bw, "    %-46s %s -> %s\n", ch.ID, orMissing(ch.Before), orMissing(ch.After))
			}
		}
		if !changedAny {
			fmt.Fprintf(bw, "  nothing: every case has the same verdict\n")
		}
		fmt.Fprintf(bw, "  %s\n", plural(len(d.Regressions), "regression (PASS became FAIL, NON-STRICT or ERROR)", "regressions (PASS became FAIL, NON-STRICT or ERROR)"))
	}
	fmt.Fprintf(bw, "\nMatrix (* = the reports differ)\n")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	head := "case"
	for i := range m.Columns {
		head += fmt.Sprintf("\t[%d]", i+1)
	}
	fmt.Fprintln(tw, head+"\t")
	shown := 0
	for _, sec := range m.Sections {
		var lines []string
		for _, row := range sec.Rows {
			if onlyDiffering && !row.Differs {
				continue
			}
			line := "  " + strings.TrimPrefix(row.ID, sec.Name+"/")
			for _, c := range row.Cells {
				line += "\t" + CellLabel(c)
			}
			if row.Differs {
				line += "\t*"
			} else {
				line += "\t"
			}
			lines = append(lines, line)
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintln(tw, sec.Name+strings.Repeat("\t", len(m.Columns)+1))
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
		shown += len(lines)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if onlyDiffering && shown == 0 {
		fmt.Fprintf(bw, "(no row differs)\n")
	}
	return bw.Flush()
}

func orMissing(v string) string {
	if v == "" {
		return Missing
	}
	return v
}

type changeGroup struct {
	name    string
	changes []Change
}

// groups are the diff's lists with their titles, in reading order.
func (d *Diff) groups() []changeGroup {
	return []changeGroup{{"newly failing", d.NewlyFailing}, {"fixed", d.Fixed}, {"verdict changed", d.Changed},
		{"added (only in [2])", d.Added}, {"removed (only in [1])", d.Removed}}
}

// WriteJSON writes the comparison as indented JSON: the columns with
// their causes, the rows by section with every cell's result, the diff
// and the notes (docs/report.md documents it).
func (m *Matrix) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

//go:embed compare.html.tmpl
var compareSource string

type cmpHTML struct {
	Title    string
	Columns  []cmpColumn
	Labels   []string
	Diff     []cmpGroup
	DiffNote string
	Notes    []string
	Sections []cmpSection
	Schema   int
}

type cmpColumn struct {
	N                                    int
	Title, File, Spec, Profile, Source   string
	Seed, Date, Outcome, Tally, SchemaIs string
	Causes                               []cmpCause
}

type cmpCause struct {
	Summary, Claim, Count string
}

type cmpGroup struct {
	Name    string
	Changes []Change
}

type cmpSection struct {
	Name string
	Rows []cmpRow
}

type cmpRow struct {
	ID, Short, Level, Requirement, Labels string
	Differs                               bool
	Cells                                 []cmpCell
}

type cmpCell struct {
	Label                                 string
	Open                                  bool
	Messages, Script, Cause, Replay, Seed string
}

// WriteHTML writes the comparison as one self-contained page (no network,
// no external script or style): a header per report with its causes, the
// diff for two reports, and the matrix with every cell colour-coded by
// verdict and opening, on a click, the case's story, script and replay
// command; filters by verdict and by "rows that differ" work in the page
// (and from the address: #show=FAIL,ERROR, #differ).
func (m *Matrix) WriteHTML(w io.Writer) error {
	t, err := template.New("compare.html").Funcs(template.FuncMap{"anchor": anchor, "inc": func(n int) int { return n + 1 }}).Parse(compareSource)
	if err != nil {
		return fmt.Errorf("compare.html template: %w", err)
	}
	d := cmpHTML{Title: "otplab conformance: " + plural(len(m.Columns), "verifier", "verifiers") + " compared", Labels: compareLabels(),
		Notes: m.Notes, Schema: CompareSchema}
	for i, c := range m.Columns {
		col := cmpColumn{N: i + 1, Title: c.title(), File: c.File, Spec: c.Spec, Profile: string(c.Profile), Source: c.profileSource(),
			Seed: c.Seed, Date: c.date(), Outcome: c.Outcome, Tally: m.tallyLine(i)}
		if c.Schema != 1 {
			col.SchemaIs = fmt.Sprintf("report schema %d", c.Schema)
		}
		for _, k := range c.Causes {
			col.Causes = append(col.Causes, cmpCause{Summary: k.Summary, Claim: k.Claim, Count: plural(len(k.Cases), "case", "cases")})
		}
		d.Columns = append(d.Columns, col)
	}
	if m.Diff != nil {
		for _, g := range m.Diff.groups() {
			d.Diff = append(d.Diff, cmpGroup{Name: g.name, Changes: g.changes})
		}
		d.DiffNote = plural(len(m.Diff.Regressions), "regression", "regressions") + " (PASS became FAIL, NON-STRICT or ERROR)"
	}
	for _, sec := range m.Sections {
		hs := cmpSection{Name: sec.Name}
		for _, row := range sec.Rows {
			hr := cmpRow{ID: row.ID, Short: strings.TrimPrefix(row.ID, sec.Name+"/"), Level: string(row.Level), Requirement: row.Requirement, Differs: row.Differs}
			var labels []string
			for _, c := range row.Cells {
				l := CellLabel(c)
				labels = append(labels, l)
				hc := cmpCell{Label: l, Messages: strings.Join(c.Messages, "\n"), Script: strings.Join(c.Script, "\n"), Cause: c.Cause, Replay: c.Replay, Seed: c.Seed}
				hc.Open = hc.Messages != "" || hc.Script != "" || hc.Cause != "" || hc.Replay != ""
				hr.Cells = append(hr.Cells, hc)
			}
			hr.Labels = strings.Join(labels, " ")
			hs.Rows = append(hs.Rows, hr)
		}
		d.Sections = append(d.Sections, hs)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return fmt.Errorf("compare.html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}
