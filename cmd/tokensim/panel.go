package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/token"
)

// errStory reports a panel walk-through in which the verifier did not
// answer as the guides say it should. It is the verifier's fault, not the
// input's: exit code 1.
var errStory = errors.New("the verifier did not answer as the guides expect")

func newPanelCmd(e env) *cobra.Command {
	var o struct {
		verifier, seed string
		drift          int
		timeout        time.Duration
	}
	cmd := &cobra.Command{
		Use:   "panel --verifier reference|exec:CMD ARGS...|http://HOST:PORT/PREFIX",
		Short: "Play the seeds' self-care panel end to end against a verifier, with its reply at each step",
		Long: `Play the story of the guides this project started from, with one simulated
C100 against a verifier speaking protocol v1, and print the verifier's reply at
each step next to what the guides expect:

  activate (enroll), log in, lose sync (presses never submitted), a login
  that fails, resync with two presses about 10 s apart (one code if the
  verifier claims the newer panel's resync.codes 1), log in again, recover
  the password (a current code), try that code again for login (it must be
  spent), change the password, test the OTP device, sign.

Each step is a check with the door as its purpose (login, recovery,
password-change, device-test, signature). A door the verifier does not serve
(its profile's flows) is shown as skipped; a verifier that claims no resync
keeps its token in sync instead. The amount of drift follows the claimed
look-ahead and resync window unless --drift is given. Every expected reply
follows the claimed profile: with a --drift beyond the resync window the
resync is expected to be rejected, and the token to stay out of sync. Time starts at --at and
moves on as a person would; requests carry it as their time.

--verifier is "reference" (the built-in reference verifier serving every
door), "exec:CMD ARGS..." (a subprocess speaking protocol v1 on stdin and
stdout; the command is split at blanks, without quoting) or
"http://HOST:PORT/PREFIX". The token is fresh (random, or drawn from --seed);
no file is read or written, and the secret is never shown.

Exit codes: 0 every step went as the guides say; 1 a reply differed (the
steps that did are marked UNEXPECTED) or the verifier failed; 2 usage error.`,
		Example: `  tokensim panel --verifier reference
  tokensim panel --verifier 'exec:python3 examples/pyshim/verifier.py' --seed demo
  tokensim panel --verifier http://127.0.0.1:8080/otp --drift 40`,
		Args: args(0, ""),
	}
	f := cmd.Flags()
	f.StringVar(&o.verifier, "verifier", "", "the verifier: reference, exec:CMD ARGS... or http://HOST:PORT/PREFIX (required)")
	f.StringVar(&o.seed, "seed", "", "draw the token's serial and secret from this seed (the same seed plays the same codes)")
	f.IntVar(&o.drift, "drift", 0, "presses never submitted while out of sync (default: past the claimed look-ahead, inside the resync window)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "bound on each request to the verifier")
	at := atFlag(cmd, e, "when the story starts")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "verifier"); err != nil {
			return err
		}
		if cmd.Flags().Changed("drift") && (o.drift < 1 || o.drift > maxPresses) {
			return usagef("--drift %d: want 1 to %d", o.drift, maxPresses)
		}
		if o.timeout <= 0 {
			return usagef("--timeout %v: must be positive", o.timeout)
		}
		now, err := at()
		if err != nil {
			return err
		}
		v, closer, err := openPanelVerifier(o.verifier, o.timeout)
		if err != nil {
			return err
		}
		defer closer.Close()
		src, err := seededRand(e, o.seed, "panel")
		if err != nil {
			return err
		}
		serial, secret, err := serialAndSecret(e, src, o.seed != "", token.ModelC100, token.SHA1, "", "")
		if err != nil {
			return err
		}
		dev, err := token.NewC100(token.C100Config{Serial: serial, Secret: secret})
		if err != nil {
			return err
		}
		return playPanel(cmd.Context(), v, dev, panelOptions{start: now, drift: o.drift, timeout: o.timeout}, cmd.OutOrStdout())
	}
	return cmd
}

// openPanelVerifier turns a --verifier value into a verifier and what
// releases it.
func openPanelVerifier(spec string, timeout time.Duration) (harness.Verifier, io.Closer, error) {
	switch {
	case spec == "reference":
		p := reference.Default()
		p.Flows = harness.Purposes()
		v, err := reference.New(p)
		if err != nil {
			return nil, nil, err
		}
		return v, io.NopCloser(nil), nil
	case strings.HasPrefix(spec, "exec:"):
		argv := strings.Fields(strings.TrimPrefix(spec, "exec:"))
		if len(argv) == 0 {
			return nil, nil, usagef("--verifier %q: no command after exec:", spec)
		}
		if _, err := exec.LookPath(argv[0]); err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		c, err := wire.NewExec(argv, wire.ExecOptions{})
		if err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		return c, c, nil
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		c, err := wire.NewHTTP(spec, wire.HTTPOptions{Timeout: timeout})
		if err != nil {
			return nil, nil, usagef("--verifier: %w", err)
		}
		return c, c, nil
	}
	return nil, nil, usagef("--verifier %q: want reference, exec:CMD ARGS... or http://HOST:PORT/PREFIX", spec)
}

// panelOptions shape a walk-through.
type panelOptions struct {
	start   time.Time
	drift   int // 0: chosen from the claimed policy
	timeout time.Duration
}

// panel is one walk-through in progress: the device in the user's hand,
// the simulated clock, and what the verifier claims.
type panel struct {
	ctx        context.Context
	v          harness.Verifier
	dev        *token.C100
	o          panelOptions
	w          io.Writer
	now        time.Time
	p          *harness.Profile
	ops        harness.Info
	n          int // steps printed
	unexpected int
	skipped    int
	// m is the claimed profile's model of the token and states the
	// states a correct verifier may be in: every expected reply follows
	// from them (nil without a profile: the guides' story is told as it
	// is).
	m      *harness.Model
	states []harness.State
}

// expect returns the reply the claimed profile allows for req, and
// whether it allows only that one. Without a profile it returns the
// guides' reply, known as the caller says.
func (pn *panel) expect(req harness.Request, guide, guideKnown bool) (want, known bool) {
	if pn.m == nil {
		return guide, guideKnown
	}
	var acc, rej bool
	for _, s := range pn.states {
		for _, o := range pn.m.Outcomes(s, req) {
			acc, rej = acc || o.Accepted, rej || !o.Accepted
		}
	}
	if acc == rej { // both, or none (no state: judged before, unjudged now)
		return guide, false
	}
	return acc, true
}

// observe moves the model on by req and the reply got. A reply the
// profile does not allow leaves the states a correct verifier would be in
// (having replied want), so that the story goes on as the profile says.
func (pn *panel) observe(req harness.Request, got, want bool) {
	if pn.m == nil {
		return
	}
	var next []harness.State
	add := func(ss ...harness.State) {
		for _, s := range ss {
			if !slices.Contains(next, s) {
				next = append(next, s)
			}
		}
	}
	for _, s := range pn.states {
		add(pn.m.Step(s, req, harness.Reply{Accepted: got})...)
	}
	if len(next) == 0 {
		for _, s := range pn.states {
			add(pn.m.Step(s, req, harness.Reply{Accepted: want})...)
		}
	}
	pn.states = next
}

// server describes the server's side of the token as the profile has it
// (the first state a correct verifier may be in).
func (pn *panel) server() string {
	if pn.m == nil || len(pn.states) == 0 {
		return "unknown"
	}
	return pn.m.DescribeState(pn.states[0])
}

// checkRequest is the model's view of a check at the door.
func (pn *panel) checkRequest(door, code string) harness.Request {
	return harness.Request{Op: "check", Codes: []string{code}, Time: pn.now.Unix(), Purpose: door}
}

// Time a person takes between two steps of the panel.
const panelPause = 30 * time.Second

// playPanel plays the seeds' story with dev against v and prints it to w.
// It returns an error wrapping errStory when a reply was not what the
// guides expect, and the verifier's error when it could not be asked.
func playPanel(ctx context.Context, v harness.Verifier, dev *token.C100, o panelOptions, w io.Writer) error {
	if o.timeout <= 0 {
		o.timeout = 5 * time.Second
	}
	pn := &panel{ctx: ctx, v: v, dev: dev, o: o, w: w, now: o.start}
	name := "the verifier"
	if d, ok := v.(harness.Describer); ok {
		rctx, cancel := context.WithTimeout(ctx, o.timeout)
		info, err := d.Describe(rctx)
		cancel()
		if err != nil {
			return fmt.Errorf("hello: %w", err)
		}
		pn.ops, pn.p = info, info.Profile
		if info.Name != "" {
			name = fmt.Sprintf("%q", info.Name)
		}
	}
	fmt.Fprintf(w, "panel: C100 %s (SHA1, 6 digits, counter %d) against %s\n", dev.Serial(), dev.Counter(), name)
	fmt.Fprintf(w, "claims: %s\n\n", pn.claims())
	if err := pn.story(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	switch {
	case pn.unexpected > 0:
		fmt.Fprintf(w, "panel: %d of %d steps UNEXPECTED\n", pn.unexpected, pn.n)
		return fmt.Errorf("%w: %d of %d steps", errStory, pn.unexpected, pn.n)
	case pn.skipped > 0:
		fmt.Fprintf(w, "panel: %d steps as the guides expect, %d skipped (not served)\n", pn.n-pn.skipped, pn.skipped)
	default:
		fmt.Fprintf(w, "panel: %d steps, all as the guides expect\n", pn.n)
	}
	return nil
}

// claims describes what the verifier claims, as far as the story uses it.
func (pn *panel) claims() string {
	if pn.p == nil {
		return "no profile (every reply is shown; the drift and resync steps assume a look-ahead of 10)"
	}
	var parts []string
	if l := pn.p.LookAhead; l != nil {
		parts = append(parts, fmt.Sprintf("look-ahead %d", *l))
	}
	if n := pn.p.ResyncCodes(); n > 0 {
		parts = append(parts, fmt.Sprintf("resync %d code%s over %d counters", n, map[bool]string{true: "", false: "s"}[n == 1], pn.p.Resync.Window))
	} else {
		parts = append(parts, "no resync")
	}
	if f := pn.p.LockoutAfter(); f > 0 {
		parts = append(parts, fmt.Sprintf("lockout after %d", f))
	}
	flows := pn.p.Flows
	if len(flows) == 0 {
		flows = []string{harness.PurposeLogin}
	}
	parts = append(parts, "flows "+strings.Join(flows, ", "))
	return strings.Join(parts, "; ")
}

// step prints one numbered line.
func (pn *panel) step(door, did, reply, note string) {
	pn.n++
	line := fmt.Sprintf("%2d. %-16s %-46s %s", pn.n, door, did, reply)
	if note != "" {
		line += "  " + note
	}
	fmt.Fprintln(pn.w, strings.TrimRight(line, " "))
}

// judge prints a step's verdict: the reply, and whether the guides expect
// it (known false leaves it unjudged).
func (pn *panel) judge(door, did string, got, want, known bool, why string) {
	reply := "rejected"
	if got {
		reply = "accepted"
	}
	note := ""
	switch {
	case !known:
		note = "(" + why + ")"
	case got == want:
		note = "(as the guides expect: " + why + ")"
	default:
		note = fmt.Sprintf("UNEXPECTED: the guides expect %s: %s", map[bool]string{true: "accepted", false: "rejected"}[want], why)
		pn.unexpected++
	}
	pn.step(door, did, reply, note)
}

// press presses the button once the display is off and returns the code.
func (pn *panel) press() (string, error) {
	ps, err := press(pn.dev, pn.now, 1, true)
	if err != nil {
		return "", err
	}
	pn.now = ps[0].At
	return ps[0].Code, nil
}

// check submits code at the door; an unsupported door is reported and
// skipped (ok false).
func (pn *panel) check(door, code string) (accepted, ok bool, err error) {
	rctx, cancel := context.WithTimeout(pn.ctx, pn.o.timeout)
	defer cancel()
	rep, err := pn.v.Check(rctx, harness.CheckRequest{Serial: string(pn.dev.Serial()), Code: code, Time: pn.now, Purpose: door})
	if errors.Is(err, harness.ErrUnsupported) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("check for %s: %w", door, err)
	}
	return rep.Accepted, true, nil
}

// door plays one press-and-submit at a door whose code the guides expect
// to be accepted (or rejected, want false). It returns the code, and
// whether the verifier accepted it.
func (pn *panel) door(title, door string, want bool, why string) (string, bool, error) {
	pn.now = pn.now.Add(panelPause)
	code, err := pn.press()
	if err != nil {
		return "", false, err
	}
	got, ok, err := pn.check(door, code)
	if err != nil {
		return "", false, err
	}
	did := fmt.Sprintf("press %s, check for %s", code, door)
	if !ok {
		pn.skipped++
		pn.step(title, did, "skipped", fmt.Sprintf("(the verifier does not serve %s)", door))
		return code, false, nil
	}
	req := pn.checkRequest(door, code)
	exp, known := pn.expect(req, want, true)
	if known && exp != want {
		why = fmt.Sprintf("the claimed profile says so here: the code is of counter %d, the server's token is at %s", pn.dev.Counter()-1, pn.server())
	}
	pn.judge(title, did, got, exp, known, why)
	pn.observe(req, got, exp)
	return code, got, nil
}

// story is the walk-through, step by step.
func (pn *panel) story() error {
	ctx, cancel := context.WithTimeout(pn.ctx, pn.o.timeout)
	err := pn.v.Enroll(ctx, harness.Token{Serial: string(pn.dev.Serial()), Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6,
		Secret: pn.dev.Key().Secret(), Counter: pn.dev.Counter()})
	cancel()
	if err != nil {
		pn.step("activate", "enroll the token", "refused", "UNEXPECTED: "+err.Error())
		return fmt.Errorf("%w: enroll: %w", errStory, err)
	}
	pn.step("activate", "enroll the token", "ok", "")
	if pn.p != nil {
		m, err := harness.NewModel(*pn.p, harness.Token{Serial: string(pn.dev.Serial()), Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6,
			Secret: pn.dev.Key().Secret(), Counter: pn.dev.Counter()})
		if err == nil {
			pn.m, pn.states = m, m.Init()
		}
	}
	if _, _, err := pn.door("log in", harness.PurposeLogin, true, "the first code of a new token"); err != nil {
		return err
	}
	if err := pn.desync(); err != nil {
		return err
	}
	if _, _, err := pn.door("log in", harness.PurposeLogin, true, "back in sync"); err != nil {
		return err
	}
	code, spent, err := pn.door("recover password", harness.PurposeRecovery, true, "user code, username and a current code")
	if err != nil {
		return err
	}
	if spent {
		// The bug the guides warn about: a code spent in recovery must
		// not log in.
		pn.now = pn.now.Add(panelPause)
		got, ok, err := pn.check(harness.PurposeLogin, code)
		if err != nil {
			return err
		}
		if ok {
			req := pn.checkRequest(harness.PurposeLogin, code)
			exp, known := pn.expect(req, false, true)
			pn.judge("log in", fmt.Sprintf("the same %s again, for login", code), got, exp, known, "a code spent in recovery is spent for login")
			pn.observe(req, got, exp)
		}
	}
	if _, _, err := pn.door("change password", harness.PurposePasswordChange, true, "old password and a current code"); err != nil {
		return err
	}
	if _, _, err := pn.door("test OTP device", harness.PurposeDeviceTest, true, "the device works"); err != nil {
		return err
	}
	for i := range 2 {
		if _, _, err := pn.door("sign", harness.PurposeSignature, true, fmt.Sprintf("remote signature %d", i+1)); err != nil {
			return err
		}
	}
	return nil
}

// desync plays losing sync and the resync of the panel: presses never
// submitted, a login that fails, then the resync codes.
func (pn *panel) desync() error {
	l, lKnown := uint64(10), false
	n, window := 2, uint64(0)
	if p := pn.p; p != nil {
		if p.LookAhead != nil {
			l, lKnown = *p.LookAhead, true
		}
		if p.ResyncCodes() == 0 || !pn.ops.Supports("resync") {
			pn.step("lose sync", "skipped: the verifier claims no resync", "", "")
			pn.skipped++
			return nil
		}
		n, window = p.ResyncCodes(), p.Resync.Window
	}
	drift := uint64(pn.o.drift)
	if drift == 0 {
		drift = l + 5
		if window > 0 && drift+1 > window {
			drift = max(window, 2) - 1
		}
	}
	pn.now = pn.now.Add(panelPause)
	if err := pn.dev.Skip(drift); err != nil {
		return err
	}
	pn.step("lose sync", fmt.Sprintf("press %d times, submit nothing (counter %d)", drift, pn.dev.Counter()), "", "")
	pn.now = pn.now.Add(panelPause)
	code, err := pn.press()
	if err != nil {
		return err
	}
	got, _, err := pn.check(harness.PurposeLogin, code)
	if err != nil {
		return err
	}
	ahead := drift // the server expects the counter before the presses
	why := fmt.Sprintf("%d codes ahead, beyond the look-ahead of %d", ahead, l)
	if ahead <= l {
		why = fmt.Sprintf("%d codes ahead, inside the look-ahead of %d", ahead, l)
	}
	req := pn.checkRequest(harness.PurposeLogin, code)
	exp, known := pn.expect(req, ahead <= l, lKnown)
	if known && exp != (ahead <= l) {
		why = fmt.Sprintf("the claimed profile says so here: the server's token is at %s", pn.server())
	}
	pn.judge("log in", fmt.Sprintf("press %s, check for login", code), got, exp, known, why)
	pn.observe(req, got, exp)
	if got && (exp || !known) {
		return nil // still in sync: no resync needed
	}
	pn.now = pn.now.Add(panelPause)
	codes := make([]string, n)
	for i := range codes {
		if codes[i], err = pn.press(); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithTimeout(pn.ctx, pn.o.timeout)
	rep, err := pn.v.Resync(rctx, harness.ResyncRequest{Serial: string(pn.dev.Serial()), Codes: codes, Time: pn.now})
	cancel()
	did := fmt.Sprintf("press %s, resync", strings.Join(codes, " and ~10 s later "))
	if n == 1 {
		did = fmt.Sprintf("serial and one code %s, resync", codes[0])
	}
	if errors.Is(err, harness.ErrUnsupported) {
		pn.skipped++
		pn.step("resync", did, "skipped", "(the verifier has no resync)")
		return nil
	}
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	before := pn.server()
	offset := ahead + 1
	rwhy := fmt.Sprintf("the first code is %d ahead of the server, inside the resync window", offset)
	guide := window == 0 || offset <= window
	if !guide {
		rwhy = fmt.Sprintf("the first code is %d ahead of the server, beyond the resync window of %d: the token stays out of sync", offset, window)
	}
	rreq := harness.Request{Op: "resync", Codes: codes, Time: pn.now.Unix()}
	exp, known = pn.expect(rreq, guide, window == 0 || offset <= window)
	if known && exp != guide {
		rwhy = fmt.Sprintf("the claimed profile says so here: the server's token is at %s", before)
	}
	pn.judge("resync", did, rep.Accepted, exp, known, rwhy)
	pn.observe(rreq, rep.Accepted, exp)
	return nil
}
