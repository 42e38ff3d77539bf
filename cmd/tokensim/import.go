package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/token/state"
)

func newImportCmd(e env) *cobra.Command {
	var (
		password, key, dir string
		force              bool
		maxSize            int64
	)
	cmd := &cobra.Command{
		Use:   "import FILE.pskc [--password P | --key HEX] --dir DIR",
		Short: "Read an RFC 6030 PSKC seed file into one state file per device",
		Long: `Read a PSKC seed file and save each key as a simulated device in
DIR/SERIAL.json: HOTP keys become C100s (counter from the file), TOTP keys
become C200s (time step from TimeInterval, T0 from Time, clock set at --at).

Encrypted files need --password (PBKDF2) or --key (the pre-shared AES key in
hex; for a password file also the derived key). ValueMACs are verified. The
device serial is the file's SerialNo (or the Key Id): 13 digits are taken as
they are; a shorter serial from another vendor than Feitian, such as the RFC
6030 examples' 987654321, is mapped to the model's digit, zeros and the
vendor's digits (1000987654321) and kept as the vendor serial.

Nothing is written unless the whole file reads correctly; existing state
files are not replaced without --force.`,
		Example: `  tokensim import vendor.pskc --dir devices/
  tokensim import figure7.pskcxml --password qwerty --dir devices/`,
		Args: args(1, "a PSKC FILE"),
	}
	f := cmd.Flags()
	f.StringVar(&password, "password", "", "password of a PBKDF2-protected file")
	f.StringVar(&key, "key", "", "pre-shared AES key of an encrypted file (hex)")
	f.StringVar(&dir, "dir", "", "directory for the state files (required)")
	f.BoolVar(&force, "force", false, "replace existing state files")
	f.Int64Var(&maxSize, "max-size", pskc.DefaultMaxBytes, "refuse PSKC files larger than this many bytes")
	at := atFlag(cmd, e, "time tokens: the moment their clocks are set")

	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		path := a[0]
		if err := requireFlags(cmd, "dir"); err != nil {
			return err
		}
		if password != "" && key != "" {
			return usagef("give --password or --key, not both")
		}
		if maxSize < 1 {
			return usagef("--max-size %d: want a positive number of bytes", maxSize)
		}
		k, err := parseKey(key)
		if err != nil {
			return err
		}
		now, err := at()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		staged, err := safefile.NewDir(dir)
		if err != nil {
			return err
		}
		defer staged.Abort()
		dec := pskc.NewDecoder(bufio.NewReaderSize(in, 64<<10), pskc.Options{Password: password, Key: k, MaxBytes: maxSize})
		seen := map[token.Serial]bool{}
		var report strings.Builder
		for n := 1; ; n++ {
			kp, err := dec.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			d, err := importDevice(&kp, now)
			if err != nil {
				return fmt.Errorf("%s: key package %d: %w", path, n, err)
			}
			s := d.Serial()
			if seen[s] {
				return fmt.Errorf("%s: key package %d: serial %s: %w", path, n, s, errDuplicate)
			}
			seen[s] = true
			warnWeak(cmd.ErrOrStderr(), fmt.Sprintf("%s: key package %d (serial %s)", path, n, s), d.Key().Secret())
			b, err := state.Marshal(d)
			if err != nil {
				return err
			}
			if err := staged.Write(string(s)+".json", b); err != nil {
				return err
			}
			fmt.Fprintf(&report, "%s %s %s", filepath.Join(dir, string(s)+".json"), d.Model(), s)
			if d.VendorSerial != "" {
				fmt.Fprintf(&report, " (vendor serial %s)", d.VendorSerial)
			}
			report.WriteByte('\n')
		}
		if len(seen) == 0 {
			return fmt.Errorf("%s: %w: no key packages", path, pskc.ErrFormat)
		}
		if err := staged.Commit(force); err != nil {
			return err
		}
		io.WriteString(cmd.OutOrStdout(), report.String())
		return nil
	}
	return cmd
}

// importDevice makes the simulated device for a key package.
func importDevice(kp *pskc.KeyPackage, now time.Time) (*state.Device, error) {
	_, mapped, err := kp.DeviceSerial(kp.DeviceModel())
	if err != nil {
		return nil, err
	}
	d := &state.Device{Manufacturer: kp.Manufacturer}
	if mapped {
		d.VendorSerial = kp.SerialNo
		if d.VendorSerial == "" {
			d.VendorSerial = kp.KeyID
		}
	}
	if kp.Kind == pskc.HOTP {
		cfg, err := kp.C100Config()
		if err != nil {
			return nil, err
		}
		if d.C100, err = token.NewC100(cfg); err != nil {
			return nil, err
		}
		return d, nil
	}
	cfg, err := kp.C200Config()
	if err != nil {
		return nil, err
	}
	cfg.SyncedAt = now
	if d.C200, err = token.NewC200(cfg); err != nil {
		return nil, err
	}
	return d, nil
}
