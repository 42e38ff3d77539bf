package drift_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/otplab/otplab/token/drift"
)

// FuzzParse: Parse never panics, errors wrap ErrSpec, String reads back as
// the same plan, and samples stay within the plan's bounds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"none", "fixed:20", "uniform:0-50", "uniform:-90..90", "geometric:0.1", "geometric:1e-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := drift.Parse(in)
		if err != nil {
			if !errors.Is(err, drift.ErrSpec) {
				t.Fatalf("error %v does not wrap ErrSpec", err)
			}
			return
		}
		again, err := drift.Parse(s.String())
		if err != nil || again != s {
			t.Fatalf("%q -> %q -> %v, %v", in, s.String(), again, err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range 10 {
			if v := s.Sample(r); v < s.Min() || v > s.Max() || v > drift.MaxValue || v < -drift.MaxValue {
				t.Fatalf("%s gave %d", s, v)
			}
		}
	})
}
