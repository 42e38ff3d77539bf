package stress_test

import (
	"context"
	"fmt"
	"time"

	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/stress"
	"github.com/otplab/otplab/harness/stress/racy"
)

// Stress a deployment from go test: here two nodes of a planted cluster that
// keeps its lockout count per node, and the reference verifier, which is
// correct, as one node.
func ExampleRun() {
	cluster, _ := racy.New(racy.LockoutPerNode, 2)
	ref, _ := reference.New(racy.Profile())
	for _, nodes := range [][]stress.Node{
		{{Name: "node 1", Verifier: cluster.Nodes()[0]}, {Name: "node 2", Verifier: cluster.Nodes()[1]}},
		{{Name: "reference", Verifier: ref}},
	} {
		rep, err := stress.Run(context.Background(), stress.Options{
			Nodes: nodes, Profile: racy.Profile(), Users: 20, Requests: 4000, Duration: time.Minute, Seed: 1,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(rep.Failed())
	}
	// Output:
	// true
	// false
}
