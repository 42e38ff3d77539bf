package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

func newNewCmd(e env) *cobra.Command {
	var o struct {
		model, out, serial, secret, alg, seed string
		digits                                int
		counter                               uint64
		period, t0                            int64
		display                               time.Duration
		advance, force                        bool
	}
	cmd := &cobra.Command{
		Use:   "new --model c100|c200|app --out FILE",
		Short: "Make a simulated token and save it to a new state file",
		Long: `Make a simulated token and save it to a new state file (created 0600).

The serial and the secret are random (from the system's cryptographic source)
unless given; with --seed they are drawn from the seed instead, so the same
seed makes the same token. The file is not replaced unless --force is given.`,
		Example: `  tokensim new --model c100 --out t.json
  tokensim new --model c100 --secret 3132333435363738393031323334353637383930 --out t.json
  tokensim new --model app --algorithm SHA256 --digits 8 --out phone.json`,
		Args: args(0, ""),
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "c100", "device model: c100 (event), c200 (time, 60 s) or app (time, 30 s)")
	f.StringVar(&o.out, "out", "", "state file to create (required)")
	f.StringVar(&o.serial, "serial", "", "13-digit serial (c100 serials start with 1, c200 and app with 2; default random)")
	f.StringVar(&o.secret, "secret", "", "secret in hex (default random, as long as the algorithm's digest)")
	f.StringVar(&o.alg, "algorithm", "SHA1", "HMAC algorithm: SHA1, SHA256 or SHA512")
	f.IntVar(&o.digits, "digits", 6, "code length, 6 to 10")
	f.Uint64Var(&o.counter, "counter", 0, "c100: counter of the next press")
	f.Int64Var(&o.period, "period", 0, "time tokens: time step in seconds (default 60 for c200, 30 for app)")
	f.Int64Var(&o.t0, "t0", 0, "time tokens: Unix second at which step 0 starts")
	f.DurationVar(&o.display, "display", token.DefaultDisplay, "c100: how long a code stays on the display")
	f.BoolVar(&o.advance, "advance-while-on", false, "c100: a press while the display is on shows the next code (default: the same code)")
	f.StringVar(&o.seed, "seed", "", "draw the serial and secret from this seed (reproducible; keep it as secret as the secret)")
	f.BoolVar(&o.force, "force", false, "replace an existing file")
	at := atFlag(cmd, e, "time tokens: the moment the clock was set")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "out"); err != nil {
			return err
		}
		model, err := token.ParseModel(o.model)
		if err != nil {
			return usageError{fmt.Errorf("--model: %w", err)}
		}
		if model == token.ModelC100 {
			err = refuseFlags(cmd, "a c100 has no clock", "period", "t0", "at")
		} else {
			err = refuseFlags(cmd, "a time token has no counter or display", "counter", "display", "advance-while-on")
		}
		if err != nil {
			return err
		}
		alg, err := token.ParseAlgorithm(o.alg)
		if err != nil {
			return usageError{fmt.Errorf("--algorithm: %w", err)}
		}
		now, err := at()
		if err != nil {
			return err
		}
		src, err := seededRand(e, o.seed, "new")
		if err != nil {
			return err
		}
		serial, secret, err := serialAndSecret(e, src, o.seed != "", model, alg, o.serial, o.secret)
		if err != nil {
			return err
		}
		d := &state.Device{}
		if model == token.ModelC100 {
			if o.display <= 0 {
				return usagef("--display %v: must be positive", o.display)
			}
			d.C100, err = token.NewC100(token.C100Config{
				Serial: serial, Secret: secret, Algorithm: alg, Digits: o.digits, Counter: o.counter,
				Display: o.display, AdvanceWhileOn: o.advance,
			})
		} else {
			d.C200, err = token.NewC200(token.C200Config{
				Model: model, Serial: serial, Secret: secret, Algorithm: alg, Digits: o.digits,
				Period: o.period, T0: o.t0, SyncedAt: now,
			})
		}
		if err != nil {
			return usageError{err}
		}
		warnWeak(cmd.ErrOrStderr(), o.out, d.Key().Secret())
		b, err := state.Marshal(d)
		if err != nil {
			return err
		}
		if o.force {
			err = safefile.Replace(o.out, b)
		} else {
			err = safefile.Write(o.out, b, false)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: new %s\n", o.out, describe(d))
		return nil
	}
	return cmd
}

// serialAndSecret returns the given serial and secret, or draws them:
// from the seeded source when seeded, else the serial from src (itself
// seeded from the system) and the secret straight from the system source.
func serialAndSecret(e env, src *rand.ChaCha8, seeded bool, model token.Model, alg token.Algorithm, serialFlag, secretFlag string) (token.Serial, []byte, error) {
	r := rand.New(src)
	serial := token.NewSerial(model, r)
	if serialFlag != "" {
		s, err := token.ParseSerial(serialFlag, model)
		if err != nil {
			return "", nil, usageError{fmt.Errorf("--serial: %w", err)}
		}
		serial = s
	}
	if secretFlag != "" {
		s, err := token.ParseHex(secretFlag)
		if err != nil {
			return "", nil, usageError{fmt.Errorf("--secret: %w", err)}
		}
		return serial, s, nil
	}
	secret := make([]byte, alg.Size())
	var from io.Reader = e.rand
	if seeded {
		from = src
	}
	if _, err := io.ReadFull(from, secret); err != nil {
		return "", nil, fmt.Errorf("random secret: %w", err)
	}
	return serial, secret, nil
}
