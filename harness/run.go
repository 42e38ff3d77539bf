package harness

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// SeedEnv names the environment variable from which [Run] takes its seed
// when Options.Seed is zero, so that a failure printed by go test replays
// with the same command and that variable set.
const SeedEnv = "OTPLAB_SEED"

// Run runs the conformance suite against v as subtests of t, one per case,
// named by the case ID, so that
//
//	go test -run 'TestOTP/rfc4226/7.4'
//
// selects a section. FAIL fails the subtest; NON-STRICT logs; SKIP and
// ERROR skip and fail it with their reason. The verifier is shared by all
// cases (each enrolls fresh tokens), so construct it once before calling
// Run. On any failure Run logs the seed that replays the run.
func Run(t *testing.T, v Verifier, opts Options) {
	t.Helper()
	if opts.Seed == 0 {
		if s, err := strconv.ParseUint(os.Getenv(SeedEnv), 10, 64); err == nil {
			opts.Seed = s
		}
	}
	opts.inTest, opts.testName = true, t.Name()
	ctx := t.Context()
	r, err := newRun(ctx, v, opts)
	if err != nil {
		t.Fatalf("otplab: %v", err)
	}
	failed := false
	for _, c := range r.selected() {
		ok := t.Run(c.id, func(st *testing.T) {
			res := r.runCase(ctx, c)
			reportTo(st, res)
		})
		failed = failed || !ok
	}
	if failed {
		t.Logf("otplab: replay with %s=%d go test -run '%s'", SeedEnv, r.seed, strings.ReplaceAll(t.Name(), "'", ""))
	}
}

// reportTo turns a case result into the subtest's outcome.
func reportTo(t *testing.T, res Result) {
	t.Helper()
	msg := strings.Join(res.Messages, "\n")
	switch res.Verdict {
	case Fail:
		t.Errorf("%s [%s] %s\n%s", res.Verdict, res.Level, res.Requirement, msg)
	case Error:
		t.Errorf("ERROR (verifier not judged): %s", msg)
	case NonStrict:
		t.Logf("NON-STRICT [%s] %s\n%s", res.Level, res.Requirement, msg)
	case Skip:
		t.Skip(msg)
	default:
		if msg != "" {
			t.Log(msg)
		}
	}
}
