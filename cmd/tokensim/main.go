// Command tokensim makes simulated OTP tokens for QA: devices saved in
// state files, button presses, code streams, drifted fleets and RFC 6030
// PSKC seed files. Run "tokensim help" for the commands; the README has
// step-by-step recipes.
//
// Exit codes: 0 success; 1 failure of the system (I/O, locks); 2 a usage
// error or bad input (flags, arguments, a file that is not what it should
// be, a wrong password or key).
package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(run(env{now: time.Now, rand: rand.Reader}, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code. The clock and
// the random source in e are the only ties to the outside world besides
// the files named on the command line.
func run(e env, args []string, stdout, stderr io.Writer) int {
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line, always
	fmt.Fprintf(stderr, "tokensim: %s\n", msg)
	return exitCode(err)
}
