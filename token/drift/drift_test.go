package drift_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token/drift"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"none":            "none",
		"fixed:0":         "none",
		"fixed:20":        "fixed:20",
		"fixed:-30":       "fixed:-30",
		"uniform:0-50":    "uniform:0-50",
		"uniform:0..50":   "uniform:0-50",
		"uniform:-90..90": "uniform:-90..90",
		"UNIFORM:3-3":     "uniform:3-3",
		"geometric:0.1":   "geometric:0.1",
		"geometric:1":     "geometric:1",
		" fixed:5 ":       "fixed:5",
	} {
		s, err := drift.Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, s.String(), in)
	}
	for _, bad := range []string{
		"", "fixed", "fixed:", "fixed:x", "fixed:1.5", "uniform:5-1", "uniform:-5-5", "uniform:1",
		"geometric:0", "geometric:1.5", "geometric:NaN", "geometric:-0.1", "normal:1,2",
		"fixed:10000000000000", "none:3", "uniform:0-50-60",
	} {
		_, err := drift.Parse(bad)
		assert.ErrorIs(t, err, drift.ErrSpec, "%q", bad)
	}
}

func TestSampleBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := rapid.SampledFrom([]string{"fixed:7", "uniform:0-50", "uniform:-90..90", "geometric:0.1", "geometric:0.999", "geometric:1e-9"}).Draw(t, "spec")
		s, err := drift.Parse(spec)
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		for range 100 {
			v := s.Sample(r)
			if v < s.Min() || v > s.Max() {
				t.Fatalf("%s gave %d outside [%d, %d]", s, v, s.Min(), s.Max())
			}
		}
	})
}

func TestGeometricMean(t *testing.T) {
	s, err := drift.Parse("geometric:0.1")
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	var sum int64
	const n = 200_000
	for range n {
		sum += s.Sample(r)
	}
	assert.InDelta(t, 9.0, float64(sum)/n, 0.15, "the mean of geometric:0.1 is (1-p)/p = 9")
}

func TestReproducible(t *testing.T) {
	s, _ := drift.Parse("uniform:0-1000")
	a, b := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	for range 100 {
		assert.Equal(t, s.Sample(a), s.Sample(b))
	}
}
