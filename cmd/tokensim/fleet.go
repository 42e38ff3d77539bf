package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/drift"
	"github.com/otplab/otplab/token/fleet"
	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/token/state"
)

// protection holds the flags that protect a PSKC file being written.
type protection struct {
	password, key string
	iterations    int
}

func (p *protection) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.password, "password", "", "encrypt the secrets under a key derived from this password (PBKDF2, derived once per file)")
	f.StringVar(&p.key, "key", "", "encrypt the secrets under this pre-shared AES key (hex, 16, 24 or 32 bytes)")
	f.IntVar(&p.iterations, "iterations", pskc.DefaultIterations, "PBKDF2 iteration count for --password")
}

func (p *protection) options(cmd *cobra.Command) (pskc.EncodeOptions, string, error) {
	if p.password != "" && p.key != "" {
		return pskc.EncodeOptions{}, "", usagef("give --password or --key, not both")
	}
	if cmd.Flags().Changed("iterations") && p.password == "" {
		return pskc.EncodeOptions{}, "", usagef("--iterations applies to --password only")
	}
	if p.iterations < 1 || p.iterations > 10_000_000 {
		return pskc.EncodeOptions{}, "", usagef("--iterations %d: want 1 to 10000000", p.iterations)
	}
	key, err := parseKey(p.key)
	if err != nil {
		return pskc.EncodeOptions{}, "", err
	}
	switch {
	case key != nil:
		return pskc.EncodeOptions{Key: key}, "secrets encrypted under the pre-shared key", nil
	case p.password != "":
		return pskc.EncodeOptions{Password: p.password, Iterations: p.iterations},
			fmt.Sprintf("secrets encrypted under the password (PBKDF2-HMAC-SHA1, %d iterations)", p.iterations), nil
	}
	return pskc.EncodeOptions{}, "plain secrets", nil
}

func newFleetCmd(e env) *cobra.Command {
	var (
		o struct {
			model, driftSpec, seed, pskcOut, manifest, dir, alg, firstSerial, manufacturer string
			count, digits                                                                  int
			counter                                                                        uint64
			period                                                                         int64
			force                                                                          bool
		}
		prot protection
	)
	cmd := &cobra.Command{
		Use:   "fleet --model c100 --count N --drift SPEC --seed S --pskc OUT --manifest OUT.csv",
		Short: "Make N devices with known drift: a PSKC file for the server and a manifest",
		Long: `Make a fleet of N devices with consecutive serials and secrets drawn from
--seed (the same seed and flags give the same fleet), each drifted by an
amount drawn from the drift plan.

The PSKC file holds what the server should import: for C100s, each key with
the counter where the server believes it is (--counter, default 0); for time
tokens, each key with T0 0 and the period. The manifest (CSV) holds, per
device, what the server does not know:

  c100:        serial,server_counter,counter,drift,next_code,next_code_2
  c200, app:   serial,server_step,device_step,drift_seconds,next_code,next_code_2

where counter is the device's true counter (server_counter + drift) and the
next two codes are those the next two presses show (for time tokens: the code
the device shows at --at and the one after). With --dir, each device is also
saved as DIR/SERIAL.json for press, codes and the other commands.

Drift plans: none; fixed:N (every device N); uniform:A-B (each a whole number
from A to B, equally likely; uniform:A..B for negative bounds); geometric:P
(each the number of failures before the first success of a trial with
probability P: most are 0, the mean is (1-P)/P, so geometric:0.1 averages 9).
For a C100 the drift counts presses never submitted (not negative); for time
tokens it is the clock offset in seconds (negative: behind).

Every file is written to a temporary name and appears only when the whole
fleet is done; on error nothing is left behind.`,
		Example: `  tokensim fleet --model c100 --count 1000 --drift uniform:0-50 --seed qa-1 \
      --pskc fleet.pskc --manifest fleet.csv
  tokensim fleet --model c100 --count 1000 --drift geometric:0.1 --seed qa-2 \
      --pskc fleet.pskc --password staging --manifest fleet.csv --dir devices/`,
		Args: args(0, ""),
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "c100", "device model: c100, c200 or app")
	f.IntVar(&o.count, "count", 0, "number of devices (required)")
	f.StringVar(&o.driftSpec, "drift", "none", "drift plan: none, fixed:N, uniform:A-B, uniform:A..B or geometric:P")
	f.StringVar(&o.seed, "seed", "", "seed for serials, secrets and drifts (default random: not reproducible)")
	f.StringVar(&o.pskcOut, "pskc", "", "PSKC file to write for the server (required)")
	f.StringVar(&o.manifest, "manifest", "", "CSV manifest to write (required)")
	f.StringVar(&o.dir, "dir", "", "also write one state file per device into this directory")
	f.StringVar(&o.alg, "algorithm", "SHA1", "HMAC algorithm: SHA1, SHA256 or SHA512")
	f.IntVar(&o.digits, "digits", 6, "code length, 6 to 10")
	f.Uint64Var(&o.counter, "counter", 0, "c100: the counter the server believes each device is at")
	f.Int64Var(&o.period, "period", 0, "time tokens: time step in seconds (default 60 for c200, 30 for app)")
	f.StringVar(&o.firstSerial, "first-serial", "", "serial of the first device (default drawn from the seed)")
	f.StringVar(&o.manufacturer, "manufacturer", "otplab", "DeviceInfo/Manufacturer in the PSKC file")
	f.BoolVar(&o.force, "force", false, "replace existing files")
	prot.flags(cmd)
	at := atFlag(cmd, e, "time tokens: the moment of the manifest's codes and of the clock setting")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "count", "pskc", "manifest"); err != nil {
			return err
		}
		model, err := token.ParseModel(o.model)
		if err != nil {
			return usageError{fmt.Errorf("--model: %w", err)}
		}
		if model == token.ModelC100 {
			err = refuseFlags(cmd, "a c100 has no clock", "period", "at")
		} else {
			err = refuseFlags(cmd, "a time token has no counter", "counter")
		}
		if err != nil {
			return err
		}
		alg, err := token.ParseAlgorithm(o.alg)
		if err != nil {
			return usageError{fmt.Errorf("--algorithm: %w", err)}
		}
		spec, err := drift.Parse(o.driftSpec)
		if err != nil {
			return usageError{fmt.Errorf("--drift: %w", err)}
		}
		encOpts, protDesc, err := prot.options(cmd)
		if err != nil {
			return err
		}
		now, err := at()
		if err != nil {
			return err
		}
		seed := []byte(o.seed)
		if o.seed == "" {
			seed = make([]byte, 32)
			if _, err := io.ReadFull(e.rand, seed); err != nil {
				return fmt.Errorf("random seed: %w", err)
			}
		}
		gen, err := fleet.New(fleet.Plan{
			Model: model, Count: o.count, Seed: seed, Drift: spec, Algorithm: alg, Digits: o.digits,
			Counter: o.counter, Period: o.period, FirstSerial: token.Serial(o.firstSerial), At: now,
		})
		if err != nil {
			return usageError{err}
		}
		encOpts.Rand = e.rand
		w := fleetWriter{gen: gen, manufacturer: o.manufacturer, at: now}
		if err := w.write(o.pskcOut, o.manifest, o.dir, o.force, encOpts); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "fleet: %d %s devices, drift %s\n", o.count, model, spec)
		fmt.Fprintf(out, "  %s: %s\n", o.pskcOut, protDesc)
		fmt.Fprintf(out, "  %s: manifest\n", o.manifest)
		if o.dir != "" {
			fmt.Fprintf(out, "  %s: %d state files\n", o.dir, o.count)
		}
		return nil
	}
	return cmd
}

// fleetWriter writes a fleet's PSKC file, manifest and state files in one
// pass over the generator.
type fleetWriter struct {
	gen          *fleet.Generator
	manufacturer string
	at           time.Time
}

func (fw *fleetWriter) write(pskcPath, manifestPath, dirPath string, force bool, opts pskc.EncodeOptions) error {
	pf, err := safefile.Create(pskcPath, force)
	if err != nil {
		return err
	}
	defer pf.Abort()
	mf, err := safefile.Create(manifestPath, force)
	if err != nil {
		return err
	}
	defer mf.Abort()
	var dir *safefile.Dir
	if dirPath != "" {
		if dir, err = safefile.NewDir(dirPath); err != nil {
			return err
		}
		defer dir.Abort()
	}
	enc, err := pskc.NewEncoder(pf, opts)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", pskcPath, err)}
	}
	man := bufio.NewWriterSize(mf, 256<<10)
	plan := fw.gen.Plan()
	if plan.Model == token.ModelC100 {
		man.WriteString("serial,server_counter,counter,drift,next_code,next_code_2\n")
	} else {
		man.WriteString("serial,server_step,device_step,drift_seconds,next_code,next_code_2\n")
	}
	row := make([]byte, 0, 128)
	for m := range fw.gen.Members() {
		var dev state.Device
		var kp pskc.KeyPackage
		row = append(row[:0], m.Serial()...)
		row = append(row, ',')
		if m.C100 != nil {
			d, err := token.NewC100(*m.C100)
			if err != nil {
				return err
			}
			dev.C100 = d
			server := *m.C100
			server.Counter = plan.Counter
			kp = pskc.FromC100(server, fw.manufacturer)
			c := m.C100.Counter
			row = strconv.AppendUint(row, plan.Counter, 10)
			row = append(row, ',')
			row = strconv.AppendUint(row, c, 10)
			row = append(row, ',')
			row = strconv.AppendInt(row, m.Drift, 10)
			row = append(row, ',')
			row = d.Key().AppendHOTP(row, c)
			row = append(row, ',')
			row = d.Key().AppendHOTP(row, c+1)
		} else {
			d, err := token.NewC200(*m.C200)
			if err != nil {
				return err
			}
			dev.C200 = d
			kp = pskc.FromC200(*m.C200, fw.manufacturer)
			step, ok := d.Step(fw.at)
			serverStep, _ := token.Step(fw.at.Unix(), 0, plan.Period)
			if !ok {
				return fmt.Errorf("%s: the clock of %s is before t0 at %s", pskcPath, m.Serial(), fw.at.Format(time.RFC3339))
			}
			row = strconv.AppendUint(row, serverStep, 10)
			row = append(row, ',')
			row = strconv.AppendUint(row, step, 10)
			row = append(row, ',')
			row = strconv.AppendInt(row, m.Drift, 10)
			row = append(row, ',')
			row = d.Key().AppendHOTP(row, step)
			row = append(row, ',')
			row = d.Key().AppendHOTP(row, step+1)
		}
		row = append(row, '\n')
		if err := enc.Encode(&kp); err != nil {
			return fmt.Errorf("%s: %w", pskcPath, err)
		}
		if _, err := man.Write(row); err != nil {
			return fmt.Errorf("%s: %w", manifestPath, err)
		}
		if dir != nil {
			b, err := state.Marshal(&dev)
			if err != nil {
				return err
			}
			if err := dir.Write(string(m.Serial())+".json", b); err != nil {
				return err
			}
		}
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("%s: %w", pskcPath, err)
	}
	if err := man.Flush(); err != nil {
		return fmt.Errorf("%s: %w", manifestPath, err)
	}
	if dir != nil {
		if err := dir.Commit(force); err != nil {
			return err
		}
	}
	if err := pf.Commit(); err != nil {
		return err
	}
	return mf.Commit()
}
