package probe_test

import (
	"context"
	"fmt"
	"os"

	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/reference"
)

// A command probes a verifier, prints the profile for --profile and a
// table for a person, and may draw the searches with SVG.
func ExampleProbe() {
	v, err := reference.New(reference.Default())
	if err != nil {
		panic(err)
	}
	res, err := probe.Probe(context.Background(), v, probe.Options{Seed: 1, IgnoreClaim: true})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(res.Profile.JSON())
	for _, name := range []string{"look-ahead", "resync-window", "lockout"} {
		f, _ := res.Finding(name)
		fmt.Printf("%s: %s (%s)\n", f.Name, f.Value, f.Certainty)
	}
	// Output:
	// {
	//   "kinds": [
	//     "hotp",
	//     "totp"
	//   ],
	//   "algorithms": [
	//     "SHA1",
	//     "SHA256",
	//     "SHA512"
	//   ],
	//   "digits": [
	//     6,
	//     8
	//   ],
	//   "counters": {
	//     "min": 0,
	//     "max": 18446744073709551615
	//   },
	//   "look_ahead": 10,
	//   "on_failure": "keep",
	//   "input": "exact",
	//   "resync": {
	//     "codes": 2,
	//     "window": 1000
	//   },
	//   "lockout": {
	//     "after": 5,
	//     "resync_unlocks": false
	//   },
	//   "totp": {
	//     "skew_back": 1,
	//     "skew_ahead": 1,
	//     "reuse": "later",
	//     "t0": true
	//   },
	//   "flows": [
	//     "login"
	//   ],
	//   "clock": "request"
	// }
	// look-ahead: 10 (exact)
	// resync-window: 1000 (exact)
	// lockout: after 5 failures (exact)
}
