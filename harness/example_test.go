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

// A verifier that reads its own clock (profile clock "wall") is judged on
// simulated time, every time-dependent case included, when it reads a
// clock the harness can set: build it on a ManualClock's Now and pass the
// clock's Set as Options.SetClock, as the fake clock does for an exec
// verifier (conformance run --clock fake). Under go test:
//
//	func TestConformance(t *testing.T) {
//		clk := &harness.ManualClock{}
//		v := myotp.NewVerifier(store, clk.Now)
//		harness.Run(t, v, harness.Options{Profile: &p, SetClock: clk.Set})
//	}
func ExampleManualClock() {
	p := reference.Default()
	p.Clock = harness.ClockWall
	clk := &harness.ManualClock{}
	v, err := reference.New(p, reference.WithClock(clk.Now))
	if err != nil {
		panic(err)
	}
	rep, err := harness.Execute(context.Background(), v, harness.Options{
		Seed:     42,
		Run:      regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-sha1|year-2603)$`),
		SetClock: clk.Set,
	})
	if err != nil {
		panic(err)
	}
	for _, r := range rep.Results {
		fmt.Println(r.Verdict, r.ID)
	}
	fmt.Println("clock set:", rep.ClockSet)
	// Output:
	// PASS rfc6238/4.2/appendix-b-sha1
	// PASS rfc6238/4.2/year-2603
	// clock set: true
}
