package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/report"
	"github.com/otplab/otplab/harness/wire"
)

type probeFlags struct {
	verifier  string
	profile   string
	out       string
	reportDir string
	seed      uint64
	vf        verifierFlags
	ignore    bool
	maxWait   time.Duration
}

func newProbeCmd() *cobra.Command {
	f := &probeFlags{}
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Measure a verifier's policy and print it as a profile",
		Long: `probe measures, with fresh tokens and simulated time, what a verifier
really does, for every field of the profile language: counter range,
look-ahead window, on_failure, input rule, resync codes, window and
automatic resync, rate limit, lockout (threshold, release, resync_unlocks,
counts_resync), throttle (delay and factor), TOTP skew, reuse rule, drift
and its bound, skew learning, periods and t0, algorithms, digit counts and
flows, and whether concurrent submissions of one code are served
atomically. Each finding says how sure it is; a finding that another
policy explains as well says "could not tell" (docs/protocol.md, "What the
probe measures"). It prints the measured profile as JSON (ready for
'conformance run --profile'), to --out or standard output, and a table of
findings on standard error. With --report-dir it also writes probe.svg, a
chart of the searches and the throttle curve, profile.json, and report.html,
the findings and the chart on one self-contained page.

No lockout, throttle or rate limit after 100 wrong codes is a finding
("guessing-limit: none", no limit on guessing), written in the profile as
"limits": "none". A request the verifier answers with an error ends only
the measurement that sent it ("could not tell", with the verifier's text):
the rest of the probe goes on and the profile is written.

A verifier on its own clock that the probe cannot set (clock "wall" over
HTTP, or exec with --clock wall) is probed on real time: the throttle,
rate limit, lockout release and automatic resync are measured by waiting
for them, each search at most --max-wait, each edge known to a second
(such findings say "could not tell" and name both values). The waits are
shown on standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.execute(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.verifier, "verifier", "reference", verifierHelp)
	fl.StringVar(&f.profile, "profile", "", "with --verifier reference: the policy the reference enforces (default: its built-in profile)")
	fl.StringVar(&f.out, "out", "", "write the measured profile to this file instead of standard output")
	fl.StringVar(&f.reportDir, "report-dir", "", "write profile.json, probe.svg and report.html into this directory")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for serials and secrets (0: random, printed in the table)")
	f.vf.add(cmd)
	fl.BoolVar(&f.ignore, "ignore-claim", false, "measure as if the verifier claimed nothing in its hello")
	fl.DurationVar(&f.maxWait, "max-wait", probe.DefaultMaxWait, "verifiers on real time (clock \"wall\" over HTTP): the longest one search waits for a time rule (throttle, rate limit, release, automatic resync) to run out; a refusal that lasts longer is reported as longer than this")
	return cmd
}

// probeWaits shows the probe's waits for real time on standard error, as
// plain lines such as
//
//	waiting 4 s for the throttle's delays to pass (lockout)
//
// one when what the probe waits for changes, and otherwise at most one
// every probeWaitEvery, counting down to the end of the longest wait for
// the same thing: many tokens wait at once, and a scan waits every
// second.
type probeWaits struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	last    time.Time // when the last line was written
	lastWhy string
	end     time.Time // the end of the longest wait for lastWhy
}

// probeWaitEvery is the least time between two wait lines about the same
// thing.
const probeWaitEvery = 5 * time.Second

// report is the probe.Options.Waiting callback.
func (l *probeWaits) report(w probe.Waiting) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	why := w.Why + " (" + w.Finding + ")"
	end := now.Add(w.For)
	if why == l.lastWhy {
		if end.After(l.end) {
			l.end = end
		}
		if now.Sub(l.last) < probeWaitEvery {
			return
		}
	} else {
		l.end = end
	}
	secs := int64((l.end.Sub(now) + time.Second - 1) / time.Second)
	fmt.Fprintf(l.w, "waiting %d s for %s\n", secs, why)
	l.last, l.lastWhy = now, why
}

// clockAfterHello greets an exec verifier under --clock auto, which
// decides whether its clock is set, and reports whether it is.
func clockAfterHello(ctx context.Context, c *wire.Exec, timeout time.Duration) bool {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := c.Describe(hctx); err != nil {
		return false // the probe meets the error itself
	}
	return c.SetsClock()
}

func (f *probeFlags) execute(cmd *cobra.Command) error {
	if err := f.vf.validate(); err != nil {
		return err
	}
	if f.maxWait < time.Second {
		return usagef("--max-wait %v: want a duration of a second or more", f.maxWait)
	}
	if f.out != "" {
		if err := checkOutFile(f.out); err != nil {
			return err
		}
	}
	if f.reportDir != "" {
		if st, err := os.Stat(f.reportDir); err == nil && !st.IsDir() {
			return usagef("--report-dir %s: not a directory", f.reportDir)
		}
	}
	var (
		v      harness.Verifier
		closer interface{ Close() error }
		err    error
	)
	if f.profile != "" {
		if f.verifier != "reference" {
			return usagef("--profile %s: only with --verifier reference (probe measures other verifiers)", f.profile)
		}
		p, err := readProfile(f.profile)
		if err != nil {
			return err
		}
		ref, err := reference.New(p)
		if err != nil {
			return usagef("--profile %s: %w", f.profile, err)
		}
		v = ref
	} else {
		v, closer, err = openVerifier(f.verifier, f.vf, "", cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer closer.Close()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
	defer stop()
	waits := &probeWaits{w: cmd.ErrOrStderr(), now: time.Now}
	opts := probe.Options{Seed: f.seed, Timeout: f.vf.timeout, IgnoreClaim: f.ignore, MaxWait: f.maxWait, Waiting: waits.report}
	if f.vf.clock == "wall" {
		opts.Clock = harness.ClockWall
	}
	if c, ok := v.(*wire.Exec); ok && (c.SetsClock() || f.vf.clock == "auto" && clockAfterHello(ctx, c, f.vf.timeout)) {
		// The verifier reads its own clock, which the client sets to each
		// request's time: probe it as a wall-clock verifier (the probe
		// cannot tell the two clocks apart under the fake one), sending
		// the real time, which the verifier then sees to the second.
		opts.Clock = harness.ClockWall
	}
	if c, ok := v.(*wire.Exec); ok && f.vf.clock == "auto" {
		warnClock(c, f.vf.clock, cmd.ErrOrStderr())
	}
	res, err := probe.Probe(ctx, v, opts)
	if res != nil {
		if terr := res.Table(cmd.ErrOrStderr()); terr != nil {
			return ioError{fmt.Errorf("writing the table: %w", terr)}
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return outcomeError{exitIncomplete, "probe interrupted"}
		}
		return outcomeError{exitIncomplete, fmt.Sprintf("probe incomplete: %v", err)}
	}
	js := res.Profile.JSON()
	if f.out != "" {
		if err := writeFileAtomic(f.out, js); err != nil {
			return ioError{fmt.Errorf("--out: %w", err)}
		}
	} else if _, err := cmd.OutOrStdout().Write(js); err != nil {
		return ioError{fmt.Errorf("writing the profile to standard output: %w", err)}
	}
	if f.reportDir != "" {
		if err := os.MkdirAll(f.reportDir, 0o755); err != nil {
			return ioError{fmt.Errorf("--report-dir: %w", err)}
		}
		if err := writeFileAtomic(filepath.Join(f.reportDir, "profile.json"), js); err != nil {
			return ioError{fmt.Errorf("--report-dir: %w", err)}
		}
		var svg bytesBuffer
		if err := res.SVG(&svg); err != nil {
			return outcomeError{exitIncomplete, fmt.Sprintf("drawing the chart: %v", err)}
		}
		if err := writeFileAtomic(filepath.Join(f.reportDir, "probe.svg"), svg.Bytes()); err != nil {
			return ioError{fmt.Errorf("--report-dir: %w", err)}
		}
		var page bytesBuffer
		if err := report.WriteProbeHTML(&page, res); err != nil {
			return outcomeError{exitIncomplete, fmt.Sprintf("writing report.html: %v", err)}
		}
		if err := writeFileAtomic(filepath.Join(f.reportDir, report.HTMLFile), page.Bytes()); err != nil {
			return outcomeError{exitIncomplete, err.Error()}
		}
	}
	return nil
}
