package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness/stress"
)

func newMergeCmd() *cobra.Command {
	var reportDir, output string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Join the reports of the shards of one stress run into one report",
		Long: `Merge reads DIR/report.json of each shard of one stress run (conformance
stress --shard i/N --report-dir DIR, the same seed and nodes in every shard)
and prints one report, as stress does. With --report-dir it writes the merged
report.json and junit.xml there and copies each shard's token-SERIAL.html
timelines. Counts and throughputs add up; the latency percentiles are the
worst shard's (an upper bound).

Exit codes: 0 no violation; 1 a violation, or writing the report failed;
2 usage error or a report that is not one shard of the run; 3 incomplete (a
shard missing or incomplete).`,
		Example: `  conformance merge out/shard-0 out/shard-1 out/shard-2 --report-dir out/all`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if output != "text" && output != "json" {
				return usagef("--output %q: want text or json", output)
			}
			var reps []*stress.Report
			var pages []string
			for _, d := range dirs {
				name := filepath.Join(d, "report.json")
				f, err := os.Open(name)
				if err != nil {
					return usagef("merge: %w", err)
				}
				rep, err := stress.ReadReport(f)
				f.Close()
				if err != nil {
					return usagef("merge: %s: %w", name, err)
				}
				reps = append(reps, rep)
				html, _ := filepath.Glob(filepath.Join(d, "token-*.html"))
				pages = append(pages, html...)
			}
			rep, err := stress.Merge(reps)
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteText(out)
			}
			if err != nil {
				return ioError{fmt.Errorf("writing the report to standard output: %w", err)}
			}
			if reportDir != "" {
				if err := rep.WriteDir(reportDir); err != nil {
					return ioError{fmt.Errorf("--report-dir: %w", err)}
				}
				sort.Strings(pages)
				for _, p := range pages {
					if err := copyFile(p, filepath.Join(reportDir, filepath.Base(p))); err != nil {
						return ioError{fmt.Errorf("--report-dir: %w", err)}
					}
				}
			}
			return stressOutcome(rep)
		},
	}
	cmd.Flags().StringVar(&reportDir, "report-dir", "", "write the merged report.json and junit.xml, and the shards' timelines, into this directory")
	cmd.Flags().StringVar(&output, "output", "text", "text or json")
	return cmd
}

// copyFile copies src to dst through a temporary file renamed into place.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
