package stress_test

import (
	"context"
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
