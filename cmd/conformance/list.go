package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
)

func newListCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every case with its ID, level and requirement",
		Long: `List every case of the suite in run order with its ID, level (MUST, SHOULD,
PROFILE, INFO) and the requirement it checks. IDs are stable: use them in
--run, --skip and --expect files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cases := harness.Cases()
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				if err := writeJSON(out, struct {
					Schema int                `json:"schema"`
					Cases  []harness.CaseInfo `json:"cases"`
				}{1, cases}); err != nil {
					return ioError{fmt.Errorf("writing the list: %w", err)}
				}
				return nil
			case "text":
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tLEVEL\tREQUIREMENT")
				for _, c := range cases {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Level, c.Requirement)
				}
				if err := tw.Flush(); err != nil {
					return ioError{fmt.Errorf("writing the list: %w", err)}
				}
				if _, err := fmt.Fprintf(out, "%d cases\n", len(cases)); err != nil {
					return ioError{fmt.Errorf("writing the list: %w", err)}
				}
				return nil
			default:
				return usagef("--output %q: want text or json", output)
			}
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "text or json")
	return cmd
}
