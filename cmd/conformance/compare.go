package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness/report"
)

func newCompareCmd() *cobra.Command {
	var htmlFile, jsonFile, failOn string
	var onlyDiffering bool
	cmd := &cobra.Command{
		Use:   "compare REPORT.json...",
		Short: "Compare report.json files: a matrix of cases by verifiers, and what changed between two runs",
		Long: `compare reads the report.json files of several runs (of several verifiers, or
of one verifier before and after a change) and shows them side by side: one
row per case, grouped by spec section in catalogue order, one column per
report (verifier, version, profile, seed, date) with that report's causes.
Reports of different catalogue or schema versions are compared by case ID; a
case one report lacks shows as MISSING.

With exactly two reports it first lists what changed from the first to the
second: newly failing, fixed, verdict changed, added, removed. With
--fail-on regression it exits 1 when a case that passed in the first report
is FAIL, NON-STRICT or ERROR in the second.

The text goes to standard output; --html writes a self-contained page (no
network) whose cells open each case's story, script and replay command,
with filters by verdict and by rows that differ; --json writes the matrix
for tools ("-" for standard output, in place of the text).

Exit codes: 0 done; 1 --fail-on regression found one, or writing failed;
2 a file is unreadable or not a report, or a bad flag.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch failOn {
			case "", "none":
			case "regression":
				if len(args) != 2 {
					return usagef("--fail-on regression: compares exactly two reports (before, after), got %d", len(args))
				}
			default:
				return usagef("--fail-on %q: want regression or none", failOn)
			}
			if htmlFile == "-" {
				return usagef("--html -: write the page to a file")
			}
			for _, f := range []struct{ flag, name string }{{"--html", htmlFile}, {"--json", jsonFile}} {
				if f.name != "" && f.name != "-" {
					if err := checkWritable(f.flag, f.name); err != nil {
						return err
					}
				}
			}
			var cols []*report.Compared
			for _, name := range args {
				c, err := report.ReadCompared(name)
				if err != nil {
					return usageError{err}
				}
				cols = append(cols, c)
			}
			m := report.Compare(cols)
			out := cmd.OutOrStdout()
			if jsonFile == "-" {
				if err := m.WriteJSON(out); err != nil {
					return ioError{fmt.Errorf("writing the comparison: %w", err)}
				}
			} else if err := m.WriteText(out, onlyDiffering); err != nil {
				return ioError{fmt.Errorf("writing the comparison: %w", err)}
			}
			if jsonFile != "" && jsonFile != "-" {
				var b bytesBuffer
				if err := m.WriteJSON(&b); err != nil {
					return ioError{fmt.Errorf("--json %s: %w", jsonFile, err)}
				}
				if err := writeFileAtomic(jsonFile, b.Bytes()); err != nil {
					return ioError{err}
				}
			}
			if htmlFile != "" {
				var b bytesBuffer
				if err := m.WriteHTML(&b); err != nil {
					return ioError{fmt.Errorf("--html %s: %w", htmlFile, err)}
				}
				if err := writeFileAtomic(htmlFile, b.Bytes()); err != nil {
					return ioError{err}
				}
			}
			if failOn == "regression" {
				if r := m.Regressions(); len(r) > 0 {
					ids := make([]string, len(r))
					for i, ch := range r {
						ids[i] = ch.ID + " (" + ch.After + ")"
					}
					what := fmt.Sprintf("%d regressions", len(r))
					if len(r) == 1 {
						what = "1 regression"
					}
					return outcomeError{code: exitFailed, msg: fmt.Sprintf("%s from %s to %s: %s", what, args[0], args[1], strings.Join(ids, ", "))}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&htmlFile, "html", "", "write the matrix as a self-contained HTML page to this file")
	cmd.Flags().StringVar(&jsonFile, "json", "", `write the matrix as JSON to this file ("-": standard output, instead of the text)`)
	cmd.Flags().StringVar(&failOn, "fail-on", "none", "regression: exit 1 when a case that passed in the first of two reports does not pass in the second (FAIL, NON-STRICT, ERROR)")
	cmd.Flags().BoolVar(&onlyDiffering, "only-differing", false, "text: show only the rows whose verdicts differ")
	return cmd
}

// checkWritable refuses, before any work, an output file that cannot be
// written: a directory, or one in a directory that does not exist.
func checkWritable(flag, name string) error {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return usagef("%s %s: a directory, want a file name", flag, name)
	}
	if st, err := os.Stat(filepath.Dir(name)); err != nil {
		return usagef("%s %s: %w", flag, name, report.OSReason(err))
	} else if !st.IsDir() {
		return usagef("%s %s: %s is not a directory", flag, name, filepath.Dir(name))
	}
	return nil
}
