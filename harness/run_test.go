package harness_test

import (
	"testing"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// TestRun is what a developer writes: the reference through harness.Run,
// one subtest per case.
func TestRun(t *testing.T) {
	v, err := reference.New(reference.Default())
	if err != nil {
		t.Fatal(err)
	}
	harness.Run(t, v, harness.Options{Checks: 20})
}
