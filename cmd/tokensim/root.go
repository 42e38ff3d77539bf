package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

// env is what commands take from the outside world.
type env struct {
	// now is read once per command, for the default of --at.
	now func() time.Time
	// rand supplies random secrets, serials, seeds, IVs and salts.
	rand io.Reader
	// hold, if set, is how long press holds the state file's lock before
	// writing: tests use it to make concurrent presses overlap.
	hold time.Duration
}

func newRoot(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tokensim",
		Short: "Simulated OTP tokens for QA: devices, presses, code streams, drifted fleets, PSKC seed files",
		Long: `tokensim makes simulated OTP tokens and keeps each in a state file (JSON,
created 0600): C100 event tokens with a button and a display, C200 time tokens
and phone-app profiles. It presses buttons, streams codes, makes devices drift,
builds fleets with known drift for a server to import, and reads and writes
RFC 6030 PSKC seed files.

Times (--at, --from on time tokens) are RFC 3339 ("2026-11-23T09:00:00Z") or
Unix seconds ("1700000000"), from 1970 to 9999; the default is now. Secrets
under 128 bits (RFC 4226 R6) are taken with a warning.

Exit codes: 0 success, 1 system failure (I/O, locks), 2 usage error or bad
input (a wrong flag, a file that is not valid, a wrong password or key).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see tokensim help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Help()
			return usagef("missing command")
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newNewCmd(e), newPressCmd(e), newCodesCmd(e), newDriftCmd(e), newShowCmd(e),
		newFleetCmd(e), newImportCmd(e), newExportCmd(e), newPanelCmd(e))
	return root
}

// args returns a cobra argument check for exactly n arguments that fails
// with a usage error naming what is expected.
func args(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			if n == 0 {
				return usagef("%s takes no arguments", cmd.Name())
			}
			return usagef("%s needs %s", cmd.Name(), what)
		}
		return nil
	}
}

// requireFlags fails with a usage error unless every named flag was given.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			return usagef("%s needs --%s", cmd.Name(), n)
		}
	}
	return nil
}

// refuseFlags fails with a usage error if any named flag was given; why
// says why it does not apply.
func refuseFlags(cmd *cobra.Command, why string, names ...string) error {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return usagef("--%s does not apply: %s", n, why)
		}
	}
	return nil
}

// Bounds of the moments tokensim takes: Unix time 0 (a TOTP clock before
// T0 = 0 shows nothing) to the last second of year 9999 (the last a state
// file can hold, RFC 3339 having four-digit years).
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// parseTime reads a moment: RFC 3339 with or without fractions, or Unix
// seconds, from 1970 to 9999.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	if n, err := strconv.ParseInt(strings.TrimPrefix(s, "@"), 10, 64); err == nil {
		if n < minTime.Unix() || n > maxTime.Unix() {
			return time.Time{}, fmt.Errorf("time %q: out of range (Unix seconds 0 to %d, years 1970 to 9999)", s, maxTime.Unix())
		}
		t = time.Unix(n, 0).UTC()
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-11-23T09:00:00Z) or Unix seconds", s)
	}
	if err := checkMoment(t); err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return t, nil
}

// checkMoment fails for a moment outside the years 1970 to 9999 (UTC).
func checkMoment(t time.Time) error {
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("%s is out of range (years 1970 to 9999)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// weakBits is the secret size under which tokensim warns: RFC 4226
// requirement R6 asks for shared secrets of at least 128 bits.
const weakBits = 128

// warnWeak prints a warning if secret is shorter than weakBits.
func warnWeak(w io.Writer, what string, secret []byte) {
	if n := 8 * len(secret); n < weakBits {
		fmt.Fprintf(w, "tokensim: warning: %s: the secret has %d bits; RFC 4226 (R6) asks for at least %d\n", what, n, weakBits)
	}
}

// atFlag adds --at to cmd and returns a function that resolves it: the
// parsed flag, or the clock read once.
func atFlag(cmd *cobra.Command, e env, what string) func() (time.Time, error) {
	var s string
	cmd.Flags().StringVar(&s, "at", "", what+" (RFC 3339 or Unix seconds; default now)")
	return func() (time.Time, error) {
		if s == "" {
			return e.now().UTC(), nil
		}
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, usageError{fmt.Errorf("--at: %w", err)}
		}
		return t, nil
	}
}

// loadDevice reads and checks a state file.
func loadDevice(path string) (*state.Device, error) {
	b, err := safefile.Read(path, state.MaxSize)
	if err != nil {
		return nil, err
	}
	return decodeDevice(path, b)
}

func decodeDevice(path string, b []byte) (*state.Device, error) {
	d, err := state.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// seededRand returns a deterministic random source derived from a seed
// string, for a purpose, or one seeded from the environment's source.
func seededRand(e env, seed, purpose string) (*rand.ChaCha8, error) {
	var key [32]byte
	if seed != "" {
		key = sha256.Sum256([]byte("otplab tokensim v1\x00" + purpose + "\x00" + seed))
	} else if _, err := io.ReadFull(e.rand, key[:]); err != nil {
		return nil, fmt.Errorf("random source: %w", err)
	}
	return rand.NewChaCha8(key), nil
}

// parseKey reads a hex AES key given on the command line, without echoing
// it.
func parseKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	k, err := token.ParseHex(s)
	if err != nil {
		return nil, usageError{fmt.Errorf("--key: %w", err)}
	}
	if n := len(k); n != 16 && n != 24 && n != 32 {
		return nil, usagef("--key: %d bytes, want 16, 24 or 32 (32, 48 or 64 hex digits)", n)
	}
	return k, nil
}

// describe names a device for messages: model and serial.
func describe(d *state.Device) string {
	return fmt.Sprintf("%s %s", d.Model(), d.Serial())
}
