package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/stress"
	"github.com/otplab/otplab/harness/wire"
)

// stressFlags are the flags of conformance stress.
type stressFlags struct {
	verifiers    []string
	profile      string
	users        int
	duration     time.Duration
	requests     int
	rate         float64
	seed         uint64
	timeout      time.Duration
	checkTimeout time.Duration
	explain      int
	explainTime  time.Duration
	shard        string
	reportDir    string
	output       string
	ca           string
	insecure     bool
}

func newStressCmd() *cobra.Command {
	f := &stressFlags{}
	cmd := &cobra.Command{
		Use:   "stress",
		Short: "Load the nodes of a deployment with many concurrent users and check every token's history",
		Long: `Stress plays many simulated users at once against the nodes of one deployment
(--verifier once per node, all over one store): C100 owners who press, skip,
mistype, replay, send one code to two nodes at once, guess over every node,
resync and get unlocked, and TOTP app users. Every request's times, node and
reply are recorded, and each token's history is checked for linearizability
with porcupine against the profile's exact model. A request without reply
(timed out) may or may not have taken effect: a correct verifier under
overload is never accused.

A violation is printed as the smallest window of the token's history that no
correct verifier produces, in the token's terms. Its cause is named only when
the explanation engine proves it: a known variant (a race between concurrent
requests, a lockout counted per node, a replay record kept per node, ...)
fits every reply of the token's whole history, and no sampled history of a
token that passed refutes it; variants that fit equally are named together
("could not tell which"), and a violation nothing fits says so. Violations
are grouped by cause; --explain bounds how many tokens are explained.
--report-dir gets report.json, junit.xml and porcupine's HTML timeline of each
violating token (token-SERIAL.html).

Exit codes: 0 no violation; 1 a violation, or writing the report failed;
2 usage or configuration error; 3 incomplete (interrupted, a token not
enrolled or not checked in time, no hello).`,
		Example: `  conformance stress --verifier http://127.0.0.1:8081 --verifier http://127.0.0.1:8082 --duration 30s
  conformance stress --verifier 'exec:python3 node.py' --users 200 --rate 2000 --report-dir out/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.execute(cmd) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.verifiers, "verifier", nil, "a node of the deployment (repeat for each node): "+verifierHelp)
	fl.StringVar(&f.profile, "profile", "", "a JSON profile file: the policy to judge against, instead of the one in node 1's hello reply")
	fl.IntVar(&f.users, "users", stress.DefaultUsers, "simulated users, one token each")
	fl.DurationVar(&f.duration, "duration", 0, fmt.Sprintf("how long to send requests (0: %v, or until --requests)", stress.DefaultDuration))
	fl.IntVar(&f.requests, "requests", 0, "stop after this many requests (0: no bound besides --duration)")
	fl.Float64Var(&f.rate, "rate", 0, "target requests per second over all users (0: as fast as the nodes answer)")
	fl.Uint64Var(&f.seed, "seed", 0, "the run's seed (0: a random one, printed in the report)")
	fl.DurationVar(&f.timeout, "timeout", stress.DefaultTimeout, "how long to wait for each reply; a request without reply has an unknown outcome")
	fl.DurationVar(&f.checkTimeout, "check-timeout", stress.DefaultCheckTimeout, "the most the check of one token's history may take; tokens not checked in time are listed")
	fl.IntVar(&f.explain, "explain", stress.DefaultExplainTokens, "explain the causes of at most this many violating tokens (0: none)")
	fl.DurationVar(&f.explainTime, "explain-timeout", stress.DefaultExplainTimeout, "the most explaining the violations may take; tokens not reached are listed as not explained")
	fl.StringVar(&f.shard, "shard", "", "i/N: this process stresses the tokens of shard i of N (0 <= i < N), for N processes over one deployment")
	fl.StringVar(&f.reportDir, "report-dir", "", "write report.json, junit.xml and token-SERIAL.html into this directory (created if needed)")
	fl.StringVar(&f.output, "output", "text", "text or json")
	fl.StringVar(&f.ca, "ca", "", "https nodes: a PEM file of the CA certificates that sign their certificates")
	fl.BoolVar(&f.insecure, "insecure", false, "https nodes: do not check their certificates at all (a warning is printed)")
	return cmd
}

// parseShard reads --shard i/N.
func parseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usagef("--shard %q: want i/N with 0 <= i < N", s)
	}
	return i, n, nil
}

func (f *stressFlags) execute(cmd *cobra.Command) error {
	if f.output != "text" && f.output != "json" {
		return usagef("--output %q: want text or json", f.output)
	}
	if len(f.verifiers) == 0 {
		f.verifiers = []string{"reference"}
	}
	if f.timeout <= 0 || f.checkTimeout <= 0 {
		return usagef("--timeout %v, --check-timeout %v: want positive durations", f.timeout, f.checkTimeout)
	}
	if f.explain < 0 || f.explainTime <= 0 {
		return usagef("--explain %d, --explain-timeout %v: want a count of 0 or more and a positive duration", f.explain, f.explainTime)
	}
	explain := f.explain
	if explain == 0 {
		explain = -1 // none
	}
	shard, shards, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	var prof *harness.Profile
	if f.profile != "" {
		p, err := readProfile(f.profile)
		if err != nil {
			return err
		}
		prof = &p
	}
	vf := verifierFlags{timeout: f.timeout, ca: f.ca, insecure: f.insecure}
	var nodes []stress.Node
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var ref harness.Verifier // every "reference" node is one in-process verifier, one store
	for _, spec := range f.verifiers {
		if spec == "reference" && ref != nil {
			nodes = append(nodes, stress.Node{Name: spec, Verifier: ref})
			continue
		}
		v, c, err := openNode(spec, vf, prof, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if spec == "reference" {
			ref = v
		}
		closers = append(closers, c)
		nodes = append(nodes, stress.Node{Name: spec, Verifier: v})
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
	defer stop()
	info, err := hello(ctx, nodes[0], f.timeout)
	if err != nil {
		return outcomeError{code: exitIncomplete, msg: err.Error()}
	}
	if prof == nil {
		if info.Profile == nil {
			return usagef("--verifier %s claims no profile in its hello reply: give --profile", f.verifiers[0])
		}
		prof = info.Profile
	}
	if f.seed == 0 {
		f.seed = rand.Uint64N(1<<53) + 1
	}
	out := cmd.OutOrStdout()
	o := stress.Options{Nodes: nodes, Profile: *prof, Ops: info.Ops, Users: f.users, Duration: f.duration,
		Requests: f.requests, Rate: f.rate, Seed: f.seed, Timeout: f.timeout, CheckTimeout: f.checkTimeout,
		ExplainTokens: explain, ExplainTimeout: f.explainTime,
		Shard: shard, Shards: shards}
	var mu sync.Mutex
	live := f.output == "text" && isTerminal(out)
	if live {
		o.Progress = func(p stress.Progress) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(out, "%sstress: %.0f s, %d requests, %d without reply", clearLine, p.Elapsed.Seconds(), p.Requests, p.Unknown)
		}
	}
	rep, err := stress.Run(ctx, o)
	if live {
		mu.Lock()
		fmt.Fprint(out, clearLine)
		mu.Unlock()
	}
	if err != nil {
		if errors.Is(err, harness.ErrProfile) {
			return usageError{err}
		}
		return usageError{err}
	}
	for _, c := range closers {
		c.Close()
	}
	closers = nil
	stop()
	if f.output == "json" {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		return ioError{fmt.Errorf("writing the report to standard output: %w", err)}
	}
	if f.reportDir != "" {
		if err := rep.WriteDir(f.reportDir); err != nil {
			return ioError{fmt.Errorf("--report-dir: %w", err)}
		}
	}
	return stressOutcome(rep)
}

// stressOutcome maps a stress report (one run's, or merged shards') to
// the exit code: 1 for a violation, 3 when the report is incomplete (a
// token not enrolled or not checked, a shard missing, the run cut short),
// 0 otherwise.
func stressOutcome(rep *stress.Report) error {
	switch {
	case rep.Failed():
		return outcomeError{code: exitFailed, msg: rep.Headline()}
	case !rep.Complete():
		return outcomeError{code: exitIncomplete, msg: rep.Headline()}
	}
	return nil
}

// hello asks node 1 for its name, ops and profile; a node that does not
// answer hello claims nothing.
func hello(ctx context.Context, n stress.Node, timeout time.Duration) (harness.Info, error) {
	d, ok := n.Verifier.(harness.Describer)
	if !ok {
		return harness.Info{}, nil
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := d.Describe(hctx)
	if err != nil {
		return harness.Info{}, fmt.Errorf("node 1 (%s): hello: %w", n.Name, err)
	}
	return info, nil
}

// openNode opens one node for stress: the clients never give up on a slow
// node (a request without reply is an unknown outcome, not a hung
// verifier), and an exec node's clock is left alone (stress runs on real
// time).
func openNode(spec string, vf verifierFlags, prof *harness.Profile, warn io.Writer) (harness.Verifier, io.Closer, error) {
	s, err := parseVerifier(spec)
	if err != nil {
		return nil, nil, err
	}
	tc, err := vf.tlsConfig(s, warn)
	if err != nil {
		return nil, nil, err
	}
	switch s.kind {
	case "reference":
		p := reference.Default()
		if prof != nil {
			p = *prof
		}
		v, err := reference.New(p)
		if err != nil {
			return nil, nil, usagef("--profile: %w", err)
		}
		return v, io.NopCloser(nil), nil
	case "exec":
		if _, err := exec.LookPath(s.argv[0]); err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		c, err := wire.NewExec(s.argv, wire.ExecOptions{Clock: wire.ClockLeave, HangAfter: -1})
		if err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		return c, c, nil
	default:
		c, err := wire.NewHTTP(s.url, wire.HTTPOptions{Timeout: vf.timeout, TLSConfig: tc, HangAfter: -1})
		if err != nil {
			return nil, nil, usagef("--verifier: %w", err)
		}
		return c, c, nil
	}
}
