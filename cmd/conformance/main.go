// Command conformance runs otplab's conformance suite against an OTP
// verifier in any language and gives a verdict that CI understands.
//
//	conformance run [--verifier reference|exec:CMD ARGS...|http://HOST:PORT/PREFIX] [flags]
//	conformance list [--output text|json]
//	conformance serve [--addr 127.0.0.1:8080 | --stdio] [--profile FILE] [--clock request|wall]
//
// Verifiers speak protocol v1 (docs/protocol.md) over a subprocess's
// stdin and stdout or over HTTP; "reference" is the built-in reference
// verifier, in process. An exec verifier that reads its own clock
// (profile clock "wall") runs under a clock the harness sets to each
// request's time (--clock, docs/protocol.md "Wall-clock verifiers").
//
// Exit codes: 0 nothing failed; 1 a case failed (or was NON-STRICT with
// --strict, or differed from the --expect file), or the report could not
// be written; 2 a usage or configuration error; 3 the run is incomplete
// (the verifier did not answer hello, a case ended in ERROR, or the run
// was interrupted by SIGINT, SIGTERM or SIGHUP).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

func main() {
	// The property cases run on rapid, which reads the testing package's
	// flags: they must exist and be parsed outside go test too.
	testing.Init()
	_ = flag.CommandLine.Parse(nil)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line, always
	fmt.Fprintf(stderr, "conformance: %s\n", msg)
	return exitCode(err)
}
