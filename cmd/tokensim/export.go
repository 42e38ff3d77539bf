package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/otpauth"
	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/token/state"
)

func newExportCmd(e env) *cobra.Command {
	var (
		format, out, issuer, manufacturer string
		force                             bool
		prot                              protection
	)
	cmd := &cobra.Command{
		Use:   "export FILE --format pskc|uri [--out OUT]",
		Short: "Write a token's seed as a PSKC file or an otpauth:// URI",
		Long: `Write the seed of the token in FILE, with its current counter, as an RFC
6030 PSKC file (plain, or encrypted with --password or --key) or as an
otpauth:// key URI (with counter= for a C100, period= for time tokens), to
standard output or to --out (created 0600).

The output holds the secret: exporting is revealing it.`,
		Example: `  tokensim export t.json --format uri
  tokensim export t.json --format pskc --password staging --out t.pskc`,
		Args: args(1, "a state FILE"),
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "pskc", "pskc or uri")
	f.StringVar(&out, "out", "", "write to this file instead of standard output")
	f.BoolVar(&force, "force", false, "replace --out if it exists")
	f.StringVar(&issuer, "issuer", "otplab", "uri: the issuer shown by authenticator apps")
	f.StringVar(&manufacturer, "manufacturer", "", "pskc: DeviceInfo/Manufacturer (default the device's, else otplab)")
	prot.flags(cmd)

	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		path := a[0]
		var (
			b   []byte
			err error
		)
		switch format {
		case "pskc":
			if err := refuseFlags(cmd, "it is for --format uri", "issuer"); err != nil {
				return err
			}
		case "uri":
			if err := refuseFlags(cmd, "it is for --format pskc", "password", "key", "iterations", "manufacturer"); err != nil {
				return err
			}
		default:
			return usagef("--format %q: want pskc or uri", format)
		}
		opts, _, err := prot.options(cmd)
		if err != nil {
			return err
		}
		opts.Rand = e.rand
		d, err := loadDevice(path)
		if err != nil {
			return err
		}
		if format == "uri" {
			b, err = exportURI(d, issuer)
		} else {
			b, err = exportPSKC(d, manufacturer, opts)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if out == "" {
			_, err = cmd.OutOrStdout().Write(b)
			return err
		}
		return safefile.Write(out, b, force)
	}
	return cmd
}

func exportURI(d *state.Device, issuer string) ([]byte, error) {
	k := d.Key()
	key := otpauth.Key{Issuer: issuer, Account: string(d.Serial()), Secret: k.Secret(), Algorithm: k.Algorithm(), Digits: k.Digits()}
	if d.C100 != nil {
		if d.C100.Exhausted() {
			return nil, fmt.Errorf("%w: the device is exhausted", token.ErrCounterExhausted)
		}
		key.Type, key.Counter = otpauth.HOTP, d.C100.Counter()
	} else {
		cfg := d.C200.Config()
		if cfg.T0 != 0 {
			return nil, fmt.Errorf("%w: t0 is %d, and otpauth URIs cannot carry a t0", otpauth.ErrURI, cfg.T0)
		}
		key.Type, key.Period = otpauth.TOTP, cfg.Period
	}
	u, err := key.URI()
	if err != nil {
		return nil, err
	}
	return []byte(u + "\n"), nil
}

func exportPSKC(d *state.Device, manufacturer string, opts pskc.EncodeOptions) ([]byte, error) {
	if manufacturer == "" {
		manufacturer = d.Manufacturer
	}
	if manufacturer == "" {
		manufacturer = "otplab"
	}
	var kp pskc.KeyPackage
	if d.C100 != nil {
		if d.C100.Exhausted() {
			return nil, fmt.Errorf("%w: the device is exhausted", token.ErrCounterExhausted)
		}
		kp = pskc.FromC100(d.C100.Config(), manufacturer)
	} else {
		kp = pskc.FromC200(d.C200.Config(), manufacturer)
	}
	var buf bytes.Buffer
	if err := pskc.Write(&buf, opts, []pskc.KeyPackage{kp}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
