package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// verifierHelp describes the values of --verifier.
const verifierHelp = `the verifier under test: "reference" (the built-in reference verifier),
"exec:CMD ARGS..." (a subprocess speaking protocol v1 on stdin/stdout; the
command is split into words like a shell would, with '...' and "..." quoting,
but no shell runs) or "http://HOST:PORT/PREFIX" (protocol v1 over HTTP)`

// clockHelp describes the values of --clock.
const clockHelp = `exec verifiers that read their own clock (profile clock "wall"): "fake" runs
the verifier under libfaketime and sets its clock to each request's time, so
every time-dependent case runs; "file" only names the clock file in
OTPLAB_FAKETIME_FILE, for a verifier that reads it itself (a Go program, which
libfaketime cannot reach); "wall" leaves its clock alone, and the time cases
are judged on real time (codes of the real current step, waits where a case must
see time pass, bounded by --max-wait); "auto" is "fake" when the profile (--profile, or else the one the
verifier claims) says clock "wall", "wall" otherwise`

// clockControl turns --clock into the exec client's clock control, given
// the clock of the --profile file ("" without one).
func clockControl(flag, profileClock string) (wire.ClockControl, error) {
	switch flag {
	case "auto":
		switch profileClock {
		case harness.ClockWall:
			return wire.ClockFake, nil
		case "":
			return wire.ClockAuto, nil
		}
		return wire.ClockLeave, nil
	case "fake":
		return wire.ClockFake, nil
	case "file":
		return wire.ClockFile, nil
	case "wall":
		return wire.ClockLeave, nil
	}
	return "", usagef("--clock %q: want auto, fake, file or wall", flag)
}

// verifierSpec is a --verifier value, parsed.
type verifierSpec struct {
	kind string   // "reference", "exec" or "http"
	argv []string // exec: the command
	url  string   // http: the base URL
}

// parseVerifier reads a --verifier value without touching the verifier.
// Every error is a usage error that names the value.
func parseVerifier(spec string) (verifierSpec, error) {
	switch {
	case spec == "reference":
		return verifierSpec{kind: "reference"}, nil
	case strings.HasPrefix(spec, "exec:"):
		argv, err := splitWords(strings.TrimPrefix(spec, "exec:"))
		if err != nil {
			return verifierSpec{}, usagef("--verifier %q: %w", spec, err)
		}
		if len(argv) == 0 || argv[0] == "" {
			return verifierSpec{}, usagef("--verifier %q: no command after exec:", spec)
		}
		return verifierSpec{kind: "exec", argv: argv}, nil
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		if err := wire.CheckURL(spec); err != nil {
			return verifierSpec{}, usagef("--verifier: %w", err)
		}
		return verifierSpec{kind: "http", url: spec}, nil
	default:
		return verifierSpec{}, usagef("--verifier %q: want reference, exec:CMD ARGS... or http://HOST:PORT/PREFIX", spec)
	}
}

// verifierFlags are the flags, besides --verifier, that say how to reach
// a verifier.
type verifierFlags struct {
	clock    string // --clock: auto, fake, file or wall
	timeout  time.Duration
	start    time.Duration // --start-timeout: an exec verifier's hello
	ca       string        // a PEM file of CA certificates for an https verifier
	insecure bool          // do not check an https verifier's certificate
}

func (v *verifierFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&v.timeout, "timeout", harness.DefaultTimeout, "how long to wait for each reply of the verifier")
	fl.DurationVar(&v.start, "start-timeout", wire.DefaultStartTimeout, "exec verifiers: how long a started verifier gets to answer hello (start-up is not on --timeout's clock)")
	fl.StringVar(&v.clock, "clock", "auto", clockHelp)
	fl.StringVar(&v.ca, "ca", "", "https verifiers: a PEM file of the CA certificates that sign the verifier's certificate")
	fl.BoolVar(&v.insecure, "insecure", false, "https verifiers: do not check the verifier's certificate at all (a warning is printed)")
}

// validate refuses durations that cannot be waited.
func (v *verifierFlags) validate() error {
	if v.timeout <= 0 {
		return usagef("--timeout %v: want a positive duration", v.timeout)
	}
	if v.start <= 0 {
		return usagef("--start-timeout %v: want a positive duration", v.start)
	}
	return nil
}

// tlsConfig returns the TLS configuration --ca and --insecure ask for,
// nil for Go's defaults.
func (v *verifierFlags) tlsConfig(spec verifierSpec, warn io.Writer) (*tls.Config, error) {
	if v.ca == "" && !v.insecure {
		return nil, nil
	}
	if spec.kind != "http" || !strings.HasPrefix(spec.url, "https://") {
		return nil, usagef("--ca and --insecure apply to https:// verifiers only")
	}
	if v.ca != "" && v.insecure {
		return nil, usagef("--ca and --insecure: give one or the other")
	}
	if v.insecure {
		fmt.Fprintln(warn, "conformance: warning: --insecure: the verifier's certificate is not checked; anyone on the path can play the verifier")
		return &tls.Config{InsecureSkipVerify: true}, nil
	}
	pem, err := os.ReadFile(v.ca)
	if err != nil {
		return nil, usagef("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("--ca %s: no PEM certificate in the file", v.ca)
	}
	return &tls.Config{RootCAs: pool}, nil
}

// openVerifier turns a --verifier value into a verifier and the function
// that releases it; warn receives warnings about the flags. profileClock
// is the clock of the --profile file, "" without one.
func openVerifier(spec string, vf verifierFlags, profileClock string, warn io.Writer) (harness.Verifier, io.Closer, error) {
	s, err := parseVerifier(spec)
	if err != nil {
		return nil, nil, err
	}
	clock, err := clockControl(vf.clock, profileClock)
	if err != nil {
		return nil, nil, err
	}
	if s.kind != "exec" && (vf.clock == "fake" || vf.clock == "file") {
		return nil, nil, usagef("--clock %s: only an exec: verifier's clock can be set (the harness starts it)", vf.clock)
	}
	tc, err := vf.tlsConfig(s, warn)
	if err != nil {
		return nil, nil, err
	}
	switch s.kind {
	case "reference":
		v, err := reference.New(reference.Default())
		if err != nil {
			return nil, nil, err
		}
		return v, io.NopCloser(nil), nil
	case "exec":
		if _, err := exec.LookPath(s.argv[0]); err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		c, err := wire.NewExec(s.argv, wire.ExecOptions{Clock: clock, StartTimeout: vf.start, StartOption: "--start-timeout"})
		if err != nil {
			if errors.Is(err, wire.ErrNoFakeTime) {
				return nil, nil, usagef("--clock %s: %w, or give --clock wall to leave the verifier on real time", vf.clock, err)
			}
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		if note := c.ClockNote(); note != "" {
			fmt.Fprintf(warn, "conformance: warning: --clock %s: %s\n", vf.clock, note)
		}
		return c, c, nil
	default:
		c, err := wire.NewHTTP(s.url, wire.HTTPOptions{Timeout: vf.timeout, TLSConfig: tc})
		if err != nil {
			return nil, nil, usagef("--verifier: %w", err)
		}
		return c, c, nil
	}
}

// splitWords splits a command line into words as a POSIX shell would,
// without expanding anything: blanks separate words, '...' quotes
// literally, "..." quotes with \" \\ \$ and \` as escapes, and a backslash
// outside quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i, in = i+1+j, true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " quote`)
			}
			in = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("a backslash at the end")
			}
			i++
			cur.WriteByte(s[i])
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// shellQuote quotes s for a POSIX shell, always in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
