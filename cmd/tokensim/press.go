package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

// maxPresses bounds -n: press prints the codes only once the device is
// saved, so it holds them in memory (use codes for long streams).
const maxPresses = 1_000_000

func newPressCmd(e env) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "press FILE [-n N] [--at TIME]",
		Short: "Press the token's button like a person and print the code shown",
		Long: `Press the button of the token in FILE and print the code on the display.

A C100 keeps a code on its display for its display time (10 s by default). A
press while the display is on shows the same code again and keeps the display
on (unless the token was made with --advance-while-on); otherwise the press
shows the code of the counter and moves the counter on. The file is updated
under a lock, so presses from several processes never show a code twice.

With -n N the person presses N times, each time once the display has gone
off (the first press too), so every press shows a new code.

A time token (c200, app) shows the code of the moment; press changes nothing
in its file, and -n N prints the codes of N consecutive time steps.`,
		Example: `  tokensim press t.json
  tokensim press t.json -n 2            # two codes for a resync
  tokensim press t.json --at 2026-11-23T09:00:00Z`,
		Args: args(1, "a state FILE"),
	}
	cmd.Flags().IntVarP(&n, "presses", "n", 1, "number of presses, each after the display went off")
	at := atFlag(cmd, e, "moment of the (first) press")

	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		path := a[0]
		if n < 1 || n > maxPresses {
			return usagef("-n %d: want 1 to %d", n, maxPresses)
		}
		now, err := at()
		if err != nil {
			return err
		}
		d, err := loadDevice(path)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if d.C200 != nil {
			s, ok := d.C200.Step(now)
			if !ok {
				return fmt.Errorf("%s: the device clock is before its t0", path)
			}
			for i := range n {
				fmt.Fprintln(out, d.C200.Key().HOTP(s+uint64(i)))
			}
			return nil
		}
		var presses []token.Press
		err = safefile.Update(path, state.MaxSize, func(old []byte) ([]byte, error) {
			d, err := decodeDevice(path, old)
			if err != nil {
				return nil, err
			}
			if d.C100 == nil {
				return nil, fmt.Errorf("%s: %w: the file changed into a time token", path, state.ErrState)
			}
			time.Sleep(e.hold)
			presses, err = press(d.C100, now, n, cmd.Flags().Changed("presses"))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return state.Marshal(d)
		})
		if err != nil {
			return err
		}
		for _, p := range presses {
			fmt.Fprintln(out, p.Code)
			if !p.Advanced {
				fmt.Fprintf(cmd.ErrOrStderr(), "display still on until %s: same code as before\n", p.Until.UTC().Format(time.RFC3339))
			}
		}
		return nil
	}
	return cmd
}

// press makes n presses from now. With patient set, every press waits for
// the display to go off; otherwise a single press happens at now, display
// on or not.
func press(d *token.C100, now time.Time, n int, patient bool) ([]token.Press, error) {
	out := make([]token.Press, 0, n)
	at := now
	for range n {
		if shown, on := d.Displayed(at); on && patient {
			at = shown.Until
		}
		p, err := d.Press(at)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		at = p.Until
	}
	return out, nil
}
