package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/internal/pyexe"
)

// helperArg, as the first argument of the test binary, makes it play a
// verifier over the exec transport instead of running tests:
//
//	conformance.test otplab-helper MODE
const helperArg = "otplab-helper"

// cliArg, as the first argument of the test binary, makes it the
// conformance command with the arguments after it (as in "conformance
// serve --stdio").
const cliArg = "otplab-cli"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == helperArg {
		os.Exit(helper(os.Args[2]))
	}
	if len(os.Args) >= 2 && os.Args[1] == cliArg {
		os.Exit(run(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// helperSpec is the --verifier value that runs the test binary as the
// helper verifier of the given mode.
func helperSpec(t testing.TB, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("exec:%s %s %s", shellQuote(exe), helperArg, mode)
}

// helper plays one verifier on stdin and stdout:
//
//	reference       the reference verifier
//	buggy           look-ahead 20 while it claims 10
//	hang            answers hello, then nothing
//	crash-at-start  exits at once
//	slow-start      the reference verifier after 20 s of start-up
//	overflow        the reference, but every check of a HOTP token
//	                enrolled near 2^63 or above is answered ok:false with
//	                an OverflowError (a signed 64-bit column)
func helper(mode string) int {
	var v harness.Verifier
	switch mode {
	case "reference":
		v, _ = reference.New(reference.Default())
	case "buggy":
		p := reference.Default()
		p.LookAhead = harness.Uint64(20)
		lax, _ := reference.New(p)
		v = claims{lax, reference.Default()}
	case "hang":
		ref, _ := reference.New(reference.Default())
		v = hung{ref}
	case "crash-at-start":
		fmt.Fprintln(os.Stderr, "verifier: cannot connect to the token database")
		return 1
	case "hostile":
		ref, _ := reference.New(reference.Default())
		v = hostile{ref}
	case "slow-start":
		time.Sleep(20 * time.Second)
		v, _ = reference.New(reference.Default())
	case "overflow":
		ref, _ := reference.New(reference.Default())
		v = &overflow{Verifier: ref, high: map[string]bool{}}
	default:
		fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
		return 2
	}
	if err := wire.ServeLines(context.Background(), v, os.Stdin, os.Stdout, wire.ServeOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// claims is a verifier that claims another profile than the one it
// enforces.
type claims struct {
	*reference.Verifier
	p harness.Profile
}

func (c claims) Describe(ctx context.Context) (harness.Info, error) {
	info, err := c.Verifier.Describe(ctx)
	info.Name, info.Profile = "buggy verifier", &c.p
	return info, err
}

// hostile sends terminal escapes and near a megabyte of text in its hello
// name and in the error of every check it refuses.
type hostile struct{ *reference.Verifier }

// hostileText is what hostile puts in front of its padding.
const hostileText = "\x1b[2J\x1b]0;owned\x07\x00\u009b31m"

// hostilePad is the length of hostile's padding: 64 times the cap on an
// error text, and on every check (the audit's verifier sent 900 KB; the
// bound is the same, and a smaller one keeps the test quick under -race).
const hostilePad = 64 << 10

func (h hostile) Describe(ctx context.Context) (harness.Info, error) {
	info, err := h.Verifier.Describe(ctx)
	info.Name = hostileText + strings.Repeat("n", hostilePad)
	return info, err
}

func (hostile) Check(context.Context, harness.CheckRequest) (harness.Reply, error) {
	return harness.Reply{}, errors.New(hostileText + strings.Repeat("e", hostilePad))
}

// overflow answers a check of a HOTP token enrolled at 2^63-64 or above
// (the counter-2^63 case starts a few counters below 2^63) with an
// application error.
type overflow struct {
	*reference.Verifier
	mu   sync.Mutex
	high map[string]bool
}

func (o *overflow) Enroll(ctx context.Context, tok harness.Token) error {
	o.mu.Lock()
	o.high[tok.Serial] = tok.Kind == harness.HOTP && tok.Counter >= 1<<63-64
	o.mu.Unlock()
	return o.Verifier.Enroll(ctx, tok)
}

func (o *overflow) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	o.mu.Lock()
	high := o.high[req.Serial]
	o.mu.Unlock()
	if high {
		return harness.Reply{}, errors.New("OverflowError: Python int too large to convert to C long")
	}
	return o.Verifier.Check(ctx, req)
}

// hung answers hello and then never answers anything.
type hung struct{ *reference.Verifier }

func (hung) Enroll(context.Context, harness.Token) error {
	time.Sleep(time.Hour)
	return nil
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is one command line's outcome.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// cli runs one command line in process.
func cli(t testing.TB, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	start := time.Now()
	code := run(ctx, args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// python finds the interpreter behind python3 once for the test binary.
var python pyexe.Finder

// pythonExe returns the Python interpreter itself (not a wrapper such as
// a pyenv shim, slow to start under libfaketime), skipping the test when
// python3 is missing.
func pythonExe(t testing.TB) string {
	t.Helper()
	p, err := python.Path()
	if errors.Is(err, pyexe.ErrNoPython) {
		t.Skipf("%v: the Python verifiers cannot run", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}
