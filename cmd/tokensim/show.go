package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

func newShowCmd(e env) *cobra.Command {
	var reveal bool
	cmd := &cobra.Command{
		Use:   "show FILE [--reveal-secret] [--at TIME]",
		Short: "Describe a token: model, serial, counter or clock, display",
		Long: `Describe the token in FILE as it is at --at: model, serial, algorithm,
digits, then the counter and what the display shows (C100) or the device clock
and the code it shows (time tokens). The secret is shown only with
--reveal-secret.`,
		Args: args(1, "a state FILE"),
	}
	cmd.Flags().BoolVar(&reveal, "reveal-secret", false, "also print the secret (hex and base32)")
	at := atFlag(cmd, e, "moment to describe")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		now, err := at()
		if err != nil {
			return err
		}
		d, err := loadDevice(a[0])
		if err != nil {
			return err
		}
		show(cmd.OutOrStdout(), a[0], d, now, reveal)
		return nil
	}
	return cmd
}

func show(w io.Writer, path string, d *state.Device, now time.Time, reveal bool) {
	line := func(k, format string, args ...any) {
		fmt.Fprintf(w, "%-17s %s\n", k+":", fmt.Sprintf(format, args...))
	}
	k := d.Key()
	line("file", "%s", path)
	line("model", "%s", d.Model())
	line("serial", "%s", d.Serial())
	if d.VendorSerial != "" {
		line("vendor serial", "%s", d.VendorSerial)
	}
	if d.Manufacturer != "" {
		line("manufacturer", "%s", d.Manufacturer)
	}
	line("algorithm", "%s", k.Algorithm())
	line("digits", "%d", k.Digits())
	if c := d.C100; c != nil {
		cfg := c.Config()
		switch {
		case c.Exhausted():
			line("counter", "exhausted (the last code was shown)")
		default:
			line("counter", "%d (next press shows %s)", c.Counter(), k.HOTP(c.Counter()))
		}
		if p, on := c.Displayed(now); on {
			line("display", "on until %s, showing %s (counter %d)", p.Until.UTC().Format(time.RFC3339), p.Code, p.Counter)
		} else {
			line("display", "off")
		}
		line("display time", "%s", cfg.Display)
		if cfg.AdvanceWhileOn {
			line("press while on", "shows the next code")
		} else {
			line("press while on", "shows the same code")
		}
	} else {
		c := d.C200
		cfg := c.Config()
		line("period", "%d s", cfg.Period)
		line("t0", "%d", cfg.T0)
		line("at", "%s", now.Format(time.RFC3339))
		clock := c.Clock(now)
		line("device clock", "%s (%s)", clock.UTC().Format(time.RFC3339Nano), clockError(clock.Sub(now)))
		line("clock rate", "%+g ppm since %s", cfg.PPM, cfg.SyncedAt.UTC().Format(time.RFC3339))
		if code, err := c.Code(now); err == nil {
			line("display", "%s (step %d)", code.Code, code.Counter)
		} else {
			line("display", "nothing: the device clock is before t0")
		}
		if s, ok := token.Step(now.Unix(), cfg.T0, cfg.Period); ok {
			line("true step", "%d", s)
		}
	}
	if reveal {
		sec := k.Secret()
		line("secret (hex)", "%s", hex.EncodeToString(sec))
		line("secret (base32)", "%s", token.EncodeBase32(sec))
	} else {
		line("secret", "hidden (--reveal-secret shows it)")
	}
}
