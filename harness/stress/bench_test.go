package stress_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/stress"
	"github.com/otplab/otplab/harness/stress/racy"
)

// BenchmarkCheck measures the check of the histories that 2,000 users left
// with 200,000 requests against the in-process reference verifier; the
// figure that matters is check-ns/op (requests checked per second is
// 200,000 / that). docs/benchmarks.md has the 1,000,000-request run.
func BenchmarkCheck(b *testing.B) {
	ref, err := reference.New(racy.Profile())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := stress.Run(context.Background(), stress.Options{Nodes: []stress.Node{{Name: "reference", Verifier: ref}},
			Profile: racy.Profile(), Users: 2000, Requests: 200_000, Duration: time.Minute, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Failed() || !rep.Complete() {
			b.Fatal(rep.Headline())
		}
		b.ReportMetric(float64(rep.CheckDuration.Nanoseconds()), "check-ns/op")
	}
}

// BenchmarkExplain measures what explaining violations costs on a run of
// 10,000 users and 1,000,000 requests: against the check-then-set cluster
// (thousands of violating tokens, the first 20 explained) and against the
// reference verifier (no violation: nothing to explain). explain-ns/op is
// the figure; docs/stress.md has it.
func BenchmarkExplain(b *testing.B) {
	c, err := racy.New(racy.CheckThenSetHOTP, 3)
	if err != nil {
		b.Fatal(err)
	}
	var racyNodes []stress.Node
	for i, n := range c.Nodes() {
		racyNodes = append(racyNodes, stress.Node{Name: fmt.Sprint("node ", i+1), Verifier: n})
	}
	ref, err := reference.New(racy.Profile())
	if err != nil {
		b.Fatal(err)
	}
	refNodes := []stress.Node{{Name: "1", Verifier: ref}, {Name: "2", Verifier: ref}, {Name: "3", Verifier: ref}}
	for _, tc := range []struct {
		name  string
		nodes []stress.Node
	}{{"check-then-set", racyNodes}, {"reference", refNodes}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rep, err := stress.Run(context.Background(), stress.Options{Nodes: tc.nodes, Profile: racy.Profile(),
					Users: 10_000, Requests: 1_000_000, Duration: time.Minute, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rep.ExplainDuration.Nanoseconds()), "explain-ns/op")
				b.ReportMetric(float64(rep.CheckDuration.Nanoseconds()), "check-ns/op")
				b.ReportMetric(float64(len(rep.Violations)), "violations")
				explained := 0
				for _, c := range rep.Causes {
					explained += c.Tokens
				}
				b.ReportMetric(float64(explained), "explained")
			}
		})
	}
}
