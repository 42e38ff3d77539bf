package harness_test

import (
	"context"
	"fmt"
	"regexp"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// A developer's whole test file is one function: build the verifier once,
// state the policy it claims, and hand both to harness.Run, which adds one
// subtest per case (go test -run 'TestConformance/rfc4226/7\.4' selects a
// section):
//
//	func TestConformance(t *testing.T) {
//		v := myotp.NewVerifier(store)
//		harness.Run(t, v, harness.Options{Profile: &harness.Profile{
//			Kinds:     []harness.Kind{harness.HOTP},
//			LookAhead: harness.Uint64(10),
//			Resync:    &harness.ResyncPolicy{Codes: 2, Window: 1000},
//			Lockout:   &harness.LockoutPolicy{After: 5},
//		}})
//	}
//
// Outside go test, Execute returns the report instead.
func Example() {
	v, err := reference.New(reference.Default())
	if err != nil {
		panic(err)
	}
	rep, err := harness.Execute(context.Background(), v, harness.Options{
		Seed: 42,
		Run:  regexp.MustCompile(`^rfc4226/7\.4/look-ahead`),
	})
	if err != nil {
		panic(err)
	}
	for _, r := range rep.Results {
		fmt.Println(r.Verdict, r.ID)
	}
	fmt.Println(rep.Counts())
	// Output:
	// PASS rfc4226/7.4/look-ahead-edge
	// PASS rfc4226/7.4/look-ahead-beyond
	// PASS rfc4226/7.4/look-ahead-moves-counter
	// PASS rfc4226/7.4/look-ahead-window-moves
	// 4 passed, 0 failed, 0 non-strict, 0 skipped, 0 errors
}
