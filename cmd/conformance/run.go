package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/cmd/conformance/internal/expect"
	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/wire"
)

// runFlags are the flags of conformance run.
type runFlags struct {
	verifier  string
	profile   string
	run, skip string
	strict    bool
	seed      uint64
	checks    int
	vf        verifierFlags
	reportDir string
	expect    string
	output    string
	maxWait   time.Duration
	verbose   bool
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the conformance suite against a verifier",
		Long: `Run the conformance suite against a verifier and report, case by case, where
it departs from RFC 4226 / RFC 6238 and from the profile it claims.

On a terminal a transient line shows the case running and the summary lists
every case once; in a log (standard output not a terminal) the summary lists the
failures, errors and NON-STRICT cases with each section's counts, and -v lists
every case. Skipped cases are summed up by reason, one line each. Each failure
is printed with its explanation and the command that replays it.
With --report-dir the run also writes junit.xml (one testsuite per spec section)
and report.json (schema 1, docs/report.md) for CI, and report.html, one
self-contained page to open in a browser.

The --expect file lists known failures, one case ID a line with an optional
verdict (FAIL, the default, NON-STRICT, FLAKY or ERROR) and # comments:

    rfc4226/5.3/digits-8               FAIL    # truncates to 6 digits
    rfc4226/7.2/concurrent-same-code   FLAKY

A listed case that ends as listed does not fail the run (a listed ERROR does not
make it incomplete); one that passes is an "unexpected pass" and fails it, as
does any other verdict.

Exit codes: 0 nothing failed; 1 a case failed (NON-STRICT too with --strict, or
a result differs from --expect); 2 usage or configuration error; 3 the run is
incomplete (the verifier did not answer hello, a case ended in ERROR, or the run
was interrupted with Ctrl-C, SIGTERM or SIGHUP; the partial report is still
written). Failing to write the report is exit code 1.`,
		Example: `  conformance run
  conformance run --verifier 'exec:python3 examples/pyshim/verifier.py'
  conformance run --verifier http://127.0.0.1:8080/ --report-dir out/ --expect known.txt
  conformance run --run '^rfc4226/7\.4/' --seed 42`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.execute(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.verifier, "verifier", "reference", verifierHelp)
	fl.StringVar(&f.profile, "profile", "", "a JSON profile file: the policy to judge against, instead of the one in the verifier's hello reply")
	fl.StringVar(&f.run, "run", "", "run only the cases whose ID matches this regular expression")
	fl.StringVar(&f.skip, "skip", "", "leave out the cases whose ID matches this regular expression")
	fl.BoolVar(&f.strict, "strict", false, "count NON-STRICT (a missed SHOULD) as a failure")
	fl.Uint64Var(&f.seed, "seed", 0, "the run's seed (0: a random one, printed in the report)")
	fl.IntVar(&f.checks, "checks", 0, fmt.Sprintf("random sequences per property case (0: %d; at most %d; negative: skip property cases)", harness.DefaultChecks, maxChecks))
	f.vf.add(cmd)
	fl.StringVar(&f.reportDir, "report-dir", "", "write junit.xml, report.json and report.html into this directory (created if needed)")
	fl.StringVar(&f.expect, "expect", "", "a file of known failures (see above)")
	fl.StringVar(&f.output, "output", "text", "text or json")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list every case in the summary, also when standard output is not a terminal (a log lists only the cases that need a look and each section's counts)")
	fl.DurationVar(&f.maxWait, "max-wait", harness.DefaultMaxWait, "verifiers judged on real time (clock \"wall\" over HTTP): the most one case waits, for the profile's time rules (throttle, rate limit, release, automatic resync) to run out or for the TOTP steps it needs to pass; a case that needs more SKIPs")
	return cmd
}

// maxChecks bounds --checks: a run of a few hours against a fast
// verifier, not a run that never ends.
const maxChecks = 100_000

// stopSignals end a run the way Ctrl-C does: the verifier is stopped and
// the partial report written. SIGHUP is among them, so that closing the
// terminal or losing the SSH session does not lose the report.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// config is what the flags say, checked before the verifier is touched.
type config struct {
	profile   *harness.Profile
	run, skip *regexp.Regexp
	expect    *expect.List
	total     int // cases selected
}

func (f *runFlags) prepare() (config, error) {
	var c config
	if f.output != "text" && f.output != "json" {
		return c, usagef("--output %q: want text or json", f.output)
	}
	if err := f.vf.validate(); err != nil {
		return c, err
	}
	if f.maxWait <= 0 {
		return c, usagef("--max-wait %v: want a positive duration", f.maxWait)
	}
	if f.checks > maxChecks {
		return c, usagef("--checks %d: at most %d (each check is a fresh token and many requests)", f.checks, maxChecks)
	}
	if f.profile != "" {
		p, err := readProfile(f.profile)
		if err != nil {
			return c, err
		}
		c.profile = &p
	}
	var err error
	if c.run, err = compileFlag("--run", f.run); err != nil {
		return c, err
	}
	if c.skip, err = compileFlag("--skip", f.skip); err != nil {
		return c, err
	}
	ids := map[string]bool{}
	for _, ci := range harness.Cases() {
		ids[ci.ID] = true
		if (c.run == nil || c.run.MatchString(ci.ID)) && (c.skip == nil || !c.skip.MatchString(ci.ID)) {
			c.total++
		}
	}
	if c.total == 0 {
		return c, usagef("--run %q --skip %q: no case is selected (conformance list prints the IDs)", f.run, f.skip)
	}
	if f.expect != "" {
		file, err := os.Open(f.expect)
		if err != nil {
			return c, usagef("--expect: %w", err)
		}
		defer file.Close()
		if c.expect, err = expect.Parse(file, f.expect, func(id string) bool { return ids[id] }); err != nil {
			return c, usageError{err}
		}
	}
	if f.reportDir != "" {
		if err := os.MkdirAll(f.reportDir, 0o755); err != nil {
			return c, usagef("--report-dir: %w", err)
		}
	}
	return c, nil
}

// readProfile reads and validates a profile file.
func readProfile(name string) (harness.Profile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return harness.Profile{}, usagef("--profile: %w", err)
	}
	p, err := harness.ParseProfile(data)
	if err != nil {
		return harness.Profile{}, usagef("--profile %s: %w", name, err)
	}
	return p, nil
}

func compileFlag(name, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, usagef("%s %q: %w", name, expr, err)
	}
	return re, nil
}

func (f *runFlags) execute(cmd *cobra.Command) error {
	cfg, err := f.prepare()
	if err != nil {
		return err
	}
	profileClock := ""
	if cfg.profile != nil {
		profileClock = cfg.profile.Clock
		if profileClock == "" {
			profileClock = harness.ClockRequest
		}
	}
	v, closer, err := openVerifier(f.verifier, f.vf, profileClock, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer closer.Close()

	ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
	defer stop()
	out := cmd.OutOrStdout()
	opts := harness.Options{Profile: cfg.profile, Name: f.verifier, Run: cfg.run, Skip: cfg.skip,
		Seed: f.seed, Checks: f.checks, Timeout: f.vf.timeout, MaxWait: f.maxWait}
	var prog *progress
	if f.output == "text" {
		prog = newProgress(out)
		opts.Waiting = prog.waiting // with --output json, no wait line either
	}
	took := timeCases(&opts, prog)
	rep, err := harness.Execute(ctx, v, opts)
	prog.finish()
	if rep != nil {
		for i, r := range rep.Results {
			if r.Duration == 0 {
				rep.Results[i].Duration = took[r.ID]
			}
		}
	}
	if profileClock == "" {
		warnClock(v, f.vf.clock, cmd.ErrOrStderr())
	}
	_ = closer.Close() // stop the verifier before reporting
	stop()             // a second Ctrl-C now ends the process
	if errors.Is(err, harness.ErrProfile) {
		return usageError{err}
	}
	s := summarize(rep, err, cfg, f, !f.verbose && !isTerminal(out))
	if f.output == "json" {
		if err := s.WriteJSON(out); err != nil {
			return ioError{fmt.Errorf("writing the report to standard output: %w", err)}
		}
	} else if err := s.WriteText(out); err != nil {
		return ioError{fmt.Errorf("writing the report to standard output: %w", err)}
	}
	if f.reportDir != "" {
		if err := s.WriteDir(f.reportDir); err != nil {
			return ioError{fmt.Errorf("--report-dir: %w", err)}
		}
	}
	if code := exitOf(s); code != exitOK {
		return outcomeError{code: code, msg: s.Headline()}
	}
	return nil
}

// warnClock says, on warn, when the verifier's clock was to be set
// (--clock auto without --profile found a "wall" claim in its hello) but
// could not be.
func warnClock(v harness.Verifier, flag string, warn io.Writer) {
	if c, ok := v.(*wire.Exec); ok && flag == "auto" {
		if note := c.ClockNote(); note != "" {
			fmt.Fprintf(warn, "conformance: warning: --clock auto: %s\n", note)
		}
	}
}

// timeCases measures each case from its start to its end through the
// progress callback (which it chains to prog's, if any), for engines that
// leave Result.Duration zero.
func timeCases(opts *harness.Options, prog *progress) map[string]time.Duration {
	took := map[string]time.Duration{}
	var start time.Time
	opts.Progress = func(p harness.Progress) {
		if p.Result == nil {
			start = time.Now()
		} else {
			took[p.ID] = time.Since(start)
			if p.Result.Duration == 0 {
				p.Result.Duration = took[p.ID]
			}
		}
		if prog != nil {
			prog.update(p)
		}
	}
	return took
}

// replayCommand is the command line that runs one case again, alone, with
// the same seed.
func (f *runFlags) replayCommand(id string, seed uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance run --verifier %s --run %s --seed %d", shellQuote(f.verifier), shellQuote("^"+regexp.QuoteMeta(id)+"$"), seed)
	if f.profile != "" {
		fmt.Fprintf(&b, " --profile %s", shellQuote(f.profile))
	}
	if f.checks != 0 {
		fmt.Fprintf(&b, " --checks %d", f.checks)
	}
	return b.String()
}
