package wire

import (
	"errors"
	"testing"

	"github.com/otplab/otplab/internal/pyexe"
)

// python finds the interpreter behind python3 once for the test binary.
var python pyexe.Finder

// pythonExe returns the Python interpreter itself (not a wrapper such as
// a pyenv shim, slow to start under libfaketime), skipping the test when
// python3 is missing.
func pythonExe(t testing.TB) string {
	t.Helper()
	p, err := python.Path()
	if errors.Is(err, pyexe.ErrNoPython) {
		t.Skipf("%v: the wall-clock test verifier cannot run", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}
