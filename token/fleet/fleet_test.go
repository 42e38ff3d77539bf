package fleet_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/drift"
	"github.com/otplab/otplab/token/fleet"
)

func members(t *testing.T, p fleet.Plan) []fleet.Member {
	t.Helper()
	g, err := fleet.New(p)
	require.NoError(t, err)
	var out []fleet.Member
	for m := range g.Members() {
		out = append(out, m)
	}
	return out
}

func spec(t *testing.T, s string) drift.Spec {
	d, err := drift.Parse(s)
	require.NoError(t, err)
	return d
}

func TestReproducible(t *testing.T) {
	p := fleet.Plan{Model: token.ModelC100, Count: 100, Seed: []byte("qa-42"), Drift: spec(t, "uniform:0-50"), Counter: 10}
	a, b := members(t, p), members(t, p)
	assert.Equal(t, a, b)

	seen := map[token.Serial]bool{}
	for i, m := range a {
		_, err := token.ParseSerial(string(m.Serial()), token.ModelC100)
		require.NoError(t, err)
		assert.False(t, seen[m.Serial()], "serial %s twice", m.Serial())
		seen[m.Serial()] = true
		if i > 0 {
			assert.Equal(t, fmt.Sprintf("%013d", mustAtoi(a[i-1].Serial())+1), string(m.Serial()), "serials are consecutive")
		}
		assert.Len(t, m.C100.Secret, 20)
		assert.EqualValues(t, 10+m.Drift, m.C100.Counter)
		assert.True(t, m.Drift >= 0 && m.Drift <= 50)
	}

	p.Seed = []byte("qa-43")
	c := members(t, p)
	assert.NotEqual(t, a[0].C100.Secret, c[0].C100.Secret)

	// Another drift plan keeps serials and secrets.
	p.Seed, p.Drift = []byte("qa-42"), spec(t, "fixed:7")
	d := members(t, p)
	for i := range a {
		assert.Equal(t, a[i].C100.Secret, d[i].C100.Secret)
		assert.Equal(t, a[i].C100.Serial, d[i].C100.Serial)
		assert.EqualValues(t, 17, d[i].C100.Counter)
	}
}

func mustAtoi(s token.Serial) int64 {
	var n int64
	fmt.Sscan(string(s), &n)
	return n
}

func TestTimeFleet(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ms := members(t, fleet.Plan{Model: token.ModelApp, Count: 5, Seed: []byte("x"), Drift: spec(t, "uniform:-90..90"), At: at, Algorithm: token.SHA256, FirstSerial: "2000000000100"})
	for i, m := range ms {
		require.NotNil(t, m.C200)
		assert.Equal(t, token.Serial(fmt.Sprintf("20000000001%02d", i)), m.Serial())
		assert.EqualValues(t, 30, m.C200.Period)
		assert.Len(t, m.C200.Secret, 32)
		assert.Equal(t, time.Duration(m.Drift)*time.Second, m.C200.Offset)
		d, err := token.NewC200(*m.C200)
		require.NoError(t, err)
		assert.Equal(t, at.Add(m.C200.Offset), d.Clock(at))
	}
}

func TestBadPlans(t *testing.T) {
	for name, p := range map[string]fleet.Plan{
		"zero count":       {Model: token.ModelC100},
		"unknown model":    {Model: "c300", Count: 1},
		"negative presses": {Model: token.ModelC100, Count: 1, Drift: spec(t, "fixed:-1")},
		"counter overflow": {Model: token.ModelC100, Count: 1, Counter: token.MaxCounter - 5, Drift: spec(t, "fixed:10")},
		"digits":           {Model: token.ModelC100, Count: 1, Digits: 4},
		"first serial":     {Model: token.ModelC100, Count: 1, FirstSerial: "2000000000000"},
		"serials run out":  {Model: token.ModelC100, Count: 10, FirstSerial: "1999999999995"},
		"clock drift":      {Model: token.ModelC200, Count: 1, Drift: spec(t, "fixed:100000000000")},
	} {
		_, err := fleet.New(p)
		assert.ErrorIs(t, err, fleet.ErrPlan, name)
	}
}
