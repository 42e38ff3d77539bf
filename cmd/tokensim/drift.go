package main

import (
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

func newDriftCmd(e env) *cobra.Command {
	var (
		presses uint64
		offset  time.Duration
		ppm     float64
	)
	cmd := &cobra.Command{
		Use:   "drift FILE --presses N | --offset D | --ppm P",
		Short: "Make a token drift: unsubmitted presses, or a clock that is off",
		Long: `Make the token in FILE drift away from the server, under the file's lock.

For a C100, --presses N models N presses whose codes were never submitted: the
counter moves on by N, so the token is N presses further ahead of the server.

For a time token, --offset D sets how far the device clock is ahead of true
time at --at (negative: behind; "90s", "-2m"; at most 10^9 s, about 31 years,
either way, as for fleet and state files), and --ppm P sets how fast it
runs from --at on (20 gains 20 µs a second, about 1.7 s a day). A flag not
given keeps its current value; the clock's error up to --at is kept.`,
		Example: `  tokensim drift t.json --presses 37
  tokensim drift phone.json --offset 90s
  tokensim drift phone.json --ppm 20 --at 2026-11-23T09:00:00Z`,
		Args: args(1, "a state FILE"),
	}
	f := cmd.Flags()
	f.Uint64Var(&presses, "presses", 0, "c100: presses never submitted")
	f.DurationVar(&offset, "offset", 0, "time tokens: clock error at --at")
	f.Float64Var(&ppm, "ppm", 0, "time tokens: clock rate error in parts per million")
	at := atFlag(cmd, e, "time tokens: the moment the new offset and rate apply")

	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		path := a[0]
		now, err := at()
		if err != nil {
			return err
		}
		if math.IsNaN(ppm) || math.IsInf(ppm, 0) {
			return usagef("--ppm %v: want a number", ppm)
		}
		d, err := loadDevice(path)
		if err != nil {
			return err
		}
		if d.C100 != nil {
			if err := refuseFlags(cmd, "a c100 has no clock: use --presses", "offset", "ppm", "at"); err != nil {
				return err
			}
			if err := requireFlags(cmd, "presses"); err != nil {
				return err
			}
		} else {
			if err := refuseFlags(cmd, "a time token has no counter: use --offset or --ppm", "presses"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("offset") && !cmd.Flags().Changed("ppm") {
				return usagef("drift needs --offset or --ppm for a time token")
			}
			if cmd.Flags().Changed("offset") {
				if offset < -token.MaxClockOffset || offset > token.MaxClockOffset {
					return usagef("--offset %v: out of range: a clock can be at most %d s (about 31 years) off", offset, int64(token.MaxClockOffset/time.Second))
				}
				if err := checkMoment(now.Add(offset)); err != nil {
					return usagef("--offset %v: at %s the device clock would read %w", offset, now.Format(time.RFC3339), err)
				}
			}
		}
		var msg string
		err = safefile.Update(path, state.MaxSize, func(old []byte) ([]byte, error) {
			d, err := decodeDevice(path, old)
			if err != nil {
				return nil, err
			}
			switch {
			case d.C100 != nil:
				before := d.C100.Counter()
				if err := d.C100.Skip(presses); err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				msg = fmt.Sprintf("%s: %s counter %d -> %d (%d presses never submitted)", path, describe(d), before, d.C100.Counter(), presses)
			default:
				cfg := d.C200.Config()
				cfg.Offset = d.C200.Clock(now).Sub(now) // the error so far
				if cmd.Flags().Changed("offset") {
					cfg.Offset = offset
				}
				if cmd.Flags().Changed("ppm") {
					cfg.PPM = ppm
				}
				cfg.SyncedAt = now
				c, err := token.NewC200(cfg)
				if err != nil {
					return nil, usageError{fmt.Errorf("%s: %w", path, err)}
				}
				d.C200 = c
				msg = fmt.Sprintf("%s: %s clock %s at %s, rate %+g ppm", path, describe(d), clockError(cfg.Offset), now.Format(time.RFC3339), cfg.PPM)
			}
			return state.Marshal(d)
		})
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), msg)
		return nil
	}
	return cmd
}

// clockError describes a clock offset in words.
func clockError(d time.Duration) string {
	switch {
	case d > 0:
		return d.String() + " ahead"
	case d < 0:
		return (-d).String() + " behind"
	}
	return "exact"
}
